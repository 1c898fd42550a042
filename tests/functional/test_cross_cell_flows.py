"""The flows of a cross-cell resize, driver-level, on a harness world.

nova's sequence through its services (two cells) is test_nova_cross_cell;
the fault matrix runs every request of it.  Here: the LPAR identity the
destination chooses from its copy of the row, and a spawn nova did not
ask the connector for first.
"""

from nova.compute import task_states
from nova import exception as nova_exc
from pypowervm import exceptions as pvm_exc

from nova_npiv import fabric_meta
from nova_npiv.testing import invariants
from nova_npiv import vm
from tests.functional import base

HOSTS = (('host-a', 'sys-a'), ('host-b', 'sys-b'))
FAKE_OLD_UUID = '2B0F7A44-9C1E-4D3A-8E55-6F0A1B2C3D4E'


class TestCrossCellFlows(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world(HOSTS)
        self.w.spawn()
        self.dst = self.w.drivers['host-b']

    def spawn_on_copy(self):
        row = self.w.target_row
        row.task_state = task_states.RESIZE_FINISH
        try:
            self.dst.spawn(self.w.ctxt, row, None, [], None, {},
                           block_device_info={
                               'block_device_mapping': self.w.bdms})
        finally:
            row.task_state = None

    def test_a_recorded_uuid_that_names_nothing_is_forgotten(self):
        # The source LPAR had an identity of its own (an earlier move);
        # the copy carries it, and the source's destroy deleted that LPAR.
        self.w.inst.system_metadata[vm.LPAR_UUID_KEY] = FAKE_OLD_UUID
        self.w.cross_cell_source()
        self.w.cross_cell_destination()

        row = self.w.inst
        self.assertIs(self.w.target_row, row)
        self.assertIsNone(vm.recorded_uuid(row))
        self.assertEqual([vm.lpar_uuid(row)],
                         [lp.uuid.upper() for lp in
                          invariants.instance_lpars(self.w)])
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-b'))
        # The source's row is the source's: untouched by the destination.
        self.assertEqual(FAKE_OLD_UUID,
                         vm.recorded_uuid(self.w.source_row))

    def test_the_derived_uuid_held_elsewhere_gets_one_of_our_own(self):
        # A partition of sys-a holds the derived UUID (the source's destroy
        # could not delete it, say): the destination records its own first.
        self.w.target_row = self.w.inst.obj_clone()
        own = vm.fresh_uuid(self.dst.adapter, self.dst.system_uuid,
                            self.w.target_row)
        self.assertIsNotNone(own)
        src = self.w.drivers['host-a']
        self.w.inst.task_state = task_states.RESIZE_MIGRATING
        src.power_off(self.w.inst)
        self.w.inst.task_state = None
        self.w.source_row = self.w.inst
        # Unmapped, as the destroy leaves it, but not deleted.
        src._npiv(self.w.inst, lpar_w=vm.get(
            src.adapter, src.system_uuid,
            self.w.inst)).remove_instance_mappings()

        self.w.cross_cell_destination()

        row = self.w.inst
        self.assertEqual(own, vm.recorded_uuid(row))
        self.assertEqual([own], [lp.uuid.upper() for lp in
                                 self.w.sim.model.lpars('sys-b')
                                 if lp.uuid.upper() in vm.known_uuids(row)])

    def test_spawn_without_a_connector_call_still_maps(self):
        # The copy still records the source's mappings: the spawn takes
        # them for gone rather than for mappings here (it would map
        # nothing and start the LPAR without a path to its volumes).
        self.w.cross_cell_source()
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.INST_MAPPED, fabric_meta.get_fabric(
                self.w.target_row, fabric).state)

        self.spawn_on_copy()

        self.w.inst = self.w.target_row
        self.w.inst.host = 'host-b'
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-b'))
        self.assertIn('still record the source\'s mappings',
                      self.logs.output)

    def test_a_recorded_uuid_that_still_names_a_partition_is_kept(self):
        # A partition of this console has the recorded UUID: the record
        # is its only proof of being the instance's, so it stays.
        self.w.sim.model.add_lpar('sys-a', 'left-behind',
                                  uuid=FAKE_OLD_UUID)
        self.w.inst.system_metadata[vm.LPAR_UUID_KEY] = FAKE_OLD_UUID
        self.w.cross_cell_source()
        self.w.cross_cell_destination()

        self.assertEqual(FAKE_OLD_UUID, vm.recorded_uuid(self.w.inst))
        self.assertIn('still names a partition', self.logs.output)
        self.assertEqual([vm.lpar_uuid(self.w.inst)],
                         [lp.uuid.upper() for lp in
                          self.w.sim.model.lpars('sys-b')
                          if lp.uuid.upper() in
                          vm.known_uuids(self.w.inst)])


class TestHardRebootAfterAFailedCrossCellResize(base.WorldTestCase):
    """nova's advice after a failed cross-cell resize: hard reboot the
    server its conductor left in ERROR in the source cell, on the source
    host, whose LPAR the source's destroy had already deleted."""

    def setUp(self):
        super().setUp()
        self.w = self.world(HOSTS)
        self.w.spawn()
        self.wwpns = sorted(fabric_meta.all_wwpns(self.w.inst, ['A', 'B']))
        self.w.cross_cell_source()
        fault = self.w.sim.inject_fault('PUT', r'LogicalPartition$')
        self.assertRaises(pvm_exc.HttpError, self.w.cross_cell_destination)
        self.assertEqual(1, len(fault.hits))
        self.w.sim.clear_faults()
        # What the failed destination left: nothing anywhere, the source's
        # row on host-a with its fabrics unmapped.
        self.assertIs(self.w.source_row, self.w.inst)
        self.assertEqual('host-a', self.w.inst.host)
        self.assertEqual([], invariants.instance_lpars(self.w))

    def test_the_lpar_is_built_again_with_the_same_wwpns(self):
        self.w.hard_reboot('host-a')

        [lpar] = invariants.instance_lpars(self.w)
        self.assertEqual(('sys-a', 'running'), (lpar.system, lpar.state))
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        self.assertEqual(self.wwpns, sorted(fabric_meta.all_wwpns(
            self.w.inst, ['A', 'B'])))
        self.assertIn('building its LPAR again with the same WWPNs',
                      self.logs.output)

    def test_a_failed_rebuild_leaves_nothing_and_can_be_retried(self):
        # The last step, the PowerOn job: the create and the mapping
        # before it are undone.
        fault = self.w.sim.inject_fault('PUT', r'/do/PowerOn$')
        self.assertRaises(pvm_exc.HttpError, self.w.hard_reboot, 'host-a')
        self.assertEqual(1, len(fault.hits))
        self.w.sim.clear_faults()
        self.assertEqual([], invariants.instance_lpars(self.w))
        self.assertEqual([], invariants.unmapped_with_wwpns(
            self.w, allow_absent=False))

        self.w.hard_reboot('host-a')
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        self.assertEqual([], invariants.consistency_problems(self.w))

    def test_an_instance_with_a_mapped_fabric_is_not_rebuilt(self):
        # Records that say a fabric is mapped: not this case; the plain
        # reboot's read of the missing LPAR names the problem.
        fabric_meta.set_fabric(
            self.w.inst, 'A', fabric_meta.INST_MAPPED,
            fabric_meta.get_fabric(self.w.inst, 'A').port_map)
        self.assertRaises(nova_exc.InstanceNotFound, self.w.hard_reboot,
                          'host-a')
        self.assertEqual([], invariants.instance_lpars(self.w))
