"""The resize flows on the simulator, driver-level: each step's revert.

nova's own sequence through its services is in test_nova_resize; here the
driver's calls are made directly on a harness world so that a fault can be
aimed at each request of the flows and the state after the revert read off
the simulated console.
"""

from unittest import mock

from nova import exception as nova_exc
from nova import objects
from pypowervm import exceptions as pvm_exc

from nova_npiv import exception

from tests.functional import base

BIG = dict(memory_mb=8192, vcpus=4, root_gb=0)
#: The update of a partition (not a job, not a search).
LPAR_POST = r'LogicalPartition/[0-9A-Fa-f-]+$'
SMALL = dict(memory_mb=4096, vcpus=2, root_gb=0)


class TestResizeFlows(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world()
        self.w.spawn()
        self.drv = self.w.drivers['host-a']

    def lpar(self):
        return self.w.sim.model.lpar(self.w.lpar_uuid)

    def shape(self):
        lpar = self.lpar()
        return lpar.memory_mb, lpar.vcpus

    def mappings(self):
        return sorted((m.vios, m.fabric, tuple(m.wwpns))
                      for m in self.w.sim.model.mappings('sys-a')
                      if m.client_lpar_uuid == self.w.lpar_uuid)

    def same_host_migration(self):
        """nova's migration record of a resize on host-a."""
        self.w.inst.migration_context = objects.MigrationContext(
            instance_uuid=self.w.inst.uuid, migration_id=7)
        migration = objects.Migration(source_compute='host-a',
                                      dest_compute='host-a',
                                      dest_node='sys-a')
        return mock.patch.object(objects.Migration, 'get_by_id',
                                 return_value=migration)

    def resize_to(self, flavor, power_on=True):
        self.w.inst.flavor = objects.Flavor(**flavor)
        self.drv.finish_migration(self.w.ctxt, None, self.w.inst, '[]', None,
                                  None, False, {}, power_on=power_on)

    def test_resize_and_revert(self):
        maps = self.mappings()
        with self.same_host_migration():
            self.assertEqual('[]', self.drv.migrate_disk_and_power_off(
                self.w.ctxt, self.w.inst, '127.0.0.1', None, None,
                timeout=60))
        self.assertEqual('not activated', self.lpar().state)
        self.resize_to(BIG)
        self.assertEqual((8192, 4), self.shape())
        self.assertEqual('running', self.lpar().state)
        self.assertEqual(maps, self.mappings())

        self.w.inst.flavor = objects.Flavor(**SMALL)
        self.drv.finish_revert_migration(self.w.ctxt, self.w.inst, None,
                                         None)
        self.assertEqual((4096, 2), self.shape())
        self.assertEqual('running', self.lpar().state)
        self.assertEqual(maps, self.mappings())

    def test_resize_without_power_on_leaves_it_stopped(self):
        self.drv.power_off(self.w.inst)
        self.resize_to(BIG, power_on=False)
        self.assertEqual((8192, 4), self.shape())
        self.assertEqual('not activated', self.lpar().state)

    def test_other_node_of_this_host_is_refused_before_anything_changes(
            self):
        self.w.inst.migration_context = objects.MigrationContext(
            instance_uuid=self.w.inst.uuid, migration_id=7)
        migration = objects.Migration(source_compute='host-a',
                                      dest_compute='host-a',
                                      dest_node='sys-b')
        self.w.sim.reset_counters()
        with mock.patch.object(objects.Migration, 'get_by_id',
                               return_value=migration):
            err = self.assertRaises(
                nova_exc.InstanceFaultRollback,
                self.drv.migrate_disk_and_power_off, self.w.ctxt,
                self.w.inst, '127.0.0.1', None, None)
        self.assertIsInstance(err.inner_exception,
                              nova_exc.MigrationPreCheckError)
        self.assertIn('to node sys-b of this host',
                      err.inner_exception.format_message())
        self.assertEqual('running', self.lpar().state)
        self.assertEqual(0, sum(n for k, n in self.w.sim.counters().items()
                                if not k.startswith('GET')))

    def test_no_migration_record_is_refused(self):
        # The harness instance has no database to load a migration from:
        # nothing proves the destination is this host.
        err = self.assertRaises(
            nova_exc.InstanceFaultRollback,
            self.drv.migrate_disk_and_power_off, self.w.ctxt, self.w.inst,
            '127.0.0.1', None, None)
        self.assertIn('without a migration record',
                      err.inner_exception.format_message())
        self.assertEqual('running', self.lpar().state)

    def test_failed_update_changes_nothing_and_starts_it_again(self):
        # finish_revert_migration finds the LPAR running: it stops it, the
        # update is refused, and the revert starts it again in its shape.
        maps = self.mappings()
        self.w.sim.inject_fault(method='POST', path=LPAR_POST,
                                kind='status', status=500)
        self.w.inst.flavor = objects.Flavor(**BIG)
        self.assertRaises(pvm_exc.HttpError, self.drv.finish_revert_migration,
                          self.w.ctxt, self.w.inst, None, None)
        self.assertEqual((4096, 2), self.shape())
        self.assertEqual('running', self.lpar().state)
        self.assertEqual(maps, self.mappings())
        self.assertIn('undone', self.logs.output)

    def test_failed_power_on_puts_the_old_shape_back(self):
        self.drv.power_off(self.w.inst)
        maps = self.mappings()
        self.w.sim.fail_job('PowerOn', message='HSCL1234 power on failed')
        self.assertRaises(exception.JobFailed, self.resize_to, BIG)
        self.assertEqual((4096, 2), self.shape())
        self.assertEqual('not activated', self.lpar().state)
        self.assertEqual(maps, self.mappings())
        self.assertIn('shape of before again', self.logs.output)

    def test_lost_update_reply_is_put_back(self):
        # The console carried the update out but its reply was lost: the
        # revert cannot know, so it puts the old shape back all the same.
        self.drv.power_off(self.w.inst)
        self.w.sim.inject_fault(method='POST', path=LPAR_POST,
                                kind='lost_reply')
        self.assertRaises(pvm_exc.ConnectionError, self.resize_to, BIG)
        self.assertEqual((4096, 2), self.shape())
        self.assertEqual('not activated', self.lpar().state)

    def test_finish_on_a_missing_lpar_is_instance_not_found(self):
        self.w.destroy()
        self.assertRaises(nova_exc.InstanceNotFound, self.resize_to, BIG)
