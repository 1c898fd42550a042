"""The console session: logon retries, per-kind timeouts, adapter helpers."""

import logging
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.helpers import log_helper as pvm_log
from pypowervm.helpers import vios_busy as pvm_busy
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import console
from nova_npiv import exception
from nova_npiv import payloads


def http_error(status):
    resp = pvm_adpt.Response('PUT', '/rest/api/web/Logon', status, 'reason',
                             {}, body='')
    return (pvm_exc.HttpUnauth(resp) if status == 401
            else pvm_exc.HttpError(resp))


def unreachable():
    return exception.ConsoleUnreachable(method='PUT',
                                        path='/rest/api/web/Logon',
                                        reason='Connection refused')


class SessionTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        self.fixture = self.useFixture(config_fixture.Config(self.conf))
        npiv_conf.register_opts(self.conf)
        self.fixture.config(group='powervm', host='pvm.example.com',
                            password='s3cret-pass', logon_retries=3,
                            logon_retry_interval=7)
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.session_cls = self.useFixture(fixtures.MockPatchObject(
            console, 'VerifiedSession')).mock
        self.sleeps = []

    def log_on(self):
        return console.log_on(self.conf, sleep=self.sleeps.append)


class TestLogonRetries(SessionTestCase):

    def test_console_coming_up_is_waited_for(self):
        session = object()
        self.session_cls.side_effect = [unreachable(), http_error(503),
                                        session]
        self.assertIs(session, self.log_on())
        self.assertEqual([7, 7], self.sleeps)
        self.assertIn('pvm.example.com not ready (logon try 1 of 4)',
                      self.logs.output)

    def test_not_ready_replies_are_retried(self):
        for status in (404, 502, 503):
            self.sleeps = []
            self.session_cls.side_effect = [http_error(status), object()]
            self.log_on()
            self.assertEqual([7], self.sleeps, status)

    def test_unanswered_logon_is_retried(self):
        self.session_cls.side_effect = [
            exception.ConsoleTimeout(method='PUT', path='/rest/api/web/Logon',
                                     option='logon_timeout', timeout=60,
                                     reason='read timed out'), object()]
        self.log_on()
        self.assertEqual([7], self.sleeps)

    def test_bounded_then_a_named_nova_exception(self):
        self.session_cls.side_effect = unreachable()
        err = self.assertRaises(exception.ConsoleNotReady, self.log_on)
        self.assertEqual(4, self.session_cls.call_count)
        self.assertEqual([7, 7, 7], self.sleeps)
        self.assertIn('pvm.example.com did not take a logon in 4 tries',
                      str(err))
        self.assertIn('logon_retries, logon_retry_interval', str(err))
        self.assertIn('Connection refused', str(err))
        # Still what pypowervm callers catch for an unreachable console.
        self.assertIsInstance(err, pvm_exc.ConnectionError)

    def test_no_retries(self):
        self.fixture.config(group='powervm', logon_retries=0)
        self.session_cls.side_effect = unreachable()
        self.assertRaises(exception.ConsoleNotReady, self.log_on)
        self.assertEqual((1, []), (self.session_cls.call_count, self.sleeps))

    def test_refused_logon_is_never_retried(self):
        self.session_cls.side_effect = http_error(401)
        err = self.assertRaises(exception.ConsoleLogonRefused, self.log_on)
        self.assertEqual((1, []), (self.session_cls.call_count, self.sleeps))
        self.assertIn('refused the logon of user hscroot', str(err))
        self.assertNotIn('s3cret-pass', str(err) + self.logs.output)
        self.assertIsInstance(err, pvm_exc.Error)

    def test_other_errors_are_not_retried(self):
        self.session_cls.side_effect = http_error(500)
        self.assertRaises(pvm_exc.HttpError, self.log_on)
        self.assertEqual((1, []), (self.session_cls.call_count, self.sleeps))

    def test_session_gets_the_timeouts_of_each_kind(self):
        self.fixture.config(group='powervm', conn_timeout=11,
                            update_timeout=22, logon_timeout=33)
        self.session_cls.side_effect = None
        self.log_on()
        kwargs = self.session_cls.call_args.kwargs
        self.assertEqual({'read': ('conn_timeout', 11),
                          'update': ('update_timeout', 22),
                          'job': ('conn_timeout', 11),
                          'logon': ('logon_timeout', 33)},
                         kwargs['timeouts'])
        self.assertEqual(11, kwargs['timeout'])


class TestRequestKinds(testtools.TestCase):

    def test_kinds(self):
        uom = '/rest/api/uom/'
        for method, path, kind in (
                ('GET', uom + 'ManagedSystem/x/VirtualIOServer?group=None',
                 console.READ),
                ('POST', uom + 'ManagedSystem/x/VirtualIOServer/y',
                 console.UPDATE),
                ('PUT', uom + 'ManagedSystem/x/LogicalPartition',
                 console.UPDATE),
                ('DELETE', uom + 'LogicalPartition/y', console.UPDATE),
                ('GET', uom + 'LogicalPartition/y/do/PowerOn', console.JOB),
                ('PUT', uom + 'LogicalPartition/y/do/PowerOn', console.JOB),
                ('GET', uom + 'jobs/1500000000001?group=None', console.JOB),
                ('PUT', uom + 'jobs/1500000000001/cancel', console.JOB),
                ('DELETE', uom + 'jobs/1500000000001', console.JOB),
                ('PUT', '/rest/api/web/Logon', console.LOGON),
                ('DELETE', '/rest/api/web/Logon', console.LOGON)):
            self.assertEqual(kind, console.request_kind(method, path),
                             '%s %s' % (method, path))
        self.assertEqual(console.LOGON, console.request_kind(
            'PUT', '/anything', login=True))


class TestRequestBounds(testtools.TestCase):
    """What timeout the session hands pypowervm for each request."""

    def setUp(self):
        super().setUp()
        self.sent = self.useFixture(fixtures.MockPatchObject(
            pvm_adpt.Session, 'request')).mock
        self.sent.return_value = mock.Mock(body='<ok/>', status=200)
        self.session = console.VerifiedSession.__new__(console.VerifiedSession)
        self.session._tls_verify = True
        self.session._max_reply = None
        self.session.timeout = 60
        self.session._timeouts = {console.READ: ('conn_timeout', 60),
                                  console.UPDATE: ('update_timeout', 300),
                                  console.JOB: ('conn_timeout', 60)}

    def timeout_of(self, method, path, **kwargs):
        self.session.request(method, path, **kwargs)
        return self.sent.call_args.kwargs['timeout']

    def test_update_is_not_given_an_hour(self):
        # pypowervm's EntryWrapper.update asks for max(3600, timeout).
        self.assertEqual(300, self.timeout_of(
            'POST', '/rest/api/uom/VirtualIOServer/x', timeout=3600))

    def test_default_and_shorter_asks(self):
        self.assertEqual(60, self.timeout_of('GET', '/rest/api/uom/x'))
        self.assertEqual(300, self.timeout_of('POST', '/rest/api/uom/x/y'))
        self.assertEqual(5, self.timeout_of('POST', '/rest/api/uom/x/y',
                                            timeout=5))

    def test_timeout_names_the_option_of_the_kind(self):
        self.sent.side_effect = pvm_exc.TimeoutError('read timed out')
        err = self.assertRaises(exception.ConsoleTimeout,
                                self.session.request, 'POST',
                                '/rest/api/uom/VirtualIOServer/x?group=a',
                                timeout=3600)
        self.assertEqual(
            'The management console did not answer POST '
            '/rest/api/uom/VirtualIOServer/x within [powervm] update_timeout '
            '(300 s): read timed out', str(err))

    def test_kind_without_a_bound_gets_the_session_timeout(self):
        self.assertEqual(60, self.timeout_of('PUT', '/rest/api/web/Logon',
                                             login=True))


class TestHelpers(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        self.fixture = self.useFixture(config_fixture.Config(self.conf))
        npiv_conf.register_opts(self.conf)

    def test_busy_retry_counts_and_waits_come_from_config(self):
        self.fixture.config(group='powervm', vios_busy_retries=4,
                            vios_busy_retry_delay=0.5)
        log, busy, release = console.helpers(self.conf)
        self.assertIs(payloads.release_helper, release)
        self.assertIs(payloads.log_helper, log.func)
        self.assertEqual({'max_logs': 1}, log.keywords)
        self.assertIs(pvm_busy.vios_busy_retry_helper, busy.func)
        self.assertEqual({'max_retries': 4, 'delay': 0.5}, busy.keywords)

    def test_build_adapter_stacks_them(self):
        self.useFixture(fixtures.MockPatchObject(console, 'log_on'))
        adapter = console.build_adapter(self.conf)
        # The job bookkeeping (job_requests) outermost, the job waiter
        # (job_wait), then these three.
        self.assertEqual(6, len(adapter.helpers))
        self.assertEqual(adapter.npiv_job_waiter.helper, adapter.helpers[2])
        self.assertIs(payloads.release_helper, adapter.helpers[-1])

    def test_dumps_are_cut(self):
        console.helpers(self.conf)
        logger = logging.getLogger(pvm_log.__name__)
        [cut] = [f for f in logger.filters
                 if isinstance(f, console._ShortDump)]
        console.helpers(self.conf)      # installed once
        self.assertEqual(1, len([f for f in logger.filters
                                 if isinstance(f, console._ShortDump)]))
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 1,
                                   'RESPONSE: %s', ('x' * 100000,), None)
        self.assertTrue(cut.filter(record))
        text = record.getMessage()
        self.assertTrue(text.endswith(
            '... (%d more characters not logged)'
            % (100000 + len('RESPONSE: ') - console.DUMP_CHARS)))
        self.assertLess(len(text), console.DUMP_CHARS + 100)
        short = logger.makeRecord(logger.name, logging.INFO, __file__, 1,
                                  'REQUEST: %s', ('GET /x',), None)
        self.assertTrue(cut.filter(short))
        self.assertEqual('REQUEST: GET /x', short.getMessage())

class TestOptionsListed(testtools.TestCase):

    def test_sample_config_lists_the_new_options(self):
        [(group, opts)] = npiv_conf.list_opts()
        names = {o.name: o.default for o in opts}
        self.assertEqual('powervm', group)
        self.assertEqual(
            {'conn_timeout': 60, 'update_timeout': 300, 'job_timeout': 1800,
             'logon_timeout': 60, 'logon_retries': 30,
             'logon_retry_interval': 10, 'vios_busy_retries': 3,
             'vios_busy_retry_delay': 5.0},
            {k: names[k] for k in (
                'conn_timeout', 'update_timeout', 'job_timeout',
                'logon_timeout', 'logon_retries', 'logon_retry_interval',
                'vios_busy_retries', 'vios_busy_retry_delay')})
