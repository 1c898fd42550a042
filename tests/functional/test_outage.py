"""The simulator's console outage: connections refused, then back.

The fault matrix's ``outage`` kind relies on it
(``nova_npiv.testing.matrix``): the request that meets the fault is not
carried out and its connection closes, then for a few seconds nothing
listens on the console's port.
"""

import logging
import socket
import time

import fixtures
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import faults
from nova_npiv.simulator import Simulator


def _refused(port):
    sock = socket.socket()
    try:
        sock.connect(('127.0.0.1', port))
    except ConnectionRefusedError:
        return True
    finally:
        sock.close()
    return False


class OutageTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.sim = Simulator(default_topology(systems=('sys-a',)))
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()

    def test_refused_for_the_duration_then_back_on_the_same_port(self):
        port = self.sim.port
        self.sim.reset_counters()
        fault = self.sim.inject_fault('GET', 'ManagedSystem$',
                                      kind='outage', delay=0.6)
        started = time.monotonic()
        self.assertRaises(pvm_exc.ConnectionError, pvm_ms.System.get,
                          self.adpt)
        self.assertEqual(1, len(fault.hits))
        self.assertFalse(self.sim.listening)
        self.assertTrue(_refused(port))
        err = self.assertRaises(pvm_exc.ConnectionError, pvm_ms.System.get,
                                self.adpt)
        self.assertIn('refused', str(err))
        self.assertTrue(self.sim.wait_listening(5))
        self.assertGreaterEqual(time.monotonic() - started, 0.6)
        self.assertEqual(port, self.sim.port)
        # Back, with the same session: nothing of the console was lost.
        self.assertEqual(['sys-a'], [s.system_name for s in
                                     pvm_ms.System.get(self.adpt)])
        # The refused request never reached the console; the first one was
        # logged, not carried out.
        self.assertEqual([('GET', 'outage'), ('GET', None)],
                         [(r.method, r.fault)
                          for r in self.sim.request_log])

    def test_back_only_once_listening(self):
        # wait_listening() returning means connections are accepted: the
        # outage ends after the socket listens, never before.
        seen = []
        listen = self.sim._listen

        def spy(port):
            seen.append(self.sim.listening)
            listen(port)

        self.sim._listen = spy
        self.sim.inject_fault(kind='outage', delay=0.2)
        self.assertRaises(pvm_exc.ConnectionError, pvm_ms.System.get,
                          self.adpt)
        self.assertTrue(self.sim.wait_listening(5))
        self.assertEqual([False], seen)
        self.assertFalse(_refused(self.sim.port))

    def test_stop_during_an_outage(self):
        self.sim.inject_fault(kind='outage', delay=30)
        self.assertRaises(pvm_exc.ConnectionError, pvm_ms.System.get,
                          self.adpt)
        self.assertFalse(self.sim.listening)
        started = time.monotonic()
        self.sim.stop()
        self.assertLess(time.monotonic() - started, 5)
        self.assertFalse(self.sim.listening)

    def test_an_outage_needs_a_duration(self):
        self.assertRaises(ValueError, faults.Fault, kind='outage')
