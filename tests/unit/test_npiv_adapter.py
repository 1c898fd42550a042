"""NPIV volume adapter on pypowervm's sample VIOS feed (no network).

Every test runs the adapter against ``fake_vios_feed.txt`` served by
pypowervm's ``FeedTaskFx`` (see :mod:`tests.unit.fixtures`), and checks the
fabric state machine (doc/source/design/state-machine.rst) on three
levels: the instance's
``system_metadata``, the vFC mappings on each VIOS wrapper after the
FeedTask's subtasks ran, and the REST calls made (feed GETs, VIOS POSTs,
WWPN allocation jobs).
"""

import threading

import fixtures
from nova.compute import task_states
from nova import exception as nova_exc
from oslo_db import exception as db_exc
from oslo_concurrency import lockutils
from pypowervm.tasks import vfc_mapper
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import staging as npiv_staging
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import npiv
from tests.unit import fixtures as fx

W = fx.WWPNJob.wwpn
UNMAPPED = fabric_meta.UNMAPPED
MGMT = fabric_meta.MGMT_MAPPED
INST = fabric_meta.INST_MAPPED
pair = fx.pair


class NPIVTestCase(testtools.TestCase):
    """Two fabrics over the two VIOSes of the sample feed, staging on."""

    fabrics = None
    ports_per_fabric = 1
    staging = True
    extra_vios = ()

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture(
            fabrics=self.fabrics, ports_per_fabric=self.ports_per_fabric,
            staging=self.staging, extra_vios=self.extra_vios))
        self.inst = self.fx.instance()

    def connector(self, instance=None):
        """What get_volume_connector does: a new adapter, wwpns()."""
        return self.fx.npiv(instance or self.inst).wwpns()

    def connect(self, volume_id='vol-1', instance=None, stg_ftsk=None):
        instance = instance or self.inst
        wwpns = fabric_meta.all_wwpns(instance, ['A', 'B'])
        drv = self.fx.npiv(instance, fx.connection_info(wwpns, volume_id),
                           stg_ftsk=stg_ftsk)
        drv.connect_volume()
        return drv

    def states(self, instance=None, fabrics=('A', 'B')):
        instance = instance or self.inst
        return {f: fx.state(instance, f) for f in fabrics}

    def assertStates(self, expected, instance=None, fabrics=('A', 'B')):
        self.assertEqual({f: expected for f in fabrics},
                         self.states(instance, fabrics))


# ---------------------------------------------------------------------------
# First and later connector calls (state-machine.rst rows 1, 2 and 8)


class TestFirstConnectorCallWithStaging(NPIVTestCase):

    def test_allocates_one_job_for_all_fabrics(self):
        wwpns = self.connector()

        self.assertEqual([2], self.fx.job.jobs)
        self.assertEqual([W(0), W(2)], wwpns)

    def test_unmapped_to_mgmt_mapped(self):
        self.connector()

        self.assertStates(MGMT)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))

    def test_metadata_saved_before_any_vios_change(self):
        self.connector()

        history = self.inst.db.history[self.inst.uuid]
        self.assertEqual(2, len(history))
        # First save: WWPNs and ports, still unmapped (before staging).
        self.assertEqual(UNMAPPED, history[0]['fabric_state_A'])
        self.assertEqual(UNMAPPED, history[0]['fabric_state_B'])
        self.assertEqual(history[0]['npiv_adpt_wwpns_A'],
                         history[1]['npiv_adpt_wwpns_A'])
        # Second save: after the staging POSTs landed.
        self.assertEqual(MGMT, history[1]['fabric_state_A'])
        self.assertEqual(MGMT, history[1]['fabric_state_B'])

    def test_maps_client_adapters_to_staging_partition(self):
        self.connector()

        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())
        self.assertEqual({}, self.fx.instance_maps(self.inst))

    def test_fabrics_land_on_different_vioses(self):
        self.connector()

        staged = self.fx.staging_maps()
        vioses = {f: [v for v, maps in staged.items()
                      for entry in fx.port_map(self.inst, f)
                      if entry in maps]
                  for f in ('A', 'B')}
        self.assertEqual({'A': [fx.VIOS1], 'B': [fx.VIOS2]}, vioses)

    def test_one_feed_get_and_one_post_per_vios(self):
        self.connector()

        # The feed read to choose ports is reused by the staging FeedTask.
        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))

    def test_other_partitions_mappings_untouched(self):
        before = self.fx.other_maps(fx.STAGING_UUID)
        self.connector()
        self.assertEqual(before, self.fx.other_maps(fx.STAGING_UUID))

    def test_wwpns_normalised(self):
        # 16 lower-case hex digits: no colons, no 0x, no upper case, no
        # padding lost or added, wherever a WWPN is reported or stored.
        wwpn_re = r'^[0-9a-f]{16}$'
        wwpns = self.connector()
        self.assertEqual(2, len(wwpns))
        for wwpn in wwpns:
            self.assertRegex(wwpn, wwpn_re)
        stored = 0
        for key, value in self.inst.system_metadata.items():
            if key.startswith(fabric_meta.STATE_PREFIX):
                self.assertEqual(fabric_meta.MGMT_MAPPED, value)
                continue
            self.assertTrue(key.startswith(fabric_meta.MAP_PREFIX), key)
            tokens = value.split(',')
            self.assertEqual(0, len(tokens) % 3, value)
            for token in tokens:
                self.assertRegex(token, wwpn_re)
                stored += 1
        # Port, active and partner WWPN per fabric.
        self.assertEqual(6, stored)


class TestLaterConnectorCalls(NPIVTestCase):

    def _later(self):
        first = self.connector()
        self.fx.reset_counts()
        saves = self.inst.saves
        again = [self.connector(), self.connector(self.inst.twin())]
        return first, again, saves

    def test_same_wwpns_and_zero_rest(self):
        first, again, saves = self._later()

        self.assertEqual([first, first], again)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(0, self.fx.gets)
        self.assertEqual(0, self.fx.updates)
        self.assertEqual(saves, self.inst.saves)
        self.assertStates(MGMT)

    def test_after_connect(self):
        self.connector()
        self.connect()
        self.fx.reset_counts()

        self.assertEqual([W(0), W(2)], self.connector())
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))
        self.assertStates(INST)

    def test_staging_missing_from_the_vioses_is_not_re_read(self):
        # Later calls trust the metadata: no feed GET to double-check.
        self.connector()
        for vios_w in self.fx.feed:
            vfc_mapper.remove_maps(vios_w, fx.STAGING_UUID)
        self.fx.reset_counts()

        self.connector()
        self.assertEqual(0, self.fx.gets)


class TestFirstConnectorCallWithoutStaging(NPIVTestCase):

    staging = False

    def test_unmapped_stays_unmapped_with_wwpns_stored(self):
        wwpns = self.connector()

        self.assertEqual([W(0), W(2)], wwpns)
        self.assertEqual([2], self.fx.job.jobs)
        self.assertStates(UNMAPPED)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))
        self.assertEqual(self.inst.system_metadata,
                         self.inst.db.read(self.inst.uuid))

    def test_no_vios_change(self):
        self.connector()

        self.assertEqual(1, self.fx.gets)   # to choose the ports
        self.assertEqual(0, self.fx.updates)
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual({}, self.fx.instance_maps(self.inst))

    def test_staging_partition_resolved_to_none(self):
        # A StagingPartition that found no partition reports uuid None.
        self.fx.npiv(self.inst, staging=fx.Staging(uuid=None)).wwpns()

        self.assertStates(UNMAPPED)
        self.assertEqual(0, self.fx.updates)

    def test_later_calls_zero_rest(self):
        first = self.connector()
        self.fx.reset_counts()

        self.assertEqual(first, self.connector())
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))


class TestPortsPerFabric(NPIVTestCase):

    ports_per_fabric = 2

    def test_two_ports_per_fabric_spread_over_both_vioses(self):
        wwpns = self.connector()

        self.assertEqual([4], self.fx.job.jobs)
        self.assertEqual([W(0), W(2), W(4), W(6)], wwpns)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1)),
                          (fx.V2_FCS0, pair(2, 3))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(4, 5)),
                          (fx.V1_FCS1, pair(6, 7))],
                         fx.port_map(self.inst, 'B'))
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1)), (fx.V1_FCS1, pair(6, 7))],
             fx.VIOS2: [(fx.V2_FCS0, pair(2, 3)), (fx.V2_FCS1, pair(4, 5))]},
            {v: sorted(m) for v, m in self.fx.staging_maps().items()})
        self.assertEqual(2, self.fx.updates)

    def test_connect_moves_all_four_adapters(self):
        self.connector()
        self.fx.reset_counts()
        self.connect()

        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1)), (fx.V1_FCS1, pair(6, 7))],
             fx.VIOS2: [(fx.V2_FCS0, pair(2, 3)), (fx.V2_FCS1, pair(4, 5))]},
            {v: sorted(m)
             for v, m in self.fx.instance_maps(self.inst).items()})
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))


class TestPortChoice(NPIVTestCase):

    fabrics = {'A': [fx.V1_FCS0, fx.V1_FCS1]}

    def test_port_with_most_free_npiv_slots_first(self):
        # Both ports on VIOS1: fcs1 has 58 free slots, fcs0 26.
        self.connector()
        self.assertEqual([(fx.V1_FCS1, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))

    def test_single_fabric_single_port_touches_one_vios(self):
        self.connector()
        self.assertEqual([fx.VIOS1], self.fx.updated())

    def test_partly_missing_ports_are_skipped(self):
        self.fx.configure({'A': [fx.NOWHERE, fx.V2_FCS0]})
        self.connector()
        self.assertEqual([(fx.V2_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))

    def test_port_spelling_in_config_does_not_matter(self):
        colons = ':'.join(fx.V2_FCS0.upper()[i:i + 2]
                          for i in range(0, 16, 2))
        self.fx.configure({'A': [colons]})
        self.connector()
        self.assertEqual([(fx.V2_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))


class TestManyPairs(NPIVTestCase):
    """More than 8 WWPN pairs need several allocation jobs."""

    fabrics = {'A': fx.FABRIC_A, 'B': fx.FABRIC_B, 'C': [fx.V3_FCS0]}
    ports_per_fabric = 3
    extra_vios = ('fake_vios.txt',)

    def test_three_fabrics_three_ports_two_jobs(self):
        wwpns = self.connector()

        self.assertEqual([8, 1], self.fx.job.jobs)
        self.assertEqual([W(i) for i in range(0, 18, 2)], wwpns)
        all_wwpns = fabric_meta.all_wwpns(self.inst, ['A', 'B', 'C'])
        self.assertEqual([W(i) for i in range(18)], all_wwpns)
        self.assertEqual(
            [fx.V1_FCS0, fx.V2_FCS0, fx.V1_FCS0],
            [p for p, _ in fx.port_map(self.inst, 'A')])
        self.assertEqual(
            [fx.V2_FCS1, fx.V1_FCS1, fx.V2_FCS1],
            [p for p, _ in fx.port_map(self.inst, 'B')])
        self.assertEqual([fx.V3_FCS0] * 3,
                         [p for p, _ in fx.port_map(self.inst, 'C')])
        self.assertStates(MGMT, fabrics=('A', 'B', 'C'))

    def test_staged_on_three_vioses_one_post_each(self):
        self.connector()

        staged = self.fx.staging_maps()
        self.assertEqual({fx.VIOS1: 3, fx.VIOS2: 3, fx.VIOS3: 3},
                         {v: len(m) for v, m in staged.items()})
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2, fx.VIOS3]),
                         sorted(self.fx.updated()))
        self.assertEqual(1, self.fx.gets)

    def test_ten_pairs(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': fx.FABRIC_B}, 5)
        self.connector()
        self.assertEqual([8, 2], self.fx.job.jobs)
        self.assertEqual(5, len(fx.port_map(self.inst, 'B')))


class TestConcurrentConnectorCalls(NPIVTestCase):

    def test_two_threads_one_wwpn_set(self):
        # Two requests load the same instance; each builds its own adapter.
        self.inst.save()
        other = self.inst.twin()
        results = {}
        second_waits = threading.Event()
        real_lock = lockutils.lock

        def lock(name, *args, **kwargs):
            if threading.current_thread().name == 'second':
                second_waits.set()
            return real_lock(name, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(
            lockutils, 'lock', side_effect=lock))

        def run(name, instance):
            results[name] = self.fx.npiv(instance).wwpns()

        second = threading.Thread(target=run, args=('second', other),
                                  name='second')

        def during_allocation():
            # The first caller holds the lock: start the second and let it
            # queue up on the lock before the allocation returns.
            if not second.is_alive():
                second.start()
                second_waits.wait(5)
                threading.Event().wait(0.05)

        self.fx.job.before_return = during_allocation
        run('first', self.inst)
        second.join(10)

        self.assertFalse(second.is_alive())
        self.assertEqual(results['first'], results['second'])
        self.assertEqual([2], self.fx.job.jobs)
        self.assertEqual(1, self.fx.gets)
        self.assertEqual(2, self.fx.updates)
        self.assertEqual(self.inst.system_metadata, other.system_metadata)
        self.assertEqual(1, len(self.fx.staging_maps()[fx.VIOS1]))
        self.assertEqual(1, len(self.fx.staging_maps()[fx.VIOS2]))

    def test_refreshes_under_the_lock(self):
        self.inst.save()
        other = self.inst.twin()
        first = self.connector()
        self.fx.reset_counts()

        # ``other`` was loaded before the WWPNs were allocated.
        self.assertEqual({}, other.system_metadata)
        self.assertEqual(first, self.connector(other))
        self.assertEqual(1, other.refreshes)
        self.assertEqual([], self.fx.job.jobs)

    def test_instance_without_row_or_context_is_used_as_is(self):
        # Nothing to re-read, so no concurrent writer to guard against.
        for err in (nova_exc.InstanceNotFound(instance_id=fx.INSTANCE_UUID),
                    nova_exc.OrphanedObjectError(method='refresh',
                                                 objtype='Instance')):
            inst = self.fx.instance()

            def refresh(err=err):
                raise err

            inst.refresh = refresh
            drv = self.fx.npiv(inst)
            wwpns = drv.wwpns()
            self.assertEqual(2, len(set(wwpns)))
            self.assertEqual(wwpns, fabric_meta.active_wwpns(inst,
                                                             drv.fabrics))

    def test_refresh_failure_allocates_nothing(self):
        # A copy that could not be re-read may be stale: another request
        # may have allocated the WWPNs meanwhile.  Fail instead of
        # allocating a second set.
        def refresh():
            raise db_exc.DBConnectionError('database gone')

        self.inst.refresh = refresh
        self.assertRaises(db_exc.DBConnectionError, self.connector)
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual(([], 0), (self.fx.job.jobs, self.fx.updates))


class TestRealNovaInstance(NPIVTestCase):
    """The metadata writes are seen by a real nova Instance's save()."""

    def test_system_metadata_changes_tracked(self):
        from nova import objects
        objects.register_all()
        inst = objects.Instance(uuid=fx.INSTANCE_UUID, host=fx.THIS_HOST,
                                task_state=None, system_metadata={})
        inst.obj_reset_changes()
        changed = []
        self.useFixture(fixtures.MockPatchObject(
            inst, 'save',
            side_effect=lambda: changed.append(inst.obj_what_changed())))
        self.useFixture(fixtures.MockPatchObject(inst, 'refresh'))

        wwpns = self.fx.npiv(inst).wwpns()

        self.assertEqual([W(0), W(2)], wwpns)
        self.assertEqual(2, len(changed))
        self.assertIn('system_metadata', changed[0])
        self.assertEqual(MGMT, inst.system_metadata['fabric_state_A'])
        inst.refresh.assert_called_once_with()


class TestMigrationDestinationConnector(NPIVTestCase):

    def setUp(self):
        super().setUp()
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.V2_FCS1, pair(2, 3))])
        self.inst.save()
        self.before = dict(self.inst.system_metadata)
        self.saves = self.inst.saves

    def test_destination_returns_partner_wwpns(self):
        self.inst.task_state = task_states.MIGRATING
        self.inst.host = 'source-host'

        self.assertEqual([W(1), W(3)], self.connector())
        self.assertEqual([], self.fx.job.jobs)
        # The metadata still belongs to the source.
        self.assertEqual(self.before, self.inst.system_metadata)
        self.assertEqual(self.saves, self.inst.saves)
        # Whatever is staged here is partner-first.
        for maps in self.fx.staging_maps().values():
            for _port, clients in maps:
                self.assertIn(clients, (pair(1, 0), pair(3, 2)))

    def test_destination_without_staging_zero_rest(self):
        self.inst.task_state = task_states.MIGRATING
        self.inst.host = 'source-host'

        wwpns = self.fx.npiv(self.inst, staging=False).wwpns()

        self.assertEqual([W(1), W(3)], wwpns)
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))
        self.assertEqual(self.before, self.inst.system_metadata)

    def test_source_returns_active_wwpns(self):
        self.inst.task_state = task_states.MIGRATING
        self.assertEqual([W(0), W(2)], self.connector())

    def test_other_host_not_migrating_returns_active_wwpns(self):
        self.inst.host = 'source-host'
        self.assertEqual([W(0), W(2)], self.connector())


# ---------------------------------------------------------------------------
# Connect (state-machine.rst rows 3 and 4)


class TestConnectFromMgmtMapped(NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.fx.reset_counts()
        self.before = self.fx.other_maps(fx.STAGING_UUID,
                                         vm.lpar_uuid(self.inst))

    def test_staging_swapped_for_instance_mappings(self):
        self.connect()

        self.assertStates(INST)
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual(self.before, self.fx.other_maps(
            fx.STAGING_UUID, vm.lpar_uuid(self.inst)))

    def test_one_feedtask_one_post_per_touched_vios(self):
        self.connect()

        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))
        self.assertEqual([], self.fx.job.jobs)

    def test_swap_travels_in_each_vios_post(self):
        posted = {}

        def snapshot(vios_w):
            posted[vios_w.name] = (
                self.fx.staging_maps().get(vios_w.name, []),
                self.fx.instance_maps(self.inst).get(vios_w.name, []))

        self.fx.on_update(snapshot)
        self.connect()

        self.assertEqual(
            {fx.VIOS1: ([], [(fx.V1_FCS0, pair(0, 1))]),
             fx.VIOS2: ([], [(fx.V2_FCS1, pair(2, 3))])}, posted)

    def test_wwpns_kept(self):
        before = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        self.connect()
        self.assertEqual(before, fabric_meta.all_wwpns(self.inst, ['A', 'B']))

    def test_state_saved_after_the_posts(self):
        saves = self.inst.saves
        self.connect()
        self.assertEqual(saves + 1, self.inst.saves)
        self.assertEqual(INST, self.inst.db.read(self.inst.uuid)[
            'fabric_state_B'])

    def test_mapping_to_the_instance_partition(self):
        self.connect()
        for vios_w in self.fx.feed:
            for vmap in vfc_mapper.find_maps(
                    vios_w.vfc_mappings, vm.lpar_uuid(self.inst)):
                self.assertIn('/ManagedSystem/%s/LogicalPartition/%s'
                              % (fx.HOST_UUID, vm.lpar_uuid(self.inst)),
                              vmap.client_lpar_href)

    def test_initiator_map_may_name_partner_wwpns(self):
        drv = self.fx.npiv(self.inst, fx.connection_info([W(1), W(3)]))
        drv.connect_volume()
        self.assertStates(INST)

    def test_initiator_spelling_does_not_matter(self):
        spelled = [':'.join(W(0).upper()[i:i + 2] for i in range(0, 16, 2))]
        self.fx.npiv(self.inst, fx.connection_info(spelled)).connect_volume()
        self.assertStates(INST)

    def test_without_initiator_target_map(self):
        self.fx.npiv(self.inst, fx.connection_info()).connect_volume()
        self.assertStates(INST)


class TestConnectFromUnmapped(NPIVTestCase):

    staging = False

    def test_unmapped_to_inst_mapped(self):
        self.connector()
        self.fx.reset_counts()

        self.connect()

        self.assertStates(INST)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_after_rollback_with_staging_configured_later(self):
        # Staging may have been turned on since: nothing to remove.
        self.connector()
        self.fx.staging = fx.Staging()
        self.connect()
        self.assertStates(INST)
        self.assertEqual({}, self.fx.staging_maps())

    def test_without_connector_call_first(self):
        drv = self.fx.npiv(self.inst, fx.connection_info())
        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.connect_volume)
        self.assertIn('A, B', str(err))
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


class TestLaterVolumes(NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.connect('vol-1')
        self.fx.reset_counts()
        self.maps = self.fx.instance_maps(self.inst)
        self.saves = self.inst.saves

    def test_second_volume_zero_vios_updates_and_no_get(self):
        self.connect('vol-2')
        self.connect('vol-3')

        self.assertEqual(0, self.fx.gets)
        self.assertEqual(0, self.fx.updates)
        self.assertEqual(self.maps, self.fx.instance_maps(self.inst))
        self.assertEqual(self.saves, self.inst.saves)
        self.assertStates(INST)

    def test_on_a_shared_feedtask_nothing_is_queued(self):
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'attach')
        self.connect('vol-2', stg_ftsk=ftsk)
        ftsk.execute()

        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_extend(self):
        drv = self.fx.npiv(self.inst, fx.connection_info([W(0)], 'vol-1'))
        drv.extend_volume()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


class TestSpawnWithManyVolumes(NPIVTestCase):

    def test_one_get_one_post_per_vios_for_three_volumes(self):
        self.connector()
        self.fx.reset_counts()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'spawn',
                                   xags=npiv_vios.XAGS_PORTS)

        drvs = [self.connect('vol-%d' % i, stg_ftsk=ftsk) for i in range(3)]
        # Queued only: the driver runs the FeedTask in its flow.
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(MGMT)
        self.assertEqual([True, False, False],
                         [d._queued_here for d in drvs])

        ftsk.execute()

        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))
        self.assertStates(INST)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())

    def test_two_instances_on_one_feedtask(self):
        other = self.fx.instance(uuid='5d1a9e4c-0b8f-4d6e-a1c3-7e2f9b0d4c68')
        self.connector()
        self.connector(other)
        self.fx.reset_counts()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'batch')

        self.connect(stg_ftsk=ftsk)
        self.connect(instance=other, stg_ftsk=ftsk)
        ftsk.execute()

        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))
        self.assertStates(INST)
        self.assertStates(INST, other)
        self.assertEqual(2, len(self.fx.instance_maps(other)))
        self.assertEqual(2, len(self.fx.instance_maps(self.inst)))


class TestBadConnectionInfo(NPIVTestCase):
    """Validated before anything changes: no subtask, no metadata change."""

    def setUp(self):
        super().setUp()
        self.connector()
        self.fx.reset_counts()
        self.sysmeta = dict(self.inst.system_metadata)
        self.staged = self.fx.staging_maps()
        self.saves = self.inst.saves

    def _check(self, conn_info, field):
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'attach')
        drv = self.fx.npiv(self.inst, conn_info, stg_ftsk=ftsk)

        err = self.assertRaises(exception.InvalidConnectionInfo,
                                drv.connect_volume)

        self.assertIn('field %s ' % field, str(err))
        # Nothing was queued: executing the FeedTask is a no-op, no GET.
        ftsk.execute()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertFalse(drv._queued_here)
        self.assertEqual(self.sysmeta, self.inst.system_metadata)
        self.assertEqual(self.saves, self.inst.saves)
        self.assertEqual(self.staged, self.fx.staging_maps())
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        return err

    def test_wrong_driver_volume_type(self):
        info = fx.connection_info([W(0)])
        info['driver_volume_type'] = 'iscsi'
        self._check(info, 'driver_volume_type')

    def test_no_target(self):
        info = fx.connection_info([W(0)])
        del info['data']['target_wwn']
        self._check(info, 'data.target_wwn')

    def test_bad_target_wwpn(self):
        self._check(fx.connection_info([W(0)], targets=['nothex']),
                    'data.target_wwn[0]')

    def test_bad_lun(self):
        self._check(fx.connection_info([W(0)], lun='1'), 'data.target_lun')

    def test_foreign_initiator(self):
        err = self._check(fx.connection_info(['c0507609ffff0000']),
                          "data.initiator_target_map['c0507609ffff0000']")
        self.assertIn('vol-1', str(err))

    def test_no_data(self):
        self._check({'driver_volume_type': 'fibre_channel', 'serial': 'v'},
                    'data')

    def test_own_feedtask_not_executed(self):
        info = fx.connection_info(['c0507609ffff0000'])
        drv = self.fx.npiv(self.inst, info)
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.connect_volume)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_detach_and_extend_validate_too(self):
        info = fx.connection_info([W(0)])
        info['data']['target_lun'] = -1
        drv = self.fx.npiv(self.inst, info)
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.disconnect_volume)
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.extend_volume)
        self.assertEqual(self.sysmeta, self.inst.system_metadata)


# ---------------------------------------------------------------------------
# Detach, extend, delete and rollback (state-machine.rst rows 5 and 6)


class TestPlainDetach(NPIVTestCase):

    def _detach_changes_nothing(self):
        sysmeta = dict(self.inst.system_metadata)
        staged = self.fx.staging_maps()
        mapped = self.fx.instance_maps(self.inst)
        saves = self.inst.saves
        self.fx.reset_counts()

        wwpns = fabric_meta.active_wwpns(self.inst, ['A', 'B'])
        drv = self.fx.npiv(self.inst, fx.connection_info(wwpns[:1]))
        drv.disconnect_volume()

        self.assertEqual(sysmeta, self.inst.system_metadata)
        self.assertEqual(saves, self.inst.saves)
        self.assertEqual(staged, self.fx.staging_maps())
        self.assertEqual(mapped, self.fx.instance_maps(self.inst))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_inst_mapped(self):
        self.connector()
        self.connect()
        self._detach_changes_nothing()
        self.assertStates(INST)
        self.assertEqual(2, len(self.fx.instance_maps(self.inst)))

    def test_mgmt_mapped(self):
        self.connector()
        self._detach_changes_nothing()
        self.assertStates(MGMT)

    def test_unmapped(self):
        self._detach_changes_nothing()
        self.assertEqual({}, self.inst.system_metadata)


class TestExtend(NPIVTestCase):

    def test_not_mapped_to_the_instance(self):
        self.connector()
        drv = self.fx.npiv(self.inst, fx.connection_info([W(0)]))
        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.extend_volume)
        self.assertIn('vol-1', str(err))


class TestRemoveInstanceMappings(NPIVTestCase):

    def _remove(self, update_metadata=True):
        self.before_wwpns = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        self.others = self.fx.other_maps(fx.STAGING_UUID,
                                         vm.lpar_uuid(self.inst))
        self.fx.reset_counts()
        self.fx.npiv(self.inst).remove_instance_mappings(
            update_metadata=update_metadata)

    def _assert_all_gone(self):
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(self.others, self.fx.other_maps(
            fx.STAGING_UUID, vm.lpar_uuid(self.inst)))
        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))

    def test_delete_inst_mapped(self):
        self.connector()
        self.connect()
        self._remove()

        self._assert_all_gone()
        self.assertStates(UNMAPPED)
        self.assertEqual(self.before_wwpns,
                         fabric_meta.all_wwpns(self.inst, ['A', 'B']))
        self.assertEqual(UNMAPPED, self.inst.db.read(self.inst.uuid)[
            'fabric_state_A'])

    def test_delete_before_spawn_removes_staging(self):
        self.connector()
        self._remove()

        self._assert_all_gone()
        self.assertStates(UNMAPPED)
        self.assertEqual(self.before_wwpns,
                         fabric_meta.all_wwpns(self.inst, ['A', 'B']))

    def test_without_metadata_update(self):
        # Evacuate clean-up on the old host: the metadata is the new host's.
        self.connector()
        self.connect()
        sysmeta = dict(self.inst.system_metadata)
        saves = self.inst.saves

        self._remove(update_metadata=False)

        self._assert_all_gone()
        self.assertEqual(sysmeta, self.inst.system_metadata)
        self.assertEqual(saves, self.inst.saves)

    def test_nothing_mapped_no_post(self):
        self.connector()
        self._remove()
        self.fx.reset_counts()
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_same_wwpns_are_restaged_without_a_job(self):
        first = self.connector()
        self.connect()
        self._remove()
        self.fx.reset_counts()

        self.assertEqual(first, self.connector())
        self.assertEqual([], self.fx.job.jobs)
        self.assertStates(MGMT)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())

    def test_queued_on_a_shared_feedtask(self):
        self.connector()
        self.connect()
        self.fx.reset_counts()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'destroy')

        self.fx.npiv(self.inst, stg_ftsk=ftsk).queue_instance_unmapping()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(INST)

        ftsk.execute()
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertStates(UNMAPPED)

    def test_mappings_as_the_console_spells_them(self):
        # The console reports partition UUIDs in upper case: the instance's
        # mappings must be found in what it returns.
        inst = self.fx.instance(uuid=fx.REST_LPAR_UUID.lower())
        for fabric, (_vios, port, wwpns, _slot) in zip(
                ('A', 'B'), fx.REST_LPAR_MAPS):
            fabric_meta.set_fabric(inst, fabric, INST,
                                   [(port, ' '.join(wwpns))])
        others = self.fx.other_maps(fx.REST_LPAR_UUID)

        self.fx.npiv(inst).remove_instance_mappings()

        self.assertEqual({}, self.fx.maps(fx.REST_LPAR_UUID))
        self.assertEqual(others, self.fx.other_maps(fx.REST_LPAR_UUID))
        self.assertEqual(2, self.fx.updates)
        self.assertStates(UNMAPPED, inst)


class TestConnectorDuringDelete(NPIVTestCase):
    """nova asks for the connector after ``destroy`` (legacy attachments).

    ``_shutdown_instance`` calls ``driver.destroy`` and then, for volumes
    attached without a Cinder attachment id, ``get_volume_connector`` to
    terminate the connections: the instance is unmapped by then and must
    not be staged again, or the staging mappings outlive the instance.
    """

    def test_no_restaging_while_deleting(self):
        first = self.connector()
        self.connect()
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.inst.task_state = task_states.DELETING
        self.fx.reset_counts()

        self.assertEqual(first, self.connector())

        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(UNMAPPED)
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))


class TestRollbackConnect(NPIVTestCase):

    def test_rollback_after_connect(self):
        first = self.connector()
        drv = self.connect()
        self.fx.reset_counts()

        drv.rollback_connect()

        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(UNMAPPED)
        self.assertEqual(first, fabric_meta.active_wwpns(self.inst,
                                                         ['A', 'B']))
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_rollback_twice_runs_once(self):
        self.connector()
        drv = self.connect()
        drv.rollback_connect()
        self.fx.reset_counts()
        drv.rollback_connect()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_nothing_queued_nothing_undone(self):
        self.connector()
        self.connect('vol-1')
        drv = self.connect('vol-2')   # inst_mapped already: queued nothing
        self.fx.reset_counts()

        drv.rollback_connect()

        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(INST)

    def test_rollback_before_the_feedtask_ran_removes_staging(self):
        self.connector()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'spawn')
        drv = self.connect(stg_ftsk=ftsk)

        drv.rollback_connect()

        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(UNMAPPED)


class TestReschedule(NPIVTestCase):
    """Spawn rolled back here, retried on another managed system.

    The instance keeps its WWPNs (the SAN zoning stays valid) but the
    physical ports recorded are this system's: the other host must choose
    its own ports, not map through ports it does not have.
    """

    def setUp(self):
        super().setUp()
        self.wwpns = self.connector()
        self.connect()
        # Spawn failed later: rolled back here, WWPNs kept.
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.assertStates(UNMAPPED)

    def test_connector_on_the_other_host_restages_on_its_ports(self):
        self.fx.other_host()

        self.assertEqual(self.wwpns, self.connector())

        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual([(fx.OTHER_FCS2, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.OTHER_FCS4, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))
        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.staging_maps())
        self.assertStates(MGMT)
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_spawn_on_the_other_host_maps_the_instance(self):
        self.fx.other_host()
        self.connector()
        self.fx.reset_counts()

        self.connect()

        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(INST)
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_without_staging_connect_chooses_the_ports(self):
        self.fx.staging = None
        self.fx.other_host()
        self.assertEqual(self.wwpns, self.connector())
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

        self.connect()

        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertStates(INST)
        self.assertEqual(fx.OTHER_FCS2, fx.port_map(self.inst, 'A')[0][0])
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_no_configured_port_on_the_other_host(self):
        self.fx.other_host(fabrics={'A': [fx.OTHER_FCS2],
                                    'B': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.connector)
        self.assertIn('Fabric B', str(err))
        self.assertEqual({}, self.fx.staging_maps())

    def test_same_host_ports_are_kept(self):
        before = {f: fx.port_map(self.inst, f) for f in ('A', 'B')}
        self.connector()
        self.assertEqual(before, {f: fx.port_map(self.inst, f)
                                  for f in ('A', 'B')})

    def test_port_on_a_vios_that_went_down_is_replaced(self):
        # Fabric A was on VIOS1 (fcs0); VIOS1 is now down.
        self.fx.vios(fx.VIOS1).set_parm_value('PartitionState',
                                              'not activated')
        self.fx.reset_counts()
        self.connector()
        self.assertEqual([(fx.V2_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))


class TestEvacuate(NPIVTestCase):
    """The old system is down; the instance is rebuilt on another one.

    Its metadata still says inst_mapped, through the old system's ports;
    the old host cleans up later without touching the metadata.
    """

    def setUp(self):
        super().setUp()
        self.wwpns = self.connector()
        self.connect()
        self.assertStates(INST)

    def test_connector_and_spawn_map_on_the_new_system(self):
        self.fx.other_host()

        self.assertEqual(self.wwpns, self.connector())
        self.assertStates(MGMT)
        self.assertEqual([(fx.OTHER_FCS2, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.fx.reset_counts()

        self.connect()

        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(INST)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_without_staging(self):
        self.fx.staging = None
        self.fx.other_host()
        self.assertEqual(self.wwpns, self.connector())
        self.assertStates(UNMAPPED)

        self.connect()

        self.assertEqual(2, len(self.fx.instance_maps(self.inst)[
            fx.OTHER_VIOS]))
        self.assertStates(INST)

    def test_mapped_on_this_system_is_trusted(self):
        self.fx.reset_counts()
        self.assertEqual(self.wwpns, self.connector())
        self.assertStates(INST)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_metadata_of_an_instance_owned_elsewhere_untouched(self):
        self.fx.other_host()
        self.inst.host = 'new-owner'
        before = dict(self.inst.system_metadata)
        self.connector()
        self.assertEqual(before, self.inst.system_metadata)


# ---------------------------------------------------------------------------
# Errors


class TestConfigAndCapacityErrors(NPIVTestCase):

    def _unchanged(self):
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual(0, self.inst.saves)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(0, self.fx.updates)

    def test_fabric_ports_on_no_vios(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.connector)
        self.assertIn('Fabric B', str(err))
        self.assertIn(fx.NOWHERE, str(err))
        self._unchanged()

    def test_fabric_ports_on_an_inactive_vios(self):
        self.fx.vios(fx.VIOS2).set_parm_value('PartitionState',
                                              'not activated')
        self.fx.configure({'A': [fx.V2_FCS0]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.connector)
        self.assertIn('Fabric A', str(err))
        self._unchanged()

    def test_inactive_vios_is_not_used(self):
        self.fx.vios(fx.VIOS2).set_parm_value(
            'ResourceMonitoringControlState', 'inactive')
        self.fx.configure({'A': fx.FABRIC_A, 'B': fx.FABRIC_B})
        self.connector()
        self.assertEqual([fx.VIOS1], self.fx.updated())
        self.assertEqual([(fx.V1_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))

    def test_fabric_without_ports(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': []})
        err = self.assertRaises(exception.NPIVConfigError, self.fx.npiv,
                                self.inst)
        self.assertIn('fabric_B_port_wwpns', str(err))


class TestNoCapacity(NPIVTestCase):

    extra_vios = ('fake_vios.txt',)

    def test_no_free_npiv_slot(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.V3_FCS1_FULL]})
        err = self.assertRaises(exception.NoFabricCapacity, self.connector)
        self.assertIn('Fabric B', str(err))
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(0, self.fx.updates)

    def test_full_port_is_skipped(self):
        self.fx.configure({'A': [fx.V3_FCS1_FULL, fx.V3_FCS0]})
        self.connector()
        self.assertEqual(fx.V3_FCS0, fx.port_map(self.inst, 'A')[0][0])


class TestCorruptMetadata(NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.connect()
        self.fx.reset_counts()

    def test_bad_state(self):
        self.inst.system_metadata['fabric_state_B'] = 'half_mapped'
        self.inst.save()
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                self.connector)
        self.assertIn(self.inst.uuid, str(err))
        self.assertIn('fabric_state_B', str(err))
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))

    def test_bad_wwpn(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = (
            '%s,%s,zz' % (fx.V1_FCS0, W(0)))
        self.inst.save()
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                self.connector)
        self.assertIn('npiv_adpt_wwpns_A', str(err))

    def test_bad_token_count_on_connect(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = (
            '%s,%s' % (fx.V1_FCS0, W(0)))
        drv = self.fx.npiv(self.inst, fx.connection_info([W(2)], 'vol-2'))
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                drv.connect_volume)
        self.assertIn('npiv_adpt_wwpns_A', str(err))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_delete_removes_the_partition_mappings_anyway(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = 'garbage'

        self.fx.npiv(self.inst).remove_instance_mappings()

        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual(2, self.fx.updates)
        # The readable fabric is recorded, the corrupt one left for audit.
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'B'))
        self.assertEqual('garbage',
                         self.inst.system_metadata['npiv_adpt_wwpns_A'])


# ---------------------------------------------------------------------------
# Live migration (doc/source/design/flows.rst, Live migration)


def _rest_instance(fixture, fabrics=('A', 'B'), port_maps=None):
    """An instance whose LPAR is REST_LPAR of the sample feed."""
    inst = fixture.instance(uuid=fx.REST_LPAR_UUID.lower())
    if port_maps is None:
        port_maps = [[(port, ' '.join(wwpns))]
                     for _v, port, wwpns, _s in fx.REST_LPAR_MAPS]
    for fabric, port_map in zip(fabrics, port_maps):
        fabric_meta.set_fabric(inst, fabric, INST, port_map)
    return inst


class TestClientSlots(NPIVTestCase):

    def test_per_fabric_slots(self):
        inst = _rest_instance(self.fx)
        slots = self.fx.npiv(inst).migration.client_slots()
        self.assertEqual({'A': [2], 'B': [4]}, slots)
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_ordered_like_the_port_map(self):
        entries = [(port, ' '.join(wwpns))
                   for _v, port, wwpns, _s in fx.REST_LPAR_MAPS]
        self.fx.configure({'A': fx.FABRIC_A + fx.FABRIC_B})
        inst = _rest_instance(self.fx, ('A',), [entries])
        self.assertEqual({'A': [2, 4]},
                         self.fx.npiv(inst).migration.client_slots(self.fx.feed))
        inst = _rest_instance(self.fx, ('A',), [entries[::-1]])
        self.assertEqual({'A': [4, 2]},
                         self.fx.npiv(inst).migration.client_slots(self.fx.feed))

    def test_pair_order_does_not_matter(self):
        _v, port, wwpns, _s = fx.REST_LPAR_MAPS[0]
        inst = _rest_instance(self.fx, port_maps=[
            [(port, '%s %s' % (wwpns[1], wwpns[0]))],
            [(fx.REST_LPAR_MAPS[1][1], ' '.join(fx.REST_LPAR_MAPS[1][2]))]])
        self.assertEqual({'A': [2], 'B': [4]},
                         self.fx.npiv(inst).migration.client_slots(self.fx.feed))

    def test_missing_adapter(self):
        inst = _rest_instance(self.fx)
        fabric_meta.set_fabric(inst, 'B', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(inst).migration.client_slots,
                                self.fx.feed)
        self.assertIn(pair(0, 1), str(err))
        self.assertIn('fabric B', str(err))

    def test_another_partitions_adapter_is_not_ours(self):
        # C05076079CFF0E56/57 belongs to another partition of the feed.
        inst = _rest_instance(self.fx)
        fabric_meta.set_fabric(inst, 'B', INST, [
            (fx.V2_FCS1, 'c05076079cff0e56 c05076079cff0e57')])
        self.assertRaises(exception.LiveMigrationDataError,
                          self.fx.npiv(inst).migration.client_slots,
                          self.fx.feed)


class TestMigrationTargets(NPIVTestCase):
    """On the destination: where each vFC adapter will land."""

    ports_per_fabric = 2

    def setUp(self):
        super().setUp()
        self.inst.host = 'source-host'
        self.inst.task_state = task_states.MIGRATING
        fabric_meta.set_fabric(self.inst, 'A', INST, [
            ('1000000000000001', pair(0, 1)),
            ('1000000000000002', pair(2, 3))])
        fabric_meta.set_fabric(self.inst, 'B', INST, [
            ('1000000000000003', pair(4, 5)),
            ('1000000000000004', pair(6, 7))])
        self.sysmeta = dict(self.inst.system_metadata)

    def test_vios_name_id_and_port_per_adapter(self):
        targets = self.fx.npiv(self.inst).migration.targets()

        self.assertEqual(
            {'A': ['%s/1//fcs0' % fx.VIOS1, '%s/2//fcs0' % fx.VIOS2],
             'B': ['%s/2//fcs1' % fx.VIOS2, '%s/1//fcs1' % fx.VIOS1]},
            targets)
        self.assertEqual((1, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))
        self.assertEqual(self.sysmeta, self.inst.system_metadata)

    def test_count_follows_the_source(self):
        fabric_meta.set_fabric(self.inst, 'B', INST, [
            ('1000000000000003', pair(4, 5))])
        targets = self.fx.npiv(self.inst).migration.targets(self.fx.feed)
        self.assertEqual(2, len(targets['A']))
        self.assertEqual(['%s/2//fcs1' % fx.VIOS2], targets['B'])

    def test_fabric_without_adapters_skipped(self):
        fabric_meta.clear_fabric(self.inst, 'B')
        targets = self.fx.npiv(self.inst).migration.targets(self.fx.feed)
        self.assertEqual(['A'], list(targets))

    def test_destination_ports_missing(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]}, 2)
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.fx.npiv(self.inst).migration.targets,
                                self.fx.feed)
        self.assertIn('Fabric B', str(err))


class TestMigrationMappings(NPIVTestCase):
    """On the source: the Migrate job's VirtualFCMappings."""

    def setUp(self):
        super().setUp()
        self.inst = _rest_instance(self.fx)

    def test_slot_in_front_of_each_target(self):
        targets = {'A': ['%s/1//fcs0' % fx.VIOS1],
                   'B': ['%s/2//fcs1' % fx.VIOS2]}
        mappings = self.fx.npiv(self.inst).migration.mappings(targets)
        self.assertEqual(['2/%s/1//fcs0' % fx.VIOS1,
                          '4/%s/2//fcs1' % fx.VIOS2], mappings)
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_round_trip_with_the_destination(self):
        dest = fx.FakeInstance(uuid=self.inst.uuid, host='source-host',
                               system_metadata=self.inst.system_metadata)
        targets = self.fx.npiv(dest).migration.targets(self.fx.feed)
        mappings = self.fx.npiv(self.inst).migration.mappings(
            targets, self.fx.feed)
        self.assertEqual(['2/%s' % targets['A'][0],
                          '4/%s' % targets['B'][0]], mappings)

    def test_count_mismatch(self):
        targets = {'A': [], 'B': ['%s/2//fcs1' % fx.VIOS2]}
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).migration.mappings,
                                targets, self.fx.feed)
        self.assertIn('fabric A has 1 vFC adapter(s) but the destination '
                      'chose 0', str(err))

    def test_missing_fabric_in_targets(self):
        self.assertRaises(exception.LiveMigrationDataError,
                          self.fx.npiv(self.inst).migration.mappings,
                          {'A': ['x/1//fcs0']}, self.fx.feed)


class TestAdoptMigratedMappings(NPIVTestCase):
    """After migration, on the destination: flip pairs, record ports."""

    def setUp(self):
        super().setUp()
        # As the source recorded them: source ports, first WWPN active.
        self.inst = _rest_instance(self.fx, port_maps=[
            [('2000000000000001', 'c05076079cff0e42 c05076079cff0e43')],
            [('2000000000000002', 'c05076079cff0e44 c05076079cff0e45')]])

    def test_flips_pairs_and_records_destination_ports(self):
        self.fx.npiv(self.inst).migration.adopt()

        self.assertEqual([(fx.V1_FCS0, 'c05076079cff0e43 c05076079cff0e42')],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, 'c05076079cff0e45 c05076079cff0e44')],
                         fx.port_map(self.inst, 'B'))
        self.assertStates(INST, self.inst)
        self.assertEqual(['c05076079cff0e43', 'c05076079cff0e45'],
                         fabric_meta.active_wwpns(self.inst, ['A', 'B']))
        self.assertEqual(self.inst.system_metadata,
                         self.inst.db.read(self.inst.uuid))
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_adapter_did_not_arrive(self):
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [('2000000000000002', pair(0, 1))])
        sysmeta = dict(self.inst.system_metadata)
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).
                                migration.adopt, self.fx.feed)
        self.assertIn('fabric B did not arrive', str(err))
        self.assertEqual(0, self.inst.saves)
        self.assertEqual(sysmeta['npiv_adpt_wwpns_B'],
                         self.inst.system_metadata['npiv_adpt_wwpns_B'])

    def test_next_connector_call_reports_the_new_active_wwpns(self):
        self.fx.npiv(self.inst).migration.adopt(self.fx.feed)
        self.fx.reset_counts()
        self.assertEqual(['c05076079cff0e43', 'c05076079cff0e45'],
                         self.connector(self.inst))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


# ---------------------------------------------------------------------------
# Helpers and the staging partition


class TestHelpers(NPIVTestCase):

    def test_lpar_uuid_is_the_powervm_form(self):
        inst = self.fx.instance(uuid='fb1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d')
        self.assertEqual('7B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D',
                         vm.lpar_uuid(inst))

    def test_host_name(self):
        self.assertEqual(fabric_meta.host_name(self.inst),
                         self.fx.npiv(self.inst).host_name())

    def test_initiator_wwpns_are_both_of_every_pair(self):
        self.connector()
        self.assertEqual([W(i) for i in range(4)],
                         self.fx.npiv(self.inst).initiator_wwpns())

    def test_adapter_requests_the_storage_xag(self):
        self.assertEqual(npiv_vios.XAGS_PORTS,
                         npiv.NPIVVolumeAdapter.vios_xags)


class TestStagingPartition(NPIVTestCase):
    """The real StagingPartition, resolved from the sample feeds."""

    def setUp(self):
        super().setUp()
        self.lpars = pvm_lpar.LPAR.wrap(pvmhttp.load_pvm_resp(
            'lpar.txt', adapter=self.fx.adpt).get_response())
        self.mgmt = [p for p in self.lpars if p.is_mgmt_partition]
        self.lpar_get = self.useFixture(fixtures.MockPatchObject(
            pvm_lpar.LPAR, 'get', return_value=self.lpars)).mock
        self.vios_get = self.useFixture(fixtures.MockPatchObject(
            pvm_vios.VIOS, 'get', return_value=self.fx.feed)).mock

    def staging(self, choice):
        return npiv_staging.StagingPartition(self.fx.adpt, fx.HOST_UUID,
                                             choice=choice)

    def test_auto_finds_the_novalink_partition(self):
        self.assertEqual(1, len(self.mgmt))
        stg = self.staging('auto')
        self.assertEqual(self.mgmt[0].uuid, stg.uuid)
        self.assertEqual(self.mgmt[0].name, stg.name)
        self.lpar_get.assert_called_once_with(
            self.fx.adpt, parent_type=npiv_staging.pvm_ms.System,
            parent_uuid=fx.HOST_UUID)

    def test_auto_never_picks_a_management_vios(self):
        # A VIOS cannot host vFC client adapters: no staging then.
        self.lpar_get.return_value = [p for p in self.lpars
                                      if not p.is_mgmt_partition]
        self.fx.feed[0].set_parm_value('IsManagementPartition', 'true')
        self.assertIsNone(self.staging('auto').uuid)

    def test_resolved_once(self):
        stg = self.staging('auto')
        self.assertEqual((stg.uuid, stg.name), (stg.uuid, stg.name))
        self.assertEqual(1, self.lpar_get.call_count)

    def test_none(self):
        stg = self.staging('none')
        self.assertIsNone(stg.uuid)
        self.assertEqual(0, self.lpar_get.call_count)

    def test_named(self):
        name = self.lpars[2].name
        self.assertEqual(self.lpars[2].uuid, self.staging(name).uuid)

    def test_named_vios_is_a_configuration_error(self):
        err = self.assertRaises(exception.NPIVConfigError, getattr,
                                self.staging(fx.VIOS2), 'uuid')
        self.assertIn('[powervm] staging_partition', str(err))
        self.assertIn('%s is a Virtual I/O Server' % fx.VIOS2, str(err))

    def test_named_missing(self):
        stg = self.staging('no-such-partition')
        err = self.assertRaises(exception.StagingPartitionNotFound,
                                getattr, stg, 'uuid')
        self.assertIn('no-such-partition', str(err))

    def test_auto_without_management_partition(self):
        self.lpar_get.return_value = [p for p in self.lpars
                                      if not p.is_mgmt_partition]
        for vios_w in self.fx.feed:
            vios_w.set_parm_value('IsManagementPartition', 'false')
        self.assertIsNone(self.staging('auto').uuid)

    def test_connector_stages_to_it(self):
        stg = self.staging('auto')
        self.fx.npiv(self.inst, staging=stg).wwpns()
        self.assertStates(MGMT)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.maps(self.mgmt[0].uuid))
