"""vFC mapping operations on the VIOSes, and the undo of each.

The functors change one VIOS wrapper and say whether they did, as pypowervm
FeedTask subtasks must; they take pypowervm port maps (``(phys, 'V1 V2')``)
because this is where the plugin meets ``vfc_mapper``.  The functions below
them run a FeedTask of their own: staging with its undo, unstaging, mapping
back after a failed unmapping.
"""

from oslo_log import log as logging
from pypowervm.tasks import vfc_mapper
from taskflow.patterns import linear_flow as tf_lf

from nova_npiv import fabric_records
from nova_npiv import vios as npiv_vios
from nova_npiv import wwpn as wwpn_util
from nova_npiv.tasks import base as tf_base
from nova_npiv.tasks import storage as tf_stg

LOG = logging.getLogger(__name__)


# -- FeedTask functors (one VIOS wrapper each) -------------------------------

def map_to_staging(vios_w, system_uuid, staging_uuid, port_maps):
    # add_map finds the port on the wrapper: one read without ViosStorage
    # is given the ports the directory knows (vios.with_ports).
    vios_w = npiv_vios.with_ports(vios_w, system_uuid)
    changed = False
    for entry in port_maps:
        if vfc_mapper.add_map(vios_w, system_uuid, staging_uuid, entry,
                              error_if_invalid=False):
            changed = True
    return changed


def map_to_instance(vios_w, system_uuid, inst_uuid, staging_uuid, port_maps):
    """Swap staging mappings for instance mappings on one VIOS.

    The staging mapping must go first: ``add_map`` treats any mapping that
    carries the same WWPNs as the one being asked for.
    """
    vios_w = npiv_vios.with_ports(vios_w, system_uuid)
    changed = False
    for entry in port_maps:
        if staging_uuid and vfc_mapper.remove_maps(vios_w, staging_uuid,
                                                   port_map=entry):
            changed = True
        if vfc_mapper.add_map(vios_w, system_uuid, inst_uuid, entry,
                              error_if_invalid=False):
            changed = True
    return changed


def unmap_port_maps(vios_w, inst_uuid, staging_uuid, port_maps):
    """Remove the instance's and the staging mappings of ``port_maps``."""
    changed = False
    for entry in port_maps:
        for client in (inst_uuid, staging_uuid):
            if client and vfc_mapper.remove_maps(vios_w, client,
                                                 port_map=entry):
                changed = True
    return changed


def unmap_instance(vios_w, inst_uuid, staging_uuid, port_maps):
    """Remove every mapping of the instance and its staging mappings."""
    changed = False
    if inst_uuid and vfc_mapper.remove_maps(vios_w, inst_uuid):
        changed = True
    if staging_uuid:
        for entry in port_maps:
            if vfc_mapper.remove_maps(vios_w, staging_uuid, port_map=entry):
                changed = True
    return changed


def maps_by_pair(vios_wraps, lpar_uuid):
    """The LPAR's mappings with their client WWPN pair (a frozenset)."""
    for vios_w in vios_wraps:
        for vmap in vfc_mapper.find_maps(vios_w.vfc_mappings, lpar_uuid):
            if vmap.client_adapter is not None:
                yield (frozenset(wwpn_util.normalize_list(
                    vmap.client_adapter.wwpns)), vmap)


# -- operations with a FeedTask of their own ---------------------------------

def unstage(adapter, system_uuid, instance, staging_uuid, entries):
    """Remove the staging mappings of ``entries`` now."""
    ftsk = npiv_vios.feed_task(adapter, system_uuid,
                               'unstage_%s' % instance.uuid)
    ftsk.add_functor_subtask(unmap_instance, None, staging_uuid,
                             fabric_records.pvm(entries))
    ftsk.execute()


class Chosen(object):
    """The entries a staging maps: known up front, or chosen by a
    ``decide`` step on the feed the change is made on (group commit)."""

    def __init__(self, entries=()):
        self.entries = list(entries)


def map_chosen_to_staging(vios_w, system_uuid, staging_uuid, chosen):
    return map_to_staging(vios_w, system_uuid, staging_uuid,
                          fabric_records.pvm(chosen.entries))


def stage(adapter, system_uuid, instance, staging_uuid, entries, feed,
          name, post_execute=None, remembered=False, decide=None,
          seed=None, seed_xags=npiv_vios.XAGS_PORTS):
    """Map ``entries`` to the staging partition, undoing it on failure.

    A FeedTask POSTs to its VIOSes in parallel: when one update fails after
    another landed, the undo removes what landed.  ``feed`` is the read the
    decision was made on (the caller holds the VIOS lock), read with
    :data:`.XAGS_PORTS` as choosing the ports needs; ``remembered`` if it
    is not a read made under the lock (see :func:`.vios.feed_task`).
    Without a feed, ``entries`` is a :class:`Chosen` that ``decide(feed)``
    fills in on the feed of the group commit the staging joins; ``seed``,
    a feed the caller read for its checks with ``seed_xags``, is written
    on when the system has no newer one (one read, not two).
    """
    chosen = entries if isinstance(entries, Chosen) else Chosen(entries)
    ftsk = npiv_vios.feed_task(adapter, system_uuid,
                               '%s_%s' % (name, instance.uuid), feed=feed,
                               xags=npiv_vios.XAGS_PORTS,
                               remembered=remembered, decide=decide)
    if seed and set(seed_xags) == set(ftsk._xags):
        # Written on only with the groups the FeedTask asks for: a read
        # with the storage group would have its POSTs carry every SAN LUN
        # again once the ports are known (see vios.feed_task).
        ftsk.seed = seed
    ftsk.add_functor_subtask(map_chosen_to_staging, system_uuid,
                             staging_uuid, chosen)
    if post_execute is not None:
        ftsk.add_post_execute(post_execute)
    flow = tf_lf.Flow('%s_%s' % (name, instance.uuid))
    flow.add(tf_stg.UndoOnFailure(_unstage_now, adapter, system_uuid,
                                  instance, staging_uuid, chosen),
             ftsk)
    tf_base.run(flow, instance=instance)


def _unstage_now(adapter, system_uuid, instance, staging_uuid, chosen):
    # Named for the undo task (``undo__unstage_now``) the logs show.
    if chosen.entries:
        unstage(adapter, system_uuid, instance, staging_uuid,
                chosen.entries)


def restore(adapter, system_uuid, instance, lpar_uuid, staging_uuid,
            inst_entries, staged_entries):
    """Map back, on a FeedTask of its own, what a failed unmapping removed.

    ``inst_entries`` go back to the instance, ``staged_entries`` to the
    staging partition (when there is one).
    """
    ftsk = npiv_vios.feed_task(adapter, system_uuid,
                               'restore_%s' % instance.uuid,
                               xags=npiv_vios.XAGS_PORTS)
    if inst_entries:
        ftsk.add_functor_subtask(map_to_instance, system_uuid, lpar_uuid,
                                 None, fabric_records.pvm(inst_entries))
    if staging_uuid and staged_entries:
        ftsk.add_functor_subtask(map_to_staging, system_uuid, staging_uuid,
                                 fabric_records.pvm(staged_entries))
    ftsk.execute()
