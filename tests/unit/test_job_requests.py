"""Finished jobs' DELETEs: deferred to a worker, or sent in place for the
fault matrix (``JobRequests.inline``); job templates served from memory
only when the console's reply parsed."""

import fixtures
from pypowervm import adapter as pvm_adpt
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


TEMPLATE = ('/rest/api/uom/LogicalPartition/'
            '3F0C0A38-6F3C-4B7E-9D46-0C6A1D0E9A01/do/PowerOff')
GOOD = ('<entry xmlns="http://www.w3.org/2005/Atom"><content>'
        '<JobRequest/></content></entry>')


class TestTemplates(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bodies = []
        self.sent = 0

    def get(self, method, path, **kwds):
        self.sent += 1
        return pvm_adpt.Response(method, path, 200, 'OK', {},
                                 body=self.bodies.pop(0))

    def test_a_template_is_read_once(self):
        self.bodies = [GOOD]
        jr = job_requests.JobRequests()
        get = jr.template_helper(self.get)
        self.assertEqual([GOOD, GOOD],
                         [get('GET', TEMPLATE).body for _ in range(2)])
        self.assertEqual((1, 1), (self.sent, jr.templates_served))

    def test_a_garbled_reply_is_not_kept(self):
        # A 200 with a cut-off body: the next job reads the template again.
        self.bodies = ['<entry xmlns="http://www.w3.org/2005/Atom"><con',
                       GOOD]
        jr = job_requests.JobRequests()
        get = jr.template_helper(self.get)
        get('GET', TEMPLATE)
        self.assertEqual(GOOD, get('GET', TEMPLATE).body)
        self.assertEqual((2, 0), (self.sent, jr.templates_served))
