"""What the REST layer keeps of request and reply bodies (issue 16)."""

from unittest import mock

from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.helpers import log_helper as pvm_log
import requests
import testtools

from nova_npiv import console
from nova_npiv import payloads

BIG = 100000


def reply(status=200, body='r' * BIG, reqbody='q' * BIG):
    return pvm_adpt.Response('POST', '/rest/api/uom/VirtualIOServer/x',
                             status, 'reason', {}, reqbody=reqbody,
                             body=body)


class TestThreadLog(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(self._forget)
        self._forget()

    @staticmethod
    def _forget():
        if hasattr(pvm_log.log_store, 'powervm_log'):
            del pvm_log.log_store.powervm_log

    def stashed(self):
        texts = []
        for entry in pvm_log.log_store.powervm_log:
            if 'request' in entry:
                texts.append(entry['request'][1]['body'])
            else:
                texts.extend([entry['response']['body'],
                              entry['response']['reqbody']])
        return texts

    def test_bodies_are_cut_once_the_request_is_over(self):
        resp = reply()
        func = mock.Mock(return_value=resp)
        helper = payloads.log_helper(func)
        self.assertIs(resp, helper('POST', '/x', body='q' * BIG))
        texts = self.stashed()
        self.assertEqual(3, len(texts))
        for text in texts:
            self.assertLessEqual(len(text), payloads.DUMP_CHARS)
            self.assertIn('more characters not logged', text)
        self.assertTrue(texts[0].startswith('q' * 1000))
        self.assertTrue(texts[1].startswith('r' * 1000))
        # What the caller got is whole.
        self.assertEqual(BIG, len(resp.body))

    def test_a_failure_is_still_logged_from_the_whole_bodies(self):
        func = mock.Mock(side_effect=pvm_exc.HttpError(reply(status=500)))
        helper = payloads.log_helper(func)
        with mock.patch.object(pvm_log.LOG, 'info') as info:
            self.assertRaises(pvm_exc.HttpError, helper, 'POST', '/x',
                              body='q' * BIG)
        logged = [c[0][0] for c in info.call_args_list]
        self.assertIn('r' * BIG, logged)
        for text in self.stashed():
            self.assertLessEqual(len(text), payloads.DUMP_CHARS)

    def test_small_and_sensitive_entries_are_left_alone(self):
        small = reply(body='<ok/>', reqbody='<x/>')
        helper = payloads.log_helper(mock.Mock(return_value=small))
        helper('POST', '/x', body='<x/>')
        self.assertEqual(['<x/>', '<ok/>', '<x/>'], self.stashed())
        helper(mock.sentinel.method, '/logon', body='secret', sensitive=True)
        self.assertEqual(['<SENSITIVE>', '<SENSITIVE>'], [
            list(e.values())[0] for e in pvm_log.log_store.powervm_log])


class TestEncoding(testtools.TestCase):

    def response(self, content_type):
        resp = requests.Response()
        resp.headers['Content-Type'] = content_type
        resp.encoding = requests.utils.get_encoding_from_headers(resp.headers)
        return resp

    def test_xml_without_charset_is_utf8(self):
        for ctype in ('application/atom+xml',
                      'application/vnd.ibm.powervm.uom+xml; '
                      'type=VirtualIOServer'):
            resp = payloads.declare_encoding(self.response(ctype))
            self.assertEqual('utf-8', resp.encoding)
            resp._content = 'caf\u00e9'.encode('utf-8')
            self.assertEqual('caf\u00e9', resp.text)

    def test_a_declared_charset_or_other_types_are_kept(self):
        resp = payloads.declare_encoding(
            self.response('application/atom+xml; charset=ISO-8859-1'))
        self.assertEqual('ISO-8859-1', resp.encoding)
        resp = payloads.declare_encoding(self.response('application/json'))
        self.assertEqual('utf-8', resp.encoding)
        resp = payloads.declare_encoding(self.response('image/png'))
        self.assertIsNone(resp.encoding)

    def test_the_console_session_declares_it(self):
        resp = self.response('application/atom+xml')
        with mock.patch.object(requests.Session, 'send',
                               return_value=resp):
            got = console._NoRedirects().send(mock.sentinel.request)
        self.assertIs(resp, got)
        self.assertEqual('utf-8', got.encoding)
