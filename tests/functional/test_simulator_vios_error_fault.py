"""The ``vios_error`` fault: a VIOS goes into error at a chosen request
(issue 13, R11, aimed like any fault), for a while or until cleared."""

import time

from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import faults
from nova_npiv.simulator import Simulator


class TestViosErrorFault(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(default_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.sys_b = self.sim.model.system('sys-b').uuid

    def feed(self, system_uuid):
        return pvm_vios.VIOS.get(self.adpt, parent_type='ManagedSystem',
                                 parent_uuid=system_uuid)

    def test_the_request_meets_the_error_and_later_ones_too(self):
        fault = self.sim.inject_fault('GET', 'VirtualIOServer$', nth=2,
                                      kind=faults.KIND_VIOS_ERROR,
                                      message='RMC down, VIOS unusable')
        self.feed(self.sys_b)
        for _ in range(2):
            err = self.assertRaises(pvm_exc.HttpError, self.feed,
                                    self.sys_b)
            self.assertEqual(500, err.response.status)
        self.assertEqual(1, len(fault.hits))
        # The addressed system's first VIOS: the other system is fine.
        self.assertEqual(2, len(self.feed(self.sim.model.system(
            'sys-a').uuid)))
        self.sim.model.set_vios_error('sys-b', 'vios-b1', None)
        self.assertEqual(2, len(self.feed(self.sys_b)))

    def test_an_error_with_a_delay_ends_by_itself(self):
        self.sim.inject_fault('GET', 'VirtualIOServer$',
                              kind=faults.KIND_VIOS_ERROR, delay=0.3)
        self.assertRaises(pvm_exc.HttpError, self.feed, self.sys_b)
        time.sleep(0.5)
        self.assertEqual(2, len(self.feed(self.sys_b)))
