"""taskflow storage tasks: what they queue, record, and undo on failure.

The flows are built like the driver builds them (``ConnectVolume`` per
volume, the shared FeedTask, then whatever comes next) and run on real
taskflow engines against pypowervm's sample VIOS feed.
"""

import functools
import types

import fixtures
from unittest import mock

from taskflow import engines as tf_engines
from taskflow.patterns import linear_flow as tf_lf
from taskflow import task as tf_task
import testtools

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.tasks import storage as tf_stg
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from tests.unit import fixtures as fx

W = fx.WWPNJob.wwpn
UNMAPPED = fabric_meta.UNMAPPED
MGMT = fabric_meta.MGMT_MAPPED
INST = fabric_meta.INST_MAPPED
pair = fx.pair
#: A platform-chosen LPAR UUID.
CHOSEN = '5A1C9E0B-3D2F-4E6A-8B7C-9D0E1F2A3B4C'


def _nothing():
    pass


class Boom(Exception):
    pass


class Fail(tf_task.Task):
    """A later step of the flow that fails (power on, LPAR update...)."""

    def execute(self):
        raise Boom('later step failed')


class Provide(tf_task.Task):
    """The LPAR create of a spawn, as the flow passes it on."""

    def __init__(self, name, uuid):
        super().__init__(name, provides='lpar_wrap')
        self.uuid = uuid

    def execute(self):
        return types.SimpleNamespace(uuid=self.uuid)


class Recorder(tf_task.Task):
    """A step before the volumes (LPAR create) that records its revert."""

    def __init__(self, name='create'):
        super().__init__(name)
        self.reverted = False

    def execute(self):
        pass

    def revert(self, *args, **kwargs):
        self.reverted = True


class TestSaveFabricState(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.inst = fx.FakeInstance()
        fabric_meta.set_fabric(self.inst, 'A', MGMT,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', MGMT,
                               [(fx.V2_FCS1, pair(2, 3)),
                                (fx.V1_FCS1, pair(0, 1))])

    def test_writes_the_state_of_every_fabric(self):
        before = {f: fx.port_map(self.inst, f) for f in ('A', 'B')}

        tf_stg.SaveFabricState(self.inst, ['A', 'B'], INST).execute()

        self.assertEqual(INST, fx.state(self.inst, 'A'))
        self.assertEqual(INST, fx.state(self.inst, 'B'))
        self.assertEqual(before, {f: fx.port_map(self.inst, f)
                                  for f in ('A', 'B')})
        self.assertEqual(1, self.inst.saves)
        self.assertEqual(self.inst.system_metadata,
                         self.inst.db.read(self.inst.uuid))

    def test_only_the_given_fabrics(self):
        tf_stg.SaveFabricState(self.inst, ['B'], UNMAPPED).execute()
        self.assertEqual(MGMT, fx.state(self.inst, 'A'))
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'B'))
        self.assertEqual(2, len(fx.port_map(self.inst, 'B')))

    def test_fabric_without_record(self):
        tf_stg.SaveFabricState(self.inst, ['A', 'C'], UNMAPPED).execute()
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'C'))
        self.assertEqual([], fx.port_map(self.inst, 'C'))

    def test_corrupt_fabric_left_for_audit(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = 'not,wwpns'

        tf_stg.SaveFabricState(self.inst, ['A', 'B'], UNMAPPED).execute()

        self.assertEqual('not,wwpns',
                         self.inst.system_metadata['npiv_adpt_wwpns_A'])
        self.assertEqual(MGMT, self.inst.system_metadata['fabric_state_A'])
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'B'))
        self.assertEqual(1, self.inst.saves)

    def test_name_names_state_and_instance(self):
        task = tf_stg.SaveFabricState(self.inst, ('A',), INST)
        self.assertEqual('save_fabric_state_inst_mapped_%s' % self.inst.uuid,
                         task.name)
        self.assertEqual(['A'], task.fabrics)


class TestRetried(testtools.TestCase):

    def test_returns_what_the_first_try_returns(self):
        func = mock.Mock(return_value=3)
        self.assertEqual(3, tf_stg.retried('Undo', func, 1, k=2))
        func.assert_called_once_with(1, k=2)

    def test_the_last_failure_is_raised(self):
        func = mock.Mock(side_effect=[RuntimeError('one'),
                                      RuntimeError('two')])
        err = self.assertRaises(RuntimeError, tf_stg.retried, 'Undo', func)
        self.assertEqual('two', str(err))
        self.assertEqual(tf_stg.UNDO_ATTEMPTS, func.call_count)

    def _unreachable(self):
        return exception.ConsoleUnreachable(method='POST', path='/x',
                                            reason='refused')

    def test_an_unreachable_console_is_waited_for(self):
        # A console restart outlasting two quick tries: the undo lands once
        # it is back, within [powervm] undo_retry_seconds.
        self.useFixture(fixtures.MockPatch('time.sleep'))
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=15))
        func = mock.Mock(side_effect=[self._unreachable()] * 4 + ['done'])
        self.assertEqual('done', tf_stg.retried('Undo', func))
        self.assertEqual(5, func.call_count)

    def test_waiting_ends_with_the_budget(self):
        clock = iter(range(0, 1000, 5))
        self.useFixture(fixtures.MockPatch('time.sleep'))
        self.useFixture(fixtures.MockPatch(
            'time.monotonic', side_effect=lambda: next(clock)))
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=12))
        func = mock.Mock(side_effect=self._unreachable())
        self.assertRaises(exception.ConsoleUnreachable, tf_stg.retried,
                          'Undo', func)
        # Tried at t=5 and t=10 (inside 12 s), given up after t=15.
        self.assertEqual(3, func.call_count)

    def test_waits_double_from_the_first_wait(self):
        sleep = self.useFixture(fixtures.MockPatch('time.sleep')).mock
        self.useFixture(fixtures.MockPatch('time.monotonic',
                                           return_value=100.0))
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=15))
        func = mock.Mock(side_effect=[self._unreachable()] * 4 + ['done'])
        self.assertEqual('done', tf_stg.retried('Undo', func))
        self.assertEqual([mock.call(0.25), mock.call(0.5), mock.call(1.0),
                          mock.call(2.0)], sleep.call_args_list)

    def test_no_wait_past_the_budget(self):
        sleep = self.useFixture(fixtures.MockPatch('time.sleep')).mock
        clock = iter([0.0, 0.9, 0.9])
        self.useFixture(fixtures.MockPatch(
            'time.monotonic', side_effect=lambda: next(clock)))
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=1))
        func = mock.Mock(side_effect=[self._unreachable()] * 2 + ['done'])
        # 0.1 s of the budget left: still worth a try, after that 0.1 s.
        self.assertEqual('done', tf_stg.retried('Undo', func))
        self.assertEqual(3, func.call_count)
        self.assertEqual([mock.call(0.1), mock.call(0.1)],
                         [mock.call(round(c.args[0], 6))
                          for c in sleep.call_args_list])

    def test_without_budget_the_second_try_is_immediate(self):
        sleep = self.useFixture(fixtures.MockPatch('time.sleep')).mock
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=0))
        func = mock.Mock(side_effect=self._unreachable())
        self.assertRaises(exception.ConsoleUnreachable, tf_stg.retried,
                          'Undo', func)
        self.assertEqual(tf_stg.UNDO_ATTEMPTS, func.call_count)
        self.assertEqual([mock.call(0.0)], sleep.call_args_list)

    def test_a_reply_error_is_not_waited_for(self):
        sleep = self.useFixture(fixtures.MockPatch('time.sleep')).mock
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=15))
        func = mock.Mock(side_effect=RuntimeError('HTTP 500'))
        self.assertRaises(RuntimeError, tf_stg.retried, 'Undo', func)
        self.assertEqual(tf_stg.UNDO_ATTEMPTS, func.call_count)
        sleep.assert_not_called()


class TestUndoOnFailure(testtools.TestCase):

    def test_execute_does_nothing(self):
        undo = mock.Mock(__name__='undo')
        tf_stg.UndoOnFailure(undo, 1, key=2).execute()
        undo.assert_not_called()

    def test_revert_calls_undo_with_its_arguments(self):
        undo = mock.Mock(__name__='undo')
        tf_stg.UndoOnFailure(undo, 1, 2, key='v').revert(result=None)
        undo.assert_called_once_with(1, 2, key='v')

    def test_revert_swallows_undo_errors(self):
        undo = mock.Mock(__name__='undo', side_effect=RuntimeError('no'))
        with mock.patch.object(tf_stg.LOG, 'exception') as log:
            tf_stg.UndoOnFailure(undo).revert(result=None)
        self.assertEqual([mock.call()] * 2, undo.call_args_list)
        log.assert_called_once()

    def test_revert_tries_a_failed_undo_once_more(self):
        # One transient console fault in the undo: the second try lands.
        undo = mock.Mock(__name__='undo',
                         side_effect=[RuntimeError('HTTP 500'), None])
        with mock.patch.object(tf_stg.LOG, 'exception') as log, \
                mock.patch.object(tf_stg.LOG, 'warning') as warn:
            tf_stg.UndoOnFailure(undo, 'x').revert(result=None)
        self.assertEqual([mock.call('x')] * 2, undo.call_args_list)
        log.assert_not_called()
        self.assertIn('trying again', warn.call_args[0][0])

    def test_in_a_flow_the_original_failure_is_raised(self):
        undo = mock.Mock(__name__='undo', side_effect=RuntimeError('no'))
        flow = tf_lf.Flow('f')
        flow.add(tf_stg.UndoOnFailure(undo, 'x'), Fail('fail'))

        self.assertRaises(Boom, tf_engines.run, flow)
        self.assertEqual([mock.call('x')] * 2, undo.call_args_list)

    def test_not_called_when_the_flow_succeeds(self):
        undo = mock.Mock(__name__='undo')
        flow = tf_lf.Flow('f')
        flow.add(tf_stg.UndoOnFailure(undo), Recorder())
        tf_engines.run(flow)
        undo.assert_not_called()

    def test_name(self):
        def unstage():
            pass
        self.assertEqual('undo_unstage', tf_stg.UndoOnFailure(unstage).name)
        self.assertEqual('undo_changes', tf_stg.UndoOnFailure(
            functools.partial(unstage)).name)


class StorageFlowTestCase(testtools.TestCase):

    staging = True

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture(staging=self.staging))
        self.inst = self.fx.instance()
        self.wwpns = self.fx.npiv(self.inst).wwpns()
        self.others = self.fx.other_maps(fx.STAGING_UUID,
                                         vm.lpar_uuid(self.inst))
        self.fx.reset_counts()

    def vol_drv(self, volume_id='vol-1', stg_ftsk=None):
        return self.fx.npiv(self.inst,
                            fx.connection_info(self.wwpns, volume_id),
                            stg_ftsk=stg_ftsk)

    def spawn_ftsk(self):
        return npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'spawn',
                                   xags=npiv_vios.XAGS_PORTS)

    def assertStates(self, expected):
        self.assertEqual({'A': expected, 'B': expected},
                         {f: fx.state(self.inst, f) for f in ('A', 'B')})

    def assertNothingMapped(self):
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(self.others, self.fx.other_maps(
            fx.STAGING_UUID, vm.lpar_uuid(self.inst)))

    def assertWWPNsKept(self):
        self.assertEqual(self.wwpns,
                         fabric_meta.active_wwpns(self.inst, ['A', 'B']))
        self.assertEqual(
            [(fx.V1_FCS0, pair(0, 1))], fx.port_map(self.inst, 'A'))


class TestConnectVolume(StorageFlowTestCase):

    def test_execute_connects(self):
        ftsk = self.spawn_ftsk()
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(self.vol_drv(stg_ftsk=ftsk)), ftsk)

        tf_engines.run(flow)

        self.assertStates(INST)
        self.assertEqual(2, len(self.fx.instance_maps(self.inst)))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_name(self):
        self.assertEqual('connect_vol_vol-7',
                         tf_stg.ConnectVolume(self.vol_drv('vol-7')).name)

    def _flow_with_lpar(self, lpar_from_flow=True):
        # The platform chose the LPAR's UUID (an evacuated instance whose
        # old LPAR holds the derived one): the mappings must point at it.
        ftsk = self.spawn_ftsk()
        vol_drv = self.vol_drv(stg_ftsk=ftsk)
        flow = tf_lf.Flow('spawn')
        flow.add(Provide('create', CHOSEN),
                 tf_stg.ConnectVolume(vol_drv, lpar_from_flow=lpar_from_flow),
                 ftsk)
        tf_engines.run(flow)
        return vol_drv

    def test_lpar_from_the_flow(self):
        vol_drv = self._flow_with_lpar(True)
        self.assertEqual(CHOSEN, vol_drv.lpar_uuid)
        self.assertEqual(2, len([m for maps in self.fx.maps(CHOSEN).values()
                                 for m in maps]))
        self.assertEqual({}, self.fx.instance_maps(self.inst))

    def test_spawn_rollback_after_the_feedtask_ran(self):
        create = Recorder()
        ftsk = self.spawn_ftsk()
        flow = tf_lf.Flow('spawn')
        flow.add(create,
                 tf_stg.ConnectVolume(self.vol_drv('vol-1', ftsk)),
                 tf_stg.ConnectVolume(self.vol_drv('vol-2', ftsk)),
                 ftsk, Fail('power_on'))

        self.assertRaises(Boom, tf_engines.run, flow)

        self.assertTrue(create.reverted)
        self.assertNothingMapped()
        self.assertStates(UNMAPPED)
        self.assertWWPNsKept()
        self.assertEqual(UNMAPPED, self.inst.db.read(self.inst.uuid)[
            'fabric_state_A'])
        # Connect: 1 GET + 2 POSTs; one rollback (only the adapter that
        # queued the mappings undoes them): 1 GET + 2 POSTs.
        self.assertEqual((2, 4), (self.fx.gets, self.fx.updates))

    def test_spawn_rollback_before_the_feedtask_ran(self):
        # Staging mappings must not leak when spawn fails before the
        # instance mappings were ever sent.
        ftsk = self.spawn_ftsk()
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(self.vol_drv(stg_ftsk=ftsk)),
                 Fail('lpar_update'), ftsk)

        self.assertRaises(Boom, tf_engines.run, flow)

        self.assertNothingMapped()
        self.assertStates(UNMAPPED)
        self.assertWWPNsKept()
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_one_vios_post_fails(self):
        self.fx.fail_updates(fx.VIOS2)
        ftsk = self.spawn_ftsk()
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(self.vol_drv(stg_ftsk=ftsk)), ftsk)

        self.assertRaises(RuntimeError, tf_engines.run, flow)

        # VIOS1's POST landed: undone; nothing half-mapped.
        self.assertNothingMapped()
        self.assertStates(UNMAPPED)
        self.assertWWPNsKept()

    def test_retry_after_rollback_uses_the_same_wwpns(self):
        ftsk = self.spawn_ftsk()
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(self.vol_drv(stg_ftsk=ftsk)), ftsk,
                 Fail('power_on'))
        self.assertRaises(Boom, tf_engines.run, flow)

        self.assertEqual(self.wwpns, self.fx.npiv(self.inst).wwpns())
        self.assertEqual([], self.fx.job.jobs)
        self.assertStates(MGMT)

    def test_failed_attach_of_a_later_volume_keeps_the_mappings(self):
        # vol-1 is attached; attaching vol-2 fails later in its flow.  The
        # vFC adapters carry vol-1 too: they must stay.
        self.vol_drv('vol-1').connect_volume()
        maps = self.fx.instance_maps(self.inst)
        self.fx.reset_counts()
        flow = tf_lf.Flow('attach')
        flow.add(tf_stg.ConnectVolume(self.vol_drv('vol-2')), Fail('later'))

        self.assertRaises(Boom, tf_engines.run, flow)

        self.assertEqual(maps, self.fx.instance_maps(self.inst))
        self.assertStates(INST)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_invalid_connection_info_fails_the_flow_cleanly(self):
        info = fx.connection_info(['c0507609ffff0000'])
        ftsk = self.spawn_ftsk()
        drv = self.fx.npiv(self.inst, info, stg_ftsk=ftsk)
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(drv), ftsk)

        self.assertRaises(exception.InvalidConnectionInfo, tf_engines.run,
                          flow)

        self.assertStates(MGMT)
        self.assertEqual(2, len(self.fx.staging_maps()))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_rollback_that_raises_is_logged_and_the_flow_reverts_on(self):
        vol_drv = mock.Mock(spec=['volume_id', 'instance', 'connect_volume',
                                  'rollback_connect'], volume_id='v')
        vol_drv.rollback_connect.side_effect = RuntimeError('console gone')
        before = mock.Mock(__name__='before')
        flow = tf_lf.Flow('f')
        # A task before the connect: it must still be reverted.
        flow.add(tf_task.FunctorTask(_nothing, revert=before, name='before'),
                 tf_stg.ConnectVolume(vol_drv), Fail('later'))
        with mock.patch.object(tf_stg.LOG, 'exception') as log:
            # The original failure, not the revert's.
            self.assertRaises(Boom, tf_engines.run, flow)
        vol_drv.connect_volume.assert_called_once_with()
        # Tried once more (see tasks.storage.retried), then given up.
        self.assertEqual([mock.call(), mock.call()],
                         vol_drv.rollback_connect.call_args_list)
        self.assertEqual(1, log.call_count)
        before.assert_called_once()


class TestConnectVolumeWithoutStaging(StorageFlowTestCase):

    staging = False

    def test_spawn_rollback(self):
        ftsk = self.spawn_ftsk()
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(self.vol_drv(stg_ftsk=ftsk)), ftsk,
                 Fail('power_on'))

        self.assertRaises(Boom, tf_engines.run, flow)

        self.assertNothingMapped()
        self.assertStates(UNMAPPED)
        self.assertWWPNsKept()


class TestDisconnectVolume(StorageFlowTestCase):

    def test_plain_detach_changes_nothing(self):
        self.vol_drv().connect_volume()
        maps = self.fx.instance_maps(self.inst)
        sysmeta = dict(self.inst.system_metadata)
        self.fx.reset_counts()
        task = tf_stg.DisconnectVolume(self.vol_drv())
        self.assertEqual('disconnect_vol_vol-1', task.name)

        flow = tf_lf.Flow('detach')
        flow.add(task)
        tf_engines.run(flow)

        self.assertEqual(maps, self.fx.instance_maps(self.inst))
        self.assertEqual(sysmeta, self.inst.system_metadata)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


class TestUnmapInstance(StorageFlowTestCase):

    def _destroy(self, update_metadata=True):
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'destroy')
        task = tf_stg.UnmapInstance(self.fx.npiv(self.inst, stg_ftsk=ftsk),
                                    update_metadata=update_metadata)
        self.assertEqual('unmap_instance_%s' % self.inst.uuid, task.name)
        flow = tf_lf.Flow('destroy')
        flow.add(task, ftsk)
        tf_engines.run(flow)

    def test_delete_inst_mapped(self):
        self.vol_drv().connect_volume()
        self.fx.reset_counts()

        self._destroy()

        self.assertNothingMapped()
        self.assertStates(UNMAPPED)
        self.assertWWPNsKept()
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_delete_mgmt_mapped_removes_staging(self):
        self._destroy()
        self.assertNothingMapped()
        self.assertStates(UNMAPPED)

    def test_metadata_updated_by_default(self):
        npiv_drv = mock.Mock()
        task = tf_stg.UnmapInstance(npiv_drv)
        task.execute()
        npiv_drv.queue_instance_unmapping.assert_called_once_with(
            update_metadata=True)

    def test_revert_maps_back(self):
        npiv_drv = mock.Mock()
        tf_stg.UnmapInstance(npiv_drv).revert(result=None)
        npiv_drv.restore_mappings.assert_called_once_with()

    def test_revert_leaves_a_new_hosts_instance_alone(self):
        npiv_drv = mock.Mock()
        tf_stg.UnmapInstance(npiv_drv, update_metadata=False).revert(
            result=None)
        npiv_drv.restore_mappings.assert_not_called()

    def test_failed_delete_maps_back_what_landed(self):
        self.vol_drv().connect_volume()
        before = self.fx.instance_maps(self.inst)
        self.fx.fail_updates(fx.VIOS2)
        self.assertRaises(RuntimeError, self._destroy)
        self.assertEqual(before, self.fx.instance_maps(self.inst))
        self.assertStates(INST)

    def test_evacuated_instance_metadata_untouched(self):
        self.vol_drv().connect_volume()
        sysmeta = dict(self.inst.system_metadata)
        saves = self.inst.saves

        self._destroy(update_metadata=False)

        self.assertNothingMapped()
        self.assertEqual(sysmeta, self.inst.system_metadata)
        self.assertEqual(saves, self.inst.saves)


class TestStagingFailure(testtools.TestCase):
    """A staging POST fails: what landed is undone, WWPNs are kept."""

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture())
        self.inst = self.fx.instance()

    def test_undone_and_reported(self):
        self.fx.fail_updates(fx.VIOS2)

        self.assertRaises(RuntimeError, self.fx.npiv(self.inst).wwpns)

        self.assertEqual({}, self.fx.staging_maps())
        # WWPNs were saved before the VIOSes were touched.
        saved = self.inst.db.read(self.inst.uuid)
        self.assertEqual(UNMAPPED, saved['fabric_state_A'])
        self.assertEqual(UNMAPPED, saved['fabric_state_B'])
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        # Feed read + the undo's own GET.
        self.assertEqual(2, self.fx.gets)

    def test_retry_restages_the_same_wwpns(self):
        self.fx.fail_updates(fx.VIOS2)
        self.assertRaises(RuntimeError, self.fx.npiv(self.inst).wwpns)
        self.fx.reset_counts()

        wwpns = self.fx.npiv(self.inst).wwpns()

        self.assertEqual([W(0), W(2)], wwpns)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())
        self.assertEqual(MGMT, fx.state(self.inst, 'B'))

    def test_undo_failure_reports_the_staging_failure(self):
        self.fx.fail_updates(fx.VIOS2, times=2,
                             exc=exception.VolumeMappingFailed(
                                 instance='x', reason='POST failed'))
        self.assertRaises(exception.VolumeMappingFailed,
                          self.fx.npiv(self.inst).wwpns)
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'A'))


class TestUndoLogLines(testtools.TestCase):
    """What the operator reads when an undo fails: which, why, whose."""

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.tasks.storage'))
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=0))
        self.useFixture(fixtures.MockPatch('time.sleep'))

    def lines(self):
        return self.logs.output.splitlines()

    def drv(self, method):
        drv = mock.Mock()
        drv.instance.uuid = fx.INSTANCE_UUID
        getattr(drv, method).side_effect = RuntimeError('POST refused')
        return drv

    def test_connect_volume_revert(self):
        drv = self.drv('rollback_connect')
        drv.volume_id = 'vol-1'
        tf_stg.ConnectVolume(drv).revert(result=None)
        self.assertIn('Undoing the vFC mappings of %s failed (RuntimeError: '
                      'POST refused); trying again' % fx.INSTANCE_UUID,
                      self.lines())
        self.assertIn('Could not undo the vFC mappings of %s'
                      % fx.INSTANCE_UUID, self.lines())

    def test_unmap_instance_revert(self):
        drv = self.drv('restore_mappings')
        tf_stg.UnmapInstance(drv).revert(result=None)
        self.assertIn('Mapping back the vFC adapters of %s failed '
                      '(RuntimeError: POST refused); trying again'
                      % fx.INSTANCE_UUID, self.lines())
        self.assertIn('Could not map back the vFC adapters of %s after a '
                      'failed unmapping; nova-npiv show lists the difference'
                      % fx.INSTANCE_UUID, self.lines())

    def test_undo_on_failure_revert(self):
        def unstage():
            raise exception.ConsoleUnreachable(method='POST', path='/x',
                                               reason='refused')

        tf_stg.UndoOnFailure(unstage).revert(result=None)
        self.assertIn('Undoing VIOS changes (undo_unstage) failed '
                      '(ConsoleUnreachable: The management console could '
                      'not be reached for POST /x: refused); trying again',
                      self.lines())
        self.assertIn('Could not undo VIOS changes', self.lines())

    def test_corrupt_fabric_left(self):
        inst = fx.FakeInstance()
        inst.system_metadata['npiv_adpt_wwpns_A'] = 'not,wwpns'
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                fabric_meta.get_fabric, inst, 'A')
        tf_stg.SaveFabricState(inst, ['A'], UNMAPPED).execute()
        self.assertEqual(['%s: fabric A left as it is' % err], self.lines())
