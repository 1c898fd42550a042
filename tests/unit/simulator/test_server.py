"""The simulator server's refusals, checked before anything listens."""

import sys
from unittest import mock

import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator


class TestRefusals(testtools.TestCase):

    def test_refuses_non_loopback_hosts(self):
        for host in ('0.0.0.0', '', '192.0.2.10', '::', '::1', 'example.com'):
            self.assertRaises(ValueError, Simulator, default_topology(),
                              host=host)

    def test_refuses_to_run_on_green_threads(self):
        patcher = mock.Mock()
        patcher.is_monkey_patched.return_value = True
        with mock.patch.dict(sys.modules, {'eventlet.patcher': patcher}):
            exc = self.assertRaises(RuntimeError,
                                    Simulator(default_topology()).start)
        self.assertIn('OS_NOVA_DISABLE_EVENTLET_PATCHING', str(exc))
