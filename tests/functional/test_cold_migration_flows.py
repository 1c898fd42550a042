"""The flows of a move to another system, driver-level, on a harness world.

nova's sequence through its services is in test_nova_cold_migration and
the fault matrix runs every request of it; here: what the source refuses
before changing anything, what an undo that fails makes of the error, and
the destination's identity when the derived UUID is taken.
"""

from unittest import mock

from nova import exception as nova_exc
from pypowervm import exceptions as pvm_exc

from nova_npiv import cold_migration
from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv import vm
from tests.functional import base

HOSTS = (('host-a', 'sys-a'), ('host-b', 'sys-b'))


class TestLeave(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world(HOSTS)
        self.w.spawn()
        self.drv = self.w.drivers['host-a']

    def leave(self):
        cold_migration.leave(self.drv, self.w.inst, self.w.migration(), 60)

    def writes(self):
        return {k: n for k, n in self.w.sim.counters().items()
                if not k.startswith('GET')}

    def test_a_fabric_not_mapped_is_refused_before_anything_changes(self):
        inst = self.w.inst
        rec = fabric_meta.get_fabric(inst, 'B')
        fabric_meta.set_fabric(inst, 'B', fabric_meta.UNMAPPED, rec.port_map)
        self.w.sim.reset_counters()
        err = self.assertRaises(nova_exc.InstanceFaultRollback, self.leave)
        self.assertIn('fabric(s) B', err.inner_exception.format_message())
        self.assertEqual({}, self.writes())
        self.assertNotIn(moves.SOURCE_LPAR_KEY, inst.system_metadata)

    def test_corrupt_metadata_is_refused_and_named(self):
        self.w.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        self.w.sim.reset_counters()
        err = self.assertRaises(nova_exc.InstanceFaultRollback, self.leave)
        self.assertIn(fabric_meta.state_key('A'),
                      err.inner_exception.format_message())
        self.assertEqual({}, self.writes())

    def test_no_lpar_on_this_system_is_refused(self):
        with mock.patch.object(vm, 'get', return_value=None):
            err = self.assertRaises(nova_exc.InstanceFaultRollback,
                                    self.leave)
        self.assertIn('has no LPAR on managed system sys-a',
                      err.inner_exception.format_message())

    def test_a_failed_undo_is_not_a_rollback(self):
        # The unmapping lands on one VIOS and fails on the other, and
        # mapping back fails too: the instance is not where it was, so
        # nova must not be told it is (InstanceFaultRollback).
        self.w.sim.inject_fault(method='POST',
                                path=r'VirtualIOServer/[0-9A-Fa-f-]+$',
                                nth=2, kind='status', status=500, times=20)
        # The FeedTask's own error, one VIOS refused.
        self.assertRaises(pvm_exc.HttpError, self.leave)
        self.assertIn('Mapping the vFC adapters of %s back on the source '
                      'failed' % self.w.inst.uuid, self.logs.output)

    def test_destination_takes_a_uuid_of_its_own_recorded_first(self):
        self.leave()
        self.w.inst.host, self.w.inst.node = 'host-b', 'sys-b'
        own = vm.fresh_uuid(self.w.drivers['host-b'].adapter,
                            self.w.drivers['host-b'].system_uuid,
                            self.w.inst)
        self.assertIsNotNone(own)
        saved = []
        real_save = self.w.inst.save

        def save():
            # What is saved, and how many requests had been made by then.
            saved.append((self.w.inst.system_metadata.get(vm.LPAR_UUID_KEY),
                          len(self.w.sim.request_log)))
            real_save()

        self.w.sim.reset_counters()
        with mock.patch.object(self.w.inst, 'save', side_effect=save):
            self.w.cold_migrate_destination()
        # Recorded (and saved) before the partition was created.
        creates = [i for i, r in enumerate(self.w.sim.request_log)
                   if r.method == 'PUT' and
                   r.path.endswith('/LogicalPartition')]
        self.assertEqual(1, len(creates))
        first = [n for value, n in saved if value == own][0]
        self.assertLessEqual(first, creates[0])
        self.assertEqual([own], [lp.uuid.upper() for lp in
                                 self.w.sim.model.lpars('sys-b')
                                 if lp.uuid.upper() == own])
        self.assertEqual(own, vm.recorded_uuid(self.w.inst))
