"""Reads and FeedTasks over the Virtual I/O Servers of one managed system.

pypowervm's ``partition.build_active_vio_feed_task`` reads the root VIOS feed,
which on an HMC holds the VIOSes of every managed system; the plugin must only
ever touch the VIOSes of the system it drives, so every feed here is nested
under that system.  The extended attribute groups are chosen per use so that
no request carries storage data it does not need.
"""

import collections
import threading
import time
import weakref

from oslo_utils import reflection
from pypowervm import const as pvm_const
from pypowervm.tasks import partition as pvm_par
from pypowervm.utils import transaction as pvm_tx
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv import exception
from nova_npiv import group_commit
from nova_npiv import heap
from nova_npiv import port_directory
from nova_npiv import wwpn as wwpn_util

#: Enough to add or remove vFC mappings of known physical ports.
XAGS_MAPPINGS = (pvm_const.XAG.VIO_FMAP,)
#: Needed to choose physical ports (their WWPNs and NPIV capacity live in
#: the storage group) and to let ``vfc_mapper.add_map`` find the port;
#: a FeedTask asks for them only until the port directory is known
#: (:func:`feed_task`, :mod:`.port_directory`).
XAGS_PORTS = (pvm_const.XAG.VIO_FMAP, pvm_const.XAG.VIO_STOR)


def getter(adapter, system_uuid, xags):
    return pvm_vios.VIOS.getter(adapter, parent_class=pvm_ms.System,
                                parent_uuid=system_uuid, xag=list(xags))


def read_feed(adapter, system_uuid, xags):
    return getter(adapter, system_uuid, xags).get()


_PORT_READS = collections.defaultdict(threading.Lock)


def ports_or_feed(adapter, system_uuid):
    """(port summary, feed read for it or None) to check ports on.

    The summary of the last feed when there is one; else one read, shared
    by the callers that arrive while it is under way (a burst of first
    connector calls after a start reads the feed once, not once each).
    """
    present = FEEDS.ports(adapter, system_uuid)
    if present is not None:
        return present, None
    with _PORT_READS[system_uuid]:
        present = FEEDS.ports(adapter, system_uuid)
        if present is not None:
            return present, None
        feed = read_feed(adapter, system_uuid, XAGS_PORTS)
        if FEEDS.enabled:
            FEEDS.note_ports(system_uuid, feed)
        return port_summary(active(feed)), feed


def mappings_at_hand(adapter, system_uuid):
    """A feed of the system's mappings to check on (read-only), or None.

    The last update's (see :class:`_FeedCache`); else, unless a batch is
    in flight (its feed comes back with it, and the batch checks again),
    one read, shared by the callers that arrive while it is under way and
    offered to the next FeedTask (its POST's etag check covers a read made
    outside the serialisation).
    """
    at_hand = FEEDS.view(adapter, system_uuid, XAGS_MAPPINGS)
    if at_hand is not None or not FEEDS.enabled or \
            committer(adapter, system_uuid).busy:
        return at_hand
    with _PORT_READS[system_uuid]:
        at_hand = FEEDS.view(adapter, system_uuid, XAGS_MAPPINGS)
        if at_hand is None:
            at_hand = read_feed(adapter, system_uuid, XAGS_MAPPINGS)
            # The next FeedTask takes the read's wrappers; the caller
            # reads its own (group_commit.snapshot).
            copy = group_commit.snapshots(at_hand)
            FEEDS.offer(adapter, system_uuid, XAGS_MAPPINGS, at_hand)
            at_hand = copy
        return at_hand


def port_view(adapter, system_uuid):
    """VIOS wrappers to choose ports on (read-only), each answering
    ``pfc_ports``: the mappings at hand with the port directory, or, without
    either, one read with the storage group (noted as the directory).

    A VIOS read with the storage group is the whole of its SAN LUNs and
    adapters again: at thousands of mappings, tens of megabytes to parse
    for ports the directory already knows.
    """
    if FEEDS.directory(adapter, system_uuid) is not None:
        at_hand = mappings_at_hand(adapter, system_uuid)
        if at_hand is not None:
            try:
                return with_ports(list(at_hand), system_uuid)
            except exception.PortDirectoryStale:
                pass
    feed = read_feed(adapter, system_uuid, XAGS_PORTS)
    if FEEDS.enabled:
        FEEDS.note_ports(system_uuid, feed)
    return feed


def with_ports(vios_wraps, system_uuid):
    """The wrappers, each able to answer ``pfc_ports``: from the port
    directory where they were read without ViosStorage
    (:func:`.port_directory.with_ports`)."""
    if not vios_wraps:
        return vios_wraps
    single = not isinstance(vios_wraps, (list, tuple))
    wraps = [vios_wraps] if single else vios_wraps
    directory = FEEDS.directory(wraps[0].adapter, system_uuid)
    try:
        out = [port_directory.with_ports(w, directory) for w in wraps]
    except exception.PortDirectoryStale:
        FEEDS.drop_directory(system_uuid)
        raise
    return out[0] if single else out


def active(vios_wraps):
    """The VIOSes that can take mapping changes (running, RMC active)."""
    return pvm_par.get_active_vioses(None, vios_wraps=vios_wraps)


_LOCKS = {}
_LOCKS_GUARD = threading.Lock()


def serialized(system_uuid):
    """The lock under which this process reads and updates the VIOSes.

    Concurrent operations on one system would each read the VIOS feed, then
    race to POST: all but one hit an etag conflict (412) and pypowervm
    re-reads and re-sends.  Taking turns per system costs nothing extra and
    sends every update once.  Re-entrant, so a revert that runs inside a
    locked flow can take it again.
    """
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(system_uuid, threading.RLock())


class PortCapacity(object):
    """What the port checks read of a physical port, apart from the feed."""

    __slots__ = ('npiv_available_ports',)

    def __init__(self, available):
        self.npiv_available_ports = available


def port_summary(active_vioses):
    """``{normalised WWPN: PortCapacity}`` of the ports of the VIOSes, as
    ``placement.present_ports`` has them: it outlives the wrappers, which
    later updates change."""
    return {wwpn_util.normalize(port.wwpn):
            PortCapacity(port.npiv_available_ports)
            for vios_w in active_vioses for port in vios_w.pfc_ports}


class _FeedCache(object):
    """The last VIOS feed of each system this process read or wrote.

    A VIOS update's reply is the VIOS as it now stands, with its new etag
    (``EntryWrapper.update`` wraps it), so the feed a FeedTask leaves
    behind is as good as a fresh read for the next FeedTask on the system,
    as long as nothing else changed it: if something did, the etag is
    refused (412) and pypowervm re-reads that VIOS and runs the subtasks
    again (``entry_transaction``).  This is the optimistic write of DESIGN
    §8: a VIOS just written is not read again unless its etag is refused.

    Entries are taken and put back under the system's serialisation, so
    one FeedTask at a time owns the wrappers (they are changed in place,
    and their document is let go while they are POSTed): a FeedTask's feed
    is read after it ran only under the serialisation, and readers outside
    it get wrappers of their own (:meth:`view`).
    A FeedTask that fails drops them: what landed is not known.  An entry
    older than :data:`MAX_AGE` is not used (a VIOS whose RMC went away
    since would only be found by a failed POST).
    """

    MAX_AGE = 300.0

    def __init__(self):
        self._feeds = {}
        #: {system: (adapter ref, time, port summary)} of the last feed put:
        #: what a connector checks its ports on, whoever owns the feed.
        self._ports = {}
        #: {system: (adapter ref, time, {VIOS UUID: ports})}: the physical
        #: ports of the last read with the storage group (port_directory).
        self._directory = {}
        #: Off where the REST layer is a double that cannot refuse an etag
        #: (the unit tests' FeedTaskFx): every FeedTask reads the feed.
        self.enabled = True
        #: A view is taken, and a feed taken, one at a time: a view is
        #: never made of wrappers a FeedTask already owns.
        self._guard = threading.Lock()

    def take(self, adapter, system_uuid, xags):
        """The system's last feed, now owned by the caller, and the groups
        it was read with; (None, None) if there is none to use.

        None for another session's (its wrappers would POST through it),
        one without the groups wanted, or an old one.
        """
        with self._guard:
            feed = self.peek(adapter, system_uuid, xags)
            entry = self._feeds.pop(system_uuid, None)
        return (feed, entry[0]) if feed is not None else (None, None)

    def view(self, adapter, system_uuid, xags):
        """What :meth:`peek` has, as wrappers of the reader's own
        (:func:`.group_commit.snapshot`), or None: for reads outside the
        system's serialisation, which a FeedTask taking the feed meanwhile
        must not change under the reader."""
        with self._guard:
            feed = self.peek(adapter, system_uuid, xags)
            return group_commit.snapshots(feed) if feed is not None else None

    def peek(self, adapter, system_uuid, xags):
        """The feed :meth:`take` would give, left in place (read-only use:
        another FeedTask may own its wrappers)."""
        entry = self._feeds.get(system_uuid)
        if entry is None or not self.enabled:
            return None
        have, feed, when = entry
        if (feed[0].adapter is not adapter or not set(xags) <= have or
                time.monotonic() - when > self.MAX_AGE):
            return None
        return feed

    def put(self, system_uuid, xags, feed):
        if not feed:
            return
        if pvm_const.XAG.VIO_STOR in xags:
            known = self.directory(feed[0].adapter, system_uuid)
            self.note_ports(system_uuid, feed)
            if known is not None:
                # Kept, the next FeedTasks would take it and POST the
                # storage group again: they read the mappings alone.
                self._feeds.pop(system_uuid, None)
                return
        elif self.directory(feed[0].adapter, system_uuid) is not None:
            # The capacity the mappings report now (see port_directory).
            try:
                summary = port_summary(active(with_ports(list(feed),
                                                         system_uuid)))
            except exception.PortDirectoryStale:
                summary = None
            if summary is not None:
                self._ports[system_uuid] = (weakref.ref(feed[0].adapter),
                                            time.monotonic(), summary)
        self._feeds[system_uuid] = (set(xags), list(feed), time.monotonic())

    def offer(self, adapter, system_uuid, xags, feed):
        """Keep ``feed``, read outside the serialisation, unless an update
        left a usable one (newer) in the meantime; one of another session
        or an old one is replaced (:meth:`take` would drop it)."""
        if feed and self.peek(adapter, system_uuid, xags) is None:
            self._feeds[system_uuid] = (set(xags), list(feed),
                                        time.monotonic())

    def note_ports(self, system_uuid, feed):
        """Keep the port summary of ``feed`` (read with the storage
        group) for :meth:`ports`, and its ports as the system's port
        directory (:meth:`directory`)."""
        ref, now = weakref.ref(feed[0].adapter), time.monotonic()
        self._ports[system_uuid] = (ref, now, port_summary(active(feed)))
        self._directory[system_uuid] = (ref, now, port_directory.note(feed))

    def directory(self, adapter, system_uuid):
        """``{VIOS UUID: ports}`` of the system's last read with the
        storage group in this session, or None.  Kept however old: what it
        holds is the hardware (capacity comes from each read's mappings);
        :meth:`ports` expiring makes the next connector read it again."""
        entry = self._directory.get(system_uuid)
        if entry is None or not self.enabled or entry[0]() is not adapter:
            return None
        return entry[2]

    def drop_directory(self, system_uuid):
        self._directory.pop(system_uuid, None)
        self._ports.pop(system_uuid, None)

    def ports(self, adapter, system_uuid):
        """The port summary of the system's last feed (see
        :func:`.placement.port_summary`), or None."""
        entry = self._ports.get(system_uuid)
        if entry is None or not self.enabled:
            return None
        ref, when, summary = entry
        if ref() is not adapter or time.monotonic() - when > self.MAX_AGE:
            return None
        return summary

    def forget(self, system_uuid=None):
        if system_uuid is None:
            self._feeds.clear()
            self._ports.clear()
            self._directory.clear()
        else:
            self._feeds.pop(system_uuid, None)


FEEDS = _FeedCache()


def _run_subtasks(subtasks, wrapper, provided):
    """What ``WrapperTask`` does with its subtasks: whether to POST."""
    changed = False
    for sub in subtasks:
        kwargs = dict(sub.save_kwargs)
        if ('provided' in reflection.get_callable_args(sub.execute) or
                reflection.accepts_kwargs(sub.execute)):
            kwargs['provided'] = provided
        ret = sub.execute(wrapper, *sub.save_args, **kwargs)
        if sub.flag_update and ret:
            changed = True
        if sub.provides is not None:
            provided[sub.provides] = ret
    return changed


class _Verified(pvm_tx.Subtask):
    """A FeedTask's subtasks on a wrapper of a remembered feed.

    Where they change the wrapper, the POST's etag check proves the feed
    was current (a refused etag re-reads it and runs this again).  Where
    they change nothing, nothing proves it: the VIOS may have changed
    behind us (a live migration mapped the partition here, an operator
    removed a mapping), so it is read again (``If-None-Match``: unchanged
    costs a reply with no body) and the subtasks run on what it is now.
    """

    def __init__(self, subtasks):
        super().__init__()
        self.subtasks = list(subtasks)
        #: VIOS UUIDs read again: what the tests and benchmark look at.
        self.reread = []

    def execute(self, wrapper, provided=None):
        provided = {} if provided is None else provided
        if _run_subtasks(self.subtasks, wrapper, provided):
            return True
        fresh = wrapper.refresh()
        self.reread.append(wrapper.uuid)
        if fresh is wrapper:
            return False
        # The WrapperTask holds this object: it takes the VIOS as it is now
        # (content and etag), so that a POST goes out on the new etag.
        group_commit.adopt(wrapper, fresh)
        return _run_subtasks(self.subtasks, wrapper, provided)


class _SerializedFeedTask(pvm_tx.FeedTask):
    """A FeedTask that runs under the system's serialisation, in the next
    group commit (:mod:`.group_commit`) or alone.

    Alone (given a feed, or run by a thread that holds the serialisation),
    it starts from the feed the last one left behind when there is one
    (:class:`_FeedCache`).  ``remembered``: the given feed is such a feed
    (not a fresh read), so its wrappers are verified as :class:`_Verified`
    says.  ``decide(feed)``: called with the feed the changes are made on,
    before any subtask runs (the connector chooses its ports there).
    """

    def __init__(self, adapter, system_uuid, name, feed_or_getter, xags,
                 remembered=False, decide=None):
        super().__init__(name, feed_or_getter)
        self._adapter = adapter
        self._system_uuid = system_uuid
        self._xags = tuple(xags)
        self._remembered = remembered
        self.decide = decide
        self.verified = None
        #: A feed the caller read outside the serialisation: what a batch
        #: writes on when no newer one is kept (verified like a kept one).
        self.seed = None

    def read_feed(self, xags):
        return read_feed(self._adapter, self._system_uuid, xags)

    def execute(self):
        if not (self._tx_by_uuid or self._common_tx.subtasks or
                self._post_exec or self.decide):
            # pypowervm's true no-op: nothing queued, nothing read.
            return super().execute()
        lock = serialized(self._system_uuid)
        try:
            if self._feed is not None or lock._is_owned() or \
                    not GROUP_COMMIT.enabled:
                return self._execute_alone()
            return committer(self._adapter, self._system_uuid).submit(self)
        finally:
            # The seed is a read of its own: once the task has run, holding
            # it would only keep that parsed feed alive as long as the
            # finished flow (taskflow's cycles: until the collector runs).
            self.seed = None

    def _execute_alone(self):
        with serialized(self._system_uuid):
            if self._feed is None:
                cached, xags = FEEDS.take(self._adapter, self._system_uuid,
                                          self._xags)
                if cached is not None:
                    # What it was read with: the groups come back in the
                    # replies, whatever this task needed.
                    self._feed, self._xags = cached, tuple(xags)
                    self._remembered = True
                elif self.seed:
                    self._feed, self._remembered = list(self.seed), True
            else:
                FEEDS.forget(self._system_uuid)
            if self.decide is not None:
                self.decide(self.feed)
            if self._remembered and not self._tx_by_uuid and \
                    self._common_tx.subtasks:
                self.verified = _Verified(self._common_tx.subtasks)
                self._common_tx._tasks = [self.verified]
            # The wrappers as they were: pypowervm's WrapperTasks replace
            # theirs with the POSTs' replies, which are put back into these
            # (group_commit.adopt), so that one set of wrappers per feed
            # lives on, whatever holds the task, its flow or the replies.
            held = list(self.feed) if (self._tx_by_uuid or
                                       self._common_tx.subtasks) else None
            result = super().execute()
            if held is not None:
                for wrapper in held:
                    wtask = self._tx_by_uuid.get(wrapper.uuid)
                    if wtask is not None:
                        wtask._wrapper = group_commit.adopt(wrapper,
                                                            wtask.wrapper)
                self._feed = held
                heap.trim()
            if self._feed is not None:
                FEEDS.put(self._system_uuid, self._xags, self.feed)
            return result


class _GroupCommit(object):
    """The committers of each session and system (see group_commit)."""

    def __init__(self):
        self.enabled = True
        self._by_adapter = weakref.WeakKeyDictionary()
        self._guard = threading.Lock()

    def get(self, adapter, system_uuid):
        with self._guard:
            systems = self._by_adapter.setdefault(adapter, {})
            if system_uuid not in systems:
                systems[system_uuid] = group_commit.Committer(
                    system_uuid, serialized(system_uuid), FEEDS,
                    _run_subtasks)
            return systems[system_uuid]


GROUP_COMMIT = _GroupCommit()


def committer(adapter, system_uuid):
    return GROUP_COMMIT.get(adapter, system_uuid)


def feed_task(adapter, system_uuid, name, xags=XAGS_MAPPINGS, feed=None,
              remembered=False, decide=None):
    """A FeedTask over the system's VIOSes.

    Given an already-read ``feed`` the task reuses it, so an operation that
    had to read the feed to decide what to do pays for one GET, not two (the
    caller holds :func:`serialized` across both).  Otherwise the feed is the
    one the system's last FeedTask left (see :class:`_FeedCache`), or it is
    read at execution, inside the lock, so the etags it gets are fresh.
    ``XAGS_PORTS`` becomes ``XAGS_MAPPINGS`` once the system's port
    directory is known: the subtasks find the ports with :func:`with_ports`.
    """
    if feed:
        return _SerializedFeedTask(adapter, system_uuid, name, list(feed),
                                   xags, remembered=remembered,
                                   decide=decide)
    if tuple(xags) == XAGS_PORTS and \
            FEEDS.directory(adapter, system_uuid) is not None:
        # The ports are known: the storage group (every SAN LUN of the
        # VIOS, both ways) is not read nor POSTed (see port_directory).
        xags = XAGS_MAPPINGS
    return _SerializedFeedTask(adapter, system_uuid, name,
                               getter(adapter, system_uuid, xags), xags,
                               decide=decide)
