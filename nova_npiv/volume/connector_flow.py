"""The volume connector call as a flow: where the instance's WWPNs come from.

nova asks for the connector once per volume, before it asks Cinder to map
the volume; the answer is the WWPNs Cinder must map to, so the first call
is where they are allocated.  One flow per call that has anything to do
(a later call, with everything recorded, runs none), run by the one runner
(:mod:`nova_npiv.tasks.base`) under the instance's lock, on the instance
re-read under that lock:

======================  ==================================================
task                    what it changes
======================  ==================================================
``finish_migration``    a live migration to this host whose last step
                        failed: the ports and WWPN order it left are
                        recorded (:meth:`.NPIVMigration.adopt`)
``forget_foreign``      after an evacuation, fabrics mapped through another
                        system's ports start over as ``unmapped``, WWPNs
                        kept; so do the source's mappings in the copy a
                        cross-cell resize brought (:func:`stale_on_arrival`)
``allocate_and_stage``  fabrics without WWPNs get new pairs and ports; the
                        ``unmapped`` ones are re-homed onto this system's
                        ports if needed and mapped to the staging partition
                        (``mgmt_mapped``); one feed read, under the VIOS lock
======================  ==================================================

On the destination of a running live migration the flow is
``stage_partners`` alone: the partner WWPNs are what Cinder must map, and
staging them lets them log in now.  No task writes what the state machine
(doc/source/design/state-machine.rst) does not allow from where the fabric
stands; rows 1, 2, 8, 9, 12 and (for the connector) 10 of its table are
this flow.
"""

from nova.compute import task_states
from oslo_log import log as logging
from taskflow.patterns import linear_flow as tf_lf
from taskflow import task

from nova_npiv import fabric_meta
from nova_npiv import resize
from nova_npiv import vios as npiv_vios
from nova_npiv.tasks import base as tf_base
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.volume import placement
from nova_npiv.volume import vfc_ops

LOG = logging.getLogger(__name__)

#: Task states of a rebuild, which is how an evacuation reaches its new host.
_REBUILD_STATES = (task_states.REBUILDING,
                   task_states.REBUILD_BLOCK_DEVICE_MAPPING,
                   task_states.REBUILD_SPAWNING)


def run(npiv):
    """Run the connector flow of ``npiv``'s instance; the WWPNs to report.

    The caller holds the instance's lock and has re-read the instance.
    """
    uuid = npiv.instance.uuid
    if npiv.migration.is_destination():
        # Cinder must map the WWPN that will log in here; staging lets it
        # log in now, so the zone manager can see it.
        if npiv.staging_uuid is not None:
            flow = tf_lf.Flow('connector_destination_%s' % uuid)
            flow.add(StagePartners(npiv))
            tf_base.run(flow, instance=npiv.instance)
        return npiv.records.partner_wwpns()
    tasks = [FinishMigrationHere(npiv), ForgetForeignMappings(npiv),
             AllocateAndStage(npiv)]
    if any(t.needed() for t in tasks):
        flow = tf_lf.Flow('connector_%s' % uuid)
        flow.add(*tasks)
        tf_base.run(flow, instance=npiv.instance)
    # Otherwise a later call: everything is recorded, so it costs neither a
    # request nor a flow (nova asks once per volume).
    return npiv.records.active_wwpns()


class _ConnectorTask(task.Task):

    def __init__(self, what, npiv):
        super().__init__('%s_%s' % (what, npiv.instance.uuid))
        self.npiv = npiv

    def needed(self):
        """Whether the instance's records give this task anything to do."""
        return True


class StagePartners(_ConnectorTask):
    """Destination: the partner WWPNs mapped to this host's staging.

    No revert of its own: a failure is undone inside (see
    :func:`.vfc_ops.stage`), and nothing follows it in the flow.
    """

    def __init__(self, npiv):
        super().__init__('stage_partners', npiv)

    def execute(self):
        self.npiv.migration.stage_partners()


class FinishMigrationHere(_ConnectorTask):
    """Record a live migration whose last step failed on this host.

    When the destination could not read its VIOSes after the Migrate job,
    nova still moved the instance here, but the metadata kept the source's
    ports and WWPN order (and the chosen targets, which mark the adoption as
    pending).  No revert: what it records is where the LPAR is, whatever
    happens next.
    """

    def __init__(self, npiv):
        super().__init__('finish_migration', npiv)

    def needed(self):
        return self.npiv.migration.pending_here()

    def execute(self):
        if self.needed():
            LOG.warning('Instance %s: recording the vFC mappings its live '
                        'migration left on this system',
                        self.npiv.instance.uuid)
            self.npiv.migration.adopt()


class ForgetForeignMappings(_ConnectorTask):
    """After an evacuation, the recorded mappings are another host's.

    Fabrics recorded as mapped through ports that are not in this host's
    configuration belong to the instance's previous system (the old host
    removes them when it comes back, see ``destroy``).  Here they start over
    as unmapped, keeping their WWPNs so the SAN zoning stays valid; new
    ports are chosen like after a reschedule.  No revert: the mappings stay
    another system's whatever happens next.

    A cross-cell resize's destination gets the same treatment for what its
    copy of the instance records mapped (:func:`stale_on_arrival`).
    """

    def __init__(self, npiv):
        super().__init__('forget_foreign', npiv)

    def _foreign(self):
        npiv = self.npiv
        instance = npiv.instance
        if resize.arriving_cross_cell(instance, npiv.settings.host):
            return stale_on_arrival(npiv)
        if (instance.host != npiv.settings.host and
                instance.task_state not in _REBUILD_STATES):
            # Not ours: e.g. a live-migration source asked for a connector
            # after the destination took over.  (An evacuation still names
            # the old host while the new one rebuilds.)
            return []
        return npiv.records.fabrics_where(
            lambda rec: rec.state != fabric_meta.UNMAPPED and any(
                phys not in npiv.settings.ports[rec.fabric]
                for phys in rec.phys_ports))

    def needed(self):
        return bool(self._foreign())

    def execute(self):
        npiv = self.npiv
        for fabric in self._foreign():
            LOG.info('Instance %s: fabric %s was mapped on another '
                     'system; mapping it again here', npiv.instance.uuid,
                     fabric)
            npiv.records.set(fabric, fabric_meta.UNMAPPED)
        npiv.records.save()


class AllocateAndStage(_ConnectorTask):
    """WWPNs and ports for new fabrics, staging for the unmapped ones.

    The revert only logs: the WWPNs, saved before any VIOS change, are kept
    so that a retry presents the same initiators to the SAN, and a staging
    that failed half-way was undone inside (see :func:`.vfc_ops.stage`).
    """

    def __init__(self, npiv):
        super().__init__('allocate_and_stage', npiv)

    def _work(self):
        """(fabrics without WWPNs, fabrics to stage)."""
        npiv = self.npiv
        to_derive = npiv.records.fabrics_where(lambda rec: not rec.entries)
        to_stage = npiv.records.fabrics_where(
            lambda rec: rec.state == fabric_meta.UNMAPPED)
        if to_stage and (npiv.staging_uuid is None or
                         npiv.instance.task_state == task_states.DELETING):
            # Deleting: the connector only serves to terminate the
            # connections; staging now would outlive the instance.
            to_stage = []
        return to_derive, to_stage

    def needed(self):
        return any(self._work())

    def execute(self):
        npiv = self.npiv
        records = npiv.records
        to_derive, to_stage = self._work()
        if not (to_derive or to_stage):
            return
        known = pairs = seed = None
        if to_derive:
            # Refused before a WWPN is allocated: a fabric with no port on an
            # active VIOS, or none with capacity.  Checked on the ports of
            # the last feed this process has of the system (a summary that
            # outlives its wrappers), or on a read now if there is none,
            # which the staging is then written on.
            present, known = npiv_vios.ports_or_feed(npiv.adapter,
                                                     npiv.system_uuid)
            seed = known
            check_ports(npiv, to_derive, present=present)
            if to_stage:
                # No room on the staging partition is refused before a
                # WWPN is drawn, on the feed at hand (decide() checks again
                # on the one the staging is written on).
                at_hand = known if known is not None else (
                    npiv_vios.mappings_at_hand(npiv.adapter,
                                               npiv.system_uuid))
                if at_hand is not None:
                    require_slots(npiv, at_hand, to_stage)
            # The WWPN job touches no VIOS: it runs outside the
            # serialisation, so other operations on the system go on.
            pairs = placement.allocate_wwpns(
                npiv.adapter, npiv.system_uuid,
                npiv.settings.ports_per_fabric * len(to_derive))
        if not to_stage:
            # No staging partition: the WWPNs and ports are only recorded,
            # on the last feed (one the system's FeedTasks do not own).
            if known is None:
                known = npiv_vios.port_view(npiv.adapter, npiv.system_uuid)
            derive_port_maps(npiv, to_derive, npiv_vios.active(known), pairs)
            return
        chosen = vfc_ops.Chosen()

        def decide(feed):
            # On the feed the staging is written on (the group commit's):
            # the ports are chosen there, so nobody in this process changes
            # the VIOSes between the choice and the update.
            active = npiv_vios.with_ports(npiv_vios.active(feed),
                                          npiv.system_uuid)
            if to_stage:
                # Before WWPNs are drawn or anything is mapped: no room on
                # the staging partition is an error that leaves nothing.
                require_slots(npiv, feed, to_stage)
            if to_derive:
                derive_port_maps(npiv, to_derive, active, pairs)
            rehome(npiv, to_stage, active)
            chosen.entries = records.entries(to_stage)

        vfc_ops.stage(
            npiv.adapter, npiv.system_uuid, npiv.instance, npiv.staging_uuid,
            chosen, None, 'stage', decide=decide, seed=seed,
            post_execute=tf_stg.SaveFabricState(
                npiv.instance, to_stage, fabric_meta.MGMT_MAPPED))

    def revert(self, *args, **kwargs):
        LOG.info('Instance %s: connector call failed; its WWPNs are kept '
                 'for the next one', self.npiv.instance.uuid)


def stale_on_arrival(npiv):
    """Fabrics that the records of a cross-cell arrival show mapped there.

    nova copies the instance's row to the target cell before the source
    powers off, so the copy records the source's mappings (``inst_mapped``
    on the source system's ports); nova calls the destination only after
    the source's ``destroy`` returned, which removed them.  What this host
    staged since (``mgmt_mapped`` on its own ports) is its own and stays:
    a connector call per volume does not stage twice.
    """
    ports = npiv.settings.ports
    return npiv.records.fabrics_where(
        lambda rec: rec.state == fabric_meta.INST_MAPPED or (
            rec.state != fabric_meta.UNMAPPED and
            any(phys not in ports[rec.fabric] for phys in rec.phys_ports)))


def require_slots(npiv, feed, to_stage):
    """Raise StagingSlotsExhausted unless staging ``to_stage`` fits on
    the staging partition as ``feed`` shows it (pairs still to be drawn
    included)."""
    records = npiv.records
    npiv.staging.require_slots(
        feed, npiv.instance, records.entries(to_stage),
        new_pairs=npiv.settings.ports_per_fabric * len(
            [f for f in to_stage if not records[f].entries]))


def check_ports(npiv, fabrics, present):
    """Raise unless every fabric has a usable port in the port summary
    ``present`` (:func:`.vios.port_summary`)."""
    for fabric in fabrics:
        placement.usable_ports(npiv.settings, fabric, [], npiv.system_uuid,
                               present=present)


def derive_port_maps(npiv, fabrics, active, pairs):
    """The new WWPN ``pairs`` for ``fabrics``, placed on this system's ports.

    ``pairs`` holds ``ports_per_fabric`` pairs per fabric, in order.
    """
    settings = npiv.settings
    per_fabric = settings.ports_per_fabric
    usable = {f: placement.usable_ports(settings, f, active, npiv.system_uuid)
              for f in fabrics}
    for index, fabric in enumerate(fabrics):
        mine = pairs[index * per_fabric:(index + 1) * per_fabric]
        npiv.records.set(fabric, fabric_meta.UNMAPPED, placement.place(
            settings, fabric, active, usable[fabric], mine))
    # Saved before any VIOS change so that a concurrent or later caller
    # reuses these WWPNs whatever happens next.
    npiv.records.save()


def foreign_fabrics(npiv):
    """Fabrics not yet mapped to the instance, on unconfigured ports.

    Ports of another managed system are never in this host's fabric
    configuration, so a reschedule is detected without a REST call.
    """
    return npiv.records.fabrics_where(
        lambda rec: rec.state != fabric_meta.INST_MAPPED and
        any(phys not in npiv.settings.ports[rec.fabric]
            for phys in rec.phys_ports))


def rehome(npiv, fabrics, active):
    """Choose new ports for client adapters recorded on foreign ports.

    A spawn rolled back on another host (reschedule) leaves the instance
    unmapped with its WWPNs, which are kept so that the SAN zoning stays
    valid, but with that host's physical ports: mapping through them here
    would map nothing while the state still moved on.  Fabrics not yet
    mapped to the instance whose ports are not all on an active VIOS get
    ports of this system; their WWPNs stay.
    """
    present = placement.present_ports(active)
    if not present:
        return   # Feed read without the storage group: cannot tell.
    for rec in npiv.records:
        if (rec.fabric not in fabrics or not rec.entries or
                rec.state == fabric_meta.INST_MAPPED or
                all(phys in present for phys in rec.phys_ports)):
            continue
        LOG.info('Instance %s: fabric %s ports %s are not on this '
                 'system; choosing new ones for the same WWPNs',
                 npiv.instance.uuid, rec.fabric, ', '.join(rec.phys_ports))
        usable = placement.usable_ports(npiv.settings, rec.fabric, active,
                                        npiv.system_uuid)
        npiv.records.set(rec.fabric, rec.state, placement.place(
            npiv.settings, rec.fabric, active, usable,
            [e.pair for e in rec.entries]))
    npiv.records.save()
