"""The driver against asynchronous jobs (issue 13 R2, issue 14 jobs).

The simulator runs jobs as a console does: the PUT answers NOT_STARTED,
polls answer RUNNING while the work takes ``job_seconds``, failures end
COMPLETED_WITH_ERROR with the console's text in the Results.  pypowervm
polls once a second, so the work is kept short.
"""

import threading

from nova_npiv import exception
from nova_npiv.testing import invariants
from tests.functional import base


def _jobs_seen(sim, method):
    return [r for r in sim.request_log
            if r.method == method and '/rest/api/uom/jobs/' in r.path]


class AsyncTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world(job_timeout=5)
        self.w.sim.job_seconds = 0.2
        self.drv = self.w.drivers['host-a']

    def lpar_state(self):
        return [lp.state for lp in self.w.sim.model.lpars()
                if lp.uuid.upper() == self.w.lpar_uuid.upper()]


class TestPolling(AsyncTestCase):

    def test_spawn_and_destroy_poll_their_jobs(self):
        self.w.spawn()
        self.assertEqual(['running'], self.lpar_state())
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        self.assertTrue(_jobs_seen(self.w.sim, 'GET'))   # polls
        self.w.destroy()
        self.assertEqual([], invariants.gone(self.w))


class TestFailures(AsyncTestCase):

    def test_power_on_failing_mid_way_is_a_nova_exception(self):
        before = invariants.snapshot(self.w)
        self.w.sim.fail_job('PowerOn',
                            message='HSCL0DB4 Not enough memory resources')
        err = self.assertRaises(exception.JobFailed, self.w.spawn)
        self.assertIn("'PowerOn' job on partition", str(err))
        self.assertIn('HSCL0DB4 Not enough memory resources', str(err))
        self.assertEqual([], invariants.consistency_problems(self.w))
        self.assertEqual([], invariants.console_problems(
            self.w, before, invariants.snapshot(self.w)))

    def test_job_past_job_timeout_is_cancelled_and_undone(self):
        w = self.world(job_timeout=1)
        w.spawn()
        drv = w.drivers['host-a']
        drv.power_off(w.inst)
        w.sim.job_seconds = 60
        w.sim.reset_counters()
        err = self.assertRaises(exception.JobTimedOut, drv.power_on,
                                w.ctxt, w.inst, None)
        self.assertIn('job_timeout (1 s) and was cancelled', str(err))
        # pypowervm's cancel thread deletes the job once it has ended.
        deleted = threading.Event()
        for _ in range(100):
            if _jobs_seen(w.sim, 'DELETE'):
                deleted.set()
                break
            deleted.wait(0.1)
        self.assertTrue(deleted.is_set())
        # The cancel stopped the work: the partition never came up.
        self.assertEqual(['not activated'], [
            lp.state for lp in w.sim.model.lpars()
            if lp.uuid.upper() == w.lpar_uuid.upper()])
