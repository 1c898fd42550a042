"""Finished jobs' DELETEs: deferred to a worker, or sent in place for the
fault matrix (``JobRequests.inline``); job templates served from memory
only when the console's reply parsed."""

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
                                     body=GOOD)

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
        self.assertEqual([GOOD] * callers, answers)
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


POWER_ON = '/rest/api/uom/LogicalPartition/%s/do/PowerOn'
GOOD = ('<entry xmlns="http://www.w3.org/2005/Atom"><content type="'
        'application/vnd.ibm.powervm.web+xml; type=JobRequest"/></entry>')


class TestWellFormedTemplates(testtools.TestCase):

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
        helper('GET', POWER_ON % '1B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D')
        resp = helper('GET', POWER_ON % '2B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D')
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
        path = POWER_ON % '1B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D'
        helper('GET', path)
        self.assertEqual(GOOD, helper('GET', path).body)
        self.assertEqual(2, len(sent))
