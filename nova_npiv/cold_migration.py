"""Resize and cold migration to another managed system.

The instance keeps its WWPN pairs: the destination maps the *same* client
WWPNs, after the source's mappings are gone (one WWPN is never logged in
twice), so the zoning Cinder did stays valid and the instance's WWPN set
never changes.  A revert maps them back on the source.  nova's calls:

``migrate_disk_and_power_off`` (source)
    :func:`leave`: record the source LPAR's UUID (``SOURCE_LPAR_KEY``),
    stop it, remove its vFC mappings (fabrics ``unmapped``, WWPNs and
    ports kept).  The LPAR itself stays, stopped, until confirm.
nova's connector call on the destination (``finish_resize``)
    The ordinary connector flow: the fabrics are ``unmapped`` on ports of
    another system, so it chooses ports here for the same WWPNs and stages
    them (``mgmt_mapped``); Cinder is given the same WWPNs.
``finish_migration`` (destination)
    :func:`arrive`: create the LPAR (with the derived UUID unless a
    partition of another system, the source LPAR, holds it: then with a
    UUID of our own, recorded before the create), map the adapters to it,
    start it.  The spawn's tasks, reverted the same way.
``confirm_migration`` (source)
    :func:`confirm`: delete the source LPAR, found by its recorded UUID,
    and forget that UUID.
``revert_resize`` → ``destroy`` (destination)
    The ordinary destroy: unmap, delete the destination LPAR.
nova's connector call on the source, then ``finish_revert_migration``
    :func:`come_back`: map the adapters to the source LPAR again, give it
    its identity of before, start it.

Failure at any step undoes that step's flow: nothing staged, nothing
half-mapped.  A failed ``leave`` whose undo worked raises nova's
``InstanceFaultRollback``, so the instance stays ACTIVE (or STOPPED) on
the source.  No call looks an LPAR up by name.
"""

from nova import exception as nova_exc
from nova.virt import driver as nova_driver
from oslo_log import log as logging
from pypowervm.wrappers import base_partition as pvm_bp
from taskflow.patterns import linear_flow as tf_lf

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.tasks import vm as tf_vm
from nova_npiv import vios as npiv_vios
from nova_npiv import vm

LOG = logging.getLogger(__name__)


def leaves_host(migration):
    """Whether nova's migration record moves the instance off this host."""
    return (migration is not None and
            migration.source_compute != migration.dest_compute)


def _refuse(instance, reason):
    LOG.warning(reason, instance=instance)
    raise nova_exc.InstanceFaultRollback(
        inner_exception=nova_exc.MigrationPreCheckError(reason=reason))


def leave(drv, instance, migration, timeout):
    """Source, ``migrate_disk_and_power_off``: stop and unmap the LPAR."""
    lpar_w = vm.get(drv.adapter, drv.system_uuid, instance)
    if lpar_w is None:
        _refuse(instance, 'Instance %s has no LPAR on managed system %s: '
                'nothing to migrate' % (instance.uuid, drv.nodename))
    npiv = drv._npiv(instance, lpar_w=lpar_w)
    try:
        not_mapped = npiv.records.fabrics_where(
            lambda rec: rec.state != fabric_meta.INST_MAPPED)
    except exception.CorruptFabricMetadata as err:
        _refuse(instance, err.format_message())
    if not_mapped:
        _refuse(instance, 'fabric(s) %s of instance %s are not mapped to '
                'its LPAR: nothing was changed' % (', '.join(not_mapped),
                                                   instance.uuid))
    LOG.info('Leaving managed system %s for host %s (node %s): the same '
             'WWPNs will be mapped there', drv.nodename,
             migration.dest_compute, migration.dest_node, instance=instance)
    ledger = moves.Ledger()
    flow = tf_lf.Flow('migrate_source_%s' % instance.uuid)
    flow.add(moves.SetKey(instance, moves.SOURCE_LPAR_KEY,
                          lpar_w.uuid.upper(), ledger, 'record_source'),
             moves.FindLpar(drv.adapter, drv.system_uuid, instance,
                            lpar_w.uuid, lpar_w=lpar_w),
             moves.Stop(instance, ledger, hard=not timeout),
             moves.UnmapSource(npiv, ledger))
    try:
        drv._run(flow, instance)
    except Exception as err:
        if ledger.failed:
            raise   # Not back where it was: nova puts it in ERROR.
        _refuse(instance, 'Leaving managed system %s failed and was undone '
                '(the LPAR is mapped and in its state of before): %s'
                % (drv.nodename, err))


def _volumes(drv, instance, block_device_info, stg_ftsk, lpar_w=None):
    bdms = nova_driver.block_device_info_get_mapping(block_device_info)
    volumes = [drv._volume(instance, bdm.get('connection_info'), stg_ftsk)
               for bdm in bdms]
    if lpar_w is not None:
        for npiv in volumes:
            npiv.lpar_uuid = lpar_w.uuid
    for npiv in volumes:
        npiv.validated_target()
    return volumes


def arrive(drv, instance, block_device_info, power_on):
    """Destination, ``finish_migration``: create, map and start the LPAR.

    Bad extra specs or connection_info are refused before anything is
    created.  The revert deletes the LPAR it created, unmaps the adapters
    and their staging, and gives the instance its LPAR identity of before.
    """
    vm.build(drv.adapter, instance, host_w=drv.host_wrapper)
    stg_ftsk = npiv_vios.feed_task(drv.adapter, drv.system_uuid,
                                   'migrate_dest_%s' % instance.uuid,
                                   xags=npiv_vios.XAGS_PORTS)
    volumes = _volumes(drv, instance, block_device_info, stg_ftsk)
    ledger = moves.Ledger()
    flow = tf_lf.Flow('migrate_dest_%s' % instance.uuid)
    flow.add(moves.UnstageOnFailure(drv._npiv(instance), ledger))
    flow.add(moves.ChooseIdentity(drv.adapter, drv.system_uuid, instance,
                                  ledger))
    flow.add(tf_vm.Create(drv.adapter, drv.system_uuid, instance,
                          fabrics=drv.settings.fabrics,
                          host_w=drv.host_wrapper, uuid_from_flow=True))
    for npiv in volumes:
        flow.add(tf_stg.ConnectVolume(npiv, lpar_from_flow=True))
    flow.add(stg_ftsk)
    if power_on:
        flow.add(tf_vm.PowerOn(instance))
    drv._run(flow, instance)


def come_back(drv, instance, block_device_info, power_on):
    """Source, ``finish_revert_migration``: map the adapters back, start.

    The destination's ``destroy`` has unmapped and deleted its LPAR, and
    nova's connector call here staged the WWPNs again on this system's
    ports.  The revert unmaps (staging included) and stops the LPAR again:
    it stays where the revert found it.
    """
    uuid = moves.source_lpar_uuid(instance)
    lpar_w = (vm.get_by_uuid(drv.adapter, drv.system_uuid, uuid)
              if uuid else None)
    if lpar_w is None:
        raise exception.VolumeMappingFailed(
            instance=instance.uuid,
            reason='no LPAR recorded as the source of the migration '
                   '(%s: %s) is on managed system %s'
                   % (moves.SOURCE_LPAR_KEY, uuid, drv.nodename))
    stg_ftsk = npiv_vios.feed_task(drv.adapter, drv.system_uuid,
                                   'migrate_revert_%s' % instance.uuid,
                                   xags=npiv_vios.XAGS_PORTS)
    volumes = _volumes(drv, instance, block_device_info, stg_ftsk,
                       lpar_w=lpar_w)
    ledger = moves.Ledger()
    own = None if uuid == vm.lpar_uuid(instance) else uuid
    flow = tf_lf.Flow('migrate_revert_%s' % instance.uuid)
    flow.add(moves.UnstageOnFailure(drv._npiv(instance), ledger),
             moves.FindLpar(drv.adapter, drv.system_uuid, instance, uuid,
                            lpar_w=lpar_w),
             moves.SetKey(instance, vm.LPAR_UUID_KEY, own, ledger,
                          'identity_of_before'))
    for npiv in volumes:
        flow.add(tf_stg.ConnectVolume(npiv, lpar_from_flow=True))
    flow.add(stg_ftsk)
    if power_on:
        flow.add(tf_vm.PowerOn(instance))
    flow.add(moves.SetKey(instance, moves.SOURCE_LPAR_KEY, None, ledger,
                          'forget_source'))
    drv._run(flow, instance)


def confirm(drv, instance):
    """Source, ``confirm_migration``: delete the source LPAR.

    Only the partition whose UUID was recorded when it was left, and only
    on this system; its leftover mappings (none, unless a platform kept
    some) go by partition, the fabric records are the destination's.
    """
    uuid = moves.source_lpar_uuid(instance)
    lpar_w = (vm.get_by_uuid(drv.adapter, drv.system_uuid, uuid)
              if uuid else None)
    if lpar_w is None:
        LOG.warning('No source LPAR (%s) on managed system %s to delete',
                    uuid, drv.nodename, instance=instance)
    drv._run(_delete_source(drv, instance, drv.system_uuid, lpar_w,
                            'migrate_confirm'), instance)


def remove_source(drv, instance):
    """On delete: the source LPAR of a move that never finished.

    A server left in ERROR by a failed ``finish_migration`` (or
    ``finish_revert_migration``) keeps, stopped and unmapped, the source
    LPAR that confirm would have deleted; nova's delete only reaches the
    host the server is on now.  The LPAR is found by its recorded UUID on
    any system of this console and deleted if it is stopped; one that
    runs, or that this console does not have (another console's), is
    reported for the operator and left alone.
    """
    uuid = moves.source_lpar_uuid(instance)
    if not uuid:
        return
    lpar_w = vm.holder(drv.adapter, uuid)
    if lpar_w is None or lpar_w.state != pvm_bp.LPARState.NOT_ACTIVATED:
        LOG.warning('The source LPAR %s of an unfinished move is %s: left '
                    'for the operator', uuid,
                    'not on this console (deleted, or another console\'s)'
                    if lpar_w is None else lpar_w.state, instance=instance)
        return
    LOG.warning('Deleting the source LPAR %s of an unfinished move',
                uuid, instance=instance)
    drv._run(_delete_source(drv, instance,
                            lpar_w.assoc_sys_uuid or drv.system_uuid,
                            lpar_w, 'remove_source'), instance)


def _delete_source(drv, instance, system_uuid, lpar_w, name):
    uuid = moves.source_lpar_uuid(instance)
    ledger = moves.Ledger()
    flow = tf_lf.Flow('%s_%s' % (name, instance.uuid))
    if lpar_w is not None:
        flow.add(tf_vm.PowerOff(lpar_w, hard=True),
                 moves.RemoveLeftovers(drv.adapter, system_uuid,
                                       instance, lpar_w.uuid),
                 tf_vm.CloseVterm(drv.adapter, system_uuid, lpar_w),
                 tf_vm.Delete(drv.adapter, system_uuid, instance,
                              lpar_uuid=lpar_w.uuid))
    if uuid and vm.recorded_uuid(instance) == uuid:
        # The destination's LPAR has the derived UUID: the source's
        # own UUID names nothing any more.
        flow.add(moves.SetKey(instance, vm.LPAR_UUID_KEY, None, ledger,
                              'forget_source_identity'))
    flow.add(moves.SetKey(instance, moves.SOURCE_LPAR_KEY, None, ledger,
                          'forget_source'))
    return flow
