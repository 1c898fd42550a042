"""Requests an operation need not send (issue 16, DESIGN §8).

Job templates are read once per session, finished jobs are deleted off the
operations' path, a WWPN job runs outside the VIOS serialisation, and a
FeedTask writes on the etags the system's last update left, reading again
only the VIOS whose etag is refused.  Counted on the simulator's request
log; nothing here is timed.
"""

import threading

import fixtures
from pypowervm import exceptions as pvm_exc

from nova_npiv import job_requests
from nova_npiv import jobs
from nova_npiv.testing import invariants
from nova_npiv import vios as npiv_vios
from tests.functional import base


def _calls(sim, method, kind):
    return [r for r in sim.request_log
            if r.method == method and r.kind == kind]


class EconomyTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world()
        self.sim = self.w.sim
        self.drv = self.w.drivers['host-a']


class TestJobTemplates(EconomyTestCase):

    def test_read_once_per_session(self):
        self.w.spawn()
        self.drv.power_off(self.w.inst)
        self.drv.power_on(self.w.ctxt, self.w.inst, None)
        self.drv.power_off(self.w.inst)
        self.drv.power_on(self.w.ctxt, self.w.inst, None)
        self.assertEqual(1, len(_calls(self.sim, 'GET', 'job:PowerOn')))
        self.assertEqual(1, len(_calls(self.sim, 'GET', 'job:PowerOff')))
        self.assertEqual(3, len(_calls(self.sim, 'PUT', 'job:PowerOn')))
        self.assertEqual(['running'], [
            lp.state for lp in self.sim.model.lpars('sys-a')
            if lp.uuid.upper() == self.w.lpar_uuid.upper()])

    def test_each_caller_gets_a_template_of_its_own(self):
        jr = job_requests.of(self.drv.adapter)
        first = self.drv.adapter.read('ManagedSystem',
                                      root_id=self.drv.system_uuid,
                                      suffix_type='do',
                                      suffix_parm='GetNextWWPNs')
        second = self.drv.adapter.read('ManagedSystem',
                                       root_id=self.drv.system_uuid,
                                       suffix_type='do',
                                       suffix_parm='GetNextWWPNs')
        self.assertEqual(1, jr.templates_served)
        self.assertIsNot(first.entry, second.entry)
        self.assertEqual(first.body, second.body)

    def test_a_new_session_reads_again(self):
        self.w.spawn()
        self.w.load('host-a', 'sys-a')
        self.w.destroy()
        # The second session's PowerOff read its own template.
        self.assertEqual(1, len(_calls(self.sim, 'GET', 'job:PowerOff')))
        self.assertEqual(1, len(_calls(self.sim, 'GET', 'job:CloseVterm')))


class TestFinishedJobs(EconomyTestCase):

    def test_every_job_is_deleted_after_the_operation(self):
        self.w.spawn()
        self.w.destroy()
        job_requests.drain(self.drv.adapter)
        puts = [r for r in self.sim.request_log
                if r.method == 'PUT' and r.kind.startswith('job:')]
        deletes = _calls(self.sim, 'DELETE', 'jobs')
        self.assertEqual(len(puts), len(deletes))
        self.assertEqual([204] * len(deletes), [r.status for r in deletes])

    def test_the_operation_does_not_wait_for_the_delete(self):
        # The clean-up worker is held: the operation still completes, and
        # the DELETE goes out once the worker runs.
        jr = job_requests.of(self.drv.adapter)
        held = threading.Event()
        jr._queue.put((lambda *a, **k: held.wait(30), 'DELETE', 'x', {}))
        # The driver's calls themselves: the World's wait for the clean-up
        # after each call is what this test holds up.
        conn = self.drv.get_volume_connector(self.w.inst)
        self.w.bdms = [self.w.cinder.bdm('vol-0', 0, conn)]
        self.drv.spawn(self.w.ctxt, self.w.inst, None, [], None, {},
                       block_device_info={
                           'block_device_mapping': self.w.bdms})
        self.assertEqual([], _calls(self.sim, 'DELETE', 'jobs'))
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        held.set()
        jr.drain()
        self.assertEqual(2, len(_calls(self.sim, 'DELETE', 'jobs')))


class TestWWPNJobOutsideTheSerialisation(EconomyTestCase):

    def test_job_runs_while_another_holds_the_vios_lock(self):
        lock = npiv_vios.serialized(self.drv.system_uuid)
        ran = threading.Event()
        real = jobs.wwpn_pairs

        def watched(*args, **kwargs):
            ran.set()
            return real(*args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(jobs, 'wwpn_pairs',
                                                 side_effect=watched))
        done = threading.Event()
        with lock:
            thread = threading.Thread(
                target=lambda: (self.w.connector(), done.set()))
            thread.start()
            self.assertTrue(ran.wait(30))
            # The staging update waits for the serialisation, not the job.
            self.assertFalse(done.wait(0.3))
        thread.join(30)
        self.assertTrue(done.is_set())
        self.assertEqual(['mgmt_mapped'] * 2, [
            self.w.inst.system_metadata['fabric_state_%s' % f]
            for f in self.w.fabrics()])


class TestOptimisticWrite(EconomyTestCase):

    def test_spawn_and_destroy_read_no_vios_feed(self):
        self.w.connector()
        self.sim.reset_counters()
        before = len(self.sim.request_log)
        self.w.spawn()
        self.w.destroy()
        log = list(self.sim.request_log)[before:]
        self.assertEqual([], [r for r in log if r.method == 'GET' and
                              r.kind == 'VirtualIOServer'])
        self.assertEqual([], invariants.gone(self.w))

    def test_a_vios_changed_behind_our_back_is_read_again(self):
        self.w.connector()
        vios = [v for v in self.sim.model.vioses('sys-a')
                if not v.is_mgmt][0]
        # Someone else's mapping, planted on one VIOS: its etag changes.
        self.sim.model.add_mapping('sys-a', vios.name, client_lpar_id=77,
                                   port=None)
        before = len(self.sim.request_log)
        self.w.spawn()
        log = list(self.sim.request_log)[before:]
        refused = [r for r in log if r.status == 412]
        self.assertEqual(1, len(refused))
        self.assertIn(vios.uuid.upper(), refused[0].path.upper())
        reads = [r for r in log if r.method == 'GET' and
                 r.kind == 'VirtualIOServer']
        self.assertEqual(1, len(reads))
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))
        self.assertEqual(1, len([m for m in self.sim.model.mappings('sys-a')
                                 if m.client_lpar_id == 77]))

    def test_a_failed_update_drops_the_feed(self):
        # What landed of a failed FeedTask is not known: the undo that
        # follows reads the VIOSes before it writes.
        self.w.connector()
        self.sim.inject_fault(method='POST', path='VirtualIOServer')
        before = len(self.sim.request_log)
        self.assertRaises(pvm_exc.HttpError, self.w.spawn)
        log = list(self.sim.request_log)[before:]
        vios = [(r.method, r.status) for r in log
                if r.kind == 'VirtualIOServer']
        # The spawn's FeedTask wrote both VIOSes on the connector's etags
        # (one refused), then the undo read before writing.
        self.assertEqual([('POST', 200), ('POST', 500)], sorted(vios[:2]))
        self.assertEqual(('GET', 200), vios[2])
        self.assertEqual([], invariants.consistency_problems(self.w))
