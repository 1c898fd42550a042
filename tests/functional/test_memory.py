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
from unittest import mock

import fixtures
from pypowervm import exceptions as pvm_exc

from nova_npiv import fabric_records
from nova_npiv import payloads
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
        collect = self.useFixture(fixtures.MockPatch(
            'nova_npiv.group_commit.gc.collect')).mock
        self.w.spawn(volumes=1)
        self.assertGreaterEqual(trim.call_count, 1)
        # The cycles of finished flows go before the POSTs' replies come.
        self.assertIn(mock.call(1), collect.call_args_list)
        calls = trim.call_count
        collected = collect.call_count
        # Nothing changed: no POST, nothing replaced, nothing to give back.
        ftsk = npiv_vios.feed_task(self.drv.adapter, self.drv.system_uuid,
                                   'nothing')
        ftsk.add_functor_subtask(lambda vios_w: False)
        ftsk.execute()
        self.assertEqual(calls, trim.call_count)
        self.assertEqual(collected, collect.call_count)
        # Alone, under the caller's serialisation, likewise after a POST.
        inst = self.insts[0]
        entries = self.entries(inst)
        calls = trim.call_count
        with npiv_vios.serialized(self.drv.system_uuid):
            vfc_ops.stage(self.drv.adapter, self.drv.system_uuid, inst,
                          self.drv.staging.uuid, entries, None, 'stage')
        self.assertEqual(calls + 1, trim.call_count)


class TestTheVersionSentIsLetGo(test_group_commit.GroupCommitTestCase):
    """A VIOS update holds one parsed copy of the VIOS, not two: the one
    sent goes once it is serialised (payloads.update)."""

    def vios(self):
        return npiv_vios.read_feed(self.drv.adapter, self.drv.system_uuid,
                                   npiv_vios.XAGS_MAPPINGS)[0]

    def test_the_document_is_gone_while_the_reply_comes(self):
        wrapper = self.vios()
        seen = []
        session = self.drv.adapter.session
        real = session.request

        def request(method, path, **kwds):
            if method == 'POST':
                seen.append(wrapper.entry.element)
            return real(method, path, **kwds)

        self.useFixture(fixtures.MockPatchObject(session, 'request',
                                                 side_effect=request))
        fresh = payloads.update(wrapper)
        self.assertEqual([None], seen)
        self.assertIsNot(wrapper, fresh)
        self.assertEqual(self.vios().etag, fresh.etag)

    def test_a_refused_update_leaves_the_wrapper_as_it_was(self):
        wrapper = self.vios()
        sent = wrapper.toxmlstring()
        self.sim.inject_fault('POST', 'VirtualIOServer', status=500,
                              message='HSCL9999 refused')
        self.assertRaises(pvm_exc.HttpError, payloads.update, wrapper)
        self.assertEqual(sent, wrapper.toxmlstring())
        self.assertEqual(self.vios().uuid, wrapper.uuid)
        # And it can be sent again.
        self.assertIsNotNone(payloads.update(wrapper).etag)

    def test_without_the_helper_nothing_is_let_go(self):
        # An adapter without release_helper (a bare pypowervm one, the
        # unit tests' doubles) keeps the wrapper whole.
        adapter = self.sim.adapter()
        wrapper = npiv_vios.read_feed(adapter, self.drv.system_uuid,
                                      npiv_vios.XAGS_MAPPINGS)[0]
        payloads.update(wrapper)
        self.assertIsNotNone(wrapper.entry.element)

    def test_a_batch_posts_through_it(self):
        spy = self.useFixture(fixtures.MockPatchObject(
            payloads, 'update', side_effect=payloads.update)).mock
        self.w.spawn(volumes=1)
        self.assertGreaterEqual(spy.call_count, 2)


class TestViewsOutsideTheSerialisation(test_group_commit.GroupCommitTestCase):
    """Readers outside the serialisation read wrappers of their own, which
    a FeedTask taking the cached feed cannot change under them."""

    def test_a_view_is_not_the_cached_feed(self):
        self.w.spawn(volumes=1)
        cached = npiv_vios.FEEDS.peek(self.drv.adapter, self.drv.system_uuid,
                                      npiv_vios.XAGS_MAPPINGS)
        self.assertIsNotNone(cached)
        view = npiv_vios.mappings_at_hand(self.drv.adapter,
                                          self.drv.system_uuid)
        self.assertEqual([w.uuid for w in cached], [w.uuid for w in view])
        for mine, theirs in zip(view, cached):
            self.assertIsNot(mine.entry, theirs.entry)
            self.assertEqual(theirs.toxmlstring(), mine.toxmlstring())
        # The cached wrappers being POSTed (their document let go): no view.
        cached[-1].entry.element, element = None, cached[-1].entry.element
        try:
            self.assertIsNone(npiv_vios.FEEDS.view(
                self.drv.adapter, self.drv.system_uuid,
                npiv_vios.XAGS_MAPPINGS))
        finally:
            cached[-1].entry.element = element

    def test_a_read_offered_to_the_next_feed_task_is_not_the_readers(self):
        npiv_vios.FEEDS.forget()
        view = npiv_vios.mappings_at_hand(self.drv.adapter,
                                          self.drv.system_uuid)
        cached = npiv_vios.FEEDS.peek(self.drv.adapter, self.drv.system_uuid,
                                      npiv_vios.XAGS_MAPPINGS)
        self.assertEqual(len(cached), len(view))
        self.assertFalse({id(w.entry) for w in cached} &
                         {id(w.entry) for w in view})
