"""Group commit (issue 16): operations on one system share VIOS updates.

The operations queue while the system's serialisation is held (here by the
test), so that they all join the next batch; what is checked is the batch,
the requests it sent, and that each operation keeps its own outcome.
Counted, never timed.
"""

import threading
import time
import uuid as uuid_lib

from pypowervm import exceptions as pvm_exc

from nova_npiv import fabric_meta
from nova_npiv import fabric_records
from nova_npiv.testing import harness
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import vfc_ops
from tests.functional import base

COUNT = 6


class GroupCommitTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world()
        self.sim = self.w.sim
        self.drv = self.w.drivers['host-a']
        self.committer = npiv_vios.committer(self.drv.adapter,
                                             self.drv.system_uuid)
        self.insts = [harness.new_instance(10 + i, str(uuid_lib.uuid4()),
                                           'host-a', node='sys-a')
                      for i in range(COUNT)]

    def together(self, funcs):
        """Run ``funcs`` in threads queued behind the serialisation; the
        exception (or None) of each."""
        results = [None] * len(funcs)

        def run(index, func):
            try:
                func()
            except Exception as err:
                results[index] = err

        lock = npiv_vios.serialized(self.drv.system_uuid)
        with lock:
            threads = [threading.Thread(target=run, args=(i, f))
                       for i, f in enumerate(funcs)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while (len(self.committer._queue) < len(funcs) and
                   time.monotonic() < deadline):
                time.sleep(0.01)
            self.assertEqual(len(funcs), len(self.committer._queue))
            self.before = len(self.sim.request_log)
        for thread in threads:
            thread.join(60)
        return results

    def vios_requests(self):
        return [(r.method, r.status) for r in
                list(self.sim.request_log)[self.before:]
                if r.kind == 'VirtualIOServer']

    def staged(self, inst):
        wwpns = set(fabric_meta.all_wwpns(inst, self.w.fabrics()))
        return [m for m in self.sim.model.mappings('sys-a')
                if set(m.wwpns) & wwpns]


class TestBatching(GroupCommitTestCase):

    def test_connectors_share_one_read_and_one_post_per_vios(self):
        results = self.together([
            (lambda i=i: self.drv.get_volume_connector(i))
            for i in self.insts])
        self.assertEqual([None] * COUNT, results)
        self.assertEqual(COUNT, self.committer.batches[-1])
        # One feed read at most (the first connector's own read is kept
        # for the batch) and one POST per VIOS, for all of them.
        posts = [r for r in self.vios_requests() if r[0] == 'POST']
        self.assertEqual([('POST', 200)] * 2, posts)
        self.assertLessEqual(len(self.vios_requests()), 3)
        for inst in self.insts:
            self.assertEqual(2, len(self.staged(inst)))
            self.assertEqual(['mgmt_mapped'] * 2, [
                inst.system_metadata['fabric_state_%s' % f]
                for f in self.w.fabrics()])

    def test_deletes_share_the_posts(self):
        for inst in self.insts:
            self.w.inst = inst
            self.w.spawn(volumes=1)
        results = self.together([
            (lambda i=i: self.drv.destroy(self.w.ctxt, i, None, None))
            for i in self.insts])
        self.assertEqual([None] * COUNT, results)
        posts = [r for r in self.vios_requests() if r[0] == 'POST']
        self.assertLessEqual(len(posts), 2 * 2)
        for inst in self.insts:
            self.assertEqual([], self.staged(inst))
            self.assertEqual([], [lp for lp in self.sim.model.lpars()
                                  if lp.uuid.upper() ==
                                  vm.lpar_uuid(inst).upper()])


class TestIsolation(GroupCommitTestCase):

    def stage(self, inst, entries):
        def run():
            vfc_ops.stage(self.drv.adapter, self.drv.system_uuid, inst,
                          self.drv.staging.uuid, entries, None, 'stage')
        return run

    def entries(self, inst):
        """The instance's port map, WWPNs allocated (unmapped)."""
        npiv = self.drv._npiv(inst)
        self.drv.get_volume_connector(inst)
        entries = npiv.records.entries()
        npiv.remove_instance_mappings()
        self.assertEqual([], self.staged(inst))
        return entries

    def test_a_failing_member_fails_alone_and_leaves_nothing(self):
        good = [self.insts[0], self.insts[2]]
        entries = {i.uuid: self.entries(i) for i in self.insts[:3]}
        bad = self.insts[1]

        def broken(vios_w, *args):
            # Half a change, then a failure: the batch must not carry it.
            vfc_ops.map_to_staging(vios_w, *args)
            raise ValueError('bad change of %s' % bad.uuid)

        def run_bad():
            ftsk = npiv_vios.feed_task(self.drv.adapter,
                                       self.drv.system_uuid, 'bad',
                                       xags=npiv_vios.XAGS_PORTS)
            ftsk.add_functor_subtask(broken, self.drv.system_uuid,
                                     self.drv.staging.uuid,
                                     fabric_records.pvm(entries[bad.uuid]))
            ftsk.execute()

        results = self.together([self.stage(good[0], entries[good[0].uuid]),
                                 run_bad,
                                 self.stage(good[1], entries[good[1].uuid])])
        self.assertIsNone(results[0])
        self.assertIsInstance(results[1], ValueError)
        self.assertIsNone(results[2])
        self.assertEqual(3, self.committer.batches[-1])
        self.assertEqual([], self.staged(bad))
        for inst in good:
            self.assertEqual(2, len(self.staged(inst)))

    def test_a_refused_update_fails_only_whom_the_console_refuses(self):
        entries = {i.uuid: self.entries(i) for i in self.insts[:3]}
        vios = sorted(v.uuid for v in self.sim.model.vioses('sys-a')
                      if not v.is_mgmt)[0]
        # The batch's POST to one VIOS is refused, then the first member's
        # own try: that member fails; the others land.
        self.sim.inject_fault(method='POST', path=vios, times=2,
                              status=400, message='refused')
        results = self.together([self.stage(i, entries[i.uuid])
                                 for i in self.insts[:3]])
        failed = [r for r in results if r is not None]
        self.assertEqual(1, len(failed))
        self.assertIsInstance(failed[0], pvm_exc.HttpError)
        loser = self.insts[results.index(failed[0])]
        # Its own flow undid what landed on the other VIOS.
        self.assertEqual([], self.staged(loser))
        for inst in self.insts[:3]:
            if inst is not loser:
                self.assertEqual(2, len(self.staged(inst)))

    def test_each_spawn_reverts_only_its_own_changes(self):
        conns = {i.uuid: self.drv.get_volume_connector(i)
                 for i in self.insts[:3]}
        self.sim.fail_job('PowerOn', nth=2)

        def spawn(inst):
            def run():
                bdms = [self.w.cinder.bdm('v-%s' % inst.uuid, 0,
                                          conns[inst.uuid])]
                self.drv.spawn(self.w.ctxt, inst, None, [], None, {},
                               block_device_info={
                                   'block_device_mapping': bdms})
            return run

        results = self.together([spawn(i) for i in self.insts[:3]])
        self.assertEqual(1, len([r for r in results if r is not None]))
        for inst, result in zip(self.insts[:3], results):
            lpar = vm.lpar_uuid(inst).upper()
            mine = [m for m in self.sim.model.mappings('sys-a')
                    if (m.client_lpar_uuid or '').upper() == lpar]
            if result is None:
                self.assertEqual(2, len(mine))
            else:
                # Rolled back: no instance mapping, no LPAR; its WWPNs are
                # kept for a retry.
                self.assertEqual([], mine)
                self.assertEqual([], [lp for lp in self.sim.model.lpars()
                                      if lp.uuid.upper() == lpar])
