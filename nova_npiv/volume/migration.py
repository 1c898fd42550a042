"""Live migration of an instance's vFC adapters, source and destination.

One migration, in the order nova calls the two hosts
(doc/source/design/flows.rst, Live migration):

1. destination, ``check_can_live_migrate_destination``: every recorded
   fabric is configured here (:func:`destination_check`);
   and the ports it would choose now are offered to the source
   (:meth:`NPIVMigration.offer`);
2. source, ``check_can_live_migrate_source``: every fabric is mapped to the
   instance, and the platform accepts the migration with those mappings
   (:meth:`NPIVMigration.check_source`, :func:`.lpm_platform.precheck`);
3. destination, connector call: the partner WWPNs are staged here, so that
   the zone manager sees them log in (:meth:`NPIVMigration.stage_partners`);
4. destination, ``pre_live_migration``: unstage, choose the ports each
   adapter lands on and record them
   (:meth:`NPIVMigration.prepare_destination`);
5. source, ``live_migration``: the platform's Migrate job with the
   ``VirtualFCMappings`` built from the client slots and those targets
   (:meth:`NPIVMigration.migrate`); a job that failed, timed out or lost
   its reply is settled with the platform first
   (:func:`.lpm_platform.settle`);
6. destination, ``post_live_migration_at_destination``: record the ports
   used and the flipped WWPN order (:meth:`NPIVMigration.adopt`), retried
   because the LPAR has moved whatever the console says; a connector call or
   a restart finishes an adoption that still failed.

The chosen targets travel in ``system_metadata``: nova's conductor relays
the migrate_data object between the hosts and cannot deserialise a
versioned object it does not know (nova no longer has a PowerVM one), while
every nova service reads and writes system_metadata as plain strings; the
source re-reads it from the database.  The destination's offer at step 1
rides on the instance object nova hands from the destination's check to
the source's, unsaved: the source takes it off (:func:`take_offer`).
"""

import json
import time

from nova.compute import task_states
from nova import exception as nova_exc
from nova import objects
from nova.objects import migrate_data as migrate_data_obj
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import remote_console
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.volume import lpm_platform
from nova_npiv.volume import placement
from nova_npiv.volume import vfc_ops

LOG = logging.getLogger(__name__)

#: Reads of the destination after a Migrate job: the LPAR has moved, so a
#: console hiccup must not leave the metadata describing the source.
ADOPT_TRIES = 3
ADOPT_RETRY_DELAY = 1.0

# -- the destination's choice, in system_metadata ----------------------------

KEY_PREFIX = 'npiv_lpm_targets_'
_MAX_VALUE = 255


def _keys(sysmeta, fabric):
    base = KEY_PREFIX + fabric
    return sorted((k for k in sysmeta
                   if k == base or k.startswith(base + '#')),
                  key=lambda k: int(k.split('#')[1]) if '#' in k else 0)


def set_targets(instance, targets):
    """Record ``{fabric: ['<vios name>/<vios id>//<port>', ...]}``."""
    clear_targets(instance)
    for fabric, entries in targets.items():
        text = json.dumps(entries, separators=(',', ':'))
        chunks = [text[i:i + _MAX_VALUE]
                  for i in range(0, len(text), _MAX_VALUE)] or ['[]']
        for index, chunk in enumerate(chunks):
            key = KEY_PREFIX + fabric + ('#%d' % index if index else '')
            instance.system_metadata[key] = chunk


def get_targets(instance):
    sysmeta = instance.system_metadata
    fabrics = {k[len(KEY_PREFIX):].split('#')[0] for k in sysmeta
               if k.startswith(KEY_PREFIX)}
    targets = {}
    for fabric in sorted(fabrics):
        keys = _keys(sysmeta, fabric)
        try:
            entries = json.loads(''.join(sysmeta[k] for k in keys))
        except ValueError as err:
            raise exception.LiveMigrationDataError(
                instance=instance.uuid,
                reason='%s is not valid JSON: %s' % (keys[0], err))
        if not (isinstance(entries, list) and
                all(isinstance(e, str) and e.count('/') == 3
                    for e in entries)):
            raise exception.LiveMigrationDataError(
                instance=instance.uuid,
                reason='%s does not list <vios>/<id>//<port> targets'
                % keys[0])
        targets[fabric] = entries
    return targets


def clear_targets(instance):
    for key in [k for k in instance.system_metadata
                if k.startswith(KEY_PREFIX)]:
        del instance.system_metadata[key]


# -- the destination's offer, for the source's pre-check ----------------------

OFFER_KEY = 'npiv_lpm_offer'


def _offer_keys(sysmeta):
    return sorted((k for k in sysmeta
                   if k == OFFER_KEY or k.startswith(OFFER_KEY + '#')),
                  key=lambda k: int(k.split('#')[1]) if '#' in k else 0)


def put_offer(instance, system_name, targets):
    """On the instance object only (never saved): the destination's
    managed system and the targets it would choose now."""
    text = json.dumps({'system': system_name, 'targets': targets},
                      separators=(',', ':'))
    for index in range(0, max(len(text), 1), _MAX_VALUE):
        key = OFFER_KEY + ('#%d' % (index // _MAX_VALUE) if index else '')
        instance.system_metadata[key] = text[index:index + _MAX_VALUE]


def take_offer(instance):
    """The destination's offer, removed from the instance; None if none."""
    sysmeta = instance.system_metadata
    keys = _offer_keys(sysmeta)
    if not keys:
        return None
    text = ''.join(sysmeta.pop(k) for k in keys)
    try:
        offer = json.loads(text)
        system, targets = offer['system'], offer['targets']
    except (ValueError, TypeError, KeyError) as err:
        raise exception.LiveMigrationDataError(
            instance=instance.uuid,
            reason='%s is not a destination offer: %s' % (OFFER_KEY, err))
    return system, targets


# -- checks before the migration ---------------------------------------------

def destination_check(instance, settings, block_migration):
    """The destination's migrate data, or why it cannot take the instance."""
    if block_migration:
        raise nova_exc.MigrationPreCheckError(
            reason='block migration is not supported: NPIV volumes '
                   'follow the instance')
    missing = [f for f in fabric_meta.recorded_fabrics(instance)
               if f not in settings.ports]
    if missing:
        raise exception.LiveMigrationDataError(
            instance=instance.uuid,
            reason='fabric(s) %s not configured on the destination'
            % ', '.join(missing))
    # nova's conductor relays this object, so it must be a class every
    # nova service knows; like nova's own fake driver we use libvirt's,
    # saying "shared storage, nothing to copy, nothing to clean up".
    # Our own data travels in system_metadata (see set_targets).
    data = migrate_data_obj.LibvirtLiveMigrateData()
    data.block_migration = False
    data.is_shared_block_storage = True
    data.is_shared_instance_path = True
    data.is_volume_backed = True
    return data


def dest_system(context, dest, migrate_data):
    """The destination managed system's name, for the Migrate job."""
    if migrate_data is not None and 'migration' in migrate_data:
        migration = migrate_data.migration
        if 'dest_node' in migration and migration.dest_node:
            return migration.dest_node
    node = objects.ComputeNode.get_first_node_by_host_for_old_compat(
        context, dest)
    return node.hypervisor_hostname


class NPIVMigration(object):
    """The live migration of one instance's vFC adapters.

    Built on the instance's NPIV volume driver (``npiv``): its REST adapter,
    managed system, records, LPAR and staging partition.
    """

    def __init__(self, npiv):
        self.npiv = npiv

    @property
    def instance(self):
        return self.npiv.instance

    def _feed(self, xags):
        return npiv_vios.read_feed(self.npiv.adapter, self.npiv.system_uuid,
                                   xags)

    def _lpar(self):
        """Point the volume driver at the LPAR found on this system."""
        lpar_w = vm.get(self.npiv.adapter, self.npiv.system_uuid,
                        self.instance)
        if lpar_w is None:
            raise nova_exc.InstanceNotFound(instance_id=self.instance.uuid)
        self.npiv.lpar_uuid = lpar_w.uuid
        return lpar_w

    # -- where the connector stands ----------------------------------------

    def is_destination(self):
        """Asked for a connector on the destination of a running migration."""
        return (self.instance.task_state == task_states.MIGRATING and
                self.instance.host not in (None, self.npiv.settings.host))

    def pending_here(self):
        """A migration here whose adoption failed (targets still recorded)."""
        return (self.instance.task_state is None and
                self.instance.host == self.npiv.settings.host and
                bool(get_targets(self.instance)))

    # -- source ------------------------------------------------------------

    def check_source(self, migrate_data=None, conf=None):
        """Before nova commits: our records, then the platform's checks.

        The platform validates the VirtualFCMappings built from the
        destination's offer (the ports it would choose at its check; it
        chooses again in pre_live_migration, from the same feed).  To a
        system on another console the MigrateValidate job cannot run yet:
        the destination's console trusts this console's key only from
        pre_live_migration on (the key travels in this check's result), and
        a console validates a remote migration over that trust; the Migrate
        job validates it then, and its refusal is rolled back like any
        failed migration.
        """
        not_mapped = self.npiv.records.fabrics_where(
            lambda rec: rec.state != fabric_meta.INST_MAPPED)
        offer = take_offer(self.instance)
        if not_mapped:
            raise exception.LiveMigrationDataError(
                instance=self.instance.uuid,
                reason='fabric(s) %s are not mapped to the instance'
                % ', '.join(not_mapped))
        if offer is None:
            raise exception.LiveMigrationDataError(
                instance=self.instance.uuid,
                reason='the destination made no offer (%s) to validate'
                % OFFER_KEY)
        system, targets = offer
        lpar_w = self._lpar()
        validate = not remote_console.migration_kwargs(
            self.npiv.adapter, self.instance, system, migrate_data)
        lpm_platform.precheck(self.instance, lpar_w, system,
                              self.mappings(targets), validate=validate,
                              **({'conf': conf} if conf else {}))

    def offer(self, system_name):
        """Destination: offer the source the ports chosen now."""
        put_offer(self.instance, system_name, self.targets())

    def client_slots(self, vios_wraps=None):
        """Per fabric, the client slots of the instance's vFC adapters.

        Ordered like the fabric's port map, which is how the destination
        pairs them with its own physical ports.
        """
        if vios_wraps is None:
            vios_wraps = self._feed(npiv_vios.XAGS_MAPPINGS)
        by_pair = {key: vmap.client_adapter.lpar_slot_num for key, vmap in
                   vfc_ops.maps_by_pair(vios_wraps, self.npiv.lpar_uuid)}
        slots = {}
        for fabric, record in self.npiv.records.items():
            slots[fabric] = []
            for entry in record.entries:
                if entry.key not in by_pair:
                    raise exception.LiveMigrationDataError(
                        instance=self.instance.uuid,
                        reason='no vFC adapter with WWPNs %s on fabric %s'
                        % (entry.pvm[1], fabric))
                slots[fabric].append(by_pair[entry.key])
        return slots

    def mappings(self, targets, vios_wraps=None):
        """The Migrate job's ``VirtualFCMappings``."""
        slots = self.client_slots(vios_wraps)
        mappings = []
        for fabric in self.npiv.fabrics:
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

    def migrate(self, context, dest, migrate_data):
        """Run the platform's Migrate job with the vFC mappings.

        A job that fails, times out or loses its reply is settled with the
        platform (:func:`.lpm_platform.settle`): the partition found on
        another system counts as migrated (rolling back would leave nova and
        the metadata on this host while the LPAR runs on the other); found
        here, not migrating (recovered if need be), the error is raised for
        nova to roll back; still migrating past ``lpm_settle_timeout``,
        :class:`~nova_npiv.exception.LiveMigrationUnsettled`, which nova
        must not roll back.
        """
        system = dest_system(context, dest, migrate_data)
        targets = get_targets(self.instance)
        if not targets:
            # The destination saved its choice after our copy of the
            # instance was loaded.
            targets = get_targets(objects.Instance.get_by_uuid(
                context, self.instance.uuid,
                expected_attrs=['system_metadata']))
        lpar_w = self._lpar()
        mappings = self.mappings(targets)
        remote = remote_console.migration_kwargs(
            self.npiv.adapter, self.instance, system, migrate_data)
        try:
            lpm_platform.run_migrate(lpar_w, system, mappings, **remote)
        except Exception as err:
            where = lpm_platform.settle(self.npiv.adapter, self.instance,
                                        self.npiv.system_uuid, err)
            if where == lpm_platform.STAYED:
                raise
            LOG.warning('The Migrate job of %s reported a failure, but the '
                        'LPAR has left this system: completing the '
                        'migration', self.instance.uuid, exc_info=True)

    def forget_targets(self, context):
        """Source, after a rollback: the chosen ports are no one's now.

        Our copy of the instance may predate the destination's save (see
        :meth:`migrate`): the database's is cleared too (left, they would
        make this host "adopt" a migration that never happened).  Part of
        nova's rollback: logs, never raises.
        """
        try:
            if get_targets(self.instance):
                clear_targets(self.instance)
                self.instance.save()
                return
            stored = objects.Instance.get_by_uuid(
                context, self.instance.uuid,
                expected_attrs=['system_metadata'])
            if get_targets(stored):
                clear_targets(stored)
                stored.save()
        except Exception:
            LOG.exception('Could not forget the live-migration targets of %s',
                          self.instance.uuid)

    def abort(self):
        """nova's live_migration_abort: the platform's MigrateAbort."""
        lpm_platform.abort(self._lpar())

    # -- destination -------------------------------------------------------

    def targets(self, vios_wraps=None):
        """Per fabric, where each vFC adapter will land.

        ``'<vios name>/<vios id>//<port name>'`` per adapter, in port map
        order; the source puts its client slot in front of each to form the
        Migrate job's ``VirtualFCMappings``.
        """
        if vios_wraps is None:
            vios_wraps = self._feed(npiv_vios.XAGS_PORTS)
        active = npiv_vios.active(vios_wraps)
        return {rec.fabric: placement.targets(
                    self.npiv.settings, rec.fabric, active, len(rec.entries),
                    self.npiv.system_uuid)
                for rec in self.npiv.records if rec.entries}

    def stage_partners(self):
        """Map the partner WWPNs to this (destination) host's staging.

        Ports are chosen here like for a new instance; the metadata is not
        touched, it still belongs to the source until the migration ends.
        """
        npiv = self.npiv
        with npiv_vios.serialized(npiv.system_uuid):
            feed = self._feed(npiv_vios.XAGS_PORTS)
            active = npiv_vios.active(feed)
            entries = []
            for rec in npiv.records:
                if not rec.entries:
                    continue
                usable = placement.usable_ports(npiv.settings, rec.fabric,
                                                active, npiv.system_uuid)
                entries.extend(placement.place(
                    npiv.settings, rec.fabric, active, usable,
                    [e.flipped().pair for e in rec.entries], found=0))
            npiv.staging.require_slots(feed, self.instance, entries)
            vfc_ops.stage(npiv.adapter, npiv.system_uuid, self.instance,
                          npiv.staging_uuid, entries, feed,
                          'stage_partners')

    def prepare_destination(self):
        """Before the Migrate job: unstage, choose and record the ports.

        The partner WWPNs staged by the connector must be gone before the
        platform moves the adapters here; the same feed read then decides
        where each adapter lands.  One GET, one POST per VIOS with staging.
        """
        npiv = self.npiv
        with npiv_vios.serialized(npiv.system_uuid):
            feed = self._feed(npiv_vios.XAGS_PORTS)
            if npiv.staging_uuid is not None:
                ftsk = npiv_vios.feed_task(
                    npiv.adapter, npiv.system_uuid,
                    'unstage_partners_%s' % self.instance.uuid, feed=feed)
                ftsk.add_functor_subtask(
                    vfc_ops.unmap_instance, None, npiv.staging_uuid,
                    [e.pvm for e in npiv.records.entries()])
                ftsk.execute()
                feed = ftsk.feed
            targets = self.targets(vios_wraps=feed)
        set_targets(self.instance, targets)
        self.instance.save()
        return targets

    def unstage_partners(self):
        """After a failed migration: drop the partner WWPNs' staging."""
        npiv = self.npiv
        if npiv.staging_uuid is not None:
            tf_stg.retried('Unstaging the partner WWPNs of %s'
                           % self.instance.uuid, vfc_ops.unstage,
                           npiv.adapter, npiv.system_uuid, self.instance,
                           npiv.staging_uuid, npiv.lenient_entries())

    def rollback_destination(self):
        """The platform undoes a failed Migrate job; this undoes ours.

        What is ours: the partner WWPNs' staging and the chosen ports.
        """
        self.unstage_partners()
        clear_targets(self.instance)
        self.instance.save()

    def adopt(self, vios_wraps=None):
        """Record, after migration, the ports and WWPN order used here.

        The partner WWPN of each pair is now the one logged in, so the pair
        order is flipped; the physical ports are whatever the Migrate job
        used on this system.
        """
        if vios_wraps is None:
            vios_wraps = self._feed(npiv_vios.XAGS_PORTS)
        port_by_pair = {
            key: vmap.backing_port.wwpn for key, vmap in
            vfc_ops.maps_by_pair(vios_wraps, self.npiv.lpar_uuid)
            if vmap.backing_port is not None}
        records = self.npiv.records
        new = {}
        for rec in records:
            new[rec.fabric] = []
            for entry in rec.entries:
                flipped = entry.flipped()
                if entry.key not in port_by_pair:
                    raise exception.LiveMigrationDataError(
                        instance=self.instance.uuid,
                        reason='vFC adapter %s of fabric %s did not arrive'
                        % (flipped.pvm[1], rec.fabric))
                new[rec.fabric].append(flipped.on(port_by_pair[entry.key]))
        for fabric, entries in new.items():
            records.set(fabric, fabric_meta.INST_MAPPED, entries)
        # Saved with the new maps: the targets' presence is what marks an
        # adoption as still to do (see pending_here).
        clear_targets(self.instance)
        records.save(always=True)

    def adopt_after_migration(self):
        """``adopt``, tried again while the console fails to answer."""
        for attempt in range(1, ADOPT_TRIES + 1):
            try:
                self._lpar()
                self.adopt()
                return
            except (pvm_exc.Error, exception.ConsoleReplyRefused) as err:
                if attempt == ADOPT_TRIES:
                    raise
                LOG.warning('Recording the vFC mappings of %s after its '
                            'migration failed (%s); trying again',
                            self.instance.uuid, err)
                time.sleep(ADOPT_RETRY_DELAY * attempt)

    def finish_after_restart(self):
        """At start-up: adopt a migration whose last step failed here."""
        if self.instance.task_state is not None or \
                not get_targets(self.instance):
            return
        try:
            self._lpar()
            self.adopt()
        except Exception:
            # One instance must not stop the start-up reconciliation.
            LOG.exception('Could not record the vFC mappings of migrated '
                          'instance %s', self.instance.uuid)
