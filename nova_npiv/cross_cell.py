"""Cross-cell resize: nova's snapshot-based resize of a volume-backed server.

A resize (or cold migration) to a host of another cell is not
``migrate_disk_and_power_off``/``finish_migration``: nova's conductor
(``conductor/tasks/cross_cell_migrate.py``) destroys the guest on the
source and spawns it on the destination.  No snapshot is taken (every disk
is a Cinder volume).  Meanwhile the instance has one database row in each
cell: the target cell's is a copy of the source's, taken *before* the
source powers off, and neither row sees what the driver writes into the
other afterwards.

The instance keeps its WWPN pairs all the way, as in a cold migration
(:mod:`nova_npiv.cold_migration`): the destination maps the *same* client
WWPNs once the source's mappings are gone, so Cinder's zoning stays valid
and no WWPN is logged in twice.  nova's calls, in its order:

``prep_snapshot_based_resize_at_source`` (source)
    ``power_off``, then ``destroy(destroy_disks=False)``: the ordinary
    destroy.  The LPAR is stopped, its vFC mappings removed and it is
    deleted; the source row's fabrics become ``unmapped``, WWPNs and ports
    kept (a destroy never releases WWPNs).
``finish_snapshot_based_resize_at_dest`` (destination)
    The connector call on the target row: its records are the copy's,
    ``inst_mapped`` on the source system's ports.  nova calls here only
    after the source's destroy returned, so those mappings are gone: the
    connector forgets them (``unmapped``, WWPNs kept) and stages the same
    WWPNs on this system's ports (:func:`.connector_flow.stale_on_arrival`).
    Then ``spawn`` (told apart by :func:`.resize.arriving_cross_cell`):
    :func:`arrive`.
``confirm_snapshot_based_resize_at_source`` (source)
    ``cleanup`` without block devices: the ordinary clean-up; the LPAR is
    gone already, so only mappings this system still has of the instance
    (by partition and by its WWPNs on the staging partition) would be
    removed.  nova then deletes the source row.
``revert_snapshot_based_resize_at_dest`` (destination)
    The ordinary ``destroy``: unmapped, LPAR deleted.  nova then deletes
    the target row.
``finish_revert_snapshot_based_resize_at_source`` (source)
    The connector call on the source row (``unmapped`` since the source's
    destroy, on its own ports): the same WWPNs staged here again.  Then
    ``finish_revert_migration`` with a migration record marked
    ``cross_cell_move``: :func:`come_back`, which builds the LPAR again in
    the old flavor with the same WWPNs.

Identity: the LPAR is created with the UUID derived from the instance's
when no partition of the console holds it, which is the usual case (nova
deleted the instance's other LPAR before it calls here).  A UUID recorded
earlier (``vm.LPAR_UUID_KEY``, copied with the row) names a partition that
no longer exists then, and is forgotten.  If a partition of another system
holds the derived UUID, the LPAR gets the instance's own UUID for this
system (:func:`vm.fresh_uuid`), recorded before the create.  Nothing is
ever found by name.

Failure: each call is one flow whose tasks undo themselves; a failed
:func:`arrive` or :func:`come_back` leaves no LPAR, no mapping and no
staging on its system, the WWPNs recorded and ``unmapped`` (nova puts the
server in ERROR: its conductor has no way back once the source LPAR was
destroyed).
"""

from nova.virt import driver as nova_driver
from oslo_log import log as logging
from taskflow.patterns import linear_flow as tf_lf
from taskflow import task

from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.tasks import vm as tf_vm
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import connector_flow

LOG = logging.getLogger(__name__)


def arrive(drv, instance, block_device_info, power_on):
    """Destination, ``spawn``: the LPAR built here with the same WWPNs."""
    _build(drv, instance, block_device_info, power_on, 'cross_cell_dest')


def come_back(drv, instance, block_device_info, power_on):
    """Source, ``finish_revert_migration``: the LPAR built again here.

    nova has restored the old flavor as ``instance.flavor``; the source's
    destroy deleted the LPAR this host had, and nova's connector call just
    staged the WWPNs again on this system's ports.
    """
    _build(drv, instance, block_device_info, power_on, 'cross_cell_revert')


def _build(drv, instance, block_device_info, power_on, name):
    """Create, map and start the instance's LPAR; every step undone on a
    later failure, the staging included (nova destroys nothing after a
    failed cross-cell spawn or revert)."""
    # Bad extra specs or connection_info are refused before anything is
    # created.
    vm.build(drv.adapter, instance, host_w=drv.host_wrapper)
    _forget_stale(drv, instance)
    stg_ftsk = npiv_vios.feed_task(drv.adapter, drv.system_uuid,
                                   '%s_%s' % (name, instance.uuid),
                                   xags=npiv_vios.XAGS_PORTS)
    bdms = nova_driver.block_device_info_get_mapping(block_device_info)
    volumes = [drv._volume(instance, bdm.get('connection_info'), stg_ftsk)
               for bdm in bdms]
    for npiv in volumes:
        npiv.validated_target()
    ledger = moves.Ledger()
    flow = tf_lf.Flow('%s_%s' % (name, instance.uuid))
    flow.add(moves.UnstageOnFailure(drv._npiv(instance), ledger),
             ChooseIdentity(drv.adapter, drv.system_uuid, instance, ledger),
             tf_vm.Create(drv.adapter, drv.system_uuid, instance,
                          fabrics=drv.settings.fabrics,
                          host_w=drv.host_wrapper, uuid_from_flow=True))
    for npiv in volumes:
        flow.add(tf_stg.ConnectVolume(npiv, lpar_from_flow=True))
    flow.add(stg_ftsk)
    if power_on:
        flow.add(tf_vm.PowerOn(instance))
    drv._run(flow, instance)


def _forget_stale(drv, instance):
    """The connector's forgetting, if nova did not ask for a connector.

    nova always does before this spawn (its block device preparation asks
    for it per volume); without it the connect would take the copy's
    ``inst_mapped`` for mappings here and map nothing.  Metadata only: the
    mappings those records named are gone whatever happens next, so there
    is nothing to undo.
    """
    npiv = drv._npiv(instance)
    stale = connector_flow.stale_on_arrival(npiv)
    if not stale:
        return
    LOG.warning('Fabric(s) %s still record the source\'s mappings: the '
                'connector was not asked here; recording them unmapped',
                ', '.join(stale), instance=instance)
    for fabric in stale:
        npiv.records.set(fabric, fabric_meta.UNMAPPED)
    npiv.records.save()


class ChooseIdentity(task.Task):
    """The UUID the LPAR is created with, recorded before the create.

    Provides ``lpar_uuid`` (None: the derived one).  See the module
    docstring; the undo puts the recorded UUID of before back.
    """

    def __init__(self, adapter, system_uuid, instance, ledger):
        super().__init__('choose_identity_%s' % instance.uuid,
                         provides='lpar_uuid')
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.ledger = ledger
        self.old = None
        self.changed = False

    def execute(self):
        sysmeta = self.instance.system_metadata
        self.old = sysmeta.get(vm.LPAR_UUID_KEY)
        self.changed = False
        chosen = vm.fresh_uuid(self.adapter, self.system_uuid, self.instance)
        new = chosen
        if chosen is not None:
            LOG.info('A partition of another system holds the derived LPAR '
                     'UUID: creating this one as %s', chosen,
                     instance=self.instance)
        elif self.old and vm.holder(self.adapter, self.old.upper()):
            # Still a partition's: nothing proves it is not the instance's
            # (the record says it is), so the proof is kept.
            LOG.warning('The recorded LPAR UUID %s still names a partition '
                        'of this console: kept', self.old,
                        instance=self.instance)
            new = self.old
        elif self.old:
            LOG.info('The recorded LPAR UUID %s names no partition any '
                     'more: forgotten', self.old, instance=self.instance)
        if new != self.old:
            _set_identity(self.instance, new)
            self.changed = True
        return chosen

    def revert(self, *args, **kwargs):
        if not self.changed:
            return
        self.ledger.undo('Putting back %s of %s' % (vm.LPAR_UUID_KEY,
                                                     self.instance.uuid),
                         _set_identity, self.instance, self.old)


def _set_identity(instance, value):
    sysmeta = instance.system_metadata
    if value is None:
        sysmeta.pop(vm.LPAR_UUID_KEY, None)
    else:
        sysmeta[vm.LPAR_UUID_KEY] = value
    instance.save()
