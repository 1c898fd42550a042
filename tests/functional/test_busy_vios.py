"""A busy VIOS (HSCL3205/VIOS0014) is waited out with pypowervm's helper.

The simulator answers a busy VIOS as a console does (issue 13, R4); the
driver's adapter resends with ``vios_busy_retry_helper``, as often and as
patiently as ``[powervm] vios_busy_retries`` / ``vios_busy_retry_delay``
say, and gives up with the console's message when the VIOS stays busy,
leaving nothing half-done.
"""

from pypowervm import exceptions as pvm_exc

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import faults
from nova_npiv.testing import invariants
from tests.functional import base


class BusyVIOSTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        # One NovaLink over its own system (a NovaLink answers VIOS0014).
        self.w = self.world(topology=default_topology(systems=('sys-a',)),
                            vios_busy_retries=2, vios_busy_retry_delay=0)
        self.sim = self.w.sim

    def one_vios(self):
        """The path regex of one VIOS's writes (a FeedTask writes to every
        VIOS at once, each retried on its own)."""
        return '/VirtualIOServer/%s$' % self.sim.model.vioses('sys-a')[0].uuid

    def vios_posts(self):
        return [(r.status, r.fault) for r in self.sim.request_log
                if r.method == 'POST' and 'VirtualIOServer' in r.path]


class TestBusyIsRetried(BusyVIOSTestCase):

    def test_spawn_waits_out_a_busy_vios(self):
        fault = self.sim.inject_fault('POST', self.one_vios(), times=2,
                                      kind=faults.KIND_BUSY)
        self.w.spawn()
        self.assertEqual(2, len(fault.hits))
        # The very request that was refused, sent again until it went in.
        self.assertEqual(set(fault.hits[:1]), set(fault.hits))
        self.assertEqual([], invariants.consistency_problems(self.w))
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        self.assertEqual([(500, 'vios_busy'), (500, 'vios_busy')],
                         [p for p in self.vios_posts() if p[0] == 500])

    def test_destroy_waits_out_a_busy_vios(self):
        self.w.spawn()
        fault = self.sim.inject_fault('POST', self.one_vios(), times=2,
                                      kind=faults.KIND_BUSY)
        self.w.destroy()
        self.assertEqual(2, len(fault.hits))
        self.assertEqual([], invariants.gone(self.w))

    def test_background_busy_vioses(self):
        self.sim.vios_busy = faults.BusyVios(every=2)
        self.w.spawn()
        self.w.destroy()
        self.assertEqual([], invariants.gone(self.w))
        self.assertGreater(self.sim.vios_busy.hits, 0)
        self.assertEqual(self.sim.vios_busy.hits, sum(
            1 for p in self.vios_posts() if p == (500, 'vios_busy')))


class TestStillBusy(BusyVIOSTestCase):

    def test_spawn_gives_up_with_the_consoles_message(self):
        before = invariants.snapshot(self.w)
        # One VIOS is busy once more than the retries allow.
        fault = self.sim.inject_fault('POST', self.one_vios(), times=3,
                                      kind=faults.KIND_BUSY)
        # The FeedTask's error, as for any refused VIOS update (not wrapped
        # in a nova exception by the driver today).
        err = self.assertRaises(pvm_exc.HttpError, self.w.spawn)
        self.assertEqual(3, len(fault.hits))
        self.assertIn('VIOS0014', str(err))
        self.assertIn('is busy processing some other request', str(err))
        self.assertEqual([], invariants.consistency_problems(self.w))
        self.assertEqual([], invariants.console_problems(
            self.w, before, invariants.snapshot(self.w)))
        # pypowervm's logging helper told what the refused request was.
        self.assertIn('REQUEST: ', self.logs.output)
        self.assertIn('POST', self.logs.output)

    def test_no_retries_configured(self):
        w = self.world(vios_busy_retries=0)
        w.spawn()
        fault = w.sim.inject_fault('POST', r'/VirtualIOServer/[0-9A-F-]+$',
                                   kind='vios_busy')
        self.assertRaises(pvm_exc.Error, w.destroy)
        self.assertEqual(1, len(fault.hits))
