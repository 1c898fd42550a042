"""taskflow tasks for the storage side of instance operations.

The VIOS changes themselves run inside pypowervm FeedTasks (one POST per
touched VIOS); these tasks queue work onto them, record the outcome in the
instance's metadata, and undo what landed when a later step fails.
"""

import re
import time

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from taskflow import task

from nova_npiv import conf as npiv_conf
from nova_npiv import fabric_records

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: How often an undo is tried.  Every undo builds its own FeedTask (a fresh
#: feed read) and makes idempotent changes, so trying again is safe; one
#: transient console fault (a dropped connection, an HTTP 5xx) in a revert
#: must not leave the VIOSes and the metadata disagreeing, nor let the
#: LPAR be deleted under mappings that stay behind as orphans.
UNDO_ATTEMPTS = 2
#: First wait between tries while the console is unreachable; doubled after
#: each try, up to ``[powervm] undo_retry_seconds`` in all.
UNREACHABLE_FIRST_WAIT = 0.25
#: What says the console itself is away (refused or timed-out connection),
#: as opposed to a reply: worth waiting for, since the operation's own
#: failure was most likely the same outage and the undo is all that stands
#: between it and VIOSes that disagree with the metadata.
_UNREACHABLE = (pvm_exc.ConnectionError, pvm_exc.TimeoutError)
#: A VIOS feed the console answers with a server error: a VIOS in error
#: fails the whole feed (issue 13, R11), and every undo starts with that
#: read, so it is waited for like an unreachable console.
_VIOS_FEED = re.compile(r'/VirtualIOServer(\?|$)')


def _worth_waiting(err):
    if isinstance(err, _UNREACHABLE):
        return True
    resp = getattr(err, 'response', None)
    return (isinstance(err, pvm_exc.HttpError) and resp is not None and
            (resp.status or 0) >= 500 and resp.reqmethod == 'GET' and
            bool(_VIOS_FEED.search(resp.reqpath or '')))


def _undo_budget():
    npiv_conf.register_opts(CONF)   # idempotent; a revert may run first
    return CONF[npiv_conf.GROUP].undo_retry_seconds


def retried(what, func, *args, **kwargs):
    """Run the undo ``func`` until it works; the last failure raises.

    A failure is tried once more; while the console is unreachable or
    cannot assemble the VIOS feed, tries go on (with growing waits) for
    ``[powervm] undo_retry_seconds``.
    """
    deadline = time.monotonic() + _undo_budget()
    wait = UNREACHABLE_FIRST_WAIT
    attempt = 0
    while True:
        attempt += 1
        try:
            return func(*args, **kwargs)
        except Exception as err:
            away = _worth_waiting(err)
            left = deadline - time.monotonic()
            if attempt >= UNDO_ATTEMPTS and not (away and left > 0):
                raise
            LOG.warning('%s failed (%s: %s); trying again', what,
                        type(err).__name__, err)
            if away:
                time.sleep(max(0.0, min(wait, left)))
                wait *= 2


class SaveFabricState(task.Task):
    """Record a new fabric state once the VIOS changes have landed.

    Runs as a FeedTask post-execute step, so the metadata never claims a
    state the VIOSes have not reached.
    """

    def __init__(self, instance, fabrics, state):
        super().__init__('save_fabric_state_%s_%s' % (state, instance.uuid))
        self.instance = instance
        self.fabrics = list(fabrics)
        self.state = state

    def execute(self):
        records = fabric_records.FabricRecords(self.instance, self.fabrics)
        errors = records.errors()
        for fabric in self.fabrics:
            if fabric in errors:
                # The VIOS changes have landed (e.g. a delete unmapped the
                # partition despite the bad keys); raising now would fail
                # the operation after the fact and leave the instance
                # undeletable.  Keys that cannot be read cannot be rewritten
                # faithfully: leave them to `nova-npiv audit`.
                LOG.error('%s: fabric %s left as it is', errors[fabric],
                          fabric)
                continue
            records.set(fabric, self.state)
        records.save(always=True)


class UndoOnFailure(task.Task):
    """Run a compensating action if a later task of the flow fails.

    A FeedTask POSTs to its VIOSes in parallel and has no revert of its own:
    when one VIOS update fails after another landed, this brings the landed
    ones back.
    """

    def __init__(self, undo, *args, **kwargs):
        super().__init__('undo_%s' % getattr(undo, '__name__', 'changes'))
        self._undo = undo
        self._args = args
        self._kwargs = kwargs

    def execute(self):
        pass

    def revert(self, *args, **kwargs):
        try:
            retried('Undoing VIOS changes (%s)' % self.name, self._undo,
                    *self._args, **self._kwargs)
        except Exception:
            # The original failure is what nova must report; the leftover is
            # visible to `nova-npiv audit`.
            LOG.exception('Could not undo VIOS changes')


class ConnectVolume(task.Task):
    """Queue the connection of one volume on the operation's FeedTask.

    In a spawn the LPAR is created by an earlier task of the flow
    (``lpar_from_flow``): its UUID is what the mappings must point at.
    """

    def __init__(self, npiv, lpar_from_flow=False):
        super().__init__('connect_vol_%s' % npiv.volume_id,
                         rebind=({'lpar_wrap': 'lpar_wrap'}
                                 if lpar_from_flow else None))
        self.npiv = npiv

    def execute(self, lpar_wrap=None):
        if lpar_wrap is not None:
            self.npiv.lpar_uuid = lpar_wrap.uuid
        self.npiv.connect_volume()

    def revert(self, *args, **kwargs):
        try:
            retried('Undoing the vFC mappings of %s'
                    % self.npiv.instance.uuid,
                    self.npiv.rollback_connect)
        except Exception:
            # A revert that raises stops taskflow from reverting the tasks
            # before it (the LPAR would stay) and hides the original
            # failure; what is left is visible to `nova-npiv audit`.
            LOG.exception('Could not undo the vFC mappings of %s',
                          self.npiv.instance.uuid)


class DisconnectVolume(task.Task):
    """Detach one volume (the vFC adapters stay with the instance)."""

    def __init__(self, npiv):
        super().__init__('disconnect_vol_%s' % npiv.volume_id)
        self.npiv = npiv

    def execute(self):
        self.npiv.disconnect_volume()


class UnmapInstance(task.Task):
    """Queue removal of all vFC mappings of an instance (delete, rollback)."""

    def __init__(self, npiv, update_metadata=True):
        super().__init__('unmap_instance_%s' % npiv.instance.uuid)
        self.npiv = npiv
        self.update_metadata = update_metadata

    def execute(self):
        self.npiv.queue_instance_unmapping(
            update_metadata=self.update_metadata)

    def revert(self, *args, **kwargs):
        # The FeedTask has no revert: when one VIOS update failed, the
        # others landed and the metadata still records every mapping.
        if not self.update_metadata:
            return   # The metadata belongs to the instance's new host.
        try:
            retried('Mapping back the vFC adapters of %s'
                    % self.npiv.instance.uuid,
                    self.npiv.restore_mappings)
        except Exception:
            LOG.exception('Could not map back the vFC adapters of %s after '
                          'a failed unmapping; nova-npiv show lists the '
                          'difference', self.npiv.instance.uuid)
