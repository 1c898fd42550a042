"""Staging on the strict simulator (issues 13 R5 and 14): the staging
partition's virtual slots are checked before anything is staged, and a
DLPAR that fails or is slow while staging or unstaging is rolled back or
waited out, leaving the console as the invariants demand."""

from pypowervm import exceptions as pvm_exc

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import dlpar
from nova_npiv.simulator import faults
from nova_npiv import staging as npiv_staging
from nova_npiv.testing import harness
from nova_npiv.testing import invariants
from nova_npiv.testing import scenarios
from tests.functional import base

STAGING = 'npiv-staging'


def hmc_topology(staging_slots):
    """One HMC system with a running client LPAR to stage on."""
    spec = default_topology(console='hmc', systems=('sys-a',))
    spec['systems'][0]['lpars'] = [{
        'name': STAGING, 'state': 'running',
        'max_virtual_slots': staging_slots}]
    return spec


def staged(world):
    return [m for m in world.sim.model.mappings('sys-a')
            if m.client_lpar_name in (STAGING, 'novalink-sys-a')]


class TestStagingSlots(base.WorldTestCase):

    def world_with(self, free):
        return self.world(
            topology=hmc_topology(npiv_staging.RESERVED_SLOTS + free),
            staging_partition=STAGING)

    def test_two_fabrics_fit(self):
        w = self.world_with(2)
        w.spawn()
        self.assertEqual([], invariants.mapped_to_instance(w, 'sys-a'))

    def test_no_room_is_a_clear_error_and_nothing_is_staged(self):
        w = self.world_with(1)
        before = invariants.snapshot(w)
        w.sim.reset_counters()
        err = self.assertRaises(exception.StagingSlotsExhausted,
                                w.connector)
        self.assertIn('Staging partition %s' % STAGING, str(err))
        self.assertIn('has 1 free virtual slot(s)', str(err))
        self.assertIn('needs 2', str(err))
        # Raised before anything: no WWPNs drawn, no VIOS update, the
        # instance's metadata untouched.
        self.assertEqual(before, invariants.snapshot(w))
        self.assertEqual([('GET', 'VirtualIOServer')],
                         [(r.method, r.kind) for r in w.sim.request_log])
        self.assertEqual({}, dict(w.inst.system_metadata))

    def test_slots_taken_by_another_instance_count(self):
        w = self.world_with(3)
        w.connector()
        other = w.inst
        w.inst = harness.new_instance(
            2, 'aaaaaaaa-1111-4222-8333-444444444444', 'host-a',
            node='sys-a')
        err = self.assertRaises(exception.StagingSlotsExhausted,
                                w.connector)
        self.assertIn('2 used by vFC client adapters', str(err))
        self.assertEqual(2, len(staged(w)))
        self.assertEqual(
            [fabric_meta.MGMT_MAPPED] * 2,
            [fabric_meta.get_fabric(other, f).state for f in ('A', 'B')])


class TestDlparFaults(base.WorldTestCase):
    """On NovaLink: the management partition runs, so staging and
    unstaging are DLPAR."""

    def test_failed_staging_dlpar_is_undone(self):
        w = self.world()
        before = invariants.snapshot(w)
        # The second VIOS's staging fails; the first one's is undone.
        fault = w.sim.inject_fault('POST', 'VirtualIOServer/', nth=2,
                                   kind=faults.KIND_DLPAR_FAIL)
        err = self.assertRaises(pvm_exc.Error, w.connector)
        self.assertEqual(1, len(fault.hits))
        self.assertIn(dlpar.FAILED_CODE, str(err))
        self.assertEqual([], staged(w))
        self.assertEqual([], invariants.consistency_problems(w))
        after = invariants.snapshot(w)
        self.assertEqual(before.mappings, after.mappings)
        self.assertEqual(before.capacity, after.capacity)
        # WWPNs are kept for the retry, which stages them.
        w.connector()
        self.assertEqual(2, len(staged(w)))

    def test_failed_unstaging_dlpar_at_spawn_is_rolled_back(self):
        # Spawn swaps each staging mapping for the instance's: removing the
        # staging adapter is DLPAR on the running management partition.
        w = self.world()
        conn = w.connector()
        fault = w.sim.inject_fault('POST', 'VirtualIOServer/',
                                   kind=faults.KIND_DLPAR_FAIL)
        self.assertRaises(pvm_exc.Error, w.spawn, connector=conn)
        self.assertEqual(1, len(fault.hits))
        # Spawn's reverts: no LPAR, the metadata agreeing with the VIOSes.
        self.assertEqual([], invariants.consistency_problems(w))
        self.assertEqual([], invariants.gone(w))
        self.assertIn(dlpar.FAILED_CODE, self.logs.output)
        w.destroy()
        self.assertEqual([], staged(w))
        self.assertEqual([], invariants.unmapped_with_wwpns(w))

    def test_slow_dlpar_is_waited_for(self):
        w = self.world()
        w.sim.dlpar_seconds = 0.1
        w.spawn()
        dlpars = sum(r.dlpar for r in w.sim.request_log)
        self.assertGreater(dlpars, 0)
        self.assertEqual([], invariants.mapped_to_instance(w, 'sys-a'))


class TestRmcDown(base.WorldTestCase):
    """Mapping to a running instance is DLPAR on it, which needs its RMC
    connection (the console refuses before it starts): the driver asks the
    partition first, and again after a refused VIOS update, so that nova
    gets a nova exception saying so (a raw HTTP error reaches the user as
    its class name only)."""

    def _prepared(self):
        sc = scenarios.scenario('attach (new fabric)')
        w = self.world(sc.hosts, bystanders=True)
        sc.prepare(w)
        return sc, w

    def _rolled_back(self, sc, w, before_a):
        # Fabric A (the boot volume) untouched, fabric B back to staged or
        # unmapped, the metadata agreeing with the VIOSes.
        lpar = w.lpar_uuid
        self.assertEqual(before_a, [m for m in w.sim.model.mappings()
                                    if m.fabric == 'A' and
                                    m.client_lpar_uuid == lpar])
        self.assertEqual([], sc.rolled_back(w, None))
        self.assertEqual([], invariants.consistency_problems(w))

    def test_attach_to_an_instance_without_rmc_fails_cleanly(self):
        sc, w = self._prepared()
        lpar = w.lpar_uuid
        # Its image's RSCT daemons gone: RMC inactive.
        w.sim.model.set_rsct('sys-a', lpar, False)
        before_a = [m for m in w.sim.model.mappings()
                    if m.fabric == 'A' and m.client_lpar_uuid == lpar]
        bdm = w.cinder.bdm('vol-new', 1, w.connector())
        w.sim.reset_counters()
        err = self.assertRaises(
            exception.PartitionNotDLPARCapable,
            w.drivers['host-a'].attach_volume, w.ctxt,
            bdm['connection_info'], w.inst, '/dev/sdb')
        self.assertIn('active RMC connection', str(err))
        self.assertIn('Bring its RMC connection back', str(err))
        # Asked before anything was sent: the partition read, no VIOS
        # update.
        self.assertEqual([('GET', 'LogicalPartition')],
                         [(r.method, r.kind) for r in w.sim.request_log])
        self._rolled_back(sc, w, before_a)
        # RMC back: the attach goes through.
        w.sim.model.set_rsct('sys-a', lpar, True)
        w.sim.model.set_rmc_down(False)
        sc.operate(w)
        self.assertEqual([], sc.done(w))

    def test_rmc_lost_at_the_mapping_is_explained(self):
        # RMC goes away after the driver asked, at the VIOS update itself:
        # the console refuses (HSCL294C, as the simulator words it), the
        # connect is undone, and the partition read again says why.
        sc, w = self._prepared()
        lpar = w.lpar_uuid
        before_a = [m for m in w.sim.model.mappings()
                    if m.fabric == 'A' and m.client_lpar_uuid == lpar]
        bdm = w.cinder.bdm('vol-new', 1, w.connector())
        fault = w.sim.inject_fault('POST', 'VirtualIOServer/',
                                   kind=faults.KIND_RMC_DOWN)
        err = self.assertRaises(
            exception.PartitionNotDLPARCapable,
            w.drivers['host-a'].attach_volume, w.ctxt,
            bdm['connection_info'], w.inst, '/dev/sdb')
        self.assertEqual(1, len(fault.hits))
        self.assertIsInstance(err.__cause__, pvm_exc.HttpError)
        self.assertIn(dlpar.RMC_CODE, str(err.__cause__))
        self._rolled_back(sc, w, before_a)
        w.sim.model.set_rmc_down(False)
        sc.operate(w)
        self.assertEqual([], sc.done(w))

    def test_other_refusals_are_raised_as_they_are(self):
        # The partition can take the change: the console's error is the
        # answer, not an RMC story.
        sc, w = self._prepared()
        bdm = w.cinder.bdm('vol-new', 1, w.connector())
        w.sim.inject_fault('POST', 'VirtualIOServer/')
        err = self.assertRaises(
            pvm_exc.HttpError, w.drivers['host-a'].attach_volume, w.ctxt,
            bdm['connection_info'], w.inst, '/dev/sdb')
        self.assertIn('Injected fault', str(err))
