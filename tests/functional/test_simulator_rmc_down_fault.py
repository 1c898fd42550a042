"""The ``rmc_down`` fault: RMC of the running client LPARs is lost at a
chosen request (issue 14's fault kind, aimed like any fault), for a while
or until brought back; the VIOSes and the management partition keep
theirs."""

import time

from pypowervm.wrappers import logical_partition as pvm_lpar
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import faults
from nova_npiv.simulator import Simulator


def _topology():
    spec = default_topology(systems=('sys-a',))
    spec['systems'][0]['lpars'] = [
        {'name': 'web', 'state': 'running'},
        {'name': 'idle', 'state': 'not activated'}]
    return spec


class TestRmcDownFault(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.sys_a = self.sim.model.system('sys-a').uuid

    def rmc(self):
        return {lp.name: (lp.rmc_state, lp.capabilities.io_dlpar)
                for lp in pvm_lpar.LPAR.get(self.adpt,
                                            parent_type='ManagedSystem',
                                            parent_uuid=self.sys_a)}

    def test_the_request_meets_it_until_brought_back(self):
        before = self.rmc()
        self.assertEqual(('active', True), before['web'])
        fault = self.sim.inject_fault('GET', 'LogicalPartition$', nth=2,
                                      kind=faults.KIND_RMC_DOWN)
        self.assertEqual(before, self.rmc())
        # The second read is the one RMC drops at: it sees it.
        down = self.rmc()
        self.assertEqual(1, len(fault.hits))
        self.assertEqual(('inactive', False), down['web'])
        self.assertEqual(before['idle'], down['idle'])
        self.assertEqual({'active'}, {v.rmc_state for v in
                                      self.sim.model.vioses('sys-a')})
        # No timer: it stays down until the operator brings RMC back.
        self.assertEqual(down, self.rmc())
        self.sim.model.set_rmc_down(False)
        self.assertEqual(before, self.rmc())

    def test_rmc_down_with_a_delay_comes_back_by_itself(self):
        self.sim.inject_fault('GET', 'LogicalPartition$',
                              kind=faults.KIND_RMC_DOWN, delay=0.3)
        self.assertEqual('inactive', self.rmc()['web'][0])
        time.sleep(0.6)
        self.assertEqual('active', self.rmc()['web'][0])
