"""The fault-injection matrix, reduced (the full one: tox -e faults).

Every operation's REST request sequence is learned from a clean run; the
operation is then re-run in a fresh simulator with one request failing, and
the invariant of doc/source/reliability.rst is judged
(``nova_npiv.testing.matrix``): completed, or failed with everything as
before or as a clean rollback, the metadata agreeing with the VIOSes, no
staging leftover, no orphan, NPIV capacity unchanged; and a retry without
faults completes.

Here: spawn, delete, live migration and cross-cell resize (its revert
and confirm too) with HTTP 500 at every request;
lost replies, 412 storms and job failures on spawn's updates and jobs and
from the Migrate job on; HTTP 500 and lost replies on delete before spawn
and on the attach that maps a new fabric.  Each selection's size is pinned
and every kind asked for must run.  Plus regression tests for what the
matrix found, and tests of the judge itself: the damage a faulty revert
leaves (a stray LPAR, another partition stopped or unmapped, an empty slot
on the staging partition) is reported as VIOLATED.
"""

import fixtures
from pypowervm import exceptions as pvm_exc
import testtools

from nova_npiv import job_requests
from nova_npiv.testing import harness
from nova_npiv.testing import invariants
from nova_npiv.testing import matrix
from nova_npiv.testing import scenarios
from nova_npiv import vm
from nova_npiv.volume import migration
from tests.functional import base

_LEARNED = {}


def learned(name):
    """The clean run of ``name``, learned once per test process."""
    if name not in _LEARNED:
        try:
            _LEARNED[name] = matrix.learn(scenarios.scenario(name))
        finally:
            harness.reset_conf()
    return _LEARNED[name]


class MatrixTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())

    def run_matrix(self, name, kinds, runs, indexes=None, retry=True):
        """Run the combinations asked for; ``runs`` is how many there are
        (pinned: a changed request sequence must be looked at, not
        silently tested less), and every kind asked for must be among
        them."""
        learn = learned(name)
        results = matrix.matrix(learn.scenario, learn, kinds=kinds,
                                indexes=indexes, retry=retry)
        expected = {(t.index, k) for t in learn.targets
                    if indexes is None or t.index in indexes
                    for k in matrix.kinds_for(t, kinds)}
        self.assertEqual(expected, {(r.target.index, r.kind)
                                    for r in results})
        self.assertEqual(runs, len(results))
        self.assertEqual(set(kinds), {r.kind for r in results})
        bad = [matrix.format_result(r) for r in results
               if r.outcome in (matrix.VIOLATED, matrix.NOT_FIRED) or
               r.retried]
        self.assertEqual([], bad, '\n' + '\n'.join(bad))
        return results

    def test_sequences(self):
        # What the matrix is aimed at: one VIOS feed GET and one POST per
        # touched VIOS per step; attach and detach of a running instance's
        # volumes touch nothing.
        spawn = learned('spawn')
        kinds = [(r.method, r.kind) for r in spawn.requests]
        self.assertEqual(4, kinds.count(('POST', 'VirtualIOServer')))
        # The connector's read; the spawn writes on its replies' etags.
        self.assertEqual(1, kinds.count(('GET', 'VirtualIOServer')))
        self.assertEqual([('GetNextWWPNs', 1), ('PowerOn', 1)],
                         [t.job for t in spawn.targets if t.job])
        self.assertEqual([], learned('attach').requests)
        self.assertEqual([], learned('detach').requests)
        delete = learned('delete')
        self.assertEqual(2, [(r.method, r.kind) for r in delete.requests]
                         .count(('POST', 'VirtualIOServer')))

    def test_spawn_http_500_everywhere(self):
        results = self.run_matrix('spawn', [matrix.KIND_500], runs=12)
        # Failures before the LPAR exists leave the instance as it was or
        # unmapped with its WWPNs kept; later ones are rolled back.
        self.assertIn(matrix.ROLLED_BACK, {r.outcome for r in results})

    def test_spawn_lost_replies_412_and_jobs(self):
        learn = learned('spawn')
        updates = [t.index for t in learn.targets
                   if t.method in ('POST', 'PUT')]
        self.run_matrix('spawn', [matrix.KIND_LOST, matrix.KIND_412,
                                  matrix.KIND_JOB],
                        indexes=updates, runs=13)

    def test_delete_http_500_everywhere(self):
        self.run_matrix('delete', [matrix.KIND_500], runs=10)

    def test_delete_before_spawn_500_and_lost_replies(self):
        self.run_matrix('delete before spawn',
                        [matrix.KIND_500, matrix.KIND_LOST], runs=6)

    def test_attach_new_fabric_500_and_lost_replies(self):
        # The attach's own requests: after the connector's staging.
        learn = learned('attach (new fabric)')
        posts = [t.index for t in learn.targets if t.method == 'POST']
        self.run_matrix('attach (new fabric)',
                        [matrix.KIND_500, matrix.KIND_LOST],
                        indexes=range(posts[0], len(learn.targets)),
                        runs=8)

    def test_live_migration_http_500_everywhere(self):
        # A failed migration is retried, as an operator would: the retry
        # must migrate the instance.
        # 23 requests: the platform's pre-check (the partition, the VIOS
        # feed for the client slots, MigrateValidate), the source's public
        # key (GET ManagementConsole) and where the target system is (GET
        # ManagedSystem, at the check and before the Migrate) count too.
        results = self.run_matrix('live migration', [matrix.KIND_500],
                                  runs=23)
        self.assertNotEqual([], [r for r in results if r.retried == []])

    def test_live_migration_job_412_and_lost_replies(self):
        # From the Migrate job on (the source's pre-check ran a
        # MigrateValidate before it); the job also fails part way, leaving
        # the partition to be recovered before the rollback.
        learn = learned('live migration')
        after_job = [t.index for t in learn.targets
                     if t.job and t.job[0] == 'Migrate'][0]
        self.run_matrix('live migration', [matrix.KIND_JOB,
                                           matrix.KIND_MIDWAY,
                                           matrix.KIND_LOST],
                        indexes=range(after_job, len(learn.targets)),
                        runs=6)
        # No VIOS update follows the Migrate job: the etag conflicts are
        # aimed at the updates before it.
        self.run_matrix('live migration', [matrix.KIND_412], runs=4)

    def test_resize_every_fault(self):
        # Same-system resize and its revert: a fault anywhere leaves the
        # LPAR exactly as it was (shape, power state, mappings), or the
        # operation completes (a lost reply of the last job).
        kinds = [matrix.KIND_500, matrix.KIND_LOST, matrix.KIND_412,
                 matrix.KIND_JOB]
        self.run_matrix('resize', kinds, runs=10)
        self.run_matrix('resize revert', kinds, runs=17)
        learn = learned('resize')
        self.assertEqual([('GET', 'LogicalPartition'),
                          ('POST', 'LogicalPartition')],
                         [(r.method, r.kind) for r in learn.requests][:2])

    def test_cold_migration_500_everywhere_and_lost_updates(self):
        # To another system and back: a fault on the source leaves the
        # server as it was, one on the destination leaves nothing there
        # (the source LPAR stopped and unmapped); a lost create reply
        # leaves an LPAR its recorded UUID proves, which the revert
        # deletes (the retry would otherwise meet its name).
        self.run_matrix('cold migration', [matrix.KIND_500], runs=16)
        learn = learned('cold migration')
        updates = [t.index for t in learn.targets
                   if t.method in ('POST', 'PUT')]
        self.run_matrix('cold migration', [matrix.KIND_LOST],
                        indexes=updates, runs=9)
        # The source reads its LPAR once; the destination asks whether
        # the derived UUID is held elsewhere, then creates with its own.
        # One POST per VIOS: the source's unmapping, the destination's
        # staging, the destination's mapping.
        kinds = [(r.method, r.kind) for r in learn.requests]
        self.assertEqual(2, kinds.count(('GET', 'LogicalPartition')))
        self.assertEqual(1, kinds.count(('PUT', 'LogicalPartition')))
        self.assertEqual(6, kinds.count(('POST', 'VirtualIOServer')))

    def test_cold_migration_revert_500_everywhere(self):
        self.run_matrix('cold migration revert', [matrix.KIND_500],
                        runs=18)

    def test_cold_migration_confirm_500_and_lost_replies(self):
        # A delete cannot be undone: a failed confirm leaves the server on
        # sys-b and the source LPAR recorded, stopped and unmapped; the
        # retry deletes it.
        self.run_matrix('cold migration confirm',
                        [matrix.KIND_500, matrix.KIND_LOST], runs=14)

    def test_cold_migration_recovery_500_and_lost_replies(self):
        # The hard reboot of the server a failed finish_migration left in
        # ERROR on sys-b: a fault anywhere in the arrival leaves everything
        # as the failed migration did (nothing on sys-b, the source LPAR
        # stopped and unmapped), and the retried reboot finishes the move.
        learn = learned('cold migration recovery')
        arrived = [t.index for t in learn.targets
                   if t.job == ('PowerOn', 1)][0] + 1
        self.assertEqual(range(arrived),
                         learn.scenario.aimed(learn.targets))
        results = self.run_matrix('cold migration recovery',
                                  [matrix.KIND_500, matrix.KIND_LOST],
                                  indexes=range(arrived), runs=18)
        self.assertIn(matrix.UNCHANGED, {r.outcome for r in results})
        self.assertEqual([], [matrix.format_result(r) for r in results
                              if r.retried])

    def test_cold_migration_recovery_source_not_deleted(self):
        # Deleting the source LPAR after the arrival fails: the instance
        # runs on sys-b, the source stays recorded (stopped, unmapped) and
        # the server's delete removes it.
        sc = scenarios.scenario('cold migration recovery')
        w = self.world(sc.hosts, bystanders=True)
        sc.prepare(w)
        w.sim.inject_fault('DELETE', r'/LogicalPartition/[^/]+$')
        sc.operate(w)
        self.assertEqual([], invariants.mapped_to_instance(w, 'sys-b'))
        self.assertEqual(['not activated'],
                         [lp.state for lp in invariants.source_lpars(w)])
        self.assertIn('could not be deleted', self.logs.output)
        w.sim.clear_faults()
        w.destroy(host='host-b')
        self.assertEqual([], invariants.gone(w))
        self.assertEqual([], invariants.consistency_problems(w))
    def test_cross_cell_resize_500_everywhere_and_lost_updates(self):
        # nova's snapshot-based resize: a fault in the source's destroy
        # leaves its LPAR as the records say; one on the destination
        # leaves nothing there and the source's row unmapped with its
        # WWPNs.  The source's power-off, destroy (one POST per VIOS, no
        # read: the feed is remembered), then the destination's staging
        # and mapping on the same WWPNs.
        self.run_matrix('cross-cell resize', [matrix.KIND_500], runs=21)
        learn = learned('cross-cell resize')
        # Lost replies of every change of an LPAR or a VIOS.
        updates = [t.index for t, r in zip(learn.targets, learn.requests)
                   if r.method in ('POST', 'PUT', 'DELETE') and
                   r.kind in ('LogicalPartition', 'VirtualIOServer')]
        self.run_matrix('cross-cell resize', [matrix.KIND_LOST],
                        indexes=updates, runs=8)
        kinds = [(r.method, r.kind) for r in learn.requests]
        self.assertEqual(1, kinds.count(('DELETE', 'LogicalPartition')))
        self.assertEqual(1, kinds.count(('PUT', 'LogicalPartition')))
        self.assertEqual(6, kinds.count(('POST', 'VirtualIOServer')))
        # The destroy comes before anything on the destination.
        self.assertLess(kinds.index(('DELETE', 'LogicalPartition')),
                        kinds.index(('PUT', 'LogicalPartition')))

    def test_cross_cell_revert_500_everywhere(self):
        self.run_matrix('cross-cell revert', [matrix.KIND_500], runs=18)

    def test_cross_cell_confirm_500_and_lost_replies(self):
        # The source's LPAR is gone already: the clean-up only reads.
        self.run_matrix('cross-cell confirm',
                        [matrix.KIND_500, matrix.KIND_LOST], runs=6)
        self.assertEqual({'GET'}, {r.method for r in
                                   learned('cross-cell confirm').requests})

    def test_a_matrix_that_tests_less_fails(self):
        # Delete before spawn runs no job: asking for job failures there
        # tests nothing, and says so; so does a count that is off.
        self.assertRaises(testtools.matchers.MismatchError, self.run_matrix,
                          'delete before spawn', [matrix.KIND_JOB],
                          runs=0)
        self.assertRaises(testtools.matchers.MismatchError, self.run_matrix,
                          'delete before spawn', [matrix.KIND_500],
                          runs=2, indexes=[0, 1, 2, 3, 4, 5])

    def test_attach_and_detach_complete_without_rest(self):
        for name in ('attach', 'detach'):
            sc = scenarios.scenario(name)
            world = self.world(sc.hosts)
            sc.prepare(world)
            job_requests.drain_all()   # the preparation's job clean-up
            before = invariants.snapshot(world)
            world.sim.reset_counters()
            # Any request would fail: there must be none.
            world.sim.inject_fault(times=100)
            sc.operate(world)
            self.assertEqual([], world.sim.request_log)
            self.assertEqual(before, invariants.snapshot(world))


class DoubleFaultTestCase(base.WorldTestCase):
    """A sample of the double-fault matrix (all of it: tox -e faults).

    HTTP 500 at one request of each operation whose revert or rollback does
    the most, then HTTP 500 at each request of that revert.  Before reverts
    tried their undo once more, each of these left the VIOSes and the
    metadata disagreeing, or the LPAR deleted over its mappings (orphans
    that a retried delete could no longer find).
    """

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())

    def run_double(self, name, pick, runs):
        learn = learned(name)
        first = pick(learn.targets)
        results = matrix.double_matrix(
            learn.scenario, learn, first=[matrix.KIND_500],
            second=[matrix.KIND_500], indexes=[first.index])
        self.assertEqual(runs, len(results))
        bad = [matrix.format_result(r) for r in results
               if r.outcome not in matrix.KEPT or r.retried]
        self.assertEqual([], bad, '\n' + '\n'.join(bad))
        return results

    @staticmethod
    def posts(targets):
        return [t for t in targets if t.method == 'POST']

    def test_spawn_connector_staging(self):
        # The second staging POST fails; the undo of the first meets a 500.
        self.run_double('spawn', lambda ts: self.posts(ts)[1], runs=2)

    def test_spawn_power_on(self):
        # The whole revert: power off, unmapping, LPAR delete; then nova's
        # destroy.
        results = self.run_double(
            'spawn', lambda ts: [t for t in ts if t.job == ('PowerOn', 1)][0],
            runs=7)
        self.assertIn(matrix.ROLLED_BACK, {r.outcome for r in results})

    def test_delete_unmapping(self):
        self.run_double('delete', lambda ts: self.posts(ts)[1], runs=2)

    def test_delete_before_spawn(self):
        self.run_double('delete before spawn', lambda ts: self.posts(ts)[0],
                        runs=3)

    def test_live_migration_destination_read(self):
        # pre_live_migration's read fails; nova's rollback at the
        # destination unstages the partner WWPNs, and meets a 500.  The
        # rollback reads the VIOSes with their mappings alone (the replies
        # of the destination connector's POSTs carry the storage group,
        # which no FeedTask writes again once the ports are known:
        # vios._FeedCache.put), then POSTs each: 3 requests.
        self.run_double(
            'live migration',
            lambda ts: [t for t in ts if t.method == 'GET' and
                        t.path.endswith('VirtualIOServer')][3], runs=3)


class OutageTestCase(base.WorldTestCase):
    """The console unreachable in the middle of an operation (a sample;
    every request: tox -e faults).  The request meeting the outage is not
    carried out, the reverts meet refused connections; the state must be
    kept, and once the console is back a retried delete must succeed."""

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())
        # Longer than the operation and its reverts take, even on a loaded
        # machine: an outage that ends in the middle of a revert is another
        # case (see the README's reliability section).
        self.useFixture(fixtures.MockPatchObject(matrix, 'OUTAGE_SECONDS',
                                                 1.5))

    def run_outage(self, name, pick):
        learn = learned(name)
        (result,) = matrix.outage_matrix(learn.scenario, learn,
                                         indexes=[pick(learn.targets).index])
        self.assertIn(result.outcome, matrix.KEPT,
                      matrix.format_result(result))
        self.assertEqual([], result.retried, matrix.format_result(result))
        # The outage is what failed: a connection error, or the job or task
        # failure that carries it (reverts now wait the outage out, so the
        # operation's own error is what surfaces).
        self.assertTrue(isinstance(result.error, pvm_exc.ConnectionError) or
                        'could not be reached' in str(result.error),
                        repr(result.error))
        return result

    def test_spawn_at_power_on(self):
        # The revert waits the outage out ([powervm] undo_retry_seconds)
        # and undoes the whole spawn, as a clean rollback does.
        result = self.run_outage(
            'spawn', lambda ts: [t for t in ts if t.job == ('PowerOn', 1)][0])
        self.assertEqual(matrix.ROLLED_BACK, result.outcome)

    def test_spawn_at_the_lpar_create(self):
        self.run_outage('spawn', lambda ts: [
            t for t in ts if t.method == 'PUT' and
            t.path.endswith('LogicalPartition')][0])

    def test_attach_new_fabric_at_the_mapping(self):
        self.run_outage('attach (new fabric)', lambda ts: [
            t for t in ts if t.method == 'POST'][-1])


class _NoAdoptDelay(fixtures.Fixture):

    def _setUp(self):
        self.useFixture(fixtures.MockPatchObject(
            migration, 'ADOPT_RETRY_DELAY', 0.01))


class RegressionTestCase(base.WorldTestCase):
    """Combinations the matrix found broken, kept as plain tests."""

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())

    def test_spawn_deletes_an_lpar_whose_create_reply_was_lost(self):
        world = self.world()
        conn = world.connector()
        staged = invariants.snapshot(world)
        world.sim.inject_fault('PUT', 'LogicalPartition$',
                               kind='lost_reply')
        self.assertRaises(pvm_exc.ConnectionError, world.spawn,
                          connector=conn)
        # The LPAR was created; spawn's revert must delete it.
        self.assertEqual(staged, invariants.snapshot(world))

    def test_a_failing_revert_does_not_stop_the_others(self):
        # The spawn's feed read fails, and so do all reads of the
        # connect's revert (a VIOS feed that fails is waited for, up to
        # undo_retry_seconds): the LPAR must still be deleted (the staging
        # stays, as the metadata says) and the spawn's own error reported.
        world = self.world(undo_retry_seconds=1)
        conn = world.connector()
        staged = invariants.snapshot(world)
        world.sim.reset_counters()
        world.sim.inject_fault('POST', 'VirtualIOServer/', status=500,
                               times=2, message='console busy')
        world.sim.inject_fault('GET', 'VirtualIOServer$', status=500,
                               times=1000, message='console busy')
        self.assertRaises((pvm_exc.HttpError,
                           pvm_exc.MultipleExceptionsInFeedTask),
                          world.spawn, connector=conn)
        self.assertEqual(staged, invariants.snapshot(world))
        self.assertIn('console busy', self.logs.output)
        self.assertIn('trying again', self.logs.output)
        self.assertIn('Could not undo', self.logs.output)

    def test_failed_attach_keeps_the_fabrics_already_mapped(self):
        # Fabric B configured after the boot: the attach maps it, and its
        # POST fails.  Fabric A carries the boot volume and must stay.
        sc = scenarios.scenario('attach (new fabric)')
        world = self.world(sc.hosts)
        sc.prepare(world)
        lpar = vm.lpar_uuid(world.inst)
        before_a = [m for m in world.sim.model.mappings()
                    if m.fabric == 'A' and m.client_lpar_uuid == lpar]
        self.assertNotEqual([], before_a)
        world.sim.inject_fault('POST', 'VirtualIOServer/', nth=2)
        self.assertRaises(pvm_exc.HttpError, sc.operate, world)
        self.assertEqual(before_a, [m for m in world.sim.model.mappings()
                                    if m.fabric == 'A' and
                                    m.client_lpar_uuid == lpar])
        self.assertEqual([], invariants.consistency_problems(world))
        self.assertEqual([], sc.rolled_back(world, None))

    def test_failed_delete_maps_back_what_one_vios_removed(self):
        # The unmapping lands on one VIOS and fails on the other: the
        # metadata still records both fabrics, so the VIOS that landed is
        # mapped back and a retried delete finishes.
        sc = scenarios.scenario('delete')
        world = self.world(sc.hosts)
        sc.prepare(world)
        mappings = invariants.snapshot(world).mappings
        world.sim.inject_fault('POST', 'VirtualIOServer/', nth=2)
        self.assertRaises(pvm_exc.HttpError, sc.operate, world)
        self.assertEqual(mappings, invariants.snapshot(world).mappings)
        self.assertEqual([], invariants.consistency_problems(world))
        self.assertIn('Mapping the vFC adapters of %s back'
                      % world.inst.uuid, self.logs.output)
        sc.retry(world)
        self.assertEqual([], sc.done(world))

    def migrate(self, *faults):
        sc = scenarios.scenario('live migration')
        world = self.world(sc.hosts)
        sc.prepare(world)
        for fault in faults:
            world.sim.inject_fault(**fault)
        return sc, world

    def test_migrate_job_whose_reply_was_lost_is_completed(self):
        sc, world = self.migrate(dict(method='PUT', path='do/Migrate$',
                                      kind='lost_reply'))
        sc.operate(world)
        self.assertEqual([], sc.done(world))
        self.assertEqual('host-b', world.inst.host)
        self.assertIn('LPAR has left this system', self.logs.output)

    def test_destination_read_after_migrate_is_retried(self):
        sc, world = self.migrate()
        sysb = world.drivers['host-b'].system_uuid
        world.sim.inject_fault('GET', '%s/LogicalPartition/%s'
                               % (sysb, world.lpar_uuid), kind='drop')
        # The fourth feed read there: after its check's offer, the
        # connector and pre_live_migration.
        world.sim.inject_fault('GET', '%s/VirtualIOServer$' % sysb,
                               nth=4, status=500)
        sc.operate(world)
        self.assertEqual([], sc.done(world))
        self.assertEqual(2, self.logs.output.count('trying again'))

    def test_destination_console_down_after_migrate_fails(self):
        sc, world = self.migrate()
        sysb = world.drivers['host-b'].system_uuid
        world.sim.inject_fault('GET', '%s/LogicalPartition/%s'
                               % (sysb, world.lpar_uuid), times=3)
        self.assertRaises(pvm_exc.HttpError, sc.operate, world)
        # The instance is on the destination (nova records it there, in
        # ERROR); its metadata still describes the source's ports, which
        # `nova-npiv show` reports.
        self.assertEqual('host-b', world.inst.host)
        self.assertNotEqual([], invariants.consistency_problems(world))


class JudgeTestCase(base.WorldTestCase):
    """The judge reports the damage each kind of bug leaves.

    A run is made to fail, then the damage is planted where a faulty
    revert or rollback would leave it; the same run without it is kept.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())

    def planted(self, name, pick, plant, outcome):
        """(result without plant, result with plant)."""
        learn = learned(name)
        target = pick(learn.targets)
        clean = matrix.run_one(learn.scenario, learn, target,
                               matrix.KIND_500, retry=False)
        self.assertEqual((outcome, []), (clean.outcome, clean.problems))
        bad = matrix.run_one(learn.scenario, learn, target,
                             matrix.KIND_500, retry=False, plant=plant)
        self.assertEqual(matrix.VIOLATED, bad.outcome)
        return '\n'.join(bad.problems)

    @staticmethod
    def power_on(targets):
        (target,) = [t for t in targets if t.job == ('PowerOn', 1)]
        return target

    @staticmethod
    def delete_vios_post(targets):
        # The second VIOS update of a delete: one VIOS unmapped, the other
        # refuses; the first is mapped back (a rollback).
        return [t for t in targets if t.method == 'POST'][1]

    def test_a_stray_lpar_after_a_failed_spawn(self):
        text = self.planted('spawn', self.power_on,
                        lambda w: w.sim.model.add_lpar('sys-a', 'stray-1'),
                        matrix.ROLLED_BACK)
        self.assertIn("outside the instance: partitions: -[] "
                      "+[Partition(system='sys-a', kind='lpar'", text)
        self.assertIn("name='stray-1'", text)

    def test_another_partitions_power_state(self):
        def stop(world):
            world.sim.model.set_lpar_state('sys-a', 'existing-sys-a-0001',
                                           'not activated')

        text = self.planted('delete', self.delete_vios_post, stop,
                        matrix.ROLLED_BACK)
        self.assertIn("name='existing-sys-a-0001', state='running'", text)
        self.assertIn("name='existing-sys-a-0001', state='not activated'",
                      text)

    def test_another_partitions_mapping(self):
        def unmap(world):
            self.assertEqual(2, world.sim.model.remove_mappings(
                'sys-a', client_lpar_id=world.sim.model.lpar(
                    'existing-sys-a-0001').id))

        text = self.planted('delete', self.delete_vios_post, unmap,
                        matrix.ROLLED_BACK)
        self.assertIn("outside the instance: mappings: -[VSlot(system='sys-a'"
                      ", vios='vios-a1', server_slot=11", text)

    def test_an_empty_client_slot_on_staging(self):
        def empty_slot(world):
            world.sim.model.add_mapping('sys-a', 'vios-a1',
                                        lpar='novalink-sys-a', wwpns=())

        text = self.planted('spawn', self.power_on, empty_slot,
                        matrix.ROLLED_BACK)
        self.assertIn('staging leftover: sys-a/vios-a1', text)
        self.assertIn('maps no WWPNs', text)
        self.assertIn("outside the instance: mappings: -[] +[VSlot(system="
                      "'sys-a', vios='vios-a1'", text)

    def test_a_server_adapter_for_staging_without_client_adapter(self):
        def half(world):
            world.sim.model.add_mapping('sys-a', 'vios-a2', port='fcs1',
                                        lpar='novalink-sys-a',
                                        client_adapter=False)

        text = self.planted('delete before spawn', lambda targets: targets[0],
                        half, matrix.UNCHANGED)
        self.assertIn('staging leftover: sys-a/vios-a2', text)

    def test_staging_slots_without_wwpns_in_every_mode(self):
        # The crash-recovery mode judges the console with every instance
        # nova knows; an empty staging slot is a leftover there too.
        world = self.world(bystanders=True)
        world.connector()
        self.assertEqual([], invariants.consistency_problems(
            world, instances=[world.inst]))
        world.sim.model.add_mapping('sys-a', 'vios-a1', lpar='novalink-sys-a',
                                    wwpns=())
        self.assertEqual(
            ['staging leftover: sys-a/vios-a1 vfchost3 (slot 14, client '
             'slot 5) maps no WWPNs'],
            invariants.consistency_problems(world, instances=[world.inst]))
