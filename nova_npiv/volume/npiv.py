"""NPIV: the instance owns virtual FC adapters with WWPNs of its own.

The vFC adapters belong to the instance, not to a volume: the first connector
call allocates their WWPN pairs and chooses physical ports, every volume of the
instance is then zoned to the same WWPNs, and only deleting the instance (or
undoing its spawn) unmaps them.  Per fabric the progress is recorded in
``system_metadata`` (see :mod:`nova_npiv.fabric_meta`) so that a restart of
nova-compute, or another host during live migration, knows where it stands.

The volume driver composes the jobs, each in a module of its own: the
connector call (:mod:`.connector_flow`), port choice (:mod:`.placement`),
the VIOS operations and their undo (:mod:`.vfc_ops`) and live migration
(:mod:`.migration`); the instance's records are one
:class:`~nova_npiv.fabric_records.FabricRecords`.
"""

import weakref

from nova import exception as nova_exc
from oslo_concurrency import lockutils
from oslo_config import cfg
from oslo_log import log as logging

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import fabric_records
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.volume import connector_flow
from nova_npiv.volume import fc
from nova_npiv.volume import migration
from nova_npiv.volume import vfc_ops

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: FeedTasks that already carry the mapping work of an instance, so that the
#: second and later volumes of one operation queue nothing more.
_QUEUED = weakref.WeakKeyDictionary()


class NPIVVolumeDriver(fc.FibreChannelVolumeDriver):

    vios_xags = npiv_vios.XAGS_PORTS

    def __init__(self, adapter, system_uuid, instance, connection_info,
                 stg_ftsk=None, staging=None, conf=CONF, settings=None,
                 lpar_uuid=None):
        super().__init__(adapter, system_uuid, instance, connection_info,
                         stg_ftsk=stg_ftsk)
        #: The instance's LPAR; derived from the instance unless the
        #: caller knows better (see ``vm.create``).
        self.lpar_uuid = lpar_uuid or vm.lpar_uuid_of(instance.uuid)
        self.staging = staging
        self.settings = settings or npiv_conf.load_settings(conf)
        self.fabrics = self.settings.fabrics
        #: The instance's fabric state, decoded once for this object.
        self.records = fabric_records.FabricRecords(instance, self.fabrics)
        self.migration = migration.NPIVMigration(self)
        self._queued_here = False
        #: Fabrics the queued connect moves to ``inst_mapped``: what a
        #: rollback may undo (None: nothing queued here, all of them).
        self._connected_fabrics = None

    @property
    def staging_uuid(self):
        return self.staging.uuid if self.staging is not None else None

    # -- what the storage backend is told --------------------------------

    def host_name(self):
        return fabric_meta.host_name(self.instance)

    def wwpns(self):
        """Active WWPNs of every fabric, allocating and staging if needed.

        Serialised per instance, with the instance re-read under the lock,
        so that two concurrent connector calls (nova calls it once per
        volume) never allocate two sets of WWPNs.
        """
        with lockutils.lock('npiv-wwpns-%s' % self.instance.uuid):
            self._refresh_instance()
            return connector_flow.run(self)

    def initiator_wwpns(self):
        return self.records.all_wwpns()

    # -- connect / disconnect -------------------------------------------

    def _connect_volume(self):
        self.validated_target()
        missing = self.records.fabrics_where(lambda rec: not rec.entries)
        if missing:
            raise exception.VolumeMappingFailed(
                instance=self.instance.uuid,
                reason='fabric(s) %s have no WWPNs: the volume connector was '
                       'never asked for' % ', '.join(missing))
        if all(r.state == fabric_meta.INST_MAPPED for r in self.records):
            LOG.debug('vFC adapters of %s already mapped; volume %s needs '
                      'no VIOS change', self.instance.uuid, self.volume_id)
            return
        self.queue_instance_mappings()

    def _disconnect_volume(self):
        """A plain detach leaves the vFC adapters alone.

        They belong to the instance and carry its other volumes; the storage
        backend's unmapping of the LUN is what detaches the volume.
        """
        self.validated_target()

    def extend_volume(self):
        """Nothing to do on the VIOSes: the LUN is passed through whole.

        The client operating system sees the new size on its next rescan;
        what can be checked is that the volume is visible at all.
        """
        self.validated_target()
        unmapped = self.records.fabrics_where(
            lambda rec: rec.state != fabric_meta.INST_MAPPED)
        if unmapped:
            raise exception.VolumeMappingFailed(
                instance=self.instance.uuid,
                reason='fabric(s) %s not mapped to the instance; volume %s '
                       'cannot be extended' % (', '.join(unmapped),
                                               self.volume_id))

    def queue_instance_mappings(self):
        """Queue staging removal + instance mappings on the storage FeedTask.

        Both happen in the same POST per VIOS.  Queued once per FeedTask and
        instance whatever the number of volumes.
        """
        ftsk = self.stg_ftsk
        queued = _QUEUED.setdefault(ftsk, set())
        if self.instance.uuid in queued:
            return False
        foreign = connector_flow.foreign_fabrics(self)
        if foreign:
            # Rescheduled from another system: new ports are needed before
            # anything is queued.  The feed is read now instead of when the
            # FeedTask runs (still one GET, the FeedTask keeps it).
            connector_flow.rehome(self, foreign, npiv_vios.with_ports(
                npiv_vios.active(ftsk.feed), self.system_uuid))
        queued.add(self.instance.uuid)
        self._queued_here = True
        # What a rollback may undo: fabrics already mapped to the instance
        # carry its other volumes (attach to a running instance).
        self._connected_fabrics = self.records.fabrics_where(
            lambda rec: rec.state != fabric_meta.INST_MAPPED)
        ftsk.add_functor_subtask(
            vfc_ops.map_to_instance, self.system_uuid, self.lpar_uuid,
            self.staging_uuid, fabric_records.pvm(self.records.entries()))
        ftsk.add_post_execute(tf_stg.SaveFabricState(
            self.instance, self.fabrics, fabric_meta.INST_MAPPED))
        return True

    def rollback_connect(self):
        """Undo the instance mappings queued here, after a failure.

        Whatever part of the FeedTask landed, the instance ends unmapped and
        without staging mappings; its WWPNs are kept so that a retry presents
        the same initiators to the SAN.
        """
        if not self._queued_here:
            return
        # Queued here until undone: a failed undo can be tried again.
        self._rollback_connect()
        self._queued_here = False

    def _rollback_connect(self):
        fabrics = (self.fabrics if self._connected_fabrics is None
                   else self._connected_fabrics)
        if set(fabrics) >= set(self.fabrics):
            self.remove_instance_mappings(update_metadata=True)
            return
        # Only the fabrics this connect was mapping: the others were mapped
        # before and carry the instance's other volumes.
        self.reset_stg_ftsk()
        self.stg_ftsk.add_functor_subtask(
            vfc_ops.unmap_port_maps, self.lpar_uuid, self.staging_uuid,
            fabric_records.pvm(self.records.entries(fabrics)))
        self.stg_ftsk.add_post_execute(tf_stg.SaveFabricState(
            self.instance, fabrics, fabric_meta.UNMAPPED))
        self._run_own_ftsk()

    def queue_instance_unmapping(self, update_metadata=True):
        """Queue removal of every mapping of the instance and its staging.

        Used by delete, spawn rollback and the clean-up of an evacuated
        instance on its old host (where the metadata is no longer ours).
        """
        self.stg_ftsk.add_functor_subtask(
            vfc_ops.unmap_instance, self.lpar_uuid, self.staging_uuid,
            fabric_records.pvm(self.lenient_entries()))
        if update_metadata:
            self.stg_ftsk.add_post_execute(tf_stg.SaveFabricState(
                self.instance, self.fabrics, fabric_meta.UNMAPPED))

    def restore_mappings(self):
        """Map back what the metadata records, after a failed unmapping.

        A delete whose FeedTask failed on one VIOS has removed the mappings
        on the others (all of them when a reply was lost) while the metadata
        still records them; mapping them again makes the VIOSes agree with
        it, and a retried delete starts from there.  Nothing to do once the
        unmapping was recorded.
        """
        try:
            records = list(self.records)
        except exception.CorruptFabricMetadata:
            return
        inst_entries = [e for r in records
                        if r.state == fabric_meta.INST_MAPPED
                        for e in r.entries]
        staged = [e for r in records
                  if r.state == fabric_meta.MGMT_MAPPED for e in r.entries]
        staging_uuid = self.staging_uuid if staged else None
        if not inst_entries and not staging_uuid:
            return
        LOG.warning('Mapping the vFC adapters of %s back after a failed '
                    'unmapping', self.instance.uuid)
        vfc_ops.restore(self.adapter, self.system_uuid, self.instance,
                        self.lpar_uuid, staging_uuid, inst_entries, staged)

    def remove_instance_mappings(self, update_metadata=True):
        """Unmap the instance now, on a FeedTask of its own."""
        self.reset_stg_ftsk()
        self.queue_instance_unmapping(update_metadata=update_metadata)
        self._run_own_ftsk()

    # -- records that cannot all be read ---------------------------------

    def lenient_entries(self):
        """Entries of every fabric that can be read (delete, rollback).

        Whatever fabric can be read is unmapped by its WWPNs; the
        instance's own mappings go by partition anyway.
        """
        for fabric, err in self.records.errors().items():
            LOG.warning('%s: removing the mappings of fabric %s by '
                        'partition only', err.format_message(), fabric)
        return [e for rec in self.records.readable() for e in rec.entries]

    def unidentifiable_staging(self):
        """Errors of fabrics whose staging mappings cannot be found.

        Staging mappings point at the staging partition, not at the
        instance, so only their WWPNs tell them apart from the others.  A
        fabric whose state key cannot be read, or that is ``mgmt_mapped``
        with an unreadable port map, may have some that nothing can
        identify: removing "everything" would then leak them.
        """
        if self.staging_uuid is None:
            return []
        sysmeta = self.instance.system_metadata or {}
        errors = []
        for fabric, err in self.records.errors().items():
            state = sysmeta.get(fabric_meta.state_key(fabric))
            if state not in (None, fabric_meta.UNMAPPED,
                             fabric_meta.INST_MAPPED):
                errors.append(err)
        return errors

    def _refresh_instance(self):
        try:
            self.instance.refresh()
        except (nova_exc.InstanceNotFound,
                nova_exc.OrphanedObjectError) as err:
            # Nothing to re-read: no row (gone, or never saved) or no context
            # to read it with, so no concurrent writer either.  Any other
            # failure (database, RPC) propagates: going on with a stale copy
            # could allocate a second set of WWPNs.
            LOG.debug('Could not refresh instance %s: %s', self.instance.uuid,
                      err)
