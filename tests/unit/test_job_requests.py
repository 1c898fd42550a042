"""Finished jobs' DELETEs: deferred to a worker, or sent in place for the
fault matrix (``JobRequests.inline``)."""

import threading

import fixtures
from pypowervm import adapter as pvm_adpt
import testtools

from nova_npiv import job_requests

JOB = '/rest/api/uom/jobs/1500000000001'
TEMPLATE = ('/rest/api/uom/ManagedSystem/%s/do/GetNextWWPNs'
            % 'c5d782c7-44e4-3086-ad15-b16fb039d63b')


class TestTemplates(testtools.TestCase):

    def test_callers_that_miss_together_share_one_read(self):
        """A burst of first WWPN jobs read the template once, not once
        each (32 concurrent first connector calls sent 32 GETs)."""
        jr = job_requests.JobRequests()
        callers = 8
        reads = []
        arrived = threading.Semaphore(0)

        def read(method, path, **kwds):
            reads.append(path)
            # Held until every caller could have sent a read of its own
            # (the bound only ends the wait when they do not).
            for _ in range(callers - 1):
                if not arrived.acquire(timeout=0.5):
                    break
            return pvm_adpt.Response(method, path, 200, 'OK', {},
                                     body='<JobRequest/>')

        wrapped = jr.template_helper(read)
        answers = []

        def call():
            arrived.release()
            answers.append(wrapped('GET', TEMPLATE).body)

        threads = [threading.Thread(target=call) for _ in range(callers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([TEMPLATE], reads)
        self.assertEqual(['<JobRequest/>'] * callers, answers)
        self.assertEqual(callers - 1, jr.templates_served)


class TestDeletes(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.sent = []

    def delete(self, method, path, **kwds):
        self.sent.append((method, path))
        raise RuntimeError('HTTP 500')

    def test_in_place_sends_before_returning_and_only_logs_a_failure(self):
        self.useFixture(fixtures.MockPatchObject(
            job_requests.JobRequests, 'inline', True))
        jr = job_requests.JobRequests()
        resp = jr.delete_helper(self.delete)('DELETE', JOB)
        self.assertEqual(204, resp.status)
        self.assertEqual([('DELETE', JOB)], self.sent)
        self.assertIsNone(jr._worker)
        self.assertEqual(0, jr.deletes_deferred)
        self.assertIn('Could not delete finished job %s: HTTP 500' % JOB,
                      self.logs.output)

    def test_deferred_by_default(self):
        jr = job_requests.JobRequests()
        resp = jr.delete_helper(self.delete)('DELETE', JOB)
        self.assertEqual(204, resp.status)
        jr.drain()
        self.assertEqual([('DELETE', JOB)], self.sent)
        self.assertEqual(1, jr.deletes_deferred)
        self.assertIn('Could not delete finished job %s: HTTP 500' % JOB,
                      self.logs.output)
