"""Asynchronous jobs (issue 13, R2): NOT_STARTED, RUNNING, then the outcome."""

import logging
import threading

import fixtures
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import logical_partition as pvm_lpar
import testtools

from nova_npiv.simulator import cli
from nova_npiv.simulator import server
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator


class AsyncJobTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        spec = co_managed_topology()
        spec['systems'][0]['lpars'] = [{'name': 'idle',
                                        'state': 'not activated'}]
        self.sim = Simulator(spec)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.lpar = next(lp for lp in self.sim.model.lpars()
                         if lp.name == 'idle')
        # The work is done when the test says so (finish), not by the clock.
        self.sim.job_seconds = 3600

    def submit(self, operation='PowerOn'):
        tmpl = pvm_job.Job.wrap(self.adpt.read(
            pvm_lpar.LPAR.schema_type, root_id=self.lpar.uuid,
            suffix_type='do', suffix_parm=operation))
        resp = self.adpt.create_job(tmpl.entry.element,
                                    pvm_lpar.LPAR.schema_type,
                                    self.lpar.uuid)
        return pvm_job.Job.wrap(resp)

    def poll(self, job_w):
        return pvm_job.Job.wrap(self.adpt.read_job(job_w.job_id))

    def state(self):
        return next(lp.state for lp in self.sim.model.lpars()
                    if lp.uuid == self.lpar.uuid)

    def finish(self, job_w):
        self.sim.model.finish_job(job_w.job_id)


class TestAsyncJobs(AsyncJobTestCase):

    def test_power_on_is_observable_half_done(self):
        job_w = self.submit()
        self.assertEqual('NOT_STARTED', job_w.job_status)
        self.assertEqual('starting', self.state())
        self.assertEqual('RUNNING', self.poll(job_w).job_status)
        # A running job cannot be deleted.
        err = self.assertRaises(pvm_exc.HttpError, self.adpt.delete, 'jobs',
                                job_w.job_id)
        self.assertEqual(400, err.response.status)
        self.finish(job_w)
        self.assertEqual('COMPLETED_OK', self.poll(job_w).job_status)
        self.assertEqual('running', self.state())
        self.adpt.delete('jobs', job_w.job_id)

    def test_failure_ends_completed_with_error_after_the_work(self):
        self.sim.fail_job('PowerOn', message='HSCL0DB4 not enough memory')
        job_w = self.submit()
        self.assertEqual('RUNNING', self.poll(job_w).job_status)
        self.finish(job_w)
        done = self.poll(job_w)
        self.assertEqual('COMPLETED_WITH_ERROR', done.job_status)
        self.assertEqual('HSCL0DB4 not enough memory',
                         done.get_job_results_message())
        self.assertEqual('not activated', self.state())

    def test_cancel_stops_the_work(self):
        job_w = self.submit()
        self.adpt.update(None, None, root_type='jobs', root_id=job_w.job_id,
                         suffix_type='cancel')
        done = self.poll(job_w)
        self.assertEqual('COMPLETED_WITH_ERROR', done.job_status)
        self.assertIn('was cancelled', done.get_job_results_message())
        self.assertEqual('not activated', self.state())
        self.finish(job_w)    # the timer fires after all: nothing happens
        self.assertEqual('not activated', self.state())

    def test_work_takes_the_configured_time(self):
        self.sim.job_seconds = 0.05
        job_w = self.submit()
        self.assertEqual('NOT_STARTED', job_w.job_status)
        ended = threading.Event()
        for _ in range(200):
            if self.poll(job_w).job_status == 'COMPLETED_OK':
                ended.set()
                break
            threading.Event().wait(0.05)
        self.assertTrue(ended.is_set())
        self.assertEqual('running', self.state())

    def test_synchronous_when_asked(self):
        self.sim.job_seconds = 0
        self.assertEqual('COMPLETED_OK', self.submit().job_status)
        self.assertEqual('running', self.state())

    def test_counted_polls_end_the_work_whatever_the_clock(self):
        self.sim.job_polls = 2
        job_w = self.submit()
        self.assertEqual('NOT_STARTED', job_w.job_status)
        self.assertEqual('RUNNING', self.poll(job_w).job_status)
        self.assertEqual('starting', self.state())
        self.assertEqual('COMPLETED_OK', self.poll(job_w).job_status)
        self.assertEqual('running', self.state())


class TestDefault(testtools.TestCase):

    def test_a_default_simulator_runs_jobs_asynchronously(self):
        spec = co_managed_topology()
        spec['systems'][0]['lpars'] = [{'name': 'idle',
                                        'state': 'not activated'}]
        sim = Simulator(spec)
        sim.start()
        self.addCleanup(sim.stop)
        adpt = sim.adapter()
        lpar = next(lp for lp in sim.model.lpars() if lp.name == 'idle')
        tmpl = pvm_job.Job.wrap(adpt.read(
            pvm_lpar.LPAR.schema_type, root_id=lpar.uuid, suffix_type='do',
            suffix_parm='PowerOn'))
        job_w = pvm_job.Job.wrap(adpt.create_job(
            tmpl.entry.element, pvm_lpar.LPAR.schema_type, lpar.uuid))
        self.assertIn(job_w.job_status, ('NOT_STARTED', 'RUNNING'))
        # Half done: the partition is starting until the work is.
        self.assertEqual('starting', next(
            lp.state for lp in sim.model.lpars() if lp.uuid == lpar.uuid))
        self.assertGreater(sim.job_seconds, 0)
        # And the options it gives a nova-compute poll it quickly.
        self.assertLess(sim.powervm_conf('sys-a')['job_poll_interval'],
                        sim.job_seconds)


class TestCommandLine(testtools.TestCase):

    def test_job_seconds_option(self):
        seen = {}
        self.useFixture(fixtures.MonkeyPatch(
            'nova_npiv.simulator.cli.serve_forever',
            lambda spec, **kw: seen.update(kw)))
        cli.main(['--job-seconds', '2.5'])
        self.assertEqual(2.5, seen['job_seconds'])
        cli.main([])
        self.assertEqual(server.DEFAULT_JOB_SECONDS, seen['job_seconds'])
        self.assertGreater(seen['job_seconds'], 0)
