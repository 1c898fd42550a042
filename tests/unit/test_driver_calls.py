"""NPIVDriver calls that only nova's functional runs reached before.

Reboots nova still sees in progress, the restart of a host, the resize and
cold-migration entry points (the same-host reshape on the simulator; the
calls that hand over to ``cold_migration`` checked for what they pass on,
its flows having tests of their own in tests/functional), the spawn
pre-check and the live-migration abort.  Each test checks the console or
what the driver answered, like tests/unit/test_driver.
"""

import logging
from unittest import mock

import fixtures
from nova.compute import task_states
from nova import exception as nova_exc
from nova import objects

from nova_npiv import cold_migration
from nova_npiv import exception
from nova_npiv import remote_console
from nova_npiv import vm
from nova_npiv.volume import lpm_platform
from tests.unit import test_driver

OTHER_UUID = '3f0c0a38-6f3c-4b7e-9d46-0c6a1d0e9a01'
THIRD_UUID = '6c2f9d1e-0b4a-4c8e-9f3d-7a5b1e2c4d60'
BIG = dict(memory_mb=8192, vcpus=4, root_gb=0)


class TestPrepareForSpawn(test_driver.DriverTestCase):

    def writes(self):
        return {k: n for k, n in self.sim.counters().items()
                if not k.startswith('GET')}

    def test_a_flavor_that_fits_creates_nothing(self):
        self.sim.reset_counters()
        # The system the driver drives: a NovaLink sees two of them, so
        # reading "the" managed system again would fail.
        self.assertIsNone(self.drv.prepare_for_spawn(self.inst))
        self.assertEqual({}, self.writes())
        self.assertIsNone(self.lpar())

    def test_an_unknown_shared_pool_is_looked_up_and_refused(self):
        self.inst.flavor.extra_specs = {
            'powervm:shared_proc_pool_name': 'nosuchpool'}
        self.sim.reset_counters()
        err = self.assertRaises(exception.InvalidFlavorExtraSpec,
                                self.drv.prepare_for_spawn, self.inst)
        # The pools of the system it drives, read through its session.
        self.assertEqual(
            [('GET', '/rest/api/uom/ManagedSystem/%s/SharedProcessorPool'
              % self.drv.system_uuid)],
            [(r.method, r.path) for r in self.sim.request_log
             if 'SharedProcessorPool' in r.path])
        self.assertEqual({}, self.writes())
        self.assertIn('names 0 shared processor pools of managed system '
                      'sys-a, not one', err.format_message())

    def test_bad_extra_specs_refused_before_anything_is_created(self):
        self.inst.flavor.extra_specs = {'powervm:proc_units': 'lots'}
        self.sim.reset_counters()
        err = self.assertRaises(exception.InvalidFlavorExtraSpec,
                                self.drv.prepare_for_spawn, self.inst)
        self.assertIn(self.inst.uuid, err.format_message())
        self.assertIn('powervm:proc_units', err.format_message())
        self.assertEqual({}, self.writes())
        self.assertIsNone(self.lpar())


class TestResumeOnHostBoot(test_driver.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='not activated')
        self.jobs = self.spy_jobs()

    def resume(self):
        self.drv.resume_state_on_host_boot(self.ctxt, self.inst, None, None)

    def test_a_stopped_lpar_is_started(self):
        self.resume()
        self.assertEqual(['PowerOn'], [op for op, _ in self.jobs])
        self.assertEqual('running', self.lpar().state)

    def test_a_running_lpar_is_left_alone(self):
        self.model.set_lpar_state('sys-a', self.lpar_uuid, 'running')
        self.resume()
        self.assertEqual([], self.jobs)

    def test_no_lpar(self):
        self.model.delete_lpar('sys-a', self.lpar_uuid)
        err = self.assertRaises(nova_exc.InstanceNotFound, self.resume)
        self.assertIn(self.inst.uuid, err.format_message())


class Records(logging.Handler):
    """(message, instance) of every nova_npiv log line.

    ``instance``: what the line was logged for (oslo.log's ``instance=``,
    which names it in nova's log format).
    """

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append((record.getMessage(),
                           getattr(record, 'instance', None)))


class TestPollRebooting(test_driver.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.jobs = self.spy_jobs()
        self.records = Records()
        logging.getLogger('nova_npiv').addHandler(self.records)
        self.addCleanup(logging.getLogger('nova_npiv').removeHandler,
                        self.records)

    def logged_for(self, instance):
        return [msg for msg, inst in self.records.lines if inst is instance]

    def test_every_instance_gets_its_hard_reboot(self):
        gone = test_driver.harness.new_instance(2, OTHER_UUID, 'host-a',
                                                node='sys-a')
        self.drv.poll_rebooting_instances(120, [gone, self.inst])
        self.assertEqual([('PowerOff', 'true', 'true')],
                         [(op, p.get('restart'), p.get('immediate'))
                          for op, p in self.jobs])
        self.assertEqual('running', self.lpar().state)
        self.assertIn('Reboot still in progress after 120 s; rebooting hard'
                      '\nNo LPAR to reboot\n'
                      'Reboot still in progress after 120 s; rebooting hard',
                      self.logs.output)
        self.assertEqual(['Reboot still in progress after 120 s; rebooting '
                          'hard', 'No LPAR to reboot'],
                         self.logged_for(gone))
        self.assertIn('Reboot still in progress after 120 s; rebooting hard',
                      self.logged_for(self.inst))

    def test_a_failed_reboot_does_not_stop_the_others(self):
        failing = test_driver.harness.new_instance(3, THIRD_UUID, 'host-a',
                                                   node='sys-a')
        self.model.add_lpar('sys-a', 'failing', uuid=vm.lpar_uuid(failing),
                            state='running')
        power_off = vm.power_off

        def refuse(lpar_w, **kwargs):
            if lpar_w.uuid == vm.lpar_uuid(failing):
                raise RuntimeError('the PowerOff job failed')
            return power_off(lpar_w, **kwargs)

        with mock.patch.object(vm, 'power_off', side_effect=refuse):
            self.drv.poll_rebooting_instances(60, [failing, self.inst])
        self.assertEqual(['Reboot still in progress after 60 s; rebooting '
                          'hard', 'Hard reboot failed: the PowerOff job '
                          'failed'], self.logged_for(failing))
        self.assertEqual([('PowerOff', 'true', 'true')],
                         [(op, p.get('restart'), p.get('immediate'))
                          for op, p in self.jobs])


class MigrationTestCase(test_driver.DriverTestCase):
    """A resize of the instance: nova's migration record, the LPAR."""

    def migration(self, dest='host-a', dest_node='sys-a'):
        self.inst.migration_context = objects.MigrationContext(
            instance_uuid=self.inst.uuid, migration_id=7)
        self.record = objects.Migration(source_compute='host-a',
                                        dest_compute=dest,
                                        dest_node=dest_node)
        return mock.patch.object(objects.Migration, 'get_by_id',
                                 return_value=self.record)

    def shape(self):
        lpar = self.lpar()
        return lpar.memory_mb, lpar.vcpus

    def maps(self):
        return sorted((m.vios, tuple(m.wwpns)) for m in self.own_maps())


class TestMigrateDiskAndPowerOff(MigrationTestCase):

    def setUp(self):
        super().setUp()
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.jobs = self.spy_jobs()

    def call(self, timeout):
        return self.drv.migrate_disk_and_power_off(
            self.ctxt, self.inst, '127.0.0.1', None, None, timeout=timeout)

    def test_same_host_stops_the_lpar_cleanly_with_a_timeout(self):
        with self.migration() as get:
            self.assertEqual('[]', self.call(60))
        # nova's migration record, read with nova's context.
        self.assertIs(self.ctxt, get.call_args[0][0])
        self.assertEqual([('PowerOff', None)],
                         [(op, p.get('immediate')) for op, p in self.jobs])
        self.assertEqual('not activated', self.lpar().state)

    def test_same_host_stops_it_hard_without_one(self):
        with self.migration():
            self.assertEqual('[]', self.call(0))
        self.assertEqual([('PowerOff', 'true')],
                         [(op, p.get('immediate')) for op, p in self.jobs])

    def test_to_another_host_the_lpar_leaves(self):
        with self.migration(dest='host-b', dest_node='sys-b'), \
                mock.patch.object(cold_migration, 'leave') as leave:
            self.assertEqual('[]', self.call(30))
        leave.assert_called_once_with(self.drv, self.inst, self.record, 30)
        self.assertEqual([], self.jobs)

    def test_a_node_of_this_host_not_ours_is_refused(self):
        with self.migration(dest_node='sys-b'):
            err = self.assertRaises(nova_exc.InstanceFaultRollback,
                                    self.call, 60)
        self.assertIn('to node sys-b of this host, which drives sys-a',
                      err.inner_exception.format_message())
        self.assertEqual([], self.jobs)
        self.assertEqual('running', self.lpar().state)


class TestFinishAndRevert(MigrationTestCase):
    """Same host: the LPAR is reshaped; to or from another: handed over."""

    def setUp(self):
        super().setUp()
        self.spawn()
        self.drv.power_off(self.inst)
        self.before = self.maps()

    def finish(self, migration, power_on=True):
        self.drv.finish_migration(self.ctxt, migration, self.inst, '[]',
                                  None, None, True, {},
                                  block_device_info=mock.sentinel.bdi,
                                  power_on=power_on)

    def revert(self, migration, power_on=True):
        self.drv.finish_revert_migration(self.ctxt, self.inst, None,
                                         migration,
                                         block_device_info=mock.sentinel.bdi,
                                         power_on=power_on)

    def same_host(self):
        return objects.Migration(source_compute='host-a',
                                 dest_compute='host-a')

    def other_host(self):
        return objects.Migration(source_compute='host-a',
                                 dest_compute='host-b')

    def test_resize_reshapes_and_starts_the_lpar(self):
        self.inst.flavor = objects.Flavor(**BIG)
        self.finish(self.same_host())
        self.assertEqual((8192, 4), self.shape())
        self.assertEqual('running', self.lpar().state)
        self.assertEqual(self.before, self.maps())
        self.assertIn('Flow resize_%s done' % self.inst.uuid,
                      self.logs.output)

    def test_resize_without_power_on_leaves_it_stopped(self):
        self.inst.flavor = objects.Flavor(**BIG)
        self.finish(None, power_on=False)
        self.assertEqual((8192, 4), self.shape())
        self.assertEqual('not activated', self.lpar().state)

    def test_revert_reshapes_back(self):
        self.inst.flavor = objects.Flavor(**BIG)
        self.finish(self.same_host(), power_on=False)
        self.inst.flavor = objects.Flavor(memory_mb=4096, vcpus=2,
                                          root_gb=0)
        self.revert(self.same_host())
        self.assertEqual((4096, 2), self.shape())
        self.assertEqual('running', self.lpar().state)
        self.assertEqual(self.before, self.maps())
        self.assertIn('Flow resize_revert_%s done' % self.inst.uuid,
                      self.logs.output)

    def test_revert_without_power_on_leaves_it_stopped(self):
        self.inst.flavor = objects.Flavor(**BIG)
        self.revert(None, power_on=False)
        self.assertEqual((8192, 4), self.shape())
        self.assertEqual('not activated', self.lpar().state)

    def test_from_another_host_the_lpar_arrives(self):
        for power_on in (True, False):
            with mock.patch.object(cold_migration, 'arrive') as arrive:
                self.finish(self.other_host(), power_on=power_on)
            arrive.assert_called_once_with(self.drv, self.inst,
                                           mock.sentinel.bdi, power_on)
        self.assertEqual('not activated', self.lpar().state)

    def test_revert_of_a_move_comes_back(self):
        for power_on in (True, False):
            with mock.patch.object(cold_migration, 'come_back') as back:
                self.revert(self.other_host(), power_on=power_on)
            back.assert_called_once_with(self.drv, self.inst,
                                         mock.sentinel.bdi, power_on)
        self.assertEqual('not activated', self.lpar().state)

    def test_destroy_of_a_same_host_revert_keeps_the_lpar(self):
        self.inst.task_state = task_states.RESIZE_REVERTING
        with self.migration() as get:
            self.drv.destroy(self.ctxt, self.inst, None)
        self.assertIs(self.ctxt, get.call_args[0][0])
        self.assertEqual('not activated', self.lpar().state)
        self.assertEqual(self.before, self.maps())
        self.assertIn('Revert of a resize on this host: the LPAR is kept',
                      self.logs.output.splitlines())

    def test_destroy_of_a_revert_from_another_host_deletes_it(self):
        self.inst.task_state = task_states.RESIZE_REVERTING
        with self.migration(dest='host-b', dest_node='sys-b'):
            self.drv.destroy(self.ctxt, self.inst, None)
        self.assertIsNone(self.lpar())
        self.assertEqual([], self.maps())
        self.assertNotIn('the LPAR is kept', self.logs.output)

    def test_confirm_on_the_same_host_changes_nothing(self):
        self.sim.reset_counters()
        with mock.patch.object(cold_migration, 'confirm') as confirm:
            self.drv.confirm_migration(self.ctxt, self.same_host(),
                                       self.inst, None)
        confirm.assert_not_called()
        self.assertEqual({}, self.sim.counters())
        self.assertIn('Resize confirmed: nothing to clean up on the same '
                      'managed system', self.logs.output)

    def test_confirm_of_a_move_removes_the_source(self):
        with mock.patch.object(cold_migration, 'confirm') as confirm:
            self.drv.confirm_migration(self.ctxt, self.other_host(),
                                       self.inst, None)
        confirm.assert_called_once_with(self.drv, self.inst)
        self.assertNotIn('Resize confirmed', self.logs.output)


class TestLiveMigrationAbort(test_driver.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')

    def test_abort_of_the_instances_lpar_is_remembered(self):
        with mock.patch.object(lpm_platform, 'abort') as abort:
            self.drv.live_migration_abort(self.inst)
        self.assertEqual(self.lpar_uuid, abort.call_args[0][0].uuid)
        self.assertEqual({self.inst.uuid}, self.drv._aborted)

    def test_a_refused_abort_is_raised_and_forgotten(self):
        with mock.patch.object(lpm_platform, 'abort',
                               side_effect=RuntimeError('not migrating')):
            err = self.assertRaises(RuntimeError,
                                    self.drv.live_migration_abort, self.inst)
        self.assertEqual('not migrating', str(err))
        self.assertEqual(set(), self.drv._aborted)


class TestAnswers(test_driver.DriverTestCase):
    """What the driver answers nova, in full."""

    def test_force_complete_says_why_not(self):
        err = self.assertRaises(NotImplementedError,
                                self.drv.live_migration_force_complete,
                                self.inst)
        self.assertEqual('PowerVM partition migration cannot be forced to '
                         'complete; it ends by itself or is aborted',
                         str(err))

    def test_a_platform_chosen_uuid_is_listed_as_its_instance(self):
        chosen = '5A1C9E0B-3D2F-4E6A-8B7C-9D0E1F2A3B4C'
        self.model.add_lpar('sys-a', vm.lpar_name(self.inst), uuid=chosen)
        self.inst.system_metadata[vm.LPAR_UUID_KEY] = chosen
        with mock.patch.object(objects.InstanceList, 'get_by_host',
                               return_value=[self.inst]) as by_host:
            self.assertEqual([self.inst.uuid],
                             self.drv.list_instance_uuids())
        # The records of this host's instances (nova.conf's host).
        self.assertEqual('host-a', by_host.call_args[0][1])

    def test_rollback_at_source_reads_the_database_with_novas_context(self):
        self.spawn()
        stored = test_driver.harness.new_instance(1, self.inst.uuid,
                                                  'host-a', node='sys-a')
        test_driver.migration_data.set_targets(
            stored, {'A': ['vios-b1/1//fcs0']})
        stored.save = mock.Mock()
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               return_value=stored) as get:
            self.drv.rollback_live_migration_at_source(self.ctxt, self.inst,
                                                       None)
        self.assertIs(self.ctxt, get.call_args[0][0])
        self.assertEqual({}, test_driver.migration_data.get_targets(stored))
        stored.save.assert_called_once_with()

    def test_attach_and_detach_flows_are_named_for_the_volume(self):
        # The names every line of the flow's log carries.
        self.spawn()
        info = self.cinder.connection_info(
            'vol-9', self.drv.get_volume_connector(self.inst))
        self.drv.attach_volume(self.ctxt, info, self.inst, '/dev/sdb')
        self.drv.detach_volume(self.ctxt, info, self.inst, '/dev/sdb')
        self.assertIn('Flow attach_vol-9 done in', self.logs.output)
        self.assertIn('Flow detach_vol-9 done in', self.logs.output)

    def test_detach_of_an_unusable_connection_info_says_so_in_full(self):
        self.spawn()
        self.drv.detach_volume(self.ctxt, {}, self.inst, '/dev/sdb')
        reason = exception.InvalidConnectionInfo(
            volume_id='unknown', field='connection_info',
            reason='is {}: no volume is described').format_message()
        self.assertIn('Detaching a volume of instance %s whose stored '
                      'connection_info is unusable (%s): nothing to change '
                      'on the VIOSes\n' % (self.inst.uuid, reason),
                      self.logs.output)
        self.assertNotIn('Flow detach_', self.logs.output)


class TestLiveMigrationOutcomes(test_driver.DriverTestCase):
    """What ``live_migration`` tells nova for each outcome of the job."""

    def setUp(self):
        super().setUp()
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.post = mock.Mock()
        self.recover = mock.Mock()
        self.data = mock.sentinel.migrate_data

    def migrate(self, **kwargs):
        return mock.patch.object(test_driver.migration_data.NPIVMigration,
                                 'migrate', autospec=True, **kwargs)

    def run_it(self):
        self.drv.live_migration(self.ctxt, self.inst, 'host-b', self.post,
                                self.recover, block_migration=False,
                                migrate_data=self.data)

    def test_success_is_posted(self):
        self.drv._aborted.add(self.inst.uuid)
        with self.migrate() as migrate:
            self.run_it()
        self.assertEqual((self.ctxt, 'host-b', self.data),
                         tuple(migrate.call_args[0][-3:]))
        self.post.assert_called_once_with(self.ctxt, self.inst, 'host-b',
                                          False, self.data)
        self.recover.assert_not_called()
        self.assertEqual(set(), self.drv._aborted)

    def test_a_settled_failure_is_rolled_back_not_raised(self):
        with self.migrate(side_effect=RuntimeError('job failed')):
            self.run_it()
        self.recover.assert_called_once_with(
            self.ctxt, self.inst, 'host-b', self.data,
            migration_status='failed')
        self.post.assert_not_called()
        self.assertIn('Live migration of %s failed; rolling back\n'
                      'Traceback' % self.inst.uuid, self.logs.output)

    def test_an_aborted_one_is_cancelled(self):
        self.drv._aborted.add(self.inst.uuid)
        with self.migrate(side_effect=RuntimeError('aborted')):
            self.run_it()
        self.recover.assert_called_once_with(
            self.ctxt, self.inst, 'host-b', self.data,
            migration_status='cancelled')
        self.assertEqual(set(), self.drv._aborted)

    def test_an_unsettled_one_is_raised_without_rollback(self):
        self.drv._aborted.add(self.inst.uuid)
        err = exception.LiveMigrationUnsettled(
            instance=self.inst.uuid, where='migrating', seconds=5,
            reason='Migrating')
        with self.migrate(side_effect=err):
            self.assertRaises(exception.LiveMigrationUnsettled, self.run_it)
        self.recover.assert_not_called()
        self.post.assert_not_called()
        self.assertEqual(set(), self.drv._aborted)


class TestListing(test_driver.DriverTestCase):

    def test_a_staging_partition_named_like_an_instance_is_not_one(self):
        other = test_driver.harness.new_instance(2, OTHER_UUID, 'host-a')
        self.model.add_lpar('sys-a', vm.lpar_name(other),
                            uuid=vm.lpar_uuid(other))
        drv = self.load(staging_partition=vm.lpar_name(other))
        self.assertEqual([], drv.list_instances())
        self.assertEqual([], drv.list_instance_uuids())


class TestDestroyHandsOver(test_driver.DriverTestCase):
    """What destroy and pre_live_migration pass to the modules they call."""

    def setUp(self):
        super().setUp()
        self.spawn()
        self.remove_source = self.useFixture(fixtures.MockPatchObject(
            cold_migration, 'remove_source')).mock

    def test_our_instance_also_loses_an_unfinished_moves_source(self):
        self.drv.destroy(self.ctxt, self.inst, None)
        self.remove_source.assert_called_once_with(self.drv, self.inst)
        self.assertIsNone(self.lpar())
        # The flow's and its FeedTask's names, in the lines they log.
        self.assertIn('Flow destroy_%s done' % self.inst.uuid,
                      self.logs.output)
        self.assertIn('Task destroy_%s done' % self.inst.uuid,
                      self.logs.output)

    def test_an_evacuated_instance_leaves_it_to_its_new_host(self):
        self.inst.host = 'host-b'
        self.drv.destroy(self.ctxt, self.inst, None)
        self.remove_source.assert_not_called()
        self.assertIsNone(self.lpar())

    def test_a_revert_from_another_host_keeps_it_for_the_revert(self):
        self.inst.task_state = task_states.RESIZE_REVERTING
        with mock.patch.object(objects.Migration, 'get_by_id',
                               return_value=None):
            self.drv.destroy(self.ctxt, self.inst, None)
        self.remove_source.assert_not_called()
        self.assertIsNone(self.lpar())

    def test_pre_live_migration_trusts_the_source_with_novas_context(self):
        self.inst.node = 'sys-b'
        self.inst.save = mock.Mock()
        with mock.patch.object(remote_console, 'trust_source') as trust:
            self.drv.pre_live_migration(self.ctxt, self.inst, None, None,
                                        None, None)
        trust.assert_called_once_with(self.drv.adapter, self.ctxt,
                                      self.inst, 'sys-b')


class TestFirstStart(test_driver.DriverTestCase):

    def test_the_first_init_host_has_no_session_to_log_off(self):
        logs = self.useFixture(fixtures.FakeLogger(name='nova_npiv',
                                                   level=logging.DEBUG))
        self.load()
        self.assertIn('nova-npiv drives managed system sys-a', logs.output)
        self.assertNotIn('Log off from the management console failed',
                         logs.output)


class TestOwnIdentity(test_driver.DriverTestCase):
    """An LPAR created with a UUID of its own (the derived one was taken)."""

    def test_destroy_removes_the_lpar_its_recorded_uuid_proves(self):
        elsewhere = self.model.add_lpar('sys-b', 'elsewhere',
                                        uuid=self.lpar_uuid)
        before = len(self.model.mappings('sys-a'))
        self.spawn()
        own = vm.recorded_uuid(self.inst)
        self.assertNotEqual(self.lpar_uuid, own)
        self.assertEqual(2, len(self.maps_of(own)))
        self.drv.destroy(self.ctxt, self.inst, None)
        self.assertIsNone(self.model.lpar(own))
        # Unmapped before the delete: no server adapter left behind (the
        # platform keeps those of a deleted partition).
        self.assertEqual(before, len(self.model.mappings('sys-a')))
        # The partition that holds the derived UUID is not ours.
        self.assertEqual(elsewhere.state, self.lpar().state)

    def maps_of(self, uuid):
        return [m for m in self.model.mappings('sys-a')
                if (m.client_lpar_uuid or '').upper() == uuid]
