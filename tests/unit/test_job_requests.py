"""Finished jobs' DELETEs: deferred to a worker, or sent in place for the
fault matrix (``JobRequests.inline``)."""

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


TEMPLATE = '/rest/api/uom/LogicalPartition/%s/do/PowerOn'
GOOD = ('<entry xmlns="http://www.w3.org/2005/Atom"><content type="'
        'application/vnd.ibm.powervm.web+xml; type=JobRequest"/></entry>')


class TestTemplates(testtools.TestCase):

    def reply(self, *bodies):
        sent = []

        def func(method, path, **kwds):
            sent.append(path)
            return pvm_adpt.Response(method, path, 200, 'OK', {},
                                     body=bodies[len(sent) - 1])
        return sent, func

    def test_a_template_is_read_once(self):
        jr = job_requests.JobRequests()
        sent, func = self.reply(GOOD)
        helper = jr.template_helper(func)
        helper('GET', TEMPLATE % '1B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D')
        resp = helper('GET', TEMPLATE % '2B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D')
        self.assertEqual(1, len(sent))
        self.assertEqual(GOOD, resp.body)

    def test_a_malformed_template_is_not_kept(self):
        # The fault matrix's bad_xml at a PowerOn template read: the next
        # PowerOn of the session (the retry) read the cut-short body from
        # the cache and failed too, until nova-compute restarted.
        jr = job_requests.JobRequests()
        sent, func = self.reply(
            '<feed xmlns="http://www.w3.org/2005/Atom"><entry>', GOOD)
        helper = jr.template_helper(func)
        path = TEMPLATE % '1B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D'
        helper('GET', path)
        self.assertEqual(GOOD, helper('GET', path).body)
        self.assertEqual(2, len(sent))
