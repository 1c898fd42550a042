"""The tasks of a move to another system (``nova_npiv.tasks.moves``), alone.

The flows around them (cold_migration) run in tests/functional; here each
task's execute and undo, against pypowervm's sample VIOS feed where they
change VIOSes: what it writes to the instance, what it maps or unmaps, and
what its undo tells the flow's Ledger.
"""

import logging
from unittest import mock

import fixtures
from nova import exception as nova_exc
from pypowervm.wrappers import base_partition as pvm_bp

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv import vm
from nova_npiv.volume import vfc_ops
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

UUID = fx.INSTANCE_UUID
OTHER_LPAR = '5A1C9E0B-3D2F-4E6A-8B7C-9D0E1F2A3B4C'
KEY = 'npiv_some_key'


class LedgerTestCase(npiv_base.NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv', level=logging.INFO))
        self.ledger = moves.Ledger()


class TestSourceLparUuid(LedgerTestCase):

    def test_upper_cased_when_recorded(self):
        inst = fx.FakeInstance(system_metadata={
            moves.SOURCE_LPAR_KEY: OTHER_LPAR.lower()})
        self.assertEqual(OTHER_LPAR, moves.source_lpar_uuid(inst))

    def test_none_when_absent_or_empty(self):
        self.assertIsNone(moves.source_lpar_uuid(fx.FakeInstance()))
        inst = fx.FakeInstance(system_metadata={moves.SOURCE_LPAR_KEY: ''})
        self.assertIsNone(moves.source_lpar_uuid(inst))
        inst.system_metadata = None
        self.assertIsNone(moves.source_lpar_uuid(inst))


class TestLedger(LedgerTestCase):

    def test_an_undo_that_works_is_not_recorded(self):
        func = mock.Mock(return_value='done')
        self.ledger.undo('Undo one', func, 1, k=2)
        func.assert_called_once_with(1, k=2)
        self.assertEqual([], self.ledger.failed)

    def test_an_undo_that_keeps_failing_is_tried_again_then_recorded(self):
        func = mock.Mock(side_effect=RuntimeError('console said no'))
        self.ledger.undo('Undo one', func)
        self.ledger.undo('Undo two', func)
        self.assertEqual(['Undo one', 'Undo two'], self.ledger.failed)
        # Each undo was tried twice (tasks.storage.retried) before giving up.
        self.assertEqual(4, func.call_count)
        self.assertIn('Undo one failed (RuntimeError: console said no); '
                      'trying again', self.logs.output)
        self.assertIn('Undo one failed\nTraceback', self.logs.output)
        self.assertIn('RuntimeError: console said no', self.logs.output)


class TestSetKey(LedgerTestCase):

    def task(self, inst, value):
        return moves.SetKey(inst, KEY, value, self.ledger, 'set_it')

    def test_execute_writes_and_saves_the_key(self):
        inst = fx.FakeInstance(system_metadata={'other': 'x'})
        task = self.task(inst, 'new')
        self.assertEqual('set_it_%s' % UUID, task.name)
        task.execute()
        self.assertEqual({'other': 'x', KEY: 'new'}, inst.db.read(UUID))
        self.assertIsNone(task.old)

    def test_undo_puts_the_old_value_back(self):
        inst = fx.FakeInstance(system_metadata={KEY: 'old'})
        task = self.task(inst, 'new')
        task.execute()
        self.assertEqual('old', task.old)
        task.revert()
        self.assertEqual({KEY: 'old'}, inst.db.read(UUID))
        self.assertEqual([], self.ledger.failed)

    def test_undo_removes_a_key_that_was_not_there(self):
        inst = fx.FakeInstance(system_metadata={'other': 'x'})
        task = self.task(inst, 'new')
        task.execute()
        task.revert()
        self.assertEqual({'other': 'x'}, inst.db.read(UUID))
        self.assertEqual(2, inst.saves)

    def test_writing_none_removes_the_key(self):
        inst = fx.FakeInstance(system_metadata={KEY: 'old', 'other': 'x'})
        task = self.task(inst, None)
        task.execute()
        self.assertEqual({'other': 'x'}, inst.db.read(UUID))
        task.revert()
        self.assertEqual({KEY: 'old', 'other': 'x'}, inst.db.read(UUID))

    def test_execute_on_an_instance_without_metadata_reads_none(self):
        inst = fx.FakeInstance()
        inst.system_metadata = None
        task = self.task(inst, 'new')
        # The read tolerates None; the write needs a dict, as nova gives.
        self.assertRaises(TypeError, task.execute)
        self.assertIsNone(task.old)

    def test_failed_undo_is_told_to_the_ledger(self):
        inst = fx.FakeInstance(system_metadata={KEY: 'old'})
        task = self.task(inst, 'new')
        task.execute()
        with mock.patch.object(inst, 'save',
                               side_effect=RuntimeError('db away')):
            task.revert()
        self.assertEqual(['Putting back %s of %s' % (KEY, UUID)],
                         self.ledger.failed)


class TestChooseIdentity(LedgerTestCase):

    def task(self, inst):
        return moves.ChooseIdentity(self.fx.adpt, fx.HOST_UUID, inst,
                                    self.ledger)

    def test_the_derived_uuid_free_writes_nothing(self):
        inst = fx.FakeInstance(system_metadata={vm.LPAR_UUID_KEY: 'before'})
        task = self.task(inst)
        self.assertEqual('choose_identity_%s' % UUID, task.name)
        self.assertEqual({'lpar_uuid'}, set(task.provides))
        with mock.patch.object(vm, 'fresh_uuid',
                               return_value=None) as fresh:
            self.assertIsNone(task.execute())
        fresh.assert_called_once_with(self.fx.adpt, fx.HOST_UUID, inst)
        self.assertEqual(0, inst.saves)
        task.revert()
        self.assertEqual(0, inst.saves)
        self.assertEqual({vm.LPAR_UUID_KEY: 'before'}, inst.system_metadata)
        self.assertNotIn('creating this one', self.logs.output)

    def test_a_taken_uuid_records_ours_before_the_create(self):
        inst = fx.FakeInstance(system_metadata={vm.LPAR_UUID_KEY: 'before'})
        task = self.task(inst)
        with mock.patch.object(vm, 'fresh_uuid', return_value=OTHER_LPAR):
            self.assertEqual(OTHER_LPAR, task.execute())
        self.assertEqual({vm.LPAR_UUID_KEY: OTHER_LPAR}, inst.db.read(UUID))
        self.assertIn('The derived LPAR UUID is held by the source LPAR: '
                      'creating this one as %s' % OTHER_LPAR,
                      self.logs.output)
        task.revert()
        self.assertEqual({vm.LPAR_UUID_KEY: 'before'}, inst.db.read(UUID))
        self.assertEqual([], self.ledger.failed)

    def test_undo_removes_our_uuid_when_there_was_none(self):
        inst = fx.FakeInstance()
        task = self.task(inst)
        with mock.patch.object(vm, 'fresh_uuid', return_value=OTHER_LPAR):
            task.execute()
        with mock.patch.object(inst, 'save',
                               side_effect=[RuntimeError('db away'), None]):
            task.revert()
        self.assertEqual({}, inst.system_metadata)
        self.assertEqual([], self.ledger.failed)

    def test_failed_undo_is_told_to_the_ledger(self):
        inst = fx.FakeInstance()
        task = self.task(inst)
        with mock.patch.object(vm, 'fresh_uuid', return_value=OTHER_LPAR):
            task.execute()
        with mock.patch.object(inst, 'save',
                               side_effect=RuntimeError('db away')):
            task.revert()
        self.assertEqual(['Putting back %s of %s' % (vm.LPAR_UUID_KEY, UUID)],
                         self.ledger.failed)

    def test_undo_of_a_failed_choice_changes_nothing(self):
        inst = fx.FakeInstance(system_metadata={vm.LPAR_UUID_KEY: 'before'})
        task = self.task(inst)
        with mock.patch.object(vm, 'fresh_uuid',
                               side_effect=RuntimeError('GET failed')):
            self.assertRaises(RuntimeError, task.execute)
        task.revert()
        self.assertEqual(0, inst.saves)
        self.assertEqual({vm.LPAR_UUID_KEY: 'before'}, inst.system_metadata)

    def test_metadata_none_reads_as_no_key(self):
        inst = fx.FakeInstance()
        inst.system_metadata = None
        task = self.task(inst)
        with mock.patch.object(vm, 'fresh_uuid', return_value=None):
            self.assertIsNone(task.execute())
        self.assertIsNone(task.old)


class TestFindLpar(LedgerTestCase):

    def test_the_lpar_already_read_is_used(self):
        lpar_w = mock.Mock()
        task = moves.FindLpar(self.fx.adpt, fx.HOST_UUID, self.inst,
                              OTHER_LPAR, lpar_w=lpar_w)
        self.assertEqual('find_lpar_%s' % UUID, task.name)
        self.assertEqual({'lpar_wrap'}, set(task.provides))
        with mock.patch.object(vm, 'get_by_uuid') as get:
            self.assertIs(lpar_w, task.execute())
        get.assert_not_called()

    def test_read_by_its_uuid(self):
        task = moves.FindLpar(self.fx.adpt, fx.HOST_UUID, self.inst,
                              OTHER_LPAR)
        with mock.patch.object(vm, 'get_by_uuid') as get:
            self.assertIs(get.return_value, task.execute())
        get.assert_called_once_with(self.fx.adpt, fx.HOST_UUID, OTHER_LPAR)

    def test_no_such_lpar_is_instance_not_found(self):
        task = moves.FindLpar(self.fx.adpt, fx.HOST_UUID, self.inst,
                              OTHER_LPAR)
        with mock.patch.object(vm, 'get_by_uuid', return_value=None):
            err = self.assertRaises(nova_exc.InstanceNotFound, task.execute)
        self.assertEqual('Instance %s could not be found.' % UUID,
                         err.format_message())


class TestStop(LedgerTestCase):

    def lpar(self, state):
        lpar_w = mock.Mock(state=state)
        lpar_w.refresh.return_value = mock.sentinel.refreshed
        return lpar_w

    def test_running_lpar_stopped_and_started_again_on_undo(self):
        task = moves.Stop(self.inst, self.ledger, hard=True)
        self.assertEqual('stop_%s' % UUID, task.name)
        self.assertEqual({'lpar_wrap'}, set(task.requires))
        lpar_w = self.lpar(pvm_bp.LPARState.RUNNING)
        with mock.patch.object(vm, 'power_off') as off:
            task.execute(lpar_w)
        off.assert_called_once_with(lpar_w, hard=True)
        with mock.patch.object(vm, 'power_on') as on:
            task.revert(lpar_w)
        # Started as it is now, not as it was before the stop.
        on.assert_called_once_with(mock.sentinel.refreshed)
        self.assertEqual([], self.ledger.failed)

    def test_soft_by_default(self):
        task = moves.Stop(self.inst, self.ledger)
        lpar_w = self.lpar(pvm_bp.LPARState.RUNNING)
        with mock.patch.object(vm, 'power_off') as off:
            task.execute(lpar_w)
        off.assert_called_once_with(lpar_w, hard=False)

    def test_lpar_already_off_is_not_started_on_undo(self):
        task = moves.Stop(self.inst, self.ledger)
        lpar_w = self.lpar(pvm_bp.LPARState.NOT_ACTIVATED)
        with mock.patch.object(vm, 'power_off'):
            task.execute(lpar_w)
        with mock.patch.object(vm, 'power_on') as on:
            task.revert(lpar_w)
        on.assert_not_called()

    def test_undo_before_execute_starts_nothing(self):
        task = moves.Stop(self.inst, self.ledger)
        with mock.patch.object(vm, 'power_on') as on:
            task.revert(self.lpar(pvm_bp.LPARState.RUNNING))
        on.assert_not_called()

    def test_failed_start_is_told_to_the_ledger(self):
        task = moves.Stop(self.inst, self.ledger)
        lpar_w = self.lpar(pvm_bp.LPARState.RUNNING)
        with mock.patch.object(vm, 'power_off'):
            task.execute(lpar_w)
        with mock.patch.object(vm, 'power_on',
                               side_effect=RuntimeError('job failed')):
            task.revert(lpar_w)
        self.assertEqual(['Starting the LPAR of %s again' % UUID],
                         self.ledger.failed)


class TestUnmapSource(LedgerTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.connect()
        self.mapped = self.fx.instance_maps(self.inst)
        self.others = self.fx.other_maps(vm.lpar_uuid(self.inst),
                                         fx.STAGING_UUID)
        self.assertEqual(2, sum(len(m) for m in self.mapped.values()))
        self.task = moves.UnmapSource(self.fx.npiv(self.inst), self.ledger)

    def test_execute_unmaps_and_records_unmapped_wwpns_kept(self):
        before = fx.records(self.inst)
        self.assertEqual('unmap_source_%s' % UUID, self.task.name)
        self.task.execute()
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertStates(npiv_base.UNMAPPED, instance=self.inst.twin())
        after = fx.records(self.inst)
        self.assertEqual({f: r.port_map for f, r in before.items()},
                         {f: r.port_map for f, r in after.items()})

    def test_undo_maps_every_adapter_back_and_records_it(self):
        self.task.execute()
        self.fx.reset_counts()
        self.task.revert()
        self.assertEqual(self.mapped, self.fx.instance_maps(self.inst))
        self.assertEqual(self.others, self.fx.other_maps(
            vm.lpar_uuid(self.inst), fx.STAGING_UUID))
        self.assertStates(npiv_base.INST, instance=self.inst.twin())
        self.assertEqual([], self.ledger.failed)

    def test_undo_saves_even_when_the_records_already_said_so(self):
        self.task.execute()
        # Records back to inst_mapped in memory only (a failed save).
        for fabric in ('A', 'B'):
            fabric_meta.set_fabric(self.inst, fabric, npiv_base.INST,
                                   fx.port_map(self.inst, fabric))
        self.task.npiv.records.save()
        saves = self.inst.saves
        self.task.revert()
        self.assertEqual(saves + 1, self.inst.saves)

    def test_undo_before_execute_changes_nothing(self):
        self.fx.reset_counts()
        self.task.revert()
        self.assertEqual(0, self.fx.gets)
        self.assertEqual(self.mapped, self.fx.instance_maps(self.inst))

    def test_undo_of_an_unreadable_record_changes_nothing(self):
        self.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        task = moves.UnmapSource(self.fx.npiv(self.inst), self.ledger)
        self.assertRaises(exception.CorruptFabricMetadata, task.execute)
        self.fx.reset_counts()
        saves = self.inst.saves
        task.revert()
        self.assertEqual(0, self.fx.gets)
        self.assertEqual(saves, self.inst.saves)
        self.assertEqual([], self.ledger.failed)

    def test_failed_undo_is_told_to_the_ledger(self):
        self.task.execute()
        with mock.patch.object(vfc_ops, 'restore',
                               side_effect=RuntimeError('POST failed')):
            self.task.revert()
        self.assertEqual(['Mapping the vFC adapters of %s back on the '
                          'source' % UUID], self.ledger.failed)


class TestUnstageOnFailure(LedgerTestCase):

    def test_execute_changes_nothing(self):
        self.connector()
        task = moves.UnstageOnFailure(self.fx.npiv(self.inst), self.ledger)
        self.assertEqual('unstage_on_failure_%s' % UUID, task.name)
        self.fx.reset_counts()
        task.execute()
        self.assertEqual(0, self.fx.gets)
        self.assertEqual(2, sum(len(m) for m in
                                self.fx.staging_maps().values()))

    def test_undo_unstages_and_records_unmapped(self):
        self.connector()
        before = fx.records(self.inst)
        others = self.fx.other_maps(fx.STAGING_UUID)
        task = moves.UnstageOnFailure(self.fx.npiv(self.inst), self.ledger)
        task.revert()
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(others, self.fx.other_maps(fx.STAGING_UUID))
        self.assertStates(npiv_base.UNMAPPED, instance=self.inst.twin())
        self.assertEqual({f: r.port_map for f, r in before.items()},
                         {f: r.port_map
                          for f, r in fx.records(self.inst).items()})
        self.assertEqual([], self.ledger.failed)

    def test_undo_leaves_mapped_fabrics_alone(self):
        self.connector()
        self.connect()
        task = moves.UnstageOnFailure(self.fx.npiv(self.inst), self.ledger)
        self.fx.reset_counts()
        saves = self.inst.saves
        task.revert()
        self.assertEqual(0, self.fx.gets)
        self.assertEqual(saves, self.inst.saves)
        self.assertStates(npiv_base.INST)

    def test_undo_only_the_staged_fabric(self):
        self.connector()
        fabric_meta.set_fabric(self.inst, 'A', npiv_base.INST,
                               fx.port_map(self.inst, 'A'))
        task = moves.UnstageOnFailure(self.fx.npiv(self.inst), self.ledger)
        task.revert()
        self.assertEqual({'A': npiv_base.INST, 'B': npiv_base.UNMAPPED},
                         self.states(self.inst.twin()))
        # Fabric A's staging mapping (recorded inst_mapped) was left alone.
        self.assertEqual(1, sum(len(m) for m in
                                self.fx.staging_maps().values()))

    def test_undo_without_a_staging_partition_changes_nothing(self):
        self.connector()
        task = moves.UnstageOnFailure(
            self.fx.npiv(self.inst, staging=False), self.ledger)
        self.fx.reset_counts()
        task.revert()
        self.assertEqual(0, self.fx.gets)
        self.assertStates(npiv_base.MGMT)

    def test_failed_undo_is_told_to_the_ledger(self):
        self.connector()
        task = moves.UnstageOnFailure(self.fx.npiv(self.inst), self.ledger)
        with mock.patch.object(vfc_ops, 'unstage',
                               side_effect=RuntimeError('POST failed')):
            task.revert()
        self.assertEqual(['Unstaging the WWPNs of %s' % UUID],
                         self.ledger.failed)


class TestRemoveLeftovers(LedgerTestCase):

    def test_removes_every_mapping_of_the_partition_only(self):
        self.connector()
        self.connect()
        lpar_uuid = vm.lpar_uuid(self.inst)
        others = self.fx.other_maps(lpar_uuid)
        sysmeta = dict(self.inst.system_metadata)
        task = moves.RemoveLeftovers(self.fx.adpt, fx.HOST_UUID, self.inst,
                                     lpar_uuid)
        self.assertEqual('remove_leftovers_%s' % UUID, task.name)
        task.execute()
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual(others, self.fx.other_maps(lpar_uuid))
        # The records are the destination's: untouched.
        self.assertEqual(sysmeta, self.inst.system_metadata)
