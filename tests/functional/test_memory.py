"""What the driver keeps of the VIOS feeds it parsed (issue 16's memory).

A parsed VIOS is C memory (lxml, ~12 KiB per mapping, ~125 MiB for a VIOS
with 10 000) that Python's cyclic collector does not count, so it seldom
runs when only such memory grows; and finished taskflow flows sit in
reference cycles until it does.  What these tests check, with the
collector off so that whatever a cycle holds stays alive: one parsed
document per VIOS lives on, whatever holds finished tasks, their flows or
their results.  Counted, never timed (the sizes are the benchmark's:
``python -m benchmarks.run --only memory``).
"""

import gc

import fixtures

from nova_npiv import fabric_records
from nova_npiv.testing import harness
from nova_npiv import vios as npiv_vios
from nova_npiv.volume import vfc_ops
from tests.functional import test_group_commit


def documents(adapter):
    """(parsed documents, VIOS UUIDs) of the live VIOS wrappers of
    ``adapter``, reachable or not."""
    roots, uuids = [], set()
    for obj in gc.get_objects():
        if type(obj).__name__ != 'VIOS':
            continue
        try:
            if obj.adapter is not adapter:
                continue
            root = obj.entry.element.element.getroottree().getroot()
        except AttributeError:
            continue
        uuids.add(obj.uuid)
        # One proxy per node while any lives: identity is the document.
        if not any(root is seen for seen in roots):
            roots.append(root)
    return len(roots), uuids


class TestOneParsedFeed(test_group_commit.GroupCommitTestCase):

    def setUp(self):
        super().setUp()
        gc.collect()
        gc.disable()
        self.addCleanup(gc.enable)

    def entries(self, inst):
        """The instance's port map, WWPNs allocated (unmapped)."""
        npiv = self.drv._npiv(inst)
        self.drv.get_volume_connector(inst)
        entries = npiv.records.entries()
        npiv.remove_instance_mappings()
        return entries

    def assertOneDocumentPerVIOS(self):
        docs, uuids = documents(self.drv.adapter)
        self.assertTrue(uuids)
        self.assertLessEqual(docs, len(uuids),
                             '%d parsed VIOS documents alive for %d VIOSes'
                             % (docs, len(uuids)))

    def test_operations_in_batches_leave_one_per_vios(self):
        # Each POST's reply is a new document; the one it replaces must go
        # with it, not stay with the finished FeedTask and its results.
        for number in (1, 2):
            self.w.inst = harness.new_instance(
                number, self.insts[number].uuid, 'host-a', node='sys-a')
            self.w.spawn(volumes=1)
            self.w.destroy()
        self.assertGreaterEqual(len(self.committer.batches), 4)
        self.assertOneDocumentPerVIOS()

    def test_feed_tasks_run_alone_leave_one_per_vios(self):
        # Under the serialisation held by the caller a FeedTask runs
        # alone, through pypowervm's WrapperTasks (replies in their own
        # wrappers).
        entries = {i.uuid: self.entries(i) for i in self.insts[:3]}
        batches = len(self.committer.batches)
        with npiv_vios.serialized(self.drv.system_uuid):
            for inst in self.insts[:3]:
                vfc_ops.stage(self.drv.adapter, self.drv.system_uuid, inst,
                              self.drv.staging.uuid, entries[inst.uuid],
                              None, 'stage')
        self.assertEqual(batches, len(self.committer.batches))
        for inst in self.insts[:3]:
            self.assertEqual(2, len(self.staged(inst)))
        self.assertOneDocumentPerVIOS()

    def test_the_seed_is_not_kept_once_run(self):
        # A feed read outside the serialisation seeds the batch; the task
        # does not keep that read once it has run.
        inst = self.insts[0]
        entries = self.entries(inst)
        npiv_vios.FEEDS.forget()
        seed = npiv_vios.read_feed(self.drv.adapter, self.drv.system_uuid,
                                   npiv_vios.XAGS_PORTS)
        ftsk = npiv_vios.feed_task(self.drv.adapter, self.drv.system_uuid,
                                   'seeded', xags=npiv_vios.XAGS_PORTS)
        ftsk.seed = seed
        ftsk.add_functor_subtask(vfc_ops.map_to_staging,
                                 self.drv.system_uuid, self.drv.staging.uuid,
                                 fabric_records.pvm(entries))
        before = len(self.sim.request_log)
        ftsk.execute()
        # Written on the seed: no read of its own.
        self.assertEqual([], [r for r in list(self.sim.request_log)[before:]
                              if r.kind == 'VirtualIOServer' and
                              r.method == 'GET'])
        self.assertIsNone(ftsk.seed)
        self.assertEqual(2, len(self.staged(inst)))

    def test_batches_that_wrote_give_the_freed_memory_back(self):
        trim = self.useFixture(fixtures.MockPatch('nova_npiv.heap.trim')).mock
        self.w.spawn(volumes=1)
        self.assertGreaterEqual(trim.call_count, 1)
        calls = trim.call_count
        # Nothing changed: no POST, nothing replaced, nothing to give back.
        ftsk = npiv_vios.feed_task(self.drv.adapter, self.drv.system_uuid,
                                   'nothing')
        ftsk.add_functor_subtask(lambda vios_w: False)
        ftsk.execute()
        self.assertEqual(calls, trim.call_count)
        # Alone, under the caller's serialisation, likewise after a POST.
        inst = self.insts[0]
        entries = self.entries(inst)
        calls = trim.call_count
        with npiv_vios.serialized(self.drv.system_uuid):
            vfc_ops.stage(self.drv.adapter, self.drv.system_uuid, inst,
                          self.drv.staging.uuid, entries, None, 'stage')
        self.assertEqual(calls + 1, trim.call_count)
