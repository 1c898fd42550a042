"""A partition migration observable half-done, failing part way, recovered,
aborted; RMC after PowerOn (issue 13, R2 for Migrate, R8)."""

import logging
import threading

import fixtures
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import migration as pvm_mig
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator
from nova_npiv.simulator import topology


class LpmTestCase(testtools.TestCase):

    STATE = 'running'

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        spec = default_topology()
        spec['systems'][0]['lpars'] = [{'name': 'mover',
                                        'state': self.STATE}]
        self.sim = Simulator(spec)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.uuid = next(lp.uuid for lp in self.sim.model.lpars()
                         if lp.name == 'mover')
        # The work is done when the test says so (finish), not by the clock.
        self.sim.job_seconds = 3600

    def lpar_w(self):
        return pvm_lpar.LPAR.wrap(self.adpt.read(pvm_lpar.LPAR.schema_type,
                                                 root_id=self.uuid))

    def where(self):
        lp = next(x for x in self.sim.model.lpars() if x.uuid == self.uuid)
        return lp.system, lp.state, lp.migration_state

    def submit(self, operation='Migrate', params=(('TargetManagedSystemName',
                                                   'sys-b'),)):
        tmpl = pvm_job.Job.wrap(self.adpt.read(
            pvm_lpar.LPAR.schema_type, root_id=self.uuid,
            suffix_type='do', suffix_parm=operation))
        tmpl.add_job_parameters_to_existing(
            *[tmpl.create_job_parameter(k, v) for k, v in params])
        resp = self.adpt.create_job(tmpl.entry.element,
                                    pvm_lpar.LPAR.schema_type, self.uuid)
        return pvm_job.Job.wrap(resp)

    def poll(self, job_w):
        return pvm_job.Job.wrap(self.adpt.read_job(job_w.job_id))

    def finish(self, job_w):
        self.sim.model.finish_job(job_w.job_id)

    def recover(self):
        self.sim.job_seconds = 0
        pvm_mig.migrate_recover(self.lpar_w(), force=True)


class TestMigrateHalfDone(LpmTestCase):

    def test_partition_shows_the_migration_while_it_runs(self):
        job_w = self.submit()
        self.assertEqual(('sys-a', 'migrating running', 'Migration_Starting'),
                         self.where())
        lpar_w = self.lpar_w()
        self.assertEqual('migrating running', lpar_w.state)
        self.assertEqual('Migration_Starting', lpar_w.migration_state)
        sys_a = next(s for s in pvm_ms.System.wrap(self.adpt.read(
            pvm_ms.System.schema_type)) if s.system_name == 'sys-a')
        self.assertEqual(
            1, sys_a.migration_data['active_migrations_in_progress'])
        self.finish(job_w)
        self.assertEqual('COMPLETED_OK', self.poll(job_w).job_status)
        self.assertEqual(('sys-b', 'running', 'Not_Migrating'), self.where())
        self.assertEqual('Not_Migrating', self.lpar_w().migration_state)

    def test_cancel_does_not_stop_a_migration(self):
        job_w = self.submit()
        self.adpt.update(None, None, root_type='jobs', root_id=job_w.job_id,
                         suffix_type='cancel')
        self.assertEqual('RUNNING', self.poll(job_w).job_status)
        self.assertEqual('migrating running', self.where()[1])
        self.finish(job_w)
        self.assertEqual(('sys-b', 'running', 'Not_Migrating'), self.where())

    def test_refused_migration_is_never_shown_migrating(self):
        job_w = self.submit(params=(('TargetManagedSystemName', 'nowhere'),))
        self.assertEqual(('sys-a', 'running', 'Not_Migrating'), self.where())
        self.finish(job_w)
        self.assertEqual('COMPLETED_WITH_ERROR', self.poll(job_w).job_status)

    def test_second_migrate_while_migrating_fails(self):
        self.submit()
        job_w = self.submit()
        self.finish(job_w)
        done = self.poll(job_w)
        self.assertEqual('COMPLETED_WITH_ERROR', done.job_status)
        self.assertIn('MigrationState is Migration_Starting',
                      done.get_job_results_message())


class TestMigrateFailsMidway(LpmTestCase):

    def test_left_failed_until_recovered(self):
        self.sim.fail_job('Migrate', midway=True)
        job_w = self.submit()
        self.assertEqual('migrating running', self.where()[1])
        self.finish(job_w)
        done = self.poll(job_w)
        self.assertEqual('COMPLETED_WITH_ERROR', done.job_status)
        self.assertIn('HSCL365C', done.get_job_results_message())
        self.assertEqual('1', done.get_job_results_as_dict()['returnCode'])
        self.assertEqual(('sys-a', 'migrating running', 'Migration_Failed'),
                         self.where())
        # Another Migrate is refused until the recovery.
        self.sim.job_seconds = 0
        err = self.assertRaises(pvm_exc.JobRequestFailed,
                                pvm_mig.migrate_lpar, self.lpar_w(), 'sys-b')
        self.assertIn('Migration_Failed', str(err))
        self.recover()
        self.assertEqual(('sys-a', 'running', 'Not_Migrating'), self.where())
        pvm_mig.migrate_lpar(self.lpar_w(), 'sys-b')
        self.assertEqual(('sys-b', 'running', 'Not_Migrating'), self.where())

    def test_synchronous_jobs_fail_midway_too(self):
        self.sim.job_seconds = 0
        self.sim.fail_job('Migrate', midway=True)
        self.assertRaises(pvm_exc.JobRequestFailed, pvm_mig.migrate_lpar,
                          self.lpar_w(), 'sys-b')
        self.assertEqual(('sys-a', 'migrating running', 'Migration_Failed'),
                         self.where())

    def test_recover_without_a_failed_migration_fails(self):
        err = self.assertRaises(pvm_exc.JobRequestFailed, self.recover)
        self.assertIn('no failed partition migration', str(err))

    def test_recover_during_a_migration_fails(self):
        self.submit()
        err = self.assertRaises(pvm_exc.JobRequestFailed, self.recover)
        self.assertIn('is in progress', str(err))
        self.assertEqual('migrating running', self.where()[1])


class TestMigrateInactive(LpmTestCase):

    STATE = 'not activated'

    def test_inactive_migration_states(self):
        self.sim.fail_job('Migrate', midway=True)
        job_w = self.submit()
        self.assertEqual(
            ('sys-a', 'migrating not active', 'Migration_Starting'),
            self.where())
        self.finish(job_w)
        self.assertEqual(
            ('sys-a', 'migrating not active', 'Migration_Failed'),
            self.where())
        self.recover()
        self.assertEqual(('sys-a', 'not activated', 'Not_Migrating'),
                         self.where())


class TestMigrateAbort(LpmTestCase):

    def test_abort_rolls_the_move_back(self):
        job_w = self.submit()
        # The abort takes effect when the console accepts it, whatever the
        # jobs' duration.
        pvm_mig.migrate_abort(self.lpar_w())
        self.assertEqual(('sys-a', 'running', 'Not_Migrating'), self.where())
        done = self.poll(job_w)
        self.assertEqual('COMPLETED_WITH_ERROR', done.job_status)
        self.assertIn('stopped by a MigrateAbort',
                      done.get_job_results_message())
        self.finish(job_w)     # the timer fires after all: nothing happens
        self.assertEqual(('sys-a', 'running', 'Not_Migrating'), self.where())

    def test_abort_without_a_migration_fails(self):
        err = self.assertRaises(pvm_exc.JobRequestFailed,
                                pvm_mig.migrate_abort, self.lpar_w())
        self.assertIn('no partition migration in progress', str(err))


class TestRmc(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def start(self, **spec_keys):
        spec = default_topology()
        spec['systems'][0]['lpars'] = [{'name': 'guest',
                                        'state': 'not activated'}]
        spec.update(spec_keys)
        sim = Simulator(spec)
        sim.start()
        self.addCleanup(sim.stop)
        # RMC's clock starts when the power-on's work is done: done during
        # the PUT here, not a pypowervm poll (one second) later.
        sim.job_seconds = 0
        adpt = sim.adapter()
        uuid = next(lp.uuid for lp in sim.model.lpars()
                    if lp.name == 'guest')
        return sim, adpt, uuid

    @staticmethod
    def rmc(sim, uuid):
        return next(lp.rmc_state for lp in sim.model.lpars()
                    if lp.uuid == uuid)

    def power_on(self, adpt, uuid):
        tmpl = pvm_job.Job.wrap(adpt.read(
            pvm_lpar.LPAR.schema_type, root_id=uuid, suffix_type='do',
            suffix_parm='PowerOn'))
        tmpl.run_job(uuid)

    def test_active_at_once_by_default(self):
        sim, adpt, uuid = self.start()
        self.power_on(adpt, uuid)
        self.assertEqual('active', self.rmc(sim, uuid))

    def test_active_after_the_delay(self):
        sim, adpt, uuid = self.start(rmc_seconds=0.2)
        self.power_on(adpt, uuid)
        self.assertEqual('inactive', self.rmc(sim, uuid))
        lpar_w = pvm_lpar.LPAR.wrap(adpt.read(pvm_lpar.LPAR.schema_type,
                                              root_id=uuid))
        self.assertEqual('inactive', lpar_w.rmc_state)
        self.assertFalse(lpar_w.capabilities.io_dlpar)
        waited = threading.Event()
        for _ in range(100):
            if self.rmc(sim, uuid) == 'active':
                waited.set()
                break
            waited.wait(0.05)
        self.assertTrue(waited.is_set())
        lpar_w = pvm_lpar.LPAR.wrap(adpt.read(pvm_lpar.LPAR.schema_type,
                                              root_id=uuid))
        self.assertTrue(lpar_w.capabilities.io_dlpar)

    def test_never_without_rsct(self):
        sim, adpt, uuid = self.start(rmc_down=True)
        self.power_on(adpt, uuid)
        self.assertEqual('inactive', self.rmc(sim, uuid))
        lpar_w = pvm_lpar.LPAR.wrap(adpt.read(pvm_lpar.LPAR.schema_type,
                                              root_id=uuid))
        err = self.assertRaises(pvm_exc.JobRequestFailed,
                                pvm_mig.migrate_lpar, lpar_w, 'sys-b',
                                validate_only=True)
        self.assertIn('HSCLA246', str(err))
        err = self.assertRaises(pvm_exc.JobRequestFailed,
                                pvm_mig.migrate_lpar, lpar_w, 'sys-b')
        self.assertIn('HSCLA246', str(err))
        self.assertEqual('sys-a', next(lp.system for lp in sim.model.lpars()
                                       if lp.uuid == uuid))

    def test_rmc_lost_and_back_at_run_time(self):
        sim, adpt, uuid = self.start()
        self.power_on(adpt, uuid)
        sim.model.set_rmc_down(True)
        self.assertEqual('inactive', self.rmc(sim, uuid))
        sim.model.set_rmc_down(False)
        self.assertEqual('active', self.rmc(sim, uuid))

    def test_per_lpar_image_without_rsct(self):
        sim, adpt, uuid = self.start()
        sim.model.set_rsct('sys-a', 'guest', False)
        self.power_on(adpt, uuid)
        self.assertEqual('inactive', self.rmc(sim, uuid))

    def test_topology_keys_are_checked(self):
        self.assertRaises(ValueError, topology.normalize,
                          dict(default_topology(), rmc_seconds=-1))
        self.assertRaises(ValueError, topology.normalize,
                          dict(default_topology(), rmc_down='yes'))
