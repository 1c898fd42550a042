"""The console session: verification, redirects, hostile replies, errors.

Run against the simulated console over loopback, with pypowervm's real
Session underneath; the error translation also on a patched request where
the simulator cannot produce the condition on demand.
"""

import logging
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
import requests
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import console
from nova_npiv import exception
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator

ATOM = b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>'
SYSTEMS = '/rest/api/uom/ManagedSystem'


def _conf(test, **opts):
    conf = cfg.ConfigOpts()
    fx = test.useFixture(config_fixture.Config(conf))
    npiv_conf.register_opts(conf)
    fx.config(group='powervm', **opts)
    return conf


class SimTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.console', level=logging.INFO))
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)

    def session(self, max_reply_bytes=None, **kwargs):
        sess = console.VerifiedSession(
            False, max_reply_bytes=max_reply_bytes, host='localhost',
            port=self.sim.port, protocol='http', username=self.sim.username,
            password=self.sim.password, **kwargs)
        self.sim.track_session(sess)
        return sess


class TestRedirects(SimTestCase):

    def test_redirects_are_not_followed(self):
        # A 307 re-sends the body (the password, at logon) to the Location.
        adpt = pvm_adpt.Adapter(self.session())
        self.sim.reset_counters()
        self.sim.inject_fault('GET', 'ManagedSystem', kind='body',
                              status=307, body=b'',
                              headers={'Location': 'http://localhost:%d%s'
                                       % (self.sim.port, SYSTEMS)})
        err = self.assertRaises(pvm_exc.HttpError, adpt.read,
                                'ManagedSystem')
        self.assertEqual(307, err.response.status)
        self.assertEqual(1, self.sim.count('GET'))

    def test_requests_module_seen_by_pypowervm(self):
        self.session()
        self.assertIsInstance(pvm_adpt.requests,
                              console._RequestsWithoutRedirects)
        self.assertIs(console._NoRedirects, pvm_adpt.requests.Session)
        # Everything else is the requests module's own.
        self.assertIs(requests.exceptions, pvm_adpt.requests.exceptions)
        self.assertIsNone(console._NoRedirects().get_redirect_target(
            mock.Mock(is_redirect=True, headers={'location': '/x'})))

    def test_the_environment_is_not_trusted(self):
        # A proxy set for the host's other traffic would get the session
        # token; the console is reached directly.
        for name in ('NO_PROXY', 'no_proxy'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        for name in ('HTTP_PROXY', 'http_proxy', 'ALL_PROXY'):
            self.useFixture(fixtures.EnvironmentVariable(
                name, 'http://127.0.0.1:9'))
        self.assertFalse(console._NoRedirects().trust_env)
        adpt = pvm_adpt.Adapter(self.session())
        self.assertTrue(adpt.read('ManagedSystem').feed.entries)

    def test_installed_once(self):
        console._refuse_redirects()
        installed = pvm_adpt.requests
        console._refuse_redirects()
        self.assertIs(installed, pvm_adpt.requests)


class TestHostileReplies(SimTestCase):

    def read_with(self, body, sess=None, status=200):
        adpt = pvm_adpt.Adapter(sess or self.session())
        self.sim.inject_fault('GET', 'ManagedSystem', kind='body',
                              status=status, body=body)
        return self.assertRaises(exception.ConsoleReplyRefused, adpt.read,
                                 'ManagedSystem')

    def test_doctype_refused(self):
        err = self.read_with(b'<!DOCTYPE feed>' + ATOM)
        msg = err.format_message()
        self.assertIn('GET %s ' % SYSTEMS, msg)
        self.assertIn('document type declaration (<!DOCTYPE)', msg)

    def test_entity_refused(self):
        err = self.read_with(b'<!ENTITY x "y">' + ATOM)
        self.assertIn('(<!ENTITY)', err.format_message())

    def test_oversized_refused(self):
        body = ATOM + b' ' * (1 << 20)
        err = self.read_with(body, self.session(max_reply_bytes=1 << 20))
        self.assertIn('%d bytes, more than [powervm] max_reply_mb (1 MiB)'
                      % len(body), err.format_message())

    def test_exactly_the_limit_is_read(self):
        adpt = pvm_adpt.Adapter(self.session())
        size = len(adpt.read('ManagedSystem').body)
        adpt = pvm_adpt.Adapter(self.session(max_reply_bytes=size))
        self.assertEqual(size, len(adpt.read('ManagedSystem').body))
        adpt = pvm_adpt.Adapter(self.session(max_reply_bytes=size - 1))
        self.assertRaises(exception.ConsoleReplyRefused, adpt.read,
                          'ManagedSystem')

    def test_no_limit(self):
        adpt = pvm_adpt.Adapter(self.session())
        self.assertTrue(adpt.read('ManagedSystem').body)


class TestCheckReply(testtools.TestCase):
    """The reply checks on their own, for the cases no console serves."""

    def setUp(self):
        super().setUp()
        self.sess = console.VerifiedSession.__new__(console.VerifiedSession)
        self.sess._max_reply = 10

    def check(self, method, status, body, path='/rest/x?group=y'):
        resp = mock.Mock(status=status, body=body)
        return self.sess._check_reply(method, path, resp)

    def test_empty_create_or_update_reply_refused(self):
        for method in ('PUT', 'POST'):
            err = self.assertRaises(exception.ConsoleReplyRefused,
                                    self.check, method, 200, '')
            self.assertIn('%s /rest/x is refused: the reply is empty'
                          % method, err.format_message())

    def test_empty_replies_that_are_fine(self):
        self.check('GET', 200, '')
        self.check('DELETE', 200, '')
        self.check('PUT', 204, None)
        self.check('POST', 204, '')
        self.sess._check_reply('GET', '/x', object())

    def test_size_limit(self):
        self.check('GET', 200, 'x' * 10)
        self.assertRaises(exception.ConsoleReplyRefused, self.check, 'GET',
                          200, 'x' * 11)
        self.sess._max_reply = None
        self.check('GET', 200, 'x' * 11)


class TestRequestErrors(SimTestCase):

    def setUp(self):
        super().setUp()
        self.sess = self.session()
        self.sess.timeout = 42

    def fail_with(self, err, **kwargs):
        with mock.patch.object(pvm_adpt.Session, 'request',
                               side_effect=err):
            try:
                self.sess.request('GET', SYSTEMS + '?group=x', **kwargs)
            except Exception as raised:
                return raised
        self.fail('no error raised')

    def test_timeout_names_the_request_and_the_session_timeout(self):
        err = self.fail_with(pvm_exc.TimeoutError('too slow'))
        self.assertIsInstance(err, exception.ConsoleTimeout)
        self.assertIsInstance(err, pvm_exc.TimeoutError)
        self.assertEqual(
            'The management console did not answer GET %s within [powervm] '
            'conn_timeout (42 s): too slow' % SYSTEMS, err.format_message())

    def test_timeout_of_the_request(self):
        err = self.fail_with(pvm_exc.TimeoutError('slow'), timeout=7)
        self.assertIn('(7 s)', err.format_message())
        err = self.fail_with(pvm_exc.TimeoutError('slow'), timeout=-1)
        self.assertIn('(42 s)', err.format_message())

    def test_unreachable(self):
        err = self.fail_with(pvm_exc.ConnectionError('refused'))
        self.assertIsInstance(err, exception.ConsoleUnreachable)
        self.assertIsInstance(err, pvm_exc.ConnectionError)
        self.assertEqual('The management console could not be reached for '
                         'GET %s: refused' % SYSTEMS, err.format_message())

    def test_other_errors_unchanged(self):
        inner = ValueError('x')
        self.assertIs(inner, self.fail_with(inner))

    def test_verification_applied_to_every_request(self):
        calls = []

        def request(sess, method, path, *args, **kwargs):
            calls.append(kwargs.get('verify'))
            return mock.Mock(body=ATOM.decode(), status=200)

        with mock.patch.object(pvm_adpt.Session, 'request', request):
            for verify in (False, '/etc/ca.pem', True):
                self.sess._tls_verify = verify
                self.sess.request('GET', SYSTEMS, verify='ignored')
        self.assertEqual([False, '/etc/ca.pem', True], calls)

    def test_real_drop_is_unreachable(self):
        adpt = pvm_adpt.Adapter(self.sess)
        self.sim.inject_fault('GET', 'ManagedSystem', kind='drop')
        err = self.assertRaises(exception.ConsoleUnreachable, adpt.read,
                                'ManagedSystem')
        self.assertIn('GET %s' % SYSTEMS, err.format_message())


class TestTlsVerify(testtools.TestCase):

    def test_choices(self):
        self.assertIs(False, console.tls_verify(_conf(self,
                                                      protocol='http')))
        self.assertIs(False, console.tls_verify(_conf(
            self, protocol='http', ca_path='/ca.pem')))
        self.assertIs(False, console.tls_verify(_conf(
            self, protocol='https', verify_tls=False, ca_path='/ca.pem')))
        self.assertIs(True, console.tls_verify(_conf(self)))
        self.assertEqual('/ca.pem', console.tls_verify(_conf(
            self, ca_path='/ca.pem')))


class TestBuildAdapter(SimTestCase):

    def test_logged_on_with_the_configured_options(self):
        conf = _conf(self, host='localhost', port=self.sim.port,
                     protocol='http', username=self.sim.username,
                     password=self.sim.password, conn_timeout=17,
                     max_reply_mb=3)
        adpt = console.build_adapter(conf)
        self.sim.track_session(adpt)
        sess = adpt.session
        self.assertIsInstance(sess, console.VerifiedSession)
        self.assertEqual((False, 3 << 20, 17, 'nova-npiv'),
                         (sess._tls_verify, sess._max_reply, sess.timeout,
                          sess.auditmemento))
        self.assertTrue(adpt.read('ManagedSystem').body)
        self.assertNotIn('TLS verification', self.logs.output)

    def test_verified_https_is_not_logged(self):
        conf = _conf(self, host='hmc.example.com', password='pw')
        with mock.patch.object(console, 'VerifiedSession') as sess, \
                mock.patch.object(pvm_adpt, 'Adapter'):
            console.build_adapter(conf)
        self.assertEqual('', self.logs.output)
        self.assertEqual((True,), sess.call_args.args)
        self.assertEqual('pw', sess.call_args.kwargs['password'])


class TestFindManagedSystem(SimTestCase):

    def setUp(self):
        super().setUp()
        self.adpt = self.sim.adapter()

    def find(self, **opts):
        return console.find_managed_system(self.adpt, _conf(self, **opts))

    def test_by_name_uuid_or_serial(self):
        sysb = self.sim.model.system('sys-b')
        self.assertEqual(sysb.uuid, self.find(managed_system='sys-b').uuid)
        self.assertEqual('sys-b', self.find(
            managed_system=sysb.uuid).system_name)
        self.assertEqual('sys-b', self.find(
            managed_system=sysb.serial).system_name)

    def test_unknown_names_what_there_is(self):
        err = self.assertRaises(exception.ManagedSystemNotFound, self.find,
                                managed_system='sys-z')
        self.assertEqual('Managed system sys-z is not known to the '
                         'management console (it has: sys-a, sys-b)',
                         err.format_message())

    def test_unnamed_needs_exactly_one(self):
        err = self.assertRaises(exception.AmbiguousManagedSystem, self.find)
        self.assertEqual('The management console manages 2 systems '
                         '(sys-a, sys-b): set [powervm] managed_system',
                         err.format_message())


class TestFindTheOnlySystem(testtools.TestCase):

    def test_unnamed_single_system(self):
        sim = Simulator(default_topology(systems=('sys-a',)))
        sim.start()
        self.addCleanup(sim.stop)
        got = console.find_managed_system(sim.adapter(), _conf(self))
        self.assertEqual(sim.model.system('sys-a').uuid, got.uuid)

    def test_no_system_at_all(self):
        adpt = mock.Mock()
        with mock.patch('pypowervm.wrappers.managed_system.System.get',
                        return_value=[]):
            err = self.assertRaises(exception.AmbiguousManagedSystem,
                                    console.find_managed_system, adpt,
                                    _conf(self))
            self.assertIn('0 systems (none)', err.format_message())
            err = self.assertRaises(exception.ManagedSystemNotFound,
                                    console.find_managed_system, adpt,
                                    _conf(self, managed_system='x'))
            self.assertIn('(it has: none)', err.format_message())
