"""``nova-npiv sim``'s option parsing, without starting a server.

Serving (``serve_forever`` on loopback) is tested in
tests/functional/test_simulator_http.py.
"""

from unittest import mock

import testtools

from nova_npiv.simulator import cli


class TestMain(testtools.TestCase):

    def test_main_parses_options(self):
        with mock.patch.object(cli, 'serve_forever') as serve:
            self.assertEqual(0, cli.main(['--port', '0', '--console',
                                          'hmc']))
        spec = serve.call_args[0][0]
        self.assertEqual('hmc', spec['console'])
        self.assertEqual(0, serve.call_args[1]['port'])
        with mock.patch.object(cli, 'serve_forever') as serve:
            cli.main(['--topology', '/some/file.json'])
        self.assertEqual('/some/file.json',
                         serve.call_args[1]['topology_file'])
        with mock.patch.object(cli, 'serve_forever') as serve:
            cli.main(['--physical-volumes', '40'])
        consoles = serve.call_args[0][0]
        self.assertEqual(['novalink', 'novalink'],
                         [c['console'] for c in consoles])
        self.assertEqual({40}, {v['physical_volumes'] for c in consoles
                                for s in c['systems'] for v in s['vioses']})

    def test_dlpar_seconds(self):
        with mock.patch.object(cli, 'serve_forever') as serve:
            cli.main(['--dlpar-seconds', '0.5'])
        self.assertEqual(0.5, serve.call_args[1]['dlpar_seconds'])
        with mock.patch.object(cli, 'serve_forever') as serve:
            cli.main([])
        self.assertEqual(0.0, serve.call_args[1]['dlpar_seconds'])
