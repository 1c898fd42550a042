"""The fault-injection matrix, reduced (the full one: tox -e faults).

Every operation's REST request sequence is learned from a clean run; the
operation is then re-run in a fresh simulator with one request failing, and
the invariant of doc/source/reliability.rst is judged (``faultlib``):
completed, or
failed with everything as before or as a clean rollback, the metadata
agreeing with the VIOSes, no staging leftover, no orphan, NPIV capacity
unchanged; and a retry without faults completes.

Here: spawn, delete and live migration with HTTP 500 at every request;
lost replies, 412 storms and job failures on spawn's updates and jobs and
from the Migrate job on; HTTP 500 and lost replies on delete before spawn
and on the attach that maps a new fabric.  Plus regression tests for what
the matrix found.
"""

import fixtures
from pypowervm import exceptions as pvm_exc

from nova_npiv import driver
from nova_npiv import vm
from tests.functional import faultlib

_LEARNED = {}


def learned(name):
    """The clean run of ``name``, learned once per test process."""
    if name not in _LEARNED:
        try:
            _LEARNED[name] = faultlib.learn(faultlib.scenario(name))
        finally:
            faultlib.reset_conf()
    return _LEARNED[name]


class MatrixTestCase(faultlib.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())

    def run_matrix(self, name, kinds, indexes=None, min_runs=1,
                   retry=True):
        learn = learned(name)
        results = faultlib.matrix(learn.scenario, learn, kinds=kinds,
                                  indexes=indexes, retry=retry)
        self.assertGreaterEqual(len(results), min_runs)
        bad = [faultlib.format_result(r) for r in results
               if r.outcome in (faultlib.VIOLATED, faultlib.NOT_FIRED) or
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
        self.assertEqual(2, kinds.count(('GET', 'VirtualIOServer')))
        self.assertEqual([('GetNextWWPNs', 1), ('PowerOn', 1)],
                         [t.job for t in spawn.targets if t.job])
        self.assertEqual([], learned('attach').requests)
        self.assertEqual([], learned('detach').requests)
        delete = learned('delete')
        self.assertEqual(2, [(r.method, r.kind) for r in delete.requests]
                         .count(('POST', 'VirtualIOServer')))

    def test_spawn_http_500_everywhere(self):
        results = self.run_matrix('spawn', [faultlib.KIND_500], min_runs=12)
        # Failures before the LPAR exists leave the instance as it was or
        # unmapped with its WWPNs kept; later ones are rolled back.
        self.assertIn(faultlib.ROLLED_BACK, {r.outcome for r in results})

    def test_spawn_lost_replies_412_and_jobs(self):
        learn = learned('spawn')
        updates = [t.index for t in learn.targets
                   if t.method in ('POST', 'PUT')]
        self.run_matrix('spawn', [faultlib.KIND_LOST, faultlib.KIND_412,
                                  faultlib.KIND_JOB],
                        indexes=updates, min_runs=len(updates))

    def test_delete_http_500_everywhere(self):
        self.run_matrix('delete', [faultlib.KIND_500], min_runs=8)

    def test_delete_before_spawn_500_and_lost_replies(self):
        self.run_matrix('delete before spawn',
                        [faultlib.KIND_500, faultlib.KIND_LOST],
                        min_runs=8)

    def test_attach_new_fabric_500_and_lost_replies(self):
        # The attach's own requests: after the connector's staging.
        learn = learned('attach (new fabric)')
        posts = [t.index for t in learn.targets if t.method == 'POST']
        self.run_matrix('attach (new fabric)',
                        [faultlib.KIND_500, faultlib.KIND_LOST],
                        indexes=range(posts[0], len(learn.targets)),
                        min_runs=6)

    def test_live_migration_http_500_everywhere(self):
        self.run_matrix('live migration', [faultlib.KIND_500], min_runs=12,
                        retry=False)

    def test_live_migration_job_412_and_lost_replies(self):
        learn = learned('live migration')
        after_job = [t.index for t in learn.targets if t.job][0]
        self.run_matrix('live migration', [faultlib.KIND_JOB,
                                           faultlib.KIND_412,
                                           faultlib.KIND_LOST],
                        indexes=range(after_job, len(learn.targets)),
                        min_runs=5, retry=False)

    def test_attach_and_detach_complete_without_rest(self):
        for name in ('attach', 'detach'):
            sc = faultlib.scenario(name)
            world = self.world(sc.hosts)
            sc.prepare(world)
            before = faultlib.snapshot(world)
            world.sim.reset_counters()
            # Any request would fail: there must be none.
            world.sim.inject_fault(times=100)
            sc.operate(world)
            self.assertEqual([], world.sim.request_log)
            self.assertEqual(before, faultlib.snapshot(world))


class _NoAdoptDelay(fixtures.Fixture):

    def _setUp(self):
        self.useFixture(fixtures.MockPatchObject(
            driver, 'ADOPT_RETRY_DELAY', 0.01))


class RegressionTestCase(faultlib.WorldTestCase):
    """Combinations the matrix found broken, kept as plain tests."""

    def setUp(self):
        super().setUp()
        self.useFixture(_NoAdoptDelay())

    def test_spawn_deletes_an_lpar_whose_create_reply_was_lost(self):
        world = self.world()
        conn = world.connector()
        staged = faultlib.snapshot(world)
        world.sim.inject_fault('PUT', 'LogicalPartition$',
                               kind='lost_reply')
        self.assertRaises(pvm_exc.ConnectionError, world.spawn,
                          connector=conn)
        # The LPAR was created; spawn's revert must delete it.
        self.assertEqual(staged, faultlib.snapshot(world))

    def test_a_failing_revert_does_not_stop_the_others(self):
        # The spawn's feed read fails, and so does the read of the
        # connect's revert: the LPAR must still be deleted (the staging
        # stays, as the metadata says) and the spawn's own error reported.
        world = self.world()
        conn = world.connector()
        staged = faultlib.snapshot(world)
        world.sim.reset_counters()
        world.sim.inject_fault('GET', 'VirtualIOServer$', status=503,
                               times=2, message='console busy')
        err = self.assertRaises(pvm_exc.HttpError, world.spawn,
                                connector=conn)
        self.assertIn('console busy', str(err))
        self.assertEqual(staged, faultlib.snapshot(world))
        self.assertIn('Could not undo', self.logs.output)

    def test_failed_attach_keeps_the_fabrics_already_mapped(self):
        # Fabric B configured after the boot: the attach maps it, and its
        # POST fails.  Fabric A carries the boot volume and must stay.
        sc = faultlib.scenario('attach (new fabric)')
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
        self.assertEqual([], faultlib.consistency_problems(world))
        self.assertEqual([], sc.rolled_back(world, None))

    def test_failed_delete_maps_back_what_one_vios_removed(self):
        # The unmapping lands on one VIOS and fails on the other: the
        # metadata still records both fabrics, so the VIOS that landed is
        # mapped back and a retried delete finishes.
        sc = faultlib.scenario('delete')
        world = self.world(sc.hosts)
        sc.prepare(world)
        mappings = faultlib.snapshot(world).mappings
        world.sim.inject_fault('POST', 'VirtualIOServer/', nth=2)
        self.assertRaises(pvm_exc.HttpError, sc.operate, world)
        self.assertEqual(mappings, faultlib.snapshot(world).mappings)
        self.assertEqual([], faultlib.consistency_problems(world))
        self.assertIn('Mapping the vFC adapters of %s back'
                      % world.inst.uuid, self.logs.output)
        sc.retry(world)
        self.assertEqual([], sc.done(world))

    def migrate(self, *faults):
        sc = faultlib.scenario('live migration')
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
        sysb = world.drivers['host-b'].host_uuid
        world.sim.inject_fault('GET', '%s/LogicalPartition/%s'
                               % (sysb, world.lpar_uuid), kind='drop')
        world.sim.inject_fault('GET', '%s/VirtualIOServer$' % sysb,
                               nth=3, status=503)
        sc.operate(world)
        self.assertEqual([], sc.done(world))
        self.assertEqual(2, self.logs.output.count('trying again'))

    def test_destination_console_down_after_migrate_fails(self):
        sc, world = self.migrate()
        sysb = world.drivers['host-b'].host_uuid
        world.sim.inject_fault('GET', '%s/LogicalPartition/%s'
                               % (sysb, world.lpar_uuid), times=3)
        self.assertRaises(pvm_exc.HttpError, sc.operate, world)
        # The instance is on the destination (nova records it there, in
        # ERROR); its metadata still describes the source's ports, which
        # `nova-npiv show` reports.
        self.assertEqual('host-b', world.inst.host)
        self.assertNotEqual([], faultlib.consistency_problems(world))

