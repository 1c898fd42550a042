"""Resize on the managed system the instance is on.

A resize here reshapes the instance's own LPAR: nova's calls on one host
are ``migrate_disk_and_power_off`` (stop), ``finish_migration`` (reshape to
the new flavor, start), then ``confirm_migration`` (nothing left to clean)
or ``revert_resize`` + ``finish_revert_migration`` (reshape back, start).
The vFC adapters, their mappings and the instance's WWPNs are never
touched: the LPAR keeps its slots, the SAN keeps its zoning.

Resize and cold migration to another host (so another managed system) are
:mod:`nova_npiv.cold_migration`'s; :func:`check_migration` tells them apart.
A resize to a host of another cell is nova's snapshot-based resize, which
calls ``destroy`` and ``spawn`` instead: :mod:`nova_npiv.cross_cell`, told
apart by :func:`is_cross_cell` and :func:`arriving_cross_cell`.

Which host nova resizes to is read from the migration record, not from the
``dest`` argument: that is the destination's ``my_ip``, which two
nova-compute services driving two systems of one console from one machine
share.
"""

from nova.compute import task_states
from nova import exception as nova_exc
from nova import objects
from oslo_log import log as logging
from taskflow.patterns import linear_flow as tf_lf

from nova_npiv.tasks import vm as tf_vm
from nova_npiv import vm

LOG = logging.getLogger(__name__)


def migration_of(context, instance):
    """The migration record of the instance's resize in progress, or None.

    nova's destination records it in the instance's migration context
    during ``prep_resize``, before the source is asked to power off.
    """
    try:
        mig_ctxt = instance.migration_context
    except nova_exc.OrphanedObjectError:
        # An instance kept outside nova's database cannot load it.
        LOG.debug('No migration context to read', instance=instance)
        return None
    if mig_ctxt is None:
        return None
    try:
        return objects.Migration.get_by_id(context, mig_ctxt.migration_id)
    except nova_exc.MigrationNotFound:
        return None


def check_migration(context, instance, host, nodename):
    """nova's migration record of the resize, when this driver can do it.

    The migration is taken if it stays on this host and node (the LPAR is
    reshaped) or leaves for another host (see :mod:`.cold_migration`).
    Without a record nothing proves where the instance goes; a node of this
    host that is not ours cannot be a destination either.  Both are refused
    as nova's ``InstanceFaultRollback`` around a ``MigrationPreCheckError``:
    nova's ``resize_instance`` then puts the instance back in the state it
    had (ACTIVE or STOPPED, task cleared), sets the migration to error,
    gives the allocations back to the source and records the reason as the
    instance fault.  Any other exception would leave the instance in ERROR.
    """
    migration = migration_of(context, instance)
    if migration is not None and (
            migration.dest_compute != host or
            migration.dest_node in (None, nodename)):
        return migration
    where = ('to node %s of this host, which drives %s'
             % (migration.dest_node, nodename)
             if migration is not None
             else 'without a migration record to prove the destination')
    reason = ('nova-npiv cannot resize or migrate instance %s %s: nothing '
              'was changed' % (instance.uuid, where))
    LOG.warning(reason, instance=instance)
    raise nova_exc.InstanceFaultRollback(
        inner_exception=nova_exc.MigrationPreCheckError(reason=reason))


def is_same_host_revert(context, instance, host):
    """Whether a destroy is nova's revert_resize of a same-host resize.

    nova's ``revert_resize`` destroys the guest on the destination before
    ``finish_revert_migration`` runs on the source.  On one host these are
    one LPAR: destroying it would delete the instance nova is about to
    bring back.
    """
    if instance.task_state != task_states.RESIZE_REVERTING:
        return False
    migration = migration_of(context, instance)
    return (migration is not None and
            migration.source_compute == host and
            migration.dest_compute == host)


def is_cross_cell(migration):
    """Whether nova's migration record is a resize to another cell."""
    return migration is not None and bool(migration.cross_cell_move)


def arriving_cross_cell(instance, host):
    """Whether ``instance`` is arriving here by a cross-cell resize.

    nova's ``finish_snapshot_based_resize_at_dest`` asks for the connector
    and spawns with ``task_state`` ``resize_finish`` while ``instance.host``
    still names the source host: it is updated only after the spawn.  A
    resize within one cell reaches ``resize_finish`` with the instance
    already on its destination host (``resize_instance`` moved it), and
    calls ``finish_migration``, not ``spawn``.  So no database read is
    needed, and nothing but nova's own fields decides.
    """
    return (instance.task_state == task_states.RESIZE_FINISH and
            instance.host is not None and instance.host != host)


def power_off(adapter, system_uuid, instance, timeout):
    """Stop the instance's LPAR for the resize (clean unless no timeout)."""
    lpar_w = vm.get(adapter, system_uuid, instance)
    if lpar_w is None:
        raise nova_exc.InstanceNotFound(instance_id=instance.uuid)
    vm.power_off(lpar_w, hard=not timeout)


def reshape_flow(adapter, host_w, instance, name, power_on):
    """Stop, reshape to ``instance.flavor``, start if ``power_on``.

    ``host_w`` is the managed system's wrapper: the target shape is built
    against it (its memory region size, its shared processor pools).

    Each step undoes itself when a later one fails: a failed start stops
    the LPAR, the reshape puts the old shape back, and an LPAR this flow
    stopped is started again.
    """
    flow = tf_lf.Flow('%s_%s' % (name, instance.uuid))
    flow.add(tf_vm.StopForReshape(adapter, host_w.uuid, instance))
    flow.add(tf_vm.Reshape(adapter, host_w, instance))
    if power_on:
        flow.add(tf_vm.PowerOn(instance))
    return flow
