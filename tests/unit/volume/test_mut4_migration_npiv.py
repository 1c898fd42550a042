"""The destination's half of a live migration whose last step failed.

nova moved the instance here, but the adoption (flipped WWPN order, the
ports the Migrate job used) did not run: the recorded targets mark it as
pending.  The next connector call or the host's restart finishes it
(``pending_here``, ``finish_after_restart``); nothing else may.
"""

import logging
import threading
from unittest import mock

import fixtures
from nova.compute import task_states
from nova import objects
from pypowervm import exceptions as pvm_exc

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import staging as staging_mod
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import migration as md
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

INST = npiv_base.INST
TARGETS = {'A': ['%s/1//fcs0' % fx.VIOS1], 'B': ['%s/2//fcs1' % fx.VIOS2]}
# As the source recorded them: source ports, first WWPN active.
SOURCE_MAPS = {
    'A': [('2000000000000001', 'c05076079cff0e42 c05076079cff0e43')],
    'B': [('2000000000000002', 'c05076079cff0e44 c05076079cff0e45')]}
ADOPTED = {'A': [(fx.V1_FCS0, 'c05076079cff0e43 c05076079cff0e42')],
           'B': [(fx.V2_FCS1, 'c05076079cff0e45 c05076079cff0e44')]}


class MigratedHereTestCase(npiv_base.NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv', level=logging.INFO))
        # The instance whose LPAR is the sample feed's REST_LPAR.
        self.inst = self.fx.instance(uuid=fx.REST_LPAR_UUID.lower())
        for fabric, port_map in SOURCE_MAPS.items():
            fabric_meta.set_fabric(self.inst, fabric, INST, port_map)
        md.set_targets(self.inst, TARGETS)
        self.inst.save()
        self.inst.saves = 0
        self.sysmeta = dict(self.inst.system_metadata)
        self.get = self.useFixture(fixtures.MockPatchObject(
            vm, 'get', return_value=mock.Mock(uuid=fx.REST_LPAR_UUID))).mock

    def port_maps(self):
        return {f: fx.port_map(self.inst, f) for f in ('A', 'B')}

    def assertAdopted(self):
        self.assertEqual(ADOPTED, self.port_maps())
        self.assertStates(INST, self.inst)
        self.assertEqual({}, md.get_targets(self.inst))
        self.assertEqual(self.inst.system_metadata,
                         self.inst.db.read(self.inst.uuid))

    def assertUntouched(self):
        self.assertEqual(self.sysmeta, self.inst.system_metadata)
        self.assertEqual(0, self.inst.saves)


class TestPendingHere(MigratedHereTestCase):

    def test_targets_recorded_on_this_host_after_the_migration(self):
        self.assertIs(True, self.fx.npiv(self.inst).migration.pending_here())

    def test_not_while_a_task_runs(self):
        self.inst.task_state = task_states.MIGRATING
        self.assertIs(False, self.fx.npiv(self.inst).migration.pending_here())

    def test_not_for_an_instance_of_another_host(self):
        self.inst.host = 'source-host'
        self.assertIs(False, self.fx.npiv(self.inst).migration.pending_here())

    def test_not_without_targets(self):
        md.clear_targets(self.inst)
        self.assertIs(False, self.fx.npiv(self.inst).migration.pending_here())

    def test_the_connector_call_finishes_the_adoption(self):
        self.fx.reset_counts()
        self.assertEqual(['c05076079cff0e43', 'c05076079cff0e45'],
                         self.connector(self.inst))
        self.assertAdopted()
        self.assertIn('recording the vFC mappings its live migration left',
                      self.logs.output)

    def test_the_connector_call_of_another_hosts_instance_adopts_nothing(
            self):
        self.inst.host = 'source-host'
        self.inst.task_state = task_states.MIGRATING
        # The destination of a running migration: the partner WWPNs.
        self.assertEqual(['c05076079cff0e43', 'c05076079cff0e45'],
                         self.connector(self.inst))
        self.assertEqual(SOURCE_MAPS, self.port_maps())
        self.assertEqual(TARGETS, md.get_targets(self.inst))


class TestFinishAfterRestart(MigratedHereTestCase):

    def test_adopted_at_start_up(self):
        self.fx.npiv(self.inst).migration.finish_after_restart()
        self.assertAdopted()
        self.get.assert_called_once_with(self.fx.adpt, fx.HOST_UUID,
                                         self.inst)
        self.assertEqual(1, self.fx.gets)

    def test_not_while_a_task_runs(self):
        self.inst.task_state = task_states.MIGRATING
        self.fx.npiv(self.inst).migration.finish_after_restart()
        self.assertUntouched()
        self.assertEqual((0, 0), (self.get.call_count, self.fx.gets))

    def test_nothing_pending(self):
        md.clear_targets(self.inst)
        self.sysmeta = dict(self.inst.system_metadata)
        self.fx.npiv(self.inst).migration.finish_after_restart()
        self.assertUntouched()
        self.assertEqual((0, 0), (self.get.call_count, self.fx.gets))

    def test_a_missing_lpar_is_logged_and_changes_nothing(self):
        self.get.return_value = None
        self.assertIsNone(
            self.fx.npiv(self.inst).migration.finish_after_restart())
        self.assertUntouched()
        self.assertIn('Could not record the vFC mappings of migrated '
                      'instance %s' % self.inst.uuid, self.logs.output)
        self.assertIn('Instance %s could not be found' % self.inst.uuid,
                      self.logs.output)

    def test_an_adapter_that_did_not_arrive_is_logged(self):
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [('2000000000000002', fx.pair(0, 1))])
        self.sysmeta = dict(self.inst.system_metadata)
        self.fx.npiv(self.inst).migration.finish_after_restart()
        self.assertUntouched()
        self.assertIn('fabric B did not arrive', self.logs.output)


class TestSourceRefusals(MigratedHereTestCase):
    """The source's check, refused before the platform is asked."""

    def setUp(self):
        super().setUp()
        md.clear_targets(self.inst)
        md.put_offer(self.inst, 'sys-b', TARGETS)

    def check(self, data=None):
        return self.fx.npiv(self.inst).migration.check_source(data)

    def test_fabrics_not_mapped_named_in_full(self):
        fabric_meta.set_fabric(self.inst, 'B', npiv_base.MGMT,
                               SOURCE_MAPS['B'])
        err = self.assertRaises(exception.LiveMigrationDataError, self.check)
        self.assertEqual(
            'NPIV live migration data for instance %s is unusable: '
            'fabric(s) B are not mapped to the instance' % self.inst.uuid,
            err.format_message())
        # The offer is taken off all the same.
        self.assertNotIn(md.OFFER_KEY, self.inst.system_metadata)

    def test_no_offer_named_in_full(self):
        md.take_offer(self.inst)
        err = self.assertRaises(exception.LiveMigrationDataError, self.check)
        self.assertEqual(
            'NPIV live migration data for instance %s is unusable: the '
            'destination made no offer (npiv_lpm_offer) to validate'
            % self.inst.uuid, err.format_message())
        self.assertEqual(0, self.get.call_count)

    def test_another_console_without_its_address_names_the_instance(self):
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.remote_console.manages', return_value=False))
        err = self.assertRaises(exception.LiveMigrationDataError, self.check)
        self.assertIn('instance %s is unusable: the destination did not say '
                      'which management console' % self.inst.uuid,
                      err.format_message())


class TestSourceSlots(MigratedHereTestCase):

    def test_missing_adapter_named_in_full(self):
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.V1_FCS0, fx.pair(0, 1))])
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).migration.client_slots,
                                self.fx.feed)
        self.assertEqual(
            'NPIV live migration data for instance %s is unusable: no vFC '
            'adapter with WWPNs %s on fabric B'
            % (self.inst.uuid, fx.pair(0, 1)), err.format_message())

    def test_mappings_from_the_given_feed_read_nothing(self):
        self.fx.reset_counts()
        migration = self.fx.npiv(self.inst).migration
        self.assertEqual(['2/%s' % TARGETS['A'][0], '4/%s' % TARGETS['B'][0]],
                         migration.mappings(TARGETS, self.fx.feed))
        self.assertEqual(0, self.fx.gets)


class DestinationTestCase(npiv_base.NPIVTestCase):
    """The destination of a running migration, before the Migrate job."""

    def setUp(self):
        super().setUp()
        self.inst.host = 'source-host'
        self.inst.task_state = task_states.MIGRATING
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, fx.pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.V2_FCS1, fx.pair(2, 3))])
        self.inst.save()
        self.inst.saves = 0
        self.sysmeta = dict(self.inst.system_metadata)
        self.fx.reset_counts()

    def migration(self, **kwargs):
        return self.fx.npiv(self.inst, **kwargs).migration

    def staged(self):
        return sorted(c for maps in self.fx.staging_maps().values()
                      for _p, c in maps)

    def lock_held_at_each_read(self):
        """Whether another thread finds the system's VIOS lock taken."""
        held = []
        read = npiv_vios.read_feed

        def spy(*args, **kwargs):
            lock = npiv_vios.serialized(fx.HOST_UUID)
            taken = []
            probe = threading.Thread(
                target=lambda: taken.append(lock.acquire(blocking=False)))
            probe.start()
            probe.join()
            if taken[0]:
                lock.release()
            held.append(not taken[0])
            return read(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(npiv_vios, 'read_feed',
                                                 spy))
        return held


class TestStagePartners(DestinationTestCase):

    def test_partner_first_pairs_staged_in_one_read(self):
        self.migration().stage_partners()
        self.assertEqual([fx.pair(1, 0), fx.pair(3, 2)], self.staged())
        self.assertEqual(1, self.fx.gets)
        self.assertEqual(self.sysmeta, self.inst.system_metadata)
        self.assertEqual(0, self.inst.saves)

    def test_a_fabric_without_adapters_is_skipped_not_the_rest(self):
        fabric_meta.clear_fabric(self.inst, 'A')
        self.migration().stage_partners()
        self.assertEqual([fx.pair(3, 2)], self.staged())

    def test_under_the_systems_vios_lock(self):
        held = self.lock_held_at_each_read()
        self.migration().stage_partners()
        self.assertEqual([True], held)

    def test_no_configured_port_here_names_the_system(self):
        self.fx.configure({'A': [fx.NOWHERE], 'B': fx.FABRIC_B})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.migration().stage_partners)
        self.assertIn('of %s' % fx.HOST_UUID, err.format_message())
        self.assertEqual([], self.staged())

    def test_staging_slots_checked_for_the_instance(self):
        staging = fx.Staging(max_slots=staging_mod.RESERVED_SLOTS + 1)
        err = self.assertRaises(exception.StagingSlotsExhausted,
                                self.migration(staging=staging)
                                .stage_partners)
        self.assertIn(self.inst.uuid, err.format_message())
        self.assertEqual([], self.staged())
        self.assertEqual(0, self.fx.updates)


class TestPrepareDestination(DestinationTestCase):

    def test_no_configured_port_here_names_the_system(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.migration().targets, self.fx.feed)
        self.assertEqual(
            'Fabric B: configured physical port(s) %s are not on any active '
            'Virtual I/O Server of %s' % (fx.NOWHERE, fx.HOST_UUID),
            err.format_message())
        self.assertEqual({}, md.get_targets(self.inst))

    def test_partners_unstaged_and_targets_recorded_in_one_read(self):
        self.migration().stage_partners()
        self.fx.reset_counts()
        targets = self.migration().prepare_destination()
        self.assertEqual([], self.staged())
        self.assertEqual(1, self.fx.gets)
        self.assertEqual([fx.VIOS1, fx.VIOS2], sorted(self.fx.updated()))
        self.assertEqual(targets, md.get_targets(self.inst))
        self.assertEqual({'A', 'B'}, set(targets))
        self.assertEqual(1, self.inst.saves)

    def test_without_staging_nothing_is_posted(self):
        targets = self.migration(staging=False).prepare_destination()
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))
        self.assertEqual(targets, md.get_targets(self.inst))

    def test_under_the_systems_vios_lock(self):
        held = self.lock_held_at_each_read()
        self.migration(staging=False).prepare_destination()
        self.assertEqual([True], held)


class TestUnstagePartners(DestinationTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv', level=logging.INFO))
        self.migration().stage_partners()
        self.fx.reset_counts()

    def test_a_failed_post_is_tried_again_and_said_so(self):
        self.fx.fail_updates(fx.VIOS1)
        self.migration().unstage_partners()
        self.assertEqual([], self.staged())
        self.assertIn('Unstaging the partner WWPNs of %s failed ('
                      % self.inst.uuid, self.logs.output)


class TestAdoptAfterMigration(MigratedHereTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(md, 'time'))

    def test_a_console_hiccup_is_said_and_tried_again(self):
        read = npiv_vios.read_feed
        calls = []

        def flaky(*args, **kwargs):
            calls.append(args)
            if len(calls) == 1:
                raise pvm_exc.TimeoutError('hiccup')
            return read(*args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(npiv_vios, 'read_feed',
                                                 flaky))
        self.fx.npiv(self.inst).migration.adopt_after_migration()
        self.assertAdopted()
        self.assertEqual(2, len(calls))
        self.assertIn('\nRecording the vFC mappings of %s after its migration '
                      'failed (hiccup); trying again\n' % self.inst.uuid,
                      '\n' + self.logs.output)

    def test_an_adapter_that_did_not_arrive_named_in_full(self):
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [('2000000000000002', fx.pair(0, 1))])
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).migration.adopt)
        self.assertEqual(
            'NPIV live migration data for instance %s is unusable: vFC '
            'adapter %s of fabric B did not arrive'
            % (self.inst.uuid, fx.pair(1, 0)), err.format_message())


class TestForgetTargets(MigratedHereTestCase):
    """The source, after nova's rollback."""

    def setUp(self):
        super().setUp()
        objects.register_all()

    def forget(self):
        self.fx.npiv(self.inst).migration.forget_targets(mock.sentinel.ctxt)

    def test_our_copy_cleared_and_saved(self):
        with mock.patch.object(objects.Instance, 'get_by_uuid') as get:
            self.forget()
        get.assert_not_called()
        self.assertEqual({}, md.get_targets(self.inst))
        self.assertEqual(1, self.inst.saves)

    def test_the_databases_copy_cleared_and_saved(self):
        stored = self.inst.twin()
        md.clear_targets(self.inst)
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               return_value=stored) as get:
            self.forget()
        get.assert_called_once_with(mock.sentinel.ctxt, self.inst.uuid,
                                    expected_attrs=['system_metadata'])
        self.assertEqual({}, md.get_targets(stored))
        self.assertEqual((1, 0), (stored.saves, self.inst.saves))

    def test_a_failure_is_logged_not_raised(self):
        md.clear_targets(self.inst)
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               side_effect=RuntimeError('db down')):
            self.forget()
        self.assertIn('\nCould not forget the live-migration targets of %s\n'
                      % self.inst.uuid, '\n' + self.logs.output)


class TestSourceMappings(MigratedHereTestCase):

    def test_a_count_mismatch_named_in_full(self):
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).migration.mappings,
                                {'A': [], 'B': TARGETS['B']}, self.fx.feed)
        self.assertEqual(
            'NPIV live migration data for instance %s is unusable: fabric A '
            'has 1 vFC adapter(s) but the destination chose 0 port(s)'
            % self.inst.uuid, err.format_message())
