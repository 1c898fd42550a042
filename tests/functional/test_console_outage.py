"""The console stops answering: never a stall, always a named nova error.

The 60-second stall (issue 10, item 7): after power off, power on and a
second init_host, destroy's GET of the PowerOff job template was never
answered.  The old driver's pypowervm Session was collected by the garbage
collector, whose ``__del__`` logs off with a blocking DELETE, in whatever
thread the collector ran.  In one of the in-process simulator's handler
threads, holding the lock the DELETE's own handler needs, that request
waited forever, and so did every later one.  Here the collector is made to
run exactly there, every time.
"""

import gc
import threading
from unittest import mock

from pypowervm import exceptions as pvm_exc

from nova_npiv import exception
from nova_npiv.simulator import server as sim_server
from nova_npiv.testing import invariants
from tests.functional import base


class TestCollectorInTheServer(base.WorldTestCase):

    def test_restart_sequence_completes(self):
        real_auth = sim_server.Simulator._authenticate
        armed = threading.Event()

        def authenticate(sim, headers):
            with sim._tokens_lock:
                if armed.is_set():
                    armed.clear()
                    gc.collect()   # the collector runs in this thread
            return real_auth(sim, headers)

        self.auth_patch = mock.patch.object(
            sim_server.Simulator, '_authenticate', authenticate)
        self.auth_patch.start()
        self.addCleanup(self.auth_patch.stop)
        for _ in range(5):
            w = self.world(conn_timeout=5)
            w.spawn()
            drv = w.drivers['host-a']
            drv.power_off(w.inst)
            drv.power_on(w.ctxt, w.inst, None)
            del drv
            # A new nova-compute: the old driver is left to the collector,
            # as nova's service restart leaves it.
            w.load('host-a', 'sys-a', conn_timeout=5)
            w._replaced.clear()
            armed.set()
            w.destroy()
            self.assertEqual([], invariants.gone(w))
            w.close()


class TestTimeoutsAreNamed(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world(conn_timeout=1)
        self.w.spawn()
        self.drv = self.w.drivers['host-a']

    def test_read_timeout(self):
        self.w.sim.inject_fault('GET', 'do/PowerOff$', kind='delay',
                                delay=2.5)
        err = self.assertRaises(exception.ConsoleTimeout, self.w.destroy)
        self.assertIsInstance(err, pvm_exc.TimeoutError)
        self.assertIn('did not answer GET /rest/api/uom/', str(err))
        self.assertIn('/do/PowerOff within [powervm] conn_timeout (1 s)',
                      str(err))

    def test_connection_dropped(self):
        self.w.sim.inject_fault('GET', 'do/PowerOff$', kind='drop')
        err = self.assertRaises(exception.ConsoleUnreachable,
                                self.drv.power_off, self.w.inst)
        self.assertIsInstance(err, pvm_exc.ConnectionError)
        self.assertIn('could not be reached for GET', str(err))
        self.assertIn('/do/PowerOff', str(err))
