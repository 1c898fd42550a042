"""The fault matrix with the strict console's own failures (issue 14).

A busy VIOS, a job that ends COMPLETED_WITH_ERROR after answering
NOT_STARTED, a VIOS that goes into error, a DLPAR that fails or is slow:
each aimed at every request of every operation where it applies (see
``matrix.kinds_for``) and judged on the whole console like the other kinds
(``nova_npiv.testing.invariants``).  The failing kinds run over every
operation; the busy VIOS and the slow DLPAR, which must simply complete,
over spawn here and everywhere in ``tox -e faults``.  Run counts are pinned
as in test_fault_matrix.
"""

import fixtures

from nova_npiv.testing import matrix
from nova_npiv.volume import migration
from tests.functional import base
from tests.functional import test_fault_matrix as tfm

#: Every operation but attach and detach of volumes (which send nothing).
_OPERATIONS = ('spawn', 'attach (new fabric)', 'delete',
               'delete before spawn', 'live migration', 'resize',
               'resize revert')


class ConsoleFaultsTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tfm._NoAdoptDelay())

    run_matrix = tfm.MatrixTestCase.run_matrix

    def run_everywhere(self, kind, runs):
        """``kind`` over every operation it applies to; {op: results}."""
        out = {}
        for name in _OPERATIONS:
            learn = tfm.learned(name)
            if not any(kind in matrix.kinds_for(t, [kind])
                       for t in learn.targets):
                continue
            out[name] = self.run_matrix(name, [kind], runs=runs.pop(name))
        self.assertEqual({}, runs, 'operations without the fault')
        return out

    def test_dlpar_fails_everywhere(self):
        # Staging on the running management partition, unstaging when the
        # instance takes its WWPNs, mapping to a running instance: a
        # failed DLPAR leaves everything as it was, or rolled back.
        results = self.run_everywhere(matrix.KIND_DLPAR_FAIL, {
            'spawn': 4, 'attach (new fabric)': 2, 'delete before spawn': 2,
            'live migration': 4})
        self.assertIn(matrix.ROLLED_BACK,
                      {r.outcome for r in results['spawn']})

    def test_a_vios_in_error_everywhere(self):
        # After the Migrate job, the destination's read of its VIOSes meets
        # the VIOS in error: adopting the mappings is tried again after 1
        # and 2 s, which outlasts the error; the shortened delay the other
        # tests use would not.
        self.useFixture(fixtures.MockPatchObject(
            migration, 'ADOPT_RETRY_DELAY', 1.0))
        self.run_everywhere(matrix.KIND_VIOS_ERROR, {
            # Writes start from the feed the last update's replies left
            # (vios.feed_task): the spawn and the attach keep one feed
            # read each, the deletes none.
            'spawn': 1, 'attach (new fabric)': 1, 'live migration': 6})

    def test_jobs_fail_mid_way_everywhere(self):
        self.run_everywhere(matrix.KIND_JOB_MID, {
            'spawn': 2, 'attach (new fabric)': 1, 'delete': 2,
            'live migration': 2, 'resize': 1, 'resize revert': 2})

    def test_rmc_down_where_it_matters(self):
        # RMC of the partitions lost at each request of the operations
        # that need it: adding a fabric's adapters to the running instance
        # (DLPAR on it) and its live migration (pypowervm's can_lpm at the
        # pre-check, the console's Migrate job).  Where RMC is not needed
        # (spawn, delete, resize and cold migration stop the LPAR or work
        # on one not activated; staging is on the management partition,
        # which DLPAR does not ask RMC of) the runs complete: there in
        # ``tox -e faults``.
        results = self.run_matrix('attach (new fabric)',
                                  [matrix.KIND_RMC_DOWN], runs=9)
        # Refused before any mapping, or explained after the console's
        # refusal: a nova exception saying what to do, fabric B staged.
        self.assertEqual({(matrix.ROLLED_BACK, 'PartitionNotDLPARCapable')},
                         {(r.outcome, type(r.error).__name__)
                          for r in results})
        results = self.run_matrix('live migration', [matrix.KIND_RMC_DOWN],
                                  runs=23)
        learn = tfm.learned('live migration')
        validate = [t.index for t in learn.targets
                    if t.job == ('MigrateValidate', 1)][-1]
        migrate = [t.index for t in learn.targets
                   if t.job == ('Migrate', 1)][-1]
        by_index = {r.target.index: r for r in results}
        # Lost before the pre-check's partition read or its
        # MigrateValidate: nova's MigrationPreCheckError, nothing changed.
        # (Job polls are not aimed at: see matrix.is_poll.)
        for index in sorted(i for i in by_index if i <= validate):
            self.assertEqual(
                (matrix.UNCHANGED, 'MigrationPreCheckError'),
                (by_index[index].outcome,
                 type(by_index[index].error).__name__), index)
        self.assertIn('RMC', str(by_index[0].error))
        # Lost after it: the console refuses the Migrate job and the
        # driver's rollback (nova's) leaves everything as before.
        for index in sorted(i for i in by_index
                            if validate < i <= migrate):
            self.assertEqual(matrix.UNCHANGED, by_index[index].outcome,
                             index)
        self.assertIn('cannot communicate with', self.logs.output)
        # Lost once the job ran: the partition is on sys-b already.
        self.assertEqual({matrix.COMPLETED},
                         {r.outcome for i, r in by_index.items()
                          if i > migrate})

    def test_busy_vios_and_slow_dlpar_complete(self):
        results = self.run_matrix('spawn', [matrix.KIND_BUSY,
                                            matrix.KIND_SLOW_DLPAR], runs=8)
        self.assertEqual({matrix.COMPLETED}, {r.outcome for r in results})

    def test_dlpar_targets_are_the_staging_updates(self):
        # Spawn: the connector stages on the running management partition
        # (one DLPAR per VIOS), then spawn swaps each staging adapter for
        # the instance's (removal from the management partition; the
        # instance is not running yet).
        learn = tfm.learned('spawn')
        self.assertEqual([1, 1, 1, 1], [t.dlpar for t in learn.targets
                                        if t.dlpar])
        self.assertEqual({'POST'}, {t.method for t in learn.targets
                                    if t.dlpar})


class ConsoleFaultsRegressionTestCase(base.WorldTestCase):
    """Combinations the new kinds found broken, kept as plain tests."""

    def setUp(self):
        super().setUp()
        self.useFixture(tfm._NoAdoptDelay())

    def test_vios_in_error_at_the_destinations_pre_migration_read(self):
        # pre_live_migration's feed read meets a VIOS in error; nova's
        # rollback at the destination must unstage the partner WWPNs, and
        # its own read met the same VIOS still in error: it tried once more
        # at once and gave up, leaving the partners staged (the metadata
        # disagreeing with the VIOSes).  It now waits the VIOS out, as it
        # does an unreachable console.
        learn = tfm.learned('live migration')
        sysb = [t for t in learn.targets if t.method == 'GET' and
                t.path.endswith('/VirtualIOServer')]
        # The destination's offer, the source's pre-check, the
        # destination's connector read, then pre_live_migration's.
        target = sysb[3]
        result = matrix.run_one(learn.scenario, learn, target,
                                matrix.KIND_VIOS_ERROR)
        self.assertEqual((matrix.UNCHANGED, [], []),
                         (result.outcome, result.problems, result.retried),
                         matrix.format_result(result))
        self.assertIn('trying again', self.logs.output)
