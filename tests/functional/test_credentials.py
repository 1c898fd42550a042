"""Credentials and transport: the console password stays out of every log
line, TLS is verified on every request, redirects carry nothing away, and
the simulator is reachable from loopback only.
"""

import http.server
import io
import logging
import threading
from unittest import mock

import fixtures
from oslo_config import cfg
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
import requests
import testtools

from nova_npiv.cmd import demo
from nova_npiv import console
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import novalink_pair
from nova_npiv.simulator import cli as sim_cli
from nova_npiv.simulator import Simulator
from nova_npiv.testing import harness
from nova_npiv.testing import world as world_lib
from tests.functional import base

CONF = cfg.CONF

#: Unique enough to be searched for, with characters that XML escapes.
PASSWORD = 'Pw<&>-9f3c1e77-not-in-logs'


class _Everything(logging.Handler):
    """Keeps every record of every logger at every level, formatted."""

    def __init__(self):
        super().__init__(level=1)
        self.records = []
        self.setFormatter(logging.Formatter(
            '%(levelname)s %(name)s %(message)s'))

    def emit(self, record):
        text = self.format(record)
        # What a handler with another format could show as well.
        text += ' %r %r' % (record.args, getattr(record, 'exc_text', ''))
        self.records.append(text)


class TestPasswordNeverLogged(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(harness.reset_conf)
        self.addCleanup(CONF.reset)
        self.handler = _Everything()
        root = logging.getLogger()
        self.addCleanup(root.removeHandler, self.handler)
        self.addCleanup(root.setLevel, root.level)
        root.addHandler(self.handler)
        root.setLevel(1)
        # Loggers that were set quieter by earlier tests or by defaults.
        for name in ('pypowervm', 'nova_npiv', 'nova', 'taskflow',
                     'urllib3', 'requests', 'oslo_concurrency'):
            logger = logging.getLogger(name)
            self.addCleanup(logger.setLevel, logger.level)
            logger.setLevel(1)

    def assertNotLogged(self, *secrets):
        self.assertGreater(len(self.handler.records), 100)
        for secret in secrets:
            leaks = [r for r in self.handler.records if secret in r]
            self.assertEqual([], leaks[:3], 'secret %r logged %d time(s)'
                             % (secret, len(leaks)))

    def test_full_lifecycle_and_logon_trouble(self):
        topology = novalink_pair()
        for spec in topology:
            spec['password'] = PASSWORD
        out = io.StringIO()
        self.assertEqual(0, demo.run(out, topology=topology), out.getvalue())
        self.assertIn('All steps behaved as expected.', out.getvalue())

        world = world_lib.World(topology=topology)
        self.addCleanup(world.close)
        drv = world.drivers['host-a']
        # Sessions expire: pypowervm logs on again, with the password.
        world.sim.expire_sessions()
        world.spawn()
        # The console refuses the logon, then fails it.
        for fault in (dict(status=401), dict(status=500),
                      dict(kind='drop')):
            world.sim.expire_sessions()
            world.sim.inject_fault('PUT', 'Logon', **fault)
            self.assertRaises(pvm_exc.Error, drv.get_info, world.inst)
        # A wrong password configured.
        self.assertRaises(pvm_exc.Error, world_lib.World,
                          topology=topology, password=PASSWORD + 'x')
        # oslo.config's dump of the options.
        CONF.log_opt_values(logging.getLogger('nova_npiv.test'),
                            logging.DEBUG)

        escaped = PASSWORD.replace('&', '&amp;').replace('<', '&lt;') \
            .replace('>', '&gt;')
        self.assertNotLogged(PASSWORD, escaped, PASSWORD + 'x')
        self.assertTrue(any('Session logging on' in r
                            for r in self.handler.records))


class _Capture(http.server.BaseHTTPRequestHandler):
    """Where a hostile redirect points: records what arrives."""

    def _any(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.server.seen.append((self.command, dict(self.headers),
                                 self.rfile.read(length)))
        self.send_response(404)
        self.send_header('Content-Length', '0')
        self.end_headers()

    do_GET = do_PUT = do_POST = do_DELETE = _any

    def log_message(self, *args):
        pass


class TestRedirectsAreNotFollowed(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.capture = http.server.HTTPServer(('127.0.0.1', 0), _Capture)
        self.capture.seen = []
        thread = threading.Thread(target=self.capture.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(self.capture.server_close)
        self.addCleanup(self.capture.shutdown)
        self.elsewhere = 'http://127.0.0.1:%d/elsewhere' % \
            self.capture.server_address[1]
        self.w = self.world()

    def redirect(self, method, path, status):
        self.w.sim.inject_fault(method, path, kind='body', status=status,
                                body=b'', headers={'Location':
                                                   self.elsewhere})

    def test_session_token_stays_home(self):
        for status in (301, 302, 303, 307, 308):
            self.redirect('GET', 'LogicalPartition', status)
            err = self.assertRaises(pvm_exc.HttpError,
                                    self.w.drivers['host-a'].list_instances)
            self.assertIn('HTTP error %d for method GET' % status, str(err))
        self.assertEqual([], self.capture.seen)

    def test_logon_body_stays_home(self):
        for status in (302, 307, 308):
            self.redirect('PUT', 'Logon', status)
            err = self.assertRaises(pvm_exc.HttpError,
                                    console.build_adapter, CONF)
            self.assertIn('HTTP error %d for method PUT on path '
                          '/rest/api/web/Logon' % status, str(err))
        self.assertEqual([], self.capture.seen)


class TestTLSVerification(base.WorldTestCase):
    """What ``verify`` every HTTP request is sent with."""

    def setUp(self):
        super().setUp()
        self.sim = Simulator(co_managed_topology()).start()
        self.addCleanup(self.sim.stop)
        for key, value in self.sim.powervm_conf('sys-a').items():
            if not key.startswith('fabric'):
                CONF.set_override(key, value, group='powervm')
        # The console speaks https; the simulator only http: requests are
        # spied on and then sent in clear.
        CONF.set_override('protocol', 'https', group='powervm')
        self.verify = []
        real = requests.Session.request

        def spy(session, method, url, *args, **kwargs):
            self.verify.append((method, kwargs.get('verify',
                                                   session.verify)))
            return real(session, method, url.replace('https://', 'http://'),
                        *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(requests.Session,
                                                 'request', spy))

    def exercise(self, adapter):
        from pypowervm.wrappers import managed_system as pvm_ms
        self.sim.track_session(adapter)
        pvm_ms.System.get(adapter)
        adapter.session._logoff()
        return self.verify

    def test_verified_by_default(self):
        self.assertTrue(CONF.powervm.verify_tls)
        self.assertIs(True, console.tls_verify(CONF))
        self.assertEqual([('PUT', True), ('GET', True), ('DELETE', True)],
                         self.exercise(console.build_adapter(CONF)))
        self.assertNotIn('TLS verification', self.logs.output)

    def test_ca_path(self):
        CONF.set_override('ca_path', '/etc/pki/hmc-ca.pem', group='powervm')
        self.assertEqual('/etc/pki/hmc-ca.pem', console.tls_verify(CONF))
        self.assertEqual({'/etc/pki/hmc-ca.pem'},
                         {v for _, v in self.exercise(
                             console.build_adapter(CONF))})

    def test_turned_off_says_so(self):
        CONF.set_override('verify_tls', False, group='powervm')
        CONF.set_override('ca_path', '/etc/pki/hmc-ca.pem', group='powervm')
        self.assertIs(False, console.tls_verify(CONF))
        self.assertEqual({False}, {v for _, v in self.exercise(
            console.build_adapter(CONF))})
        self.assertIn('TLS verification of the management console '
                      '127.0.0.1 is off', self.logs.output)

    def test_plain_http_is_not_verified(self):
        CONF.set_override('protocol', 'http', group='powervm')
        self.assertIs(False, console.tls_verify(CONF))

    def test_pypowervm_alone_stops_verifying_after_logon(self):
        # Why VerifiedSession exists: pypowervm's own Session verifies
        # the logon at best and sends everything after it unverified.
        sess = pvm_adpt.Session(host='127.0.0.1', port=self.sim.port,
                                protocol='https', username=self.sim.username,
                                password=self.sim.password)
        seen = self.exercise(pvm_adpt.Adapter(sess))
        self.assertEqual([False], list({v for m, v in seen if m != 'PUT'}))


class TestSimulatorLoopbackOnly(testtools.TestCase):
    """See also tests/unit/simulator/test_server.py (non-loopback hosts)."""

    def test_bound_socket_and_command_line(self):
        for host in ('0.0.0.0', '::', '192.0.2.1', 'example.com'):
            self.assertRaises(ValueError, Simulator, co_managed_topology(),
                              host=host)
        with Simulator(co_managed_topology(), host='localhost') as sim:
            self.assertEqual('127.0.0.1',
                             sim._server.socket.getsockname()[0])
        # The command line has no way to ask for another address.
        with mock.patch('sys.stderr', io.StringIO()):
            self.assertRaises(SystemExit, sim_cli.main,
                              ['--host', '0.0.0.0'])
