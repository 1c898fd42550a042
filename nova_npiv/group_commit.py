"""Group commit: operations on one managed system share VIOS updates.

While one batch of VIOS changes is being written, the FeedTasks of other
operations on the system queue up; the next batch takes all of them: one
feed (the one the last batch left, see :class:`.vios._FeedCache`, or one
read), every member's subtasks applied to it in arrival order, one POST
per VIOS any of them changed.  Each member keeps what makes it an
operation of its own:

* its subtasks run on the wrappers in turn; one that raises fails that
  member alone, and the batch starts over on a fresh read without it (the
  wrappers carry its half-made changes);
* a POST the console refuses (not an etag conflict, which re-reads that
  VIOS and applies everyone again) is tried once per member that changed
  the VIOS, alone on a fresh read, so one member's bad change fails that
  member only;
* its post-execute tasks (metadata saves) run in its own thread once its
  changes have landed, and whatever fails is raised by its own
  ``execute``, so its own flow reverts its own changes (the undo tasks find
  their mappings by WWPN and partition, whatever else the batch did).

Who commits: the first thread that finds no batch in flight; it holds the
system's serialisation (:func:`.vios.serialized`) while it does.  A thread
that already holds it (a flow that read the feed to decide, under the lock)
runs its FeedTask alone, as it would have to wait for itself otherwise.
"""

import concurrent.futures
import gc
import threading

from oslo_log import log as logging
from pypowervm import entities as pvm_ent
from pypowervm import exceptions as pvm_exc
from taskflow.patterns import linear_flow as tf_lf

from nova_npiv import heap
from nova_npiv import payloads
from nova_npiv.tasks import base as tf_base

LOG = logging.getLogger(__name__)

#: Tries of one VIOS's POST after etag conflicts (pypowervm: 6).
ETAG_TRIES = 4


def adopt(kept, fresh):
    """``kept`` made to show ``fresh`` (its content and etag); ``kept``.

    A VIOS's new version (a POST's reply, a read again) goes into the entry
    ``kept`` already has, and ``fresh`` is made to share that entry: every
    wrapper that ever showed a version of this VIOS in this lineage (the
    feed cache's, a finished FeedTask's, the replies pypowervm's
    WrapperTasks returned and a finished flow's results hold) shows the
    newest, and the document of the version replaced is freed at once.
    Without it, finished flows, which taskflow leaves in reference cycles,
    keep every version they saw until the cyclic collector runs, and it
    seldom does: a parsed VIOS is C memory (lxml, ~12 KiB per mapping)
    that the collector does not count.
    """
    if fresh is None or fresh is kept:
        return kept
    entry = kept.entry
    if fresh.entry is not entry:
        entry.properties = fresh.entry.properties
        entry.element = fresh.entry.element
        fresh.entry = entry
    kept._etag = fresh.etag
    return kept


def snapshot(wrapper):
    """A wrapper of ``wrapper``'s VIOS as it is now, for a reader outside
    the system's serialisation; None if a POST of it is under way.

    The batch that owns a wrapper lets its document go while it is POSTed
    (see :func:`.payloads.update`) and :func:`adopt` swaps the reply in: a
    reader of the shared wrapper could find it half-way.  The snapshot's
    entry is its own and holds the version it was taken from, for as long
    as the reader keeps it, and no longer.
    """
    element = wrapper.entry.element
    if element is None:
        return None
    entry = pvm_ent.Entry(wrapper.entry.properties, element.element,
                          element.adapter)
    return type(wrapper)(entry, etag=wrapper.etag)


def snapshots(wrappers):
    """:func:`snapshot` of each, or None if one is being POSTed."""
    out = [snapshot(w) for w in wrappers]
    return None if any(w is None for w in out) else out


class Member(object):
    """One operation's FeedTask in a batch."""

    def __init__(self, ftsk):
        self.ftsk = ftsk
        self.error = None
        self.done = threading.Event()
        self.provided = {}
        #: UUIDs of the VIOSes its subtasks changed.
        self.touched = set()

    @property
    def alive(self):
        return self.error is None

    def fail(self, err):
        if self.error is None:
            self.error = err

    def subtasks(self, uuid):
        ftsk = self.ftsk
        if ftsk._tx_by_uuid:
            wtask = ftsk._tx_by_uuid.get(uuid)
            return wtask.subtasks if wtask is not None else ()
        return ftsk._common_tx.subtasks

    def apply(self, wrapper, run_subtasks):
        """Run this member's subtasks on ``wrapper``; True if it changed."""
        changed = run_subtasks(self.subtasks(wrapper.uuid), wrapper,
                               self.provided)
        if changed:
            self.touched.add(wrapper.uuid)
        return changed


class Committer(object):
    """The batches of one managed system of one session."""

    def __init__(self, system_uuid, lock, feeds, run_subtasks):
        self.system_uuid = system_uuid
        self._lock = lock
        self._feeds = feeds
        self._run_subtasks = run_subtasks
        self._cv = threading.Condition()
        self._queue = []
        self._busy = False
        #: Batches committed and their sizes: what tests and the benchmark
        #: read.
        self.batches = []

    @property
    def busy(self):
        """A batch is being committed (its feed is not at hand)."""
        return self._busy

    # -- the members' side -------------------------------------------------

    def submit(self, ftsk):
        """Run ``ftsk`` in the next batch; its results, or its error."""
        member = Member(ftsk)
        with self._cv:
            self._queue.append(member)
            while not member.done.is_set() and self._busy:
                self._cv.wait()
            lead = not member.done.is_set()
            if lead:
                self._busy = True
        if lead:
            self._lead()
        member.done.wait()
        if member.error is not None:
            raise member.error
        return self._finish(member)

    def _lead(self):
        batch = []
        try:
            with self._lock:
                # Taken once the serialisation is ours: whoever queued while
                # it was busy joins this batch.
                with self._cv:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        except Exception as err:
            # Nothing of the batch can be trusted: each member fails with
            # the error, and its flow reverts what it did.
            LOG.exception('VIOS batch of system %s failed', self.system_uuid)
            for m in batch:
                m.fail(err)
        finally:
            for m in batch:
                m.done.set()
            with self._cv:
                self._busy = False
                self._cv.notify_all()

    def _finish(self, member):
        wrappers = {w.uuid: w for w in member.ftsk._feed or ()}
        rets = {'wrapper_task_rets': {
            uuid: dict(member.provided, wrapper=wrappers.get(uuid))
            for uuid in member.touched}}
        post = member.ftsk._post_exec
        if post:
            flow = tf_lf.Flow('%s_post_execs' % member.ftsk.name)
            flow.add(*post)
            rets.update(tf_base.run(flow) or {})
        return rets

    # -- the committing thread's side ---------------------------------------

    def _commit(self, batch):
        self.batches.append(len(batch))
        xags = set()
        for m in batch:
            xags.update(m.ftsk._xags)
        feed, remembered = self._feed(batch, xags)
        for m in batch:
            decide = m.ftsk.decide
            if decide is not None:
                try:
                    decide(feed)
                except Exception as err:
                    m.fail(err)
        feed, changed = self._apply_all(batch, feed, xags, remembered)
        if changed:
            # The flows that finished since the last batch, and the views
            # their reads left, hold older versions of these VIOSes in
            # cycles: gone before the replies are parsed.
            gc.collect(1)
        if self._write(batch, feed, changed, xags):
            self._feeds.put(self.system_uuid, xags, feed)
        else:
            self._feeds.forget(self.system_uuid)
        for m in batch:
            m.ftsk._feed = list(feed)
        if changed:
            # The versions the replies replaced are freed, in the arenas
            # of other threads (see heap).
            heap.trim()

    def _feed(self, batch, xags):
        ftsk = batch[0].ftsk
        cached, have = self._feeds.take(ftsk._adapter, self.system_uuid,
                                        xags)
        if cached is not None:
            xags.update(have)
            return list(cached), True
        for m in batch:
            seed = m.ftsk.seed
            if seed and xags <= set(m.ftsk._xags):
                return list(seed), True
        return self._read(ftsk, xags), False

    def _read(self, ftsk, xags):
        return ftsk.read_feed(sorted(xags))

    def _apply_all(self, batch, feed, xags, remembered):
        """Every live member's subtasks on every wrapper.

        :returns: (the feed, {uuid: members that changed it}).
        """
        while True:
            for m in batch:
                m.touched = set()
                m.provided = {}
            changed = {}
            failed = False
            for index, wrapper in enumerate(feed):
                wrapper, who, failed = self._apply(batch, wrapper,
                                                   remembered)
                feed[index] = wrapper
                if failed:
                    break
                if who:
                    changed[wrapper.uuid] = who
            if not failed:
                return feed, changed
            # A member's half-made changes are in the wrappers: start over
            # without it on what the VIOSes hold now (in the same wrappers,
            # see adopt()).
            held = {w.uuid: w for w in feed}
            feed = [adopt(held[w.uuid], w) if w.uuid in held else w
                    for w in self._read(batch[0].ftsk, xags)]
            remembered = False

    def _apply(self, batch, wrapper, remembered):
        who = []
        for m in batch:
            if not m.alive:
                continue
            try:
                if m.apply(wrapper, self._run_subtasks):
                    who.append(m)
            except Exception as err:
                LOG.warning('VIOS change of %s failed: %s', m.ftsk.name, err)
                m.fail(err)
                return wrapper, who, True
        if who or not remembered:
            return wrapper, who, False
        # Nothing changed on a remembered wrapper: nothing proves it is
        # current, so it is read again (see vios._Verified).
        fresh = wrapper.refresh()
        if fresh is wrapper:
            return wrapper, who, False
        return self._apply(batch, adopt(wrapper, fresh), False)

    def _write(self, batch, feed, changed, xags):
        """POST every changed wrapper, in parallel; False if an outcome is
        unknown (a refused or unanswered POST)."""
        if not changed:
            return True
        index = {w.uuid: i for i, w in enumerate(feed)}
        clean = [True]

        def post(uuid):
            wrapper = feed[index[uuid]]
            try:
                feed[index[uuid]] = self._post(batch, wrapper, changed[uuid])
            except Exception as err:
                clean[0] = False
                self._post_alone(wrapper, changed[uuid], err, feed,
                                 index[uuid])

        with concurrent.futures.ThreadPoolExecutor(len(changed)) as pool:
            list(pool.map(post, list(changed)))
        return clean[0]

    def _post(self, batch, wrapper, who):
        """POST, re-reading and applying ``who`` again on etag conflicts."""
        for attempt in range(1, ETAG_TRIES + 1):
            try:
                return adopt(wrapper, payloads.update(wrapper))
            except pvm_exc.HttpError as err:
                status = getattr(err.response, 'status', None)
                if status != 412 or attempt == ETAG_TRIES:
                    raise
            adopt(wrapper, wrapper.refresh(use_etag=False))
            for m in who:
                m.apply(wrapper, self._run_subtasks)
        raise AssertionError('not reached')

    def _post_alone(self, wrapper, who, err, feed, position):
        """A VIOS refused the batch's POST: each member that changed it
        tries alone, so that only the ones the console refuses fail."""
        if len(who) == 1:
            who[0].fail(err)
            return
        LOG.warning('VIOS %s refused the update of %d operations (%s); '
                    'trying each alone', wrapper.uuid, len(who), err)
        for m in who:
            try:
                fresh = adopt(wrapper, wrapper.refresh(use_etag=False))
                if m.apply(fresh, self._run_subtasks):
                    fresh = self._post([m], fresh, [m])
                feed[position] = fresh
            except Exception as alone:
                m.fail(alone)
