"""Which resizes the driver takes on: the migration record decides."""

from unittest import mock

from nova.compute import task_states
from nova import exception as nova_exc
from nova import objects
import testtools

from nova_npiv import resize


class TestHostChecks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.inst = objects.Instance(
            uuid='3f0c0a38-6f3c-4b7e-9d46-0c6a1d0e9a01',
            task_state=task_states.RESIZE_MIGRATING,
            migration_context=objects.MigrationContext(migration_id=3))
        self.ctxt = mock.sentinel.ctxt

    def migration(self, source, dest, dest_node='sys-a'):
        return mock.patch.object(
            objects.Migration, 'get_by_id', return_value=objects.Migration(
                source_compute=source, dest_compute=dest,
                dest_node=dest_node))

    def refusal(self):
        err = self.assertRaises(nova_exc.InstanceFaultRollback,
                                resize.check_migration, self.ctxt, self.inst,
                                'host-a', 'sys-a')
        self.assertIsInstance(err.inner_exception,
                              nova_exc.MigrationPreCheckError)
        return err.inner_exception.format_message()

    def test_same_host_and_node_is_taken(self):
        with self.migration('host-a', 'host-a') as get:
            migration = resize.check_migration(self.ctxt, self.inst,
                                               'host-a', 'sys-a')
        get.assert_called_once_with(self.ctxt, 3)
        self.assertEqual('host-a', migration.dest_compute)

    def test_other_host_is_taken(self):
        with self.migration('host-a', 'host-b', dest_node='sys-b'):
            migration = resize.check_migration(self.ctxt, self.inst,
                                               'host-a', 'sys-a')
        self.assertEqual('host-b', migration.dest_compute)

    def test_other_node_of_this_host_is_refused(self):
        with self.migration('host-a', 'host-a', dest_node='sys-b'):
            message = self.refusal()
        self.assertIn('to node sys-b of this host, which drives sys-a',
                      message)
        self.assertIn('nothing was changed', message)

    def test_no_migration_context_is_refused(self):
        self.inst.migration_context = None
        self.assertIn('without a migration record', self.refusal())

    def test_missing_migration_is_refused(self):
        with mock.patch.object(objects.Migration, 'get_by_id',
                               side_effect=nova_exc.MigrationNotFound(
                                   migration_id=3)):
            self.refusal()

    def test_destroy_is_kept_only_for_a_same_host_revert(self):
        with self.migration('host-a', 'host-a') as get:
            self.assertFalse(resize.is_same_host_revert(self.ctxt, self.inst,
                                                        'host-a'))
            get.assert_not_called()
            self.inst.task_state = task_states.RESIZE_REVERTING
            self.assertTrue(resize.is_same_host_revert(self.ctxt, self.inst,
                                                       'host-a'))
            self.assertFalse(resize.is_same_host_revert(self.ctxt, self.inst,
                                                        'host-b'))
        with self.migration('host-a', 'host-b'):
            self.assertFalse(resize.is_same_host_revert(self.ctxt, self.inst,
                                                        'host-a'))
