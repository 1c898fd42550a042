"""First and later connector calls (state-machine.rst rows 1, 2 and 8)."""

import threading

import fixtures
from nova.compute import task_states
from nova import exception as nova_exc
from oslo_db import exception as db_exc
from oslo_concurrency import lockutils
from pypowervm.tasks import vfc_mapper

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.tasks import base as tf_base
from nova_npiv.volume import connector_flow
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
W = npiv_base.W
UNMAPPED = npiv_base.UNMAPPED
MGMT = npiv_base.MGMT
INST = npiv_base.INST
pair = npiv_base.pair


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


class TestConnectorIsOneFlow(NPIVTestCase):
    """get_volume_connector reads as one flow run by the one runner."""

    def setUp(self):
        super().setUp()
        self.flows = []
        real_run = tf_base.run

        def run(flow, instance=None):
            self.flows.append((flow.name, [atom.name for atom in flow],
                               instance))
            return real_run(flow, instance=instance)

        self.useFixture(fixtures.MockPatchObject(tf_base, 'run',
                                                 side_effect=run))

    def test_first_call_runs_its_tasks_in_order(self):
        self.connector()

        u = self.inst.uuid
        self.assertEqual(
            [('connector_%s' % u,
              ['finish_migration_%s' % u, 'forget_foreign_%s' % u,
               'allocate_and_stage_%s' % u], self.inst),
             ('stage_%s' % u, ['undo__unstage_now', 'stage_%s' % u],
              self.inst),
             # The staging's metadata save, once its batch has landed
             # (group_commit), in the connector's own thread.
             ('stage_%s_post_execs' % u,
              ['save_fabric_state_mgmt_mapped_%s' % u], None)],
            self.flows)

    def test_later_call_runs_no_flow(self):
        # nova asks once per volume: the later calls cost nothing.
        self.connector()
        self.fx.reset_counts()
        del self.flows[:]

        self.connector()

        self.assertEqual([], self.flows)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_evacuated_instance_runs_the_flow(self):
        # Recorded as mapped on another system's ports: work to do.
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.OTHER_FCS2, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.OTHER_FCS4, pair(2, 3))])
        self.inst.task_state = task_states.REBUILDING

        self.connector()

        self.assertEqual('connector_%s' % self.inst.uuid, self.flows[0][0])
        self.assertStates(MGMT)

    def test_destination_stages_the_partners_alone(self):
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.V2_FCS1, pair(2, 3))])
        self.inst.task_state = task_states.MIGRATING
        self.inst.host = 'source-host'

        self.connector()

        u = self.inst.uuid
        self.assertEqual(
            [('connector_destination_%s' % u, ['stage_partners_%s' % u]),
             ('stage_partners_%s' % u,
              ['undo__unstage_now', 'stage_partners_%s' % u])],
            [(name, tasks) for name, tasks, _inst in self.flows])

    def test_failed_call_raises_its_own_error_after_the_reverts(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})

        self.assertRaises(exception.FabricPortsNotFound, self.connector)
        self.assertEqual({}, self.inst.system_metadata)

    def test_reverts_never_raise(self):
        drv = self.fx.npiv(self.inst)
        for task in (connector_flow.AllocateAndStage(drv),
                     connector_flow.FinishMigrationHere(drv),
                     connector_flow.ForgetForeignMappings(drv),
                     connector_flow.StagePartners(drv)):
            self.assertIsNone(task.revert(result=None))
