"""The job waiter (job_wait): polls at job_poll_interval, within job_timeout.

Against the simulated console over loopback, whose jobs run asynchronously
and whose work the tests finish when they say (``finish_job``); the
waiter's sleep and clock are the tests', so the waits are exact.
"""

import logging
import threading

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import logical_partition as pvm_lpar
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import console
from nova_npiv import exception
from nova_npiv import job_requests
from nova_npiv import job_wait
from nova_npiv import jobs
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator


class WaiterTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        spec = co_managed_topology()
        spec['systems'][0]['lpars'] = [{'name': 'idle',
                                        'state': 'not activated'}]
        self.sim = Simulator(spec)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        # The work is done when a test says so, not by the clock.
        self.sim.job_seconds = 3600
        self.lpar = next(lp for lp in self.sim.model.lpars()
                         if lp.name == 'idle')
        self.sleeps = []
        self.now = 0.0
        #: Called with the number of sleeps so far, after each sleep.
        self.on_sleep = lambda count: None
        # pypowervm's own poll loop is entered with the job's status: it
        # must find every job over (it would sleep a second first).
        self.pvm_polled = []
        poll = pvm_job.Job.poll_while_status

        def spy(job_w, statuses, timeout, sensitive):
            self.pvm_polled.append(job_w.job_status)
            return poll(job_w, statuses, timeout, sensitive)
        self.useFixture(fixtures.MockPatchObject(
            pvm_job.Job, 'poll_while_status', spy))

    def conf(self, **opts):
        conf = cfg.ConfigOpts()
        fx = self.useFixture(config_fixture.Config(conf))
        npiv_conf.register_opts(conf)
        fx.config(group='powervm', host='localhost', port=self.sim.port,
                  protocol='http', username=self.sim.username,
                  password=self.sim.password, **opts)
        return conf

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))

    def adapter(self, conf):
        adpt = console.build_adapter(conf)
        self.sim.track_session(adpt)
        waiter = adpt.npiv_job_waiter
        waiter._sleep = self.sleep
        waiter._clock = lambda: self.now
        return adpt

    def power_on(self, adpt, conf):
        resp = adpt.read(pvm_lpar.LPAR.schema_type, root_id=self.lpar.uuid,
                         suffix_type='do', suffix_parm='PowerOn')
        return jobs.run(pvm_job.Job.wrap(resp.entry), self.lpar.uuid,
                        'partition idle', conf=conf)

    def finish_after(self, sleeps):
        def hook(count):
            if count == sleeps:
                for job in self.sim.model.jobs():
                    self.sim.model.finish_job(job.job_id)
        self.on_sleep = hook

    def state(self):
        return next(lp.state for lp in self.sim.model.lpars()
                    if lp.uuid == self.lpar.uuid)

    def requests(self, method, fragment):
        return [r for r in self.sim.request_log
                if r.method == method and fragment in r.path]


class TestWaiting(WaiterTestCase):

    def test_polls_at_the_interval_and_pypowervm_never_sleeps(self):
        conf = self.conf(job_poll_interval=0.25, job_timeout=60)
        adpt = self.adapter(conf)
        self.finish_after(3)
        job_w = self.power_on(adpt, conf)
        self.assertEqual('COMPLETED_OK', job_w.job_status)
        self.assertEqual([0.25] * 3, self.sleeps)
        self.assertEqual(3, adpt.npiv_job_waiter.polls)
        self.assertEqual(3, len(self.requests('GET', '/uom/jobs/')))
        self.assertEqual(['COMPLETED_OK'], self.pvm_polled)
        self.assertEqual('running', self.state())
        job_requests.drain(adpt)
        self.assertEqual([], self.sim.model.jobs())

    def test_failure_is_job_failed_with_the_consoles_text(self):
        conf = self.conf(job_poll_interval=0.5, job_timeout=60)
        adpt = self.adapter(conf)
        self.sim.fail_job('PowerOn', message='HSCL0DB4 Not enough memory')
        self.finish_after(2)
        err = self.assertRaises(exception.JobFailed, self.power_on, adpt,
                                conf)
        self.assertNotIsInstance(err, exception.JobTimedOut)
        self.assertIn("'PowerOn' job on partition idle failed", str(err))
        self.assertIn('HSCL0DB4 Not enough memory', str(err))
        self.assertEqual([0.5, 0.5], self.sleeps)
        self.assertEqual(['COMPLETED_WITH_ERROR'], self.pvm_polled)
        self.assertEqual('not activated', self.state())

    def test_timeout_cancels_once_and_names_the_job(self):
        conf = self.conf(job_poll_interval=0.4, job_timeout=1)
        adpt = self.adapter(conf)
        err = self.assertRaises(exception.JobTimedOut, self.power_on, adpt,
                                conf)
        job_id = self.requests('GET', '/uom/jobs/')[0].path.rsplit('/')[-1]
        self.assertIn("'PowerOn' job on partition idle (job %s) did not end "
                      "within [powervm] job_timeout (1 s) and was cancelled"
                      % job_id, str(err))
        # One job_timeout in all, the last wait cut to what was left; not
        # a second one in pypowervm's loop.
        self.assertEqual([0.4, 0.4], self.sleeps[:2])
        self.assertAlmostEqual(0.2, self.sleeps[2])
        self.assertEqual([], self.pvm_polled)
        self.assertEqual(1, len(self.requests('POST', '/jobs/%s/cancel'
                                              % job_id)))
        # The cancel stopped the power-on; the cancelled job is deleted
        # once it has ended, by a thread of its own.
        for _ in range(200):
            job_requests.drain(adpt)
            if not self.sim.model.jobs():
                break
            threading.Event().wait(0.02)
        self.assertEqual([], self.sim.model.jobs())
        self.assertEqual('not activated', self.state())

    def test_a_failed_poll_is_that_requests_error(self):
        conf = self.conf(job_poll_interval=0.5, job_timeout=60)
        adpt = self.adapter(conf)
        self.sim.inject_fault('GET', r'/uom/jobs/\d+$', nth=2)
        err = self.assertRaises(pvm_exc.HttpError, self.power_on, adpt,
                                conf)
        self.assertEqual(500, err.response.status)
        self.assertIn('/rest/api/uom/jobs/', str(err))
        self.assertEqual([0.5, 0.5], self.sleeps)

    def test_a_job_over_at_its_put_is_not_polled(self):
        self.sim.job_seconds = 0
        conf = self.conf(job_poll_interval=0.25, job_timeout=60)
        adpt = self.adapter(conf)
        self.assertEqual('COMPLETED_OK',
                         self.power_on(adpt, conf).job_status)
        self.assertEqual([], self.sleeps)
        self.assertEqual([], self.requests('GET', '/uom/jobs/'))

    def test_real_clock(self):
        self.sim.job_seconds = 0.05
        conf = self.conf(job_poll_interval=0.02, job_timeout=60)
        adpt = console.build_adapter(conf)
        self.sim.track_session(adpt)
        self.assertEqual('COMPLETED_OK',
                         self.power_on(adpt, conf).job_status)
        self.assertGreaterEqual(adpt.npiv_job_waiter.polls, 1)
        job_requests.drain(adpt)
        self.assertEqual(['COMPLETED_OK'], self.pvm_polled)


class TestMatching(testtools.TestCase):

    def test_option_listed_with_pypowervms_interval(self):
        [(_group, opts)] = npiv_conf.list_opts()
        option = {o.name: o for o in opts}['job_poll_interval']
        self.assertEqual(1.0, option.default)
        self.assertIn("pypowervm's own fixed interval", option.help)

    def test_only_job_runs_are_waited_for(self):
        waiter = job_wait.JobWaiter()
        seen = []

        def func(method, path, **kwds):
            seen.append((method, path))
            return None
        waiter.bind(self)   # any object: none of these is a job run
        for method, path in (
                ('GET', '/rest/api/uom/LogicalPartition/x/do/PowerOn'),
                ('POST', '/rest/api/uom/VirtualIOServer/x'),
                ('PUT', '/rest/api/uom/jobs/1/cancel')):
            self.assertIsNone(waiter.helper(func)(method, path))
        self.assertEqual(3, len(seen))

