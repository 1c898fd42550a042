"""The source's Migrate job and the destination's steps, on the simulator.

Two hosts of one console (tests/unit/test_driver's co-managed NovaLink):
the job's target system and ``VirtualFCMappings`` (from the targets the
destination recorded, read from nova's database when the source's copy of
the instance predates them), a failed job settled either way, the rollback
at the source, the partner WWPNs staged and unstaged on the destination.
"""

from unittest import mock

from nova.compute import task_states
from nova import objects
from nova.objects import migration as migration_obj

from nova_npiv import exception
from nova_npiv.testing import harness
from nova_npiv.volume import lpm_platform
from nova_npiv.volume import migration as md
from tests.unit import test_driver


class LiveMigrationTestCase(test_driver.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.spawn()
        self.dst = harness.load_driver(self.sim, 'host-b', 'sys-b')
        self.sim.track_session(self.dst.adapter)

    def data(self, dest_node='sys-b'):
        data = self.dst.check_can_live_migrate_destination(
            self.ctxt, self.inst, None, None)
        data = self.drv.check_can_live_migrate_source(self.ctxt, self.inst,
                                                      data)
        if dest_node is not None:
            data.migration = migration_obj.Migration(dest_node=dest_node)
        return data

    def prepare(self, data):
        self.inst.task_state = task_states.MIGRATING
        self.dst.get_volume_connector(self.inst)
        self.dst.pre_live_migration(self.ctxt, self.inst, None, None, None,
                                    data)
        return md.get_targets(self.inst)

    def expected_mappings(self, targets):
        slots = self.drv._npiv(self.inst).migration.client_slots()
        return ['%d/%s' % (slot, target)
                for fabric in ('A', 'B')
                for slot, target in zip(slots[fabric], targets[fabric])]

    def migrate(self, data, dest='host-b'):
        self.drv._npiv(self.inst).migration.migrate(self.ctxt, dest, data)

    def migrate_jobs(self, jobs):
        return [params for op, params in jobs if op == 'Migrate']


class TestMigrateJob(LiveMigrationTestCase):

    def test_the_job_moves_the_adapters_to_the_recorded_targets(self):
        data = self.data()
        targets = self.prepare(data)
        expected = self.expected_mappings(targets)
        jobs = self.spy_jobs()
        self.migrate(data)
        [params] = self.migrate_jobs(jobs)
        self.assertEqual('sys-b', params['TargetManagedSystemName'])
        self.assertEqual(','.join(expected), params['VirtualFCMappings'])
        self.assertEqual('sys-b', self.lpar().system)

    def test_the_destination_system_from_the_compute_node(self):
        data = self.data(dest_node=None)
        self.prepare(data)
        node = mock.Mock(hypervisor_hostname='sys-b')
        jobs = self.spy_jobs()
        with mock.patch.object(
                objects.ComputeNode, 'get_first_node_by_host_for_old_compat',
                return_value=node) as get:
            self.migrate(data)
        get.assert_called_once_with(self.ctxt, 'host-b')
        [params] = self.migrate_jobs(jobs)
        self.assertEqual('sys-b', params['TargetManagedSystemName'])

    def test_targets_saved_after_our_copy_was_loaded_are_read(self):
        data = self.data()
        targets = self.prepare(data)
        expected = self.expected_mappings(targets)
        stored = harness.new_instance(1, self.inst.uuid, 'host-a',
                                      node='sys-a')
        md.set_targets(stored, targets)
        md.clear_targets(self.inst)
        jobs = self.spy_jobs()
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               return_value=stored) as get:
            self.migrate(data)
        get.assert_called_once_with(self.ctxt, self.inst.uuid,
                                    expected_attrs=['system_metadata'])
        [params] = self.migrate_jobs(jobs)
        self.assertEqual(','.join(expected), params['VirtualFCMappings'])

    def test_no_targets_anywhere_is_refused_before_the_job(self):
        data = self.data()
        stored = harness.new_instance(1, self.inst.uuid, 'host-a',
                                      node='sys-a')
        jobs = self.spy_jobs()
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               return_value=stored):
            err = self.assertRaises(exception.LiveMigrationDataError,
                                    self.migrate, data)
        self.assertIn('fabric A has 1 vFC adapter(s) but the destination '
                      'chose 0 port(s)', err.format_message())
        self.assertEqual([], self.migrate_jobs(jobs))

    def test_another_console_without_its_address_names_the_instance(self):
        data = self.data()
        self.prepare(data)
        # A destination of an older version advertises no console.
        del data.target_connect_addr
        jobs = self.spy_jobs()
        with mock.patch('nova_npiv.remote_console.manages',
                        return_value=False) as manages:
            err = self.assertRaises(exception.LiveMigrationDataError,
                                    self.migrate, data)
        self.assertEqual('sys-b', manages.call_args[0][1])
        self.assertIn('instance %s is unusable: the destination did not say '
                      'which management console' % self.inst.uuid,
                      err.format_message())
        self.assertEqual([], self.migrate_jobs(jobs))

    def test_a_failed_job_that_stayed_is_raised(self):
        data = self.data()
        self.prepare(data)
        self.sim.fail_job('Migrate', message='HSCL0000 no')
        self.assertRaises(exception.JobFailed, self.migrate, data)
        self.assertEqual('sys-a', self.lpar().system)

    def test_a_failed_job_that_moved_completes(self):
        data = self.data()
        self.prepare(data)
        failed = exception.JobFailed(operation='Migrate', target='x',
                                     reason='y')
        with mock.patch.object(lpm_platform, 'run_migrate',
                               side_effect=failed), \
                mock.patch.object(lpm_platform, 'settle',
                                  return_value=lpm_platform.MOVED) as settle:
            self.assertIsNone(self.migrate(data))
        settle.assert_called_once_with(self.drv.adapter, self.inst,
                                       self.drv.system_uuid, failed)
        self.assertIn('The Migrate job of %s reported a failure, but the '
                      'LPAR has left this system: completing the migration\n'
                      'Traceback' % self.inst.uuid, self.logs.output)
