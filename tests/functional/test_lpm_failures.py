"""Live migration when the platform refuses, fails part way, times out,
loses its reply or is aborted (issue 14, live migration bullets 2-4).

The calls are nova's, in nova's order (:meth:`World.live_migrate`); the
simulator runs the Migrate job as a console does.  pypowervm polls a job
once a second, so the asynchronous cases take seconds.
"""

import threading

from nova import exception as nova_exc

from nova_npiv import exception
from nova_npiv.testing import invariants
from nova_npiv.testing import scenarios
from nova_npiv.testing import world as world_lib
from nova_npiv.volume import migration as migration_data
from tests.functional import base


class LpmTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.sc = scenarios.scenario('live migration')

    def start(self, **overrides):
        overrides.setdefault('lpm_settle_interval', 0.05)
        # A broken settle fails in seconds, not after the 600 s default.
        overrides.setdefault('lpm_settle_timeout', 15)
        w = self.world(self.sc.hosts, **overrides)
        self.sc.prepare(w)
        self.w = w
        return w

    def lpar(self):
        lpars = invariants.instance_lpars(self.w)
        self.assertEqual(1, len(lpars))
        lp = lpars[0]
        return lp.system, lp.state, lp.migration_state

    def assert_rolled_back(self, before):
        """On the source as before; nothing of it on the destination."""
        self.assertEqual('host-a', self.w.inst.host)
        self.assertEqual(('sys-a', 'running', 'Not_Migrating'), self.lpar())
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        self.assertEqual([], invariants.consistency_problems(self.w))
        self.assertEqual([], migration_data.get_targets(self.w.inst) and
                         ['targets left'] or [])
        self.assertEqual(before, invariants.snapshot(self.w))

    def jobs_run(self, op):
        return self.w.sim.count('PUT', 'job:%s' % op)


class TestRefusedAtPreCheck(LpmTestCase):

    def test_rmc_down(self):
        w = self.start()
        w.sim.model.set_rmc_down(True)
        before = invariants.snapshot(w)
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                w.live_migrate)
        self.assertIn('does not have an active RMC connection',
                      err.format_message())
        self.assertEqual(before, invariants.snapshot(w))
        self.assertEqual(0, self.jobs_run('Migrate'))

    def test_console_refuses(self):
        w = self.start()
        w.sim.fail_job('MigrateValidate',
                       message='HSCLA319 The migrating partition\'s virtual '
                       'fibre channel client adapter cannot be hosted')
        before = invariants.snapshot(w)
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                w.live_migrate)
        self.assertIn('HSCLA319', err.format_message())
        self.assertEqual(before, invariants.snapshot(w))
        self.assertEqual(0, self.jobs_run('Migrate'))


class TestFailedMigration(LpmTestCase):

    def test_stopped_part_way_is_recovered_before_the_rollback(self):
        w = self.start()
        before = invariants.snapshot(w)
        w.sim.fail_job('Migrate', midway=True)
        err = self.assertRaises(world_lib.MigrationRolledBack,
                                w.live_migrate)
        self.assertEqual('failed', str(err))
        self.assertEqual(1, self.jobs_run('MigrateRecover'))
        self.assertIn('HSCL365C', self.logs.output)
        self.assert_rolled_back(before)
        # And it can migrate now.
        w.live_migrate()
        self.assertEqual('host-b', w.inst.host)
        self.assertEqual([], self.sc.done(w))

    def test_asynchronous_failure_part_way(self):
        w = self.start(job_timeout=30)
        w.sim.job_seconds = {'Migrate': 0.3}
        before = invariants.snapshot(w)
        w.sim.fail_job('Migrate', midway=True)
        self.assertRaises(world_lib.MigrationRolledBack, w.live_migrate)
        self.assertEqual(1, self.jobs_run('MigrateRecover'))
        self.assert_rolled_back(before)

    def test_platform_rolled_back_itself(self):
        w = self.start()
        before = invariants.snapshot(w)
        w.sim.fail_job('Migrate')
        self.assertRaises(world_lib.MigrationRolledBack, w.live_migrate)
        self.assertEqual(0, self.jobs_run('MigrateRecover'))
        self.assert_rolled_back(before)


class TestLostReply(LpmTestCase):

    def test_lost_reply_waits_for_the_migration_then_completes(self):
        w = self.start(job_timeout=30)
        w.sim.job_seconds = {'Migrate': 1.0}
        w.sim.inject_fault('PUT', 'do/Migrate$', kind='lost_reply')
        w.live_migrate()
        self.assertEqual('host-b', w.inst.host)
        self.assertEqual(('sys-b', 'running', 'Not_Migrating'), self.lpar())
        self.assertEqual([], self.sc.done(w))
        self.assertIn('LPAR has left this system', self.logs.output)

    def test_lost_reply_of_a_migration_that_failed_part_way(self):
        w = self.start(job_timeout=30)
        w.sim.job_seconds = {'Migrate': 0.5}
        before = invariants.snapshot(w)
        w.sim.fail_job('Migrate', midway=True)
        w.sim.inject_fault('PUT', 'do/Migrate$', kind='lost_reply')
        self.assertRaises(world_lib.MigrationRolledBack, w.live_migrate)
        self.assertEqual(1, self.jobs_run('MigrateRecover'))
        self.assert_rolled_back(before)

    def test_still_migrating_past_the_settle_timeout_is_not_rolled_back(self):
        w = self.start(job_timeout=30, lpm_settle_timeout=1)
        w.sim.job_seconds = {'Migrate': 3600}
        w.sim.inject_fault('PUT', 'do/Migrate$', kind='lost_reply')
        err = self.assertRaises(exception.LiveMigrationUnsettled,
                                w.live_migrate)
        self.assertIn('migrating running, MigrationState Migration_Starting',
                      err.format_message())
        # No rollback ran: the destination's choice is still recorded.
        self.assertEqual('host-a', w.inst.host)
        self.assertNotEqual({}, migration_data.get_targets(w.inst))
        self.assertEqual(0, self.jobs_run('MigrateRecover'))
        self.assertEqual(0, self.jobs_run('MigrateAbort'))


class TestTimeoutAndAbort(LpmTestCase):

    def test_job_timeout_aborts_the_migration_then_rolls_back(self):
        w = self.start(job_timeout=1)
        w.sim.job_seconds = {'Migrate': 3600}
        before = invariants.snapshot(w)
        self.assertRaises(world_lib.MigrationRolledBack, w.live_migrate)
        self.assertEqual(1, self.jobs_run('MigrateAbort'))
        self.assert_rolled_back(before)

    def test_nova_abort(self):
        w = self.start(job_timeout=60)
        w.sim.job_seconds = {'Migrate': 3600}
        before = invariants.snapshot(w)
        outcome = []

        def migrate():
            try:
                w.live_migrate()
            except Exception as err:
                outcome.append(err)

        thread = threading.Thread(target=migrate)
        thread.start()
        self.addCleanup(thread.join, 30)
        seen = threading.Event()
        for _ in range(200):
            if self.lpar()[1] == 'migrating running':
                seen.set()
                break
            seen.wait(0.05)
        self.assertTrue(seen.is_set())
        w.drivers['host-a'].live_migration_abort(w.inst)
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(1, len(outcome))
        self.assertIsInstance(outcome[0], world_lib.MigrationRolledBack)
        self.assertEqual('cancelled', str(outcome[0]))
        self.assert_rolled_back(before)

    def test_abort_without_a_migration_names_the_console_reason(self):
        w = self.start()
        err = self.assertRaises(exception.JobFailed,
                                w.drivers['host-a'].live_migration_abort,
                                w.inst)
        self.assertIn("'MigrateAbort' job", str(err))
        self.assertIn('no partition migration in progress', str(err))
