"""Every wait on the console is bounded, and a timeout names the request.

pypowervm gives a VIOS update ``max(3600 s, session timeout)``; the driver
holds the managed system's VIOS serialisation meanwhile.  Here each request
kind meets a console that answers late (the simulator's ``delay`` fault)
with small ``[powervm]`` timeouts, so the tests stay fast.
"""

import threading

from nova_npiv import exception
from nova_npiv import vios as npiv_vios
from tests.functional import base

_VIOS_POST = r'/VirtualIOServer/[0-9A-F-]+$'


class TestUpdateTimeout(base.WorldTestCase):

    def test_hung_vios_update_is_a_named_nova_exception(self):
        w = self.world(update_timeout=1)
        w.sim.inject_fault('POST', _VIOS_POST, kind='delay', delay=3)
        err = self.assertRaises(exception.ConsoleTimeout, w.spawn)
        self.assertIn('did not answer POST /rest/api/uom/', str(err))
        self.assertIn('/VirtualIOServer/', str(err))
        self.assertIn('within [powervm] update_timeout (1 s)', str(err))

    def test_nothing_waits_behind_a_hung_update(self):
        """Another operation on the system gets the VIOS serialisation as
        soon as the hung update timed out, not when it is answered."""
        w = self.world(update_timeout=1)
        drv = w.drivers['host-a']
        fault = w.sim.inject_fault('POST', _VIOS_POST, kind='delay',
                                   delay=20)
        errors = []

        def spawn():
            try:
                w.spawn()
            except Exception as err:
                errors.append(err)

        spawner = threading.Thread(target=spawn)
        spawner.start()
        self.addCleanup(spawner.join, 30)
        self.assertTrue(_wait_for(lambda: fault.hits))
        lock = npiv_vios.serialized(drv.system_uuid)
        self.assertTrue(lock.acquire(timeout=15))
        try:
            # The hung POST is still unanswered (the simulator records a
            # request when it answers it).
            answered = [r for r in w.sim.request_log if r.fault == 'delay']
            self.assertEqual([], answered)
        finally:
            lock.release()
        spawner.join(30)
        self.assertEqual(1, len(errors))
        self.assertIsInstance(errors[0], exception.ConsoleTimeout)


class TestJobTimeouts(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        # Polled four times a second: a job past job_timeout is polled
        # eight times, not a hundred.
        self.w = self.world(conn_timeout=1, job_timeout=2,
                            job_poll_interval=0.25)
        self.w.spawn()
        self.drv = self.w.drivers['host-a']
        self.drv.power_off(self.w.inst)

    def test_unanswered_job_request_names_it(self):
        self.w.sim.inject_fault('PUT', 'do/PowerOn$', kind='delay', delay=3)
        err = self.assertRaises(exception.ConsoleTimeout, self.drv.power_on,
                                self.w.ctxt, self.w.inst, None)
        self.assertIn('did not answer PUT /rest/api/uom/', str(err))
        self.assertIn('/do/PowerOn within [powervm] conn_timeout (1 s)',
                      str(err))

    def test_job_running_too_long_is_cancelled(self):
        # The job runs far longer than job_timeout.
        self.w.sim.job_seconds = 60
        self.w.sim.reset_counters()
        err = self.assertRaises(exception.JobTimedOut, self.drv.power_on,
                                self.w.ctxt, self.w.inst, None)
        self.assertIn("'PowerOn' job on partition", str(err))
        self.assertIn('within [powervm] job_timeout (2 s) and was cancelled',
                      str(err))
        self.assertTrue(_wait_for(lambda: [
            r for r in self.w.sim.request_log
            if r.path.endswith('/cancel') and r.status == 200]))
        # The cancelled job is deleted once it has ended (job_wait).
        self.assertTrue(_wait_for(lambda: [
            r for r in self.w.sim.request_log
            if r.method == 'DELETE' and '/jobs/' in r.path]))
        polls = [r for r in self.w.sim.request_log
                 if r.method == 'GET' and '/jobs/' in r.path]
        self.assertLess(len(polls), 10)

    def test_failed_job_is_a_nova_exception_with_the_consoles_message(self):
        self.w.sim.fail_job('PowerOn', message='HSCL1234 not enough memory')
        err = self.assertRaises(exception.JobFailed, self.drv.power_on,
                                self.w.ctxt, self.w.inst, None)
        self.assertIn("'PowerOn' job on partition", str(err))
        self.assertIn('HSCL1234 not enough memory', str(err))


class TestLogonRetries(base.WorldTestCase):

    def test_init_host_waits_for_a_console_coming_up(self):
        w = self.world()
        w.sim.outage(1.5)
        drv = w.load('host-a', 'sys-a', logon_retries=10,
                     logon_retry_interval=1)
        self.assertIsNotNone(drv.system_uuid)
        self.assertIn('not ready (logon try 1 of 11)', self.logs.output)

    def test_init_host_gives_up_with_a_named_error(self):
        w = self.world()
        w.sim.outage(5)
        err = self.assertRaises(exception.ConsoleNotReady, w.load, 'host-a',
                                'sys-a', logon_retries=1,
                                logon_retry_interval=0)
        self.assertIn('did not take a logon in 2 tries', str(err))
        self.assertIn('could not be reached for PUT /rest/api/web/Logon',
                      str(err))


def _wait_for(check, seconds=15):
    event = threading.Event()
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        event.wait(0.05)
    return False
