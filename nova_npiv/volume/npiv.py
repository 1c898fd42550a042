"""NPIV: the instance owns virtual FC adapters with WWPNs of its own.

The vFC adapters belong to the instance, not to a volume: the first connector
call allocates their WWPN pairs and chooses physical ports, every volume of the
instance is then zoned to the same WWPNs, and only deleting the instance (or
undoing its spawn) unmaps them.  Per fabric the progress is recorded in
``system_metadata`` (see :mod:`nova_npiv.fabric_meta`) so that a restart of
nova-compute, or another host during live migration, knows where it stands.
"""

import weakref

from nova.compute import task_states
from nova import exception as nova_exc
from oslo_concurrency import lockutils
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import vfc_mapper
from taskflow.patterns import linear_flow as tf_lf

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import jobs
from nova_npiv import migration_data
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv import wwpn as wwpn_util
from nova_npiv.tasks import base as tf_base
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.volume import fc

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: WWPN pairs the platform hands out per GetNextWWPNs job.
MAX_PAIRS_PER_JOB = 8

#: Task states of a rebuild, which is how an evacuation reaches its new host.
_REBUILD_STATES = (task_states.REBUILDING,
                   task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                   task_states.REBUILD_SPAWNING)

#: FeedTasks that already carry the mapping work of an instance, so that the
#: second and later volumes of one operation queue nothing more.
_QUEUED = weakref.WeakKeyDictionary()


#: Re-exported: the LPAR's identity lives in :mod:`nova_npiv.vm`.
lpar_uuid = vm.lpar_uuid
lpar_uuid_of = vm.lpar_uuid_of


def _pair(port_map_entry):
    return port_map_entry[1].split()


class NPIVVolumeAdapter(fc.FibreChannelVolumeAdapter):

    vios_xags = npiv_vios.XAGS_PORTS

    def __init__(self, adapter, host_uuid, instance, connection_info,
                 stg_ftsk=None, staging=None, conf=CONF, settings=None,
                 lpar_uuid=None):
        super().__init__(adapter, host_uuid, instance, connection_info,
                         stg_ftsk=stg_ftsk)
        #: The instance's LPAR; derived from the instance unless the
        #: caller knows better (see ``vm.create``).
        self.lpar_uuid = lpar_uuid or lpar_uuid_of(instance.uuid)
        self.staging = staging
        self.settings = settings or npiv_conf.load_settings(conf)
        self.fabrics = self.settings.fabrics
        self._queued_here = False

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
            if self._is_migration_destination():
                # Cinder must map the WWPN that will log in here; staging
                # lets it log in now, so the zone manager can see it.
                if self._staging_uuid() is not None:
                    self._stage_partners()
                return fabric_meta.partner_wwpns(self.instance, self.fabrics)
            self._finish_migration_here()
            self._forget_foreign_mappings()
            records = self._records()
            to_derive = [f for f in self.fabrics if not records[f].port_map]
            to_stage = [f for f in self.fabrics
                        if records[f].state == fabric_meta.UNMAPPED]
            if to_stage and (self._staging_uuid() is None or
                             self.instance.task_state == task_states.DELETING):
                # Deleting: the connector only serves to terminate the
                # connections; staging now would outlive the instance.
                to_stage = []
            if to_derive or to_stage:
                self._allocate_and_stage(to_derive, to_stage)
            return fabric_meta.active_wwpns(self.instance, self.fabrics)

    def initiator_wwpns(self):
        return fabric_meta.all_wwpns(self.instance, self.fabrics)

    # -- connect / disconnect -------------------------------------------

    def _connect_volume(self):
        self.validated_target()
        records = self._records()
        missing = [f for f in self.fabrics if not records[f].port_map]
        if missing:
            raise exception.VolumeMappingFailed(
                instance=self.instance.uuid,
                reason='fabric(s) %s have no WWPNs: the volume connector was '
                       'never asked for' % ', '.join(missing))
        if all(r.state == fabric_meta.INST_MAPPED for r in records.values()):
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
        unmapped = [r.fabric for r in self._records().values()
                    if r.state != fabric_meta.INST_MAPPED]
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
        foreign = self._foreign_fabrics()
        if foreign:
            # Rescheduled from another system: new ports are needed before
            # anything is queued.  The feed is read now instead of when the
            # FeedTask runs (still one GET, the FeedTask keeps it).
            self._rehome(foreign, npiv_vios.active(ftsk.feed))
        queued.add(self.instance.uuid)
        self._queued_here = True
        # What a rollback may undo: fabrics already mapped to the instance
        # carry its other volumes (attach to a running instance).
        self._connected_fabrics = [
            f for f, rec in self._records().items()
            if rec.state != fabric_meta.INST_MAPPED]
        port_maps = self._port_maps()
        ftsk.add_functor_subtask(
            _map_to_instance, self.host_uuid, self.lpar_uuid,
            self._staging_uuid(), port_maps)
        ftsk.add_post_execute(tf_stg.SaveFabricState(
            self.instance, self.fabrics, fabric_meta.INST_MAPPED))
        return True

    def rollback_connect(self):
        """Undo the instance mappings this adapter queued, after a failure.

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
        fabrics = getattr(self, '_connected_fabrics', self.fabrics)
        if set(fabrics) >= set(self.fabrics):
            self.remove_instance_mappings(update_metadata=True)
            return
        # Only the fabrics this connect was mapping: the others were mapped
        # before and carry the instance's other volumes.
        records = self._records()
        port_maps = [e for f in fabrics for e in records[f].port_map]
        self.reset_stg_ftsk()
        self.stg_ftsk.add_functor_subtask(
            _unmap_port_maps, self.lpar_uuid, self._staging_uuid(), port_maps)
        self.stg_ftsk.add_post_execute(tf_stg.SaveFabricState(
            self.instance, fabrics, fabric_meta.UNMAPPED))
        self._run_own_ftsk()

    def queue_instance_unmapping(self, update_metadata=True):
        """Queue removal of every mapping of the instance and its staging.

        Used by delete, spawn rollback and the clean-up of an evacuated
        instance on its old host (where the metadata is no longer ours).
        """
        port_maps = self._port_maps(strict=False)
        self.stg_ftsk.add_functor_subtask(
            _unmap_instance, self.lpar_uuid, self._staging_uuid(),
            port_maps)
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
            records = self._records()
        except exception.CorruptFabricMetadata:
            return
        inst_maps = [e for r in records.values()
                     if r.state == fabric_meta.INST_MAPPED
                     for e in r.port_map]
        staged = [e for r in records.values()
                  if r.state == fabric_meta.MGMT_MAPPED for e in r.port_map]
        staging_uuid = self._staging_uuid() if staged else None
        if not inst_maps and not staging_uuid:
            return
        LOG.warning('Mapping the vFC adapters of %s back after a failed '
                    'unmapping', self.instance.uuid)
        ftsk = npiv_vios.feed_task(self.adapter, self.host_uuid,
                                   'restore_%s' % self.instance.uuid,
                                   xags=npiv_vios.XAGS_PORTS)
        if inst_maps:
            ftsk.add_functor_subtask(_map_to_instance, self.host_uuid,
                                     self.lpar_uuid, None, inst_maps)
        if staging_uuid:
            ftsk.add_functor_subtask(_map_to_staging, self.host_uuid,
                                     staging_uuid, staged)
        ftsk.execute()

    def remove_instance_mappings(self, update_metadata=True):
        """Unmap the instance now, on a FeedTask of this adapter's own."""
        self.reset_stg_ftsk()
        self.queue_instance_unmapping(update_metadata=update_metadata)
        self._run_own_ftsk()

    # -- live migration --------------------------------------------------

    def client_slots(self, vios_wraps=None):
        """Per fabric, the client slots of the instance's vFC adapters.

        Ordered like the fabric's port map, which is how the destination
        pairs them with its own physical ports.
        """
        if vios_wraps is None:
            vios_wraps = npiv_vios.read_feed(self.adapter, self.host_uuid,
                                             npiv_vios.XAGS_MAPPINGS)
        by_pair = {key: vmap.client_adapter.lpar_slot_num
                   for key, vmap in self._maps_by_pair(vios_wraps)}
        slots = {}
        for fabric, record in self._records().items():
            slots[fabric] = []
            for entry in record.port_map:
                key = frozenset(wwpn_util.normalize_list(_pair(entry)))
                if key not in by_pair:
                    raise exception.LiveMigrationDataError(
                        instance=self.instance.uuid,
                        reason='no vFC adapter with WWPNs %s on fabric %s'
                        % (entry[1], fabric))
                slots[fabric].append(by_pair[key])
        return slots

    def migration_targets(self, vios_wraps=None):
        """Destination: per fabric, where each vFC adapter will land.

        ``'<vios name>/<vios id>//<port name>'`` per adapter, in port map
        order; the source puts its client slot in front of each to form the
        Migrate job's ``VirtualFCMappings``.  Ports are chosen like for a new
        instance: spread over VIOSes, most free NPIV capacity first.
        """
        if vios_wraps is None:
            vios_wraps = npiv_vios.read_feed(self.adapter, self.host_uuid,
                                             npiv_vios.XAGS_PORTS)
        active = npiv_vios.active(vios_wraps)
        targets = {}
        for fabric, record in self._records().items():
            if not record.port_map:
                continue
            ports = self._usable_ports(fabric, active)
            order = _rotate(active, self.fabrics.index(fabric))
            try:
                basic = vfc_mapper.derive_base_npiv_map(
                    order, ports, len(record.port_map))
            except pvm_exc.UnableToFindFCPortMap:
                raise exception.NoFabricCapacity(
                    fabric=fabric, wanted=len(record.port_map),
                    found=len(ports))
            targets[fabric] = []
            for phys_wwpn, _ in basic:
                vios_w, port = vfc_mapper.find_vios_for_wwpn(order,
                                                             phys_wwpn)
                targets[fabric].append('%s/%s//%s' % (vios_w.name, vios_w.id,
                                                      port.name))
        return targets

    def prepare_migration_destination(self):
        """Destination, before the Migrate job: unstage, then choose ports.

        The partner WWPNs staged by the connector must be gone before the
        platform moves the adapters here; the same feed read then decides
        where each adapter lands.  One GET, one POST per VIOS with staging.
        """
        staging_uuid = self._staging_uuid()
        with npiv_vios.serialized(self.host_uuid):
            feed = npiv_vios.read_feed(self.adapter, self.host_uuid,
                                       npiv_vios.XAGS_PORTS)
            if staging_uuid is not None:
                ftsk = npiv_vios.feed_task(
                    self.adapter, self.host_uuid,
                    'unstage_partners_%s' % self.instance.uuid, feed=feed)
                ftsk.add_functor_subtask(_unmap_instance, None, staging_uuid,
                                         self._port_maps())
                ftsk.execute()
                feed = ftsk.feed
            return self.migration_targets(vios_wraps=feed)

    def unstage_partners(self):
        """Destination, after a failed migration: drop partner staging."""
        if self._staging_uuid() is not None:
            tf_stg.retried('Unstaging the partner WWPNs of %s'
                           % self.instance.uuid, self._unstage_now,
                           self._port_maps(strict=False))

    def migration_mappings(self, targets, vios_wraps=None):
        """Source: the Migrate job's ``VirtualFCMappings``."""
        slots = self.client_slots(vios_wraps)
        mappings = []
        for fabric in self.fabrics:
            mine, theirs = slots.get(fabric, []), targets.get(fabric, [])
            if len(mine) != len(theirs):
                raise exception.LiveMigrationDataError(
                    instance=self.instance.uuid,
                    reason='fabric %s has %d vFC adapter(s) but the '
                           'destination chose %d port(s)'
                    % (fabric, len(mine), len(theirs)))
            mappings.extend('%d/%s' % (slot, target)
                            for slot, target in zip(mine, theirs, strict=True))
        return mappings

    def adopt_migrated_mappings(self, vios_wraps=None):
        """Record, after migration, the ports and WWPN order used here.

        The partner WWPN of each pair is now the one logged in, so the pair
        order is flipped; the physical ports are whatever the Migrate job
        used on this system.
        """
        if vios_wraps is None:
            vios_wraps = npiv_vios.read_feed(self.adapter, self.host_uuid,
                                             npiv_vios.XAGS_PORTS)
        port_by_pair = {key: wwpn_util.normalize(vmap.backing_port.wwpn)
                        for key, vmap in self._maps_by_pair(vios_wraps)
                        if vmap.backing_port is not None}
        records = self._records()
        for fabric in self.fabrics:
            new_map = []
            for entry in fabric_meta.flip(records[fabric].port_map):
                key = frozenset(wwpn_util.normalize_list(_pair(entry)))
                if key not in port_by_pair:
                    raise exception.LiveMigrationDataError(
                        instance=self.instance.uuid,
                        reason='vFC adapter %s of fabric %s did not arrive'
                        % (entry[1], fabric))
                new_map.append((port_by_pair[key], entry[1]))
            fabric_meta.set_fabric(self.instance, fabric,
                                   fabric_meta.INST_MAPPED, new_map)
        # Saved with the new maps: the targets' presence is what marks an
        # adoption as still to do (see _finish_migration_here).
        migration_data.clear_targets(self.instance)
        self.instance.save()

    # -- internals -------------------------------------------------------

    def _maps_by_pair(self, vios_wraps):
        """The instance's mappings with their client WWPN pair as key."""
        for vios_w in vios_wraps:
            for vmap in vfc_mapper.find_maps(vios_w.vfc_mappings,
                                             self.lpar_uuid):
                if vmap.client_adapter is not None:
                    yield (frozenset(wwpn_util.normalize_list(
                        vmap.client_adapter.wwpns)), vmap)

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

    def _is_migration_destination(self):
        return (self.instance.task_state == task_states.MIGRATING and
                self.instance.host not in (None, self.settings.host))

    def _records(self):
        return {f: fabric_meta.get_fabric(self.instance, f)
                for f in self.fabrics}

    def _port_maps(self, strict=True):
        if strict:
            return [entry for rec in self._records().values()
                    for entry in rec.port_map]
        # Delete and rollback: whatever fabric can be read is unmapped by
        # its WWPNs; the instance's own mappings go by partition anyway.
        entries = []
        for fabric in self.fabrics:
            try:
                entries.extend(fabric_meta.get_fabric(self.instance,
                                                      fabric).port_map)
            except exception.CorruptFabricMetadata as err:
                LOG.warning('%s: removing the mappings of fabric %s by '
                            'partition only', err.format_message(), fabric)
        return entries

    def unidentifiable_staging(self):
        """Errors of fabrics whose staging mappings cannot be found.

        Staging mappings point at the staging partition, not at the
        instance, so only their WWPNs tell them apart from the others.  A
        fabric whose state key cannot be read, or that is ``mgmt_mapped``
        with an unreadable port map, may have some that nothing can
        identify: removing "everything" would then leak them.
        """
        if self._staging_uuid() is None:
            return []
        errors = []
        sysmeta = self.instance.system_metadata or {}
        for fabric in self.fabrics:
            try:
                fabric_meta.get_fabric(self.instance, fabric)
            except exception.CorruptFabricMetadata as err:
                state = sysmeta.get(fabric_meta.state_key(fabric))
                if state not in (None, fabric_meta.UNMAPPED,
                                 fabric_meta.INST_MAPPED):
                    errors.append(err)
        return errors

    def _staging_uuid(self):
        return self.staging.uuid if self.staging is not None else None

    def _usable_ports(self, fabric, active_vios):
        """Configured ports of ``fabric`` on active VIOSes with capacity."""
        wanted = self.settings.ports[fabric]
        present = {}
        for vios_w in active_vios:
            for port in vios_w.pfc_ports:
                present[wwpn_util.normalize(port.wwpn)] = port
        missing = [p for p in wanted if p not in present]
        if len(missing) == len(wanted):
            raise exception.FabricPortsNotFound(
                fabric=fabric, ports=', '.join(missing), host=self.host_uuid)
        if missing:
            LOG.warning('Fabric %s: ports %s are not on an active VIOS',
                        fabric, ', '.join(missing))
        usable = [p for p in wanted
                  if p in present and present[p].npiv_available_ports > 0]
        if not usable:
            raise exception.NoFabricCapacity(
                fabric=fabric, wanted=self.settings.ports_per_fabric,
                found=0)
        return usable

    def _allocate_and_stage(self, to_derive, to_stage):
        # The feed read here decides the ports and carries the staging
        # update, so nobody in this process may change the VIOSes between.
        with npiv_vios.serialized(self.host_uuid):
            feed = npiv_vios.read_feed(self.adapter, self.host_uuid,
                                       npiv_vios.XAGS_PORTS)
            active = npiv_vios.active(feed)
            if to_derive:
                self._derive_port_maps(to_derive, active)
            if to_stage:
                self._rehome(to_stage, active)
                self._stage(to_stage, feed)

    def _derive_port_maps(self, fabrics, active):
        per_fabric = self.settings.ports_per_fabric
        usable = {f: self._usable_ports(f, active) for f in fabrics}
        wwpns = self._allocate_wwpns(per_fabric * len(fabrics))
        for index, fabric in enumerate(fabrics):
            mine = wwpns[index * per_fabric * 2:(index + 1) * per_fabric * 2]
            fabric_meta.set_fabric(
                self.instance, fabric, fabric_meta.UNMAPPED,
                self._place(fabric, active, usable[fabric], mine))
        # Saved before any VIOS change so that a concurrent or later caller
        # reuses these WWPNs whatever happens next.
        self.instance.save()

    def _place(self, fabric, active, usable, client_wwpns):
        """Port map putting ``client_wwpns`` (pairs) on ``usable`` ports."""
        # Start each fabric on a different VIOS so that losing one VIOS
        # never takes every fabric of the instance with it.
        order = _rotate(active, self.fabrics.index(fabric))
        try:
            derived = vfc_mapper.derive_npiv_map(order, usable, client_wwpns)
        except pvm_exc.UnableToFindFCPortMap:
            raise exception.NoFabricCapacity(
                fabric=fabric, wanted=len(client_wwpns) // 2,
                found=len(usable))
        return [(wwpn_util.normalize(p),
                 ' '.join(wwpn_util.normalize_list(v.split())))
                for p, v in derived]

    def _finish_migration_here(self):
        """Record a live migration whose last step failed on this host.

        When the destination could not read its VIOSes after the Migrate
        job, nova still moved the instance here, but the metadata kept the
        source's ports and WWPN order (and the chosen targets, which mark
        the adoption as pending).  The next connector call finishes it.
        """
        if (self.instance.task_state is not None or
                self.instance.host != self.settings.host or
                not migration_data.get_targets(self.instance)):
            return
        LOG.warning('Instance %s: recording the vFC mappings its live '
                    'migration left on this system', self.instance.uuid)
        self.adopt_migrated_mappings()

    def _forget_foreign_mappings(self):
        """After an evacuation, the recorded mappings are another host's.

        Fabrics recorded as mapped through ports that are not in this host's
        configuration belong to the instance's previous system (the old host
        removes them when it comes back, see ``destroy``).  Here they start
        over as unmapped, keeping their WWPNs so the SAN zoning stays valid;
        new ports are chosen like after a reschedule.
        """
        if (self.instance.host != self.settings.host and
                self.instance.task_state not in _REBUILD_STATES):
            # Not ours: e.g. a live-migration source asked for a connector
            # after the destination took over.  (An evacuation still names
            # the old host while the new one rebuilds.)
            return
        changed = False
        for fabric, rec in self._records().items():
            if rec.state != fabric_meta.UNMAPPED and any(
                    phys not in self.settings.ports[fabric]
                    for phys, _ in rec.port_map):
                LOG.info('Instance %s: fabric %s was mapped on another '
                         'system; mapping it again here', self.instance.uuid,
                         fabric)
                fabric_meta.set_fabric(self.instance, fabric,
                                       fabric_meta.UNMAPPED, rec.port_map)
                changed = True
        if changed:
            self.instance.save()

    def _foreign_fabrics(self):
        """Fabrics not yet mapped to the instance, on unconfigured ports.

        Ports of another managed system are never in this host's fabric
        configuration, so a reschedule is detected without a REST call.
        """
        return [f for f, rec in self._records().items()
                if rec.state != fabric_meta.INST_MAPPED and
                any(phys not in self.settings.ports[f]
                    for phys, _ in rec.port_map)]

    def _rehome(self, fabrics, active):
        """Choose new ports for client adapters recorded on foreign ports.

        A spawn rolled back on another host (reschedule) leaves the
        instance unmapped with its WWPNs, which are kept so that the SAN
        zoning stays valid, but with that host's physical ports: mapping
        through them here would map nothing while the state still moved
        on.  Fabrics not yet mapped to the instance whose ports are not all
        on an active VIOS get ports of this system; their WWPNs stay.
        """
        present = {wwpn_util.normalize(port.wwpn)
                   for vios_w in active for port in vios_w.pfc_ports}
        if not present:
            return   # Feed read without the storage group: cannot tell.
        moved = False
        for fabric, record in self._records().items():
            if (fabric not in fabrics or not record.port_map or
                    record.state == fabric_meta.INST_MAPPED or
                    all(phys in present for phys, _ in record.port_map)):
                continue
            LOG.info('Instance %s: fabric %s ports %s are not on this '
                     'system; choosing new ones for the same WWPNs',
                     self.instance.uuid, fabric,
                     ', '.join(p for p, _ in record.port_map))
            clients = fabric_meta.port_map_wwpns(record.port_map)
            fabric_meta.set_fabric(
                self.instance, fabric, record.state,
                self._place(fabric, active,
                            self._usable_ports(fabric, active), clients))
            moved = True
        if moved:
            self.instance.save()

    def _allocate_wwpns(self, pairs):
        wwpns = []
        while pairs > 0:
            count = min(pairs, MAX_PAIRS_PER_JOB)
            wwpns.extend(jobs.wwpn_pairs(self.adapter, self.host_uuid,
                                         count))
            pairs -= count
        return wwpn_util.normalize_list(wwpns)

    def _stage(self, fabrics, feed):
        records = self._records()
        port_maps = [e for f in fabrics for e in records[f].port_map]
        ftsk = npiv_vios.feed_task(self.adapter, self.host_uuid,
                                   'stage_%s' % self.instance.uuid,
                                   feed=feed)
        ftsk.add_functor_subtask(_map_to_staging, self.host_uuid,
                                 self._staging_uuid(), port_maps)
        ftsk.add_post_execute(tf_stg.SaveFabricState(
            self.instance, fabrics, fabric_meta.MGMT_MAPPED))
        flow = tf_lf.Flow('stage_%s' % self.instance.uuid)
        flow.add(tf_stg.UndoOnFailure(self._unstage_now, port_maps), ftsk)
        tf_base.run(flow, instance=self.instance)

    def _stage_partners(self):
        """Map the partner WWPNs to this (destination) host's staging.

        Ports are chosen here like for a new instance; the metadata is not
        touched, it still belongs to the source until the migration ends.
        """
        with npiv_vios.serialized(self.host_uuid):
            feed = npiv_vios.read_feed(self.adapter, self.host_uuid,
                                       npiv_vios.XAGS_PORTS)
            active = npiv_vios.active(feed)
            port_maps = []
            for fabric, record in self._records().items():
                if not record.port_map:
                    continue
                flipped = fabric_meta.flip(record.port_map)
                wwpns = [w for _, pair in flipped for w in pair.split()]
                try:
                    derived = vfc_mapper.derive_npiv_map(
                        _rotate(active, self.fabrics.index(fabric)),
                        self._usable_ports(fabric, active), wwpns)
                except pvm_exc.UnableToFindFCPortMap:
                    raise exception.NoFabricCapacity(
                        fabric=fabric, wanted=len(flipped), found=0)
                port_maps.extend(derived)
            ftsk = npiv_vios.feed_task(
                self.adapter, self.host_uuid,
                'stage_partners_%s' % self.instance.uuid, feed=feed)
            ftsk.add_functor_subtask(_map_to_staging, self.host_uuid,
                                     self._staging_uuid(), port_maps)
            flow = tf_lf.Flow('stage_partners_%s' % self.instance.uuid)
            flow.add(tf_stg.UndoOnFailure(self._unstage_now, port_maps),
                     ftsk)
            tf_base.run(flow, instance=self.instance)

    def _unstage_now(self, port_maps):
        ftsk = npiv_vios.feed_task(self.adapter, self.host_uuid,
                                   'unstage_%s' % self.instance.uuid)
        ftsk.add_functor_subtask(_unmap_instance, None, self._staging_uuid(),
                                 port_maps)
        ftsk.execute()


def _rotate(items, offset):
    if not items:
        return items
    offset %= len(items)
    return items[offset:] + items[:offset]


def _map_to_staging(vios_w, host_uuid, staging_uuid, port_maps):
    changed = False
    for entry in port_maps:
        if vfc_mapper.add_map(vios_w, host_uuid, staging_uuid, entry,
                              error_if_invalid=False):
            changed = True
    return changed


def _map_to_instance(vios_w, host_uuid, inst_uuid, staging_uuid, port_maps):
    """Swap staging mappings for instance mappings on one VIOS.

    The staging mapping must go first: ``add_map`` treats any mapping that
    carries the same WWPNs as the one being asked for.
    """
    changed = False
    for entry in port_maps:
        if staging_uuid and vfc_mapper.remove_maps(vios_w, staging_uuid,
                                                   port_map=entry):
            changed = True
        if vfc_mapper.add_map(vios_w, host_uuid, inst_uuid, entry,
                              error_if_invalid=False):
            changed = True
    return changed


def _unmap_port_maps(vios_w, inst_uuid, staging_uuid, port_maps):
    """Remove the instance's and the staging mappings of ``port_maps``."""
    changed = False
    for entry in port_maps:
        for client in (inst_uuid, staging_uuid):
            if client and vfc_mapper.remove_maps(vios_w, client,
                                                 port_map=entry):
                changed = True
    return changed


def _unmap_instance(vios_w, inst_uuid, staging_uuid, port_maps):
    changed = False
    if inst_uuid and vfc_mapper.remove_maps(vios_w, inst_uuid):
        changed = True
    if staging_uuid:
        for entry in port_maps:
            if vfc_mapper.remove_maps(vios_w, staging_uuid, port_map=entry):
                changed = True
    return changed
