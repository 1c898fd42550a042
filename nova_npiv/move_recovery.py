"""Recovery of a server left in ERROR by a failed ``finish_migration``.

When ``finish_migration`` fails on the destination (a cold migration or a
resize to another managed system), its flow has undone everything it did
there: no LPAR, nothing staged, nothing half-mapped; the fabrics are
``unmapped`` with their WWPNs and this system's ports.  The source LPAR,
stopped and unmapped by ``migrate_disk_and_power_off``, is recorded in
``SOURCE_LPAR_KEY``.  So the WWPNs are logged in nowhere, never twice.

nova 34 leaves the server ERROR on the destination (``instance.host`` is
the destination since ``resize_instance``), puts the instance's old flavor
back, marks the migration ``error`` and tells the operator "You may be
able to recover the instance by hard rebooting it"
(``ComputeManager.finish_resize``).  A resize revert is not possible from
there: the API wants the server RESIZED and a ``finished`` migration, even
after ``nova reset-state --active``.  So a hard reboot, from ERROR or
after ``reset-state --active``, is the recovery, and on this driver it
finishes the arrival: the connector flow stages the WWPNs on this system
again, :func:`nova_npiv.cold_migration.arrive` creates the LPAR (its
identity recorded before the create), maps and starts it, as
``finish_migration`` would have; then the source LPAR, which no confirm
will ever delete now, is deleted (:func:`.cold_migration.remove_source`:
found by its recorded UUID, only if stopped; another console's is
reported).  A recovery that fails is undone like ``finish_migration`` and
can be tried again; deleting the server instead removes both.

A failed ``finish_revert_migration`` is the same on the source: the
destination's LPAR is gone (``revert_resize`` destroyed it), the source
LPAR is stopped and unmapped, and nova leaves the server ERROR there.
Its hard reboot found the source LPAR and started it without its
adapters; now it maps them back first (the connector flow, then
:func:`.cold_migration.come_back`), which also forgets the source key.

A failed cross-cell resize (nova's snapshot-based resize) has no LPAR to
come back to: nova's source ``destroy`` deleted it before the destination
was called.  When the destination's spawn fails, its flow leaves nothing
on its system and nova's conductor puts the *source cell's* server in
ERROR, on the host it was on, its fabrics recorded ``unmapped`` with
their WWPNs; a failed revert (the source's ``finish_revert_migration``)
leaves the same on the source.  nova again advises a hard reboot.  On
this driver it builds the LPAR again on this host's system with the same
WWPNs (the connector flow stages them, then :func:`.cross_cell.come_back`'s
flow creates, maps and starts it), as libvirt's hard reboot defines its
guest again from nova's records.  It runs only when nothing of the
instance is mapped by its records (every fabric ``unmapped``, no move
under way) and no LPAR of it is on this system, so its WWPNs are logged
in nowhere before.
"""

from oslo_log import log as logging

from nova_npiv import cold_migration
from nova_npiv import cross_cell
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv import vm

LOG = logging.getLogger(__name__)


def unfinished_arrival(drv, instance):
    """Whether ``instance`` is this host's, with no LPAR on this system and
    the source LPAR of a move still recorded: a failed finish_migration.

    No request unless the source LPAR is recorded (a move under way).
    """
    source = moves.source_lpar_uuid(instance)
    if not source or instance.host != drv.settings.host:
        return False
    return vm.get(drv.adapter, drv.system_uuid, instance) is None


def finish_arrival(drv, instance, block_device_info):
    """Hard reboot of such an instance: finish the move here, then delete
    the source LPAR.  Raises (with everything here undone) if the arrival
    fails; a failed deletion of the source is logged only, the instance
    then runs here and the source LPAR stays recorded for its delete."""
    source = moves.source_lpar_uuid(instance)
    LOG.warning('Hard reboot of an instance whose move to managed system '
                '%s did not finish (source LPAR %s stopped and unmapped): '
                'finishing the move here', drv.nodename, source,
                instance=instance)
    # What nova's connector call before finish_migration did: the WWPNs
    # staged on this system's ports.
    drv.get_volume_connector(instance)
    cold_migration.arrive(drv, instance, block_device_info, power_on=True)
    try:
        cold_migration.remove_source(drv, instance)
    except Exception:
        LOG.exception('The instance runs on managed system %s, but its '
                      'source LPAR %s could not be deleted: it stays '
                      'recorded, and deleting the server removes it',
                      drv.nodename, source, instance=instance)


def unfinished_return(drv, instance):
    """Whether ``instance`` is this host's and its LPAR here is the
    recorded source LPAR with a fabric not mapped to it: a failed
    finish_revert_migration.  No request unless the source is recorded."""
    source = moves.source_lpar_uuid(instance)
    if not source or instance.host != drv.settings.host:
        return False
    lpar_w = vm.get_by_uuid(drv.adapter, drv.system_uuid, source)
    if lpar_w is None:
        return False
    try:
        records = fabric_meta.get_fabrics(instance, drv.settings.fabrics)
    except exception.CorruptFabricMetadata:
        return False   # The reboot's own read names it.
    return any(rec.state != fabric_meta.INST_MAPPED for rec in records)


def finish_return(drv, instance, block_device_info):
    """Hard reboot of such an instance: map its adapters back to the
    source LPAR and start it, as finish_revert_migration would have."""
    LOG.warning('Hard reboot of an instance whose revert to managed system '
                '%s did not finish (its LPAR %s stopped and unmapped): '
                'mapping it again first', drv.nodename,
                moves.source_lpar_uuid(instance), instance=instance)
    drv.get_volume_connector(instance)
    cold_migration.come_back(drv, instance, block_device_info,
                             power_on=True)


def unbuilt(drv, instance):
    """Whether ``instance`` is this host's, every fabric recorded
    ``unmapped`` with its WWPNs, no move under way and no LPAR of it on
    this system: a failed cross-cell resize or revert.  No request unless
    the records say so."""
    if moves.source_lpar_uuid(instance) or \
            instance.host != drv.settings.host:
        return False
    try:
        records = fabric_meta.get_fabrics(instance, drv.settings.fabrics)
    except exception.CorruptFabricMetadata:
        return False   # The reboot's own read names it.
    if any(rec.state != fabric_meta.UNMAPPED for rec in records) or \
            not any(rec.port_map for rec in records):
        return False
    return vm.get(drv.adapter, drv.system_uuid, instance) is None


def build_again(drv, instance, block_device_info):
    """Hard reboot of such an instance: its LPAR built again here with the
    same WWPNs; a failure is undone (nothing staged, created or mapped)."""
    LOG.warning('Hard reboot of an instance with no LPAR on managed system '
                '%s and no fabric mapped (a failed cross-cell resize or '
                'revert): building its LPAR again with the same WWPNs',
                drv.nodename, instance=instance)
    drv.get_volume_connector(instance)
    cross_cell.come_back(drv, instance, block_device_info, power_on=True)


def recovered(drv, instance, block_device_info):
    """Run the recovery a hard reboot of ``instance`` calls for, if any;
    whether one ran (then the reboot is done)."""
    if unfinished_arrival(drv, instance):
        finish_arrival(drv, instance, block_device_info)
        return True
    if unfinished_return(drv, instance):
        finish_return(drv, instance, block_device_info)
        return True
    if unbuilt(drv, instance):
        build_again(drv, instance, block_device_info)
        return True
    return False
