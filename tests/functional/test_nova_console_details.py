"""Through nova's API: a delete while an operator's terminal is open
(issue 17).
"""

from nova_npiv.simulator import Simulator
from nova_npiv import vm
from tests.functional import nova_base
from tests.functional.nova_base import uuids

import testtools


class TestDeleteWithOpenTerminal(nova_base.NPIVServicesTestCase):

    def test_delete_closes_the_terminal_first(self):
        server = self.boot_from_volumes([uuids.root_vol])
        (lpar,) = self.lpars_of(server, 'sys-a')
        self.sim.model.open_vterm('sys-a', lpar.uuid)
        self.sim.reset_counters()
        self._delete_server(server)
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual(1, self.sim.counters()['PUT job:CloseVterm'])
        self.assertEqual([], [r for r in self.sim.request_log
                              if r.status >= 400])


class TestCloseVterm(testtools.TestCase):

    def test_an_lpar_already_gone_is_not_an_error(self):
        with Simulator() as sim:
            adpt = sim.adapter()
            host = sim.model.system('sys-a').uuid
            vm.close_vterm(adpt, host, '0BAD0000-0000-4000-8000-000000000000')
            (rec,) = [r for r in sim.request_log if 'CloseVterm' in r.path]
            self.assertEqual(404, rec.status)
