"""Reads and FeedTasks over the Virtual I/O Servers of one managed system.

pypowervm's ``partition.build_active_vio_feed_task`` reads the root VIOS feed,
which on an HMC holds the VIOSes of every managed system; the plugin must only
ever touch the VIOSes of the system it drives, so every feed here is nested
under that system.  The extended attribute groups are chosen per use so that
no request carries storage data it does not need.
"""

import threading

from pypowervm import const as pvm_const
from pypowervm.tasks import partition as pvm_par
from pypowervm.utils import transaction as pvm_tx
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

#: Enough to add or remove vFC mappings of known physical ports.
XAGS_MAPPINGS = (pvm_const.XAG.VIO_FMAP,)
#: Needed to choose physical ports (their WWPNs and NPIV capacity live in
#: the storage group) and to let ``vfc_mapper.add_map`` find the port.
XAGS_PORTS = (pvm_const.XAG.VIO_FMAP, pvm_const.XAG.VIO_STOR)


def getter(adapter, system_uuid, xags):
    return pvm_vios.VIOS.getter(adapter, parent_class=pvm_ms.System,
                                parent_uuid=system_uuid, xag=list(xags))


def read_feed(adapter, system_uuid, xags):
    return getter(adapter, system_uuid, xags).get()


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


class _SerializedFeedTask(pvm_tx.FeedTask):

    def __init__(self, system_uuid, name, feed_or_getter):
        super().__init__(name, feed_or_getter)
        self._system_uuid = system_uuid

    def execute(self):
        with serialized(self._system_uuid):
            return super().execute()


def feed_task(adapter, system_uuid, name, xags=XAGS_MAPPINGS, feed=None):
    """A FeedTask over the system's VIOSes.

    Given an already-read ``feed`` the task reuses it, so an operation that
    had to read the feed to decide what to do pays for one GET, not two (the
    caller holds :func:`serialized` across both).  Otherwise the GET is
    deferred to execution, inside the lock, so the etags it gets are fresh.
    """
    if feed:
        return pvm_tx.FeedTask(name, feed)
    return _SerializedFeedTask(system_uuid, name,
                               getter(adapter, system_uuid, xags))
