"""Finished jobs' DELETEs: deferred to a worker, or sent in place for the
fault matrix (``JobRequests.inline``)."""

import fixtures
import testtools

from nova_npiv import job_requests

JOB = '/rest/api/uom/jobs/1500000000001'


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
