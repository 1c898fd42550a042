"""Fault injection across every REST request of the driver's operations.

Shared by the fault-matrix tests and ``benchmarks/fault_matrix.py``.

For each operation a :class:`Scenario` builds a fresh world (simulator with
the default topology, drivers loaded as nova-compute loads them, an
in-memory instance), brings it to the operation's starting point, and runs
the operation.  A clean run teaches the operation's REST request sequence
(from ``sim.request_log``); the operation is then re-run in a fresh world
once per request index and fault kind, with exactly that request failing.

After every run the invariant (doc/source/reliability.rst) is judged on
the whole console (every partition with its state, every virtual slot,
staging partition
included, every port's NPIV capacity; see :func:`snapshot`): either the
operation completed (the state is the clean run's end state), or it raised
and everything is exactly as before, or the instance's own share (its LPAR,
its slots, its metadata) is as the operation's clean rollback leaves it and
nothing else changed (:func:`console_problems`).  Partitions nova does not
know, with vFC mappings of their own, stand beside the instance in every
world.  Whatever the outcome, the metadata must agree with the VIOSes (every
recorded pair mapped where its state says, nothing mapped that the metadata
does not explain), nothing may be left on the staging partition that no
metadata claims, with or without WWPNs, and no mapping may point at a
partition that does not exist.  A failed run is then
retried without faults, which must complete: nova's answer to a failed
operation is to run it again (reschedule, repeated delete, new migration).
"""

import collections
import logging
import re
import time

import fixtures
from nova.compute import task_states
from nova import objects
from oslo_config import cfg
import testtools

from nova_npiv.cmd import harness
from nova_npiv import fabric_meta
from nova_npiv.volume import migration as migration_data
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator
from nova_npiv import vm

CONF = cfg.CONF

INSTANCE_UUID = '3f0c0a38-6f3c-4b7e-9d46-0c6a1d0e9a01'
FABRICS = ('A', 'B')

#: Fault kinds of the matrix.  'job' only applies to job runs (PUT .../do/X)
#: and '412x3' only to entry updates (POST with If-Match): nothing else can
#: meet an etag conflict.
KIND_500 = '500'
KIND_DROP = 'drop'
KIND_412 = '412x3'
KIND_JOB = 'job'
KIND_LOST = 'lost_reply'
#: Hostile replies instead of carrying the request out (200 OK).
KIND_GARBAGE = 'bad_xml'
KIND_DTD = 'entities'
KINDS = (KIND_500, KIND_DROP, KIND_412, KIND_JOB, KIND_LOST, KIND_GARBAGE,
         KIND_DTD)
#: The console unreachable: the request is not carried out, its connection
#: closes, and every connection is refused for OUTAGE_SECONDS; then the
#: console is back (same sessions).  Not in KINDS: see :func:`outage_matrix`.
KIND_OUTAGE = 'outage'
OUTAGE_SECONDS = 2.0

_BODIES = {
    KIND_GARBAGE: b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>',
    KIND_DTD: (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">'
               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
               b'<feed xmlns="http://www.w3.org/2005/Atom">&b;</feed>'),
}

COMPLETED = 'completed'
UNCHANGED = 'failed, unchanged'
ROLLED_BACK = 'failed, rolled back'
#: Double faults only: not a clean rollback (the revert met the second
#: fault), but the VIOSes, LPARs and metadata agree, and nothing else on the
#: console changed.
CONSISTENT = 'failed, consistent'
KEPT = (COMPLETED, UNCHANGED, ROLLED_BACK, CONSISTENT)
VIOLATED = 'VIOLATED'
NOT_FIRED = 'fault never fired'

_JOB_RUN = re.compile(r'/do/(\w+)$')
_JOB_ID = re.compile(r'^(/rest/api/uom/jobs/)\d+')

State = collections.namedtuple(
    'State', 'partitions mappings own_slots capacity metadata')


# --------------------------------------------------------------------------
# The world: simulator, drivers, instance


def bystander_topology():
    """The default estate plus partitions nova does not know, on every
    system: a running LPAR with one vFC mapping per fabric and a stopped
    LPAR.  Whatever the driver does to them, the judge sees."""
    spec = default_topology(existing_mappings=len(FABRICS))
    for system in spec['systems']:
        system.setdefault('lpars', []).append(
            {'name': 'idle-%s' % system['name'], 'state': 'not activated'})
    return spec


class World(object):
    """A fresh simulator with drivers and one instance; close() it."""

    def __init__(self, hosts=(('host-a', 'sys-a'),), topology=None,
                 bystanders=False, **overrides):
        self.overrides = overrides
        if topology is None:
            topology = (bystander_topology() if bystanders
                        else default_topology())
        self.sim = Simulator(topology)
        self.sim.start()
        self.drivers = {}
        self._replaced = []
        self.systems = dict(hosts)
        try:
            for host, system in hosts:
                self.load(host, system)
        except BaseException:
            self.close()
            raise
        self.inst = harness.new_instance(1, INSTANCE_UUID, hosts[0][0],
                                         node=hosts[0][1])
        self.cinder = harness.FakeCinder()
        self.ctxt = harness.admin_context()
        self.bdms = []
        self.notes = []
        #: A second fault is aimed at the revert or rollback, or the console
        #: is away while it runs: it cannot be clean.
        self.double = False
        self.capacity0 = capacity(self.sim)

    def load(self, host, system, **overrides):
        drv = harness.load_driver(self.sim, host, system,
                                  **dict(self.overrides, **overrides))
        self.sim.track_session(drv.adapter)
        # A replaced driver stays referenced: its session would otherwise
        # log off (a DELETE Logon) in the middle of some later request
        # sequence.
        self._replaced.append(self.drivers.get(host))
        self.drivers[host] = drv
        return drv

    def close(self):
        self.sim.stop()

    @property
    def lpar_uuid(self):
        return vm.lpar_uuid(self.inst)

    def fabrics(self, host='host-a'):
        return self.drivers[host].settings.fabrics

    # -- nova's calls ----------------------------------------------------

    def connector(self, host='host-a'):
        return self.drivers[host].get_volume_connector(self.inst)

    def spawn(self, host='host-a', volumes=2, connector=None):
        """What nova's build does: connector, then spawn."""
        conn = connector or self.connector(host)
        self.bdms = [self.cinder.bdm('vol-%d' % i, i, conn)
                     for i in range(volumes)]
        self.drivers[host].spawn(
            self.ctxt, self.inst, None, [], None, {},
            block_device_info={'block_device_mapping': self.bdms})

    def destroy(self, host='host-a'):
        self.drivers[host].destroy(self.ctxt, self.inst, None,
                                   {'block_device_mapping': self.bdms})

    def live_migrate(self, src_host='host-a', dst_host='host-b'):
        """The calls nova's conductor and compute managers make, in order.

        A failing pre_live_migration or Migrate job is followed by the
        rollback nova runs; a failing post-migration step leaves the
        instance on the destination, as nova does.
        """
        src, dst = self.drivers[src_host], self.drivers[dst_host]
        dst_node = self.systems[dst_host]
        inst = self.inst
        data = dst.check_can_live_migrate_destination(self.ctxt, inst, None,
                                                      None)
        data = src.check_can_live_migrate_source(self.ctxt, inst, data)
        data.migration = objects.Migration(
            source_compute=src_host, source_node=self.systems[src_host],
            dest_compute=dst_host, dest_node=dst_node)
        inst.task_state = task_states.MIGRATING
        try:
            conn = dst.get_volume_connector(inst)
            for bdm in self.bdms:
                bdm['connection_info'] = self.cinder.connection_info(
                    bdm['connection_info']['serial'], conn)
            data = dst.pre_live_migration(
                self.ctxt, inst, {'block_device_mapping': self.bdms}, None,
                None, data)
        except Exception:
            dst.rollback_live_migration_at_destination(
                self.ctxt, inst, None, None, migrate_data=data)
            src.rollback_live_migration_at_source(self.ctxt, inst, data)
            inst.task_state = None
            raise

        def post(ctxt, instance, dest, block_migration, migrate_data):
            src.post_live_migration(ctxt, instance, None, migrate_data)
            src.post_live_migration_at_source(ctxt, instance, None)
            instance.host, instance.node = dst_host, dst_node
            instance.task_state = None
            dst.post_live_migration_at_destination(ctxt, instance, None)

        def recover(ctxt, instance, dest, migrate_data):
            dst.rollback_live_migration_at_destination(
                ctxt, instance, None, None, migrate_data=migrate_data)
            instance.task_state = None

        try:
            src.live_migration(self.ctxt, inst, dst_host, post, recover,
                               migrate_data=data)
        finally:
            inst.task_state = None


# --------------------------------------------------------------------------
# State and the checks every run must pass


def capacity(sim):
    return tuple(sorted((p.system, p.vios, p.name, p.available)
                        for p in sim.model.ports()))


def _meta(inst):
    prefixes = (fabric_meta.STATE_PREFIX, fabric_meta.MAP_PREFIX,
                migration_data.KEY_PREFIX)
    return tuple(sorted((k, v) for k, v in inst.system_metadata.items()
                        if k.startswith(prefixes)))


#: One partition (LPAR or VIOS) as the judge sees it.
Partition = collections.namedtuple(
    'Partition', 'system kind id uuid name state is_mgmt memory_mb vcpus '
    'max_slots')
#: One virtual FC slot pair: the VIOS server adapter, its port binding and
#: the client adapter it serves (or none: ``client_slot`` None, no WWPNs).
VSlot = collections.namedtuple(
    'VSlot', 'system vios server_slot vfchost port client_id client_uuid '
    'href_uuid client_slot wwpns')


def _partitions(model):
    parts = [Partition(lp.system, 'lpar', lp.id, lp.uuid.upper(), lp.name,
                       lp.state, lp.is_mgmt, lp.memory_mb, lp.vcpus,
                       lp.max_virtual_slots) for lp in model.lpars()]
    parts += [Partition(v.system, 'vios', v.id, v.uuid.upper(), v.name,
                        v.state, v.is_mgmt, None, None, v.max_virtual_slots)
              for v in model.vioses()]
    return tuple(sorted(parts, key=repr))


#: The client slot of an adapter of the instance (see :func:`snapshot`).
OWN = '*'


def _owned(lpar_uuid, wwpns, client_uuid, href_uuid, slot_wwpns):
    return (lpar_uuid in (client_uuid, href_uuid) or
            bool(set(slot_wwpns) & wwpns))


def _slots(model, lpar_uuid, wwpns):
    slots, own = [], collections.defaultdict(list)
    for m in model.mappings():
        client_uuid = (m.client_lpar_uuid or '-').upper()
        href_uuid = (m.client_href_uuid or '-').upper()
        pair = tuple(w.lower() for w in m.wwpns)
        client_slot = m.client_slot if m.has_client_adapter else None
        if client_slot is not None and _owned(lpar_uuid, wwpns, client_uuid,
                                              href_uuid, pair):
            own[(m.system, m.client_lpar_id)].append(client_slot)
            client_slot = OWN
        slots.append(VSlot(m.system, m.vios, m.server_slot, m.vfchost,
                           m.port_name, m.client_lpar_id, client_uuid,
                           href_uuid, client_slot, pair))
    return (tuple(sorted(slots, key=repr)),
            tuple(sorted((k + (tuple(sorted(v)),) for k, v in own.items()))))


def snapshot(world):
    """The whole console as the judge compares it, plus the instance's
    fabric metadata: every partition with its state, every virtual slot
    (server adapter, port, client adapter and slot, WWPNs), every port's
    NPIV capacity.

    The VIOSes are updated in parallel, so which of the instance's new
    client adapters gets which free client slot varies from run to run:
    the client slots of the instance's adapters (its own partition's, and
    the staging partition's that carry its WWPNs) are compared as a set
    per client partition (``own_slots``); every other slot exactly.
    """
    model = world.sim.model
    meta = _meta(world.inst)
    slots, own = _slots(model, world.lpar_uuid.upper(),
                        _recorded(meta))
    return State(_partitions(model), slots, own, capacity(world.sim), meta)


def console(sim):
    """The whole console alone (no instance, every client slot exact)."""
    slots, _own = _slots(sim.model, None, set())
    return State(_partitions(sim.model), slots, (), capacity(sim), ())


def without(state, drop):
    """``state`` with the slots ``drop(slot)`` selects removed and their
    NPIV ports given back: what removing exactly those leaves."""
    gone = [s for s in state.mappings if drop(s)]
    freed = collections.Counter((s.system, s.vios, s.port)
                                for s in gone if s.port)
    return state._replace(
        mappings=tuple(s for s in state.mappings if not drop(s)),
        capacity=tuple((system, vios, port,
                        free + freed[(system, vios, port)])
                       for system, vios, port, free in state.capacity))


def describe_diff(old, new):
    """What changed between two snapshots, briefly."""
    out = []
    for field in State._fields:
        a, b = set(getattr(old, field)), set(getattr(new, field))
        if a == b:
            continue
        gone, came = sorted(a - b, key=repr), sorted(b - a, key=repr)
        out.append('%s: -%s +%s' % (field, _short(gone), _short(came)))
    return out


def _short(items, limit=3):
    text = ', '.join(str(i) for i in items[:limit])
    if len(items) > limit:
        text += ', ... (%d)' % len(items)
    return '[%s]' % text


_WWPN = re.compile(r'\b[0-9a-fA-F]{16}\b')


def _recorded(metadata):
    return {w.lower() for _k, v in metadata for w in _WWPN.findall(v)}


def recorded_wwpns(*states):
    """Every WWPN the instance's metadata names in any of ``states``
    (read as text: corrupt or half-written metadata still counts)."""
    return set().union(*(_recorded(st.metadata) for st in states))


def outside(state, lpar_uuid, wwpns):
    """``state`` without what is the instance's.

    The instance's: its LPAR (by UUID, on any system), every slot whose
    client is that LPAR (by UUID or by the link of an orphan) or whose
    client WWPNs are in ``wwpns``, and its metadata.  Port capacity is
    replaced by ``available + slots bound to the port``, which only a
    leaked or stolen NPIV port changes whoever owns the slots.
    """
    uuid = lpar_uuid.upper()
    slots = tuple(s for s in state.mappings
                  if not _owned(uuid, wwpns, s.client_uuid, s.href_uuid,
                                s.wwpns))
    bound = collections.Counter((s.system, s.vios, s.port)
                                for s in state.mappings if s.port)
    cap = tuple((system, vios, port, free + bound[(system, vios, port)])
                for system, vios, port, free in state.capacity)
    return State(tuple(p for p in state.partitions if p.uuid != uuid),
                 slots, (), cap, ())


def console_problems(world, before, state, wwpns=()):
    """Everything that changed on the console and is not the instance's."""
    wwpns = recorded_wwpns(before, state) | set(wwpns)
    return ['outside the instance: %s' % d for d in describe_diff(
        outside(before, world.lpar_uuid, wwpns),
        outside(state, world.lpar_uuid, wwpns))]


def _instance_lpar(world, inst=None):
    uuid = vm.lpar_uuid(inst or world.inst).upper()
    return [lp for lp in world.sim.model.lpars() if lp.uuid.upper() == uuid]


def consistency_problems(world, fabrics=FABRICS, instances=None):
    """Metadata vs VIOSes, staging leftovers and orphans; [] when sound.

    ``instances``: every nova instance whose metadata may claim mappings
    (default: ``world.inst``).  Nothing on the staging partition and no
    mapping of a partition that is gone is acceptable unless one of them
    claims it, with or without WWPNs.
    """
    problems = []
    instances = [world.inst] if instances is None else list(instances)
    model = world.sim.model
    maps = model.mappings()
    lpars = model.lpars()
    parts = {(lp.system, lp.id) for lp in lpars}
    parts.update((v.system, v.id) for v in model.vioses())
    staging = {(lp.system, lp.id) for lp in lpars if lp.is_mgmt}
    for m in maps:
        if (m.system, m.client_lpar_id) not in parts:
            problems.append('orphan: %s/%s %s (slot %s) maps %s to missing '
                            'partition %s'
                            % (m.system, m.vios, m.vfchost, m.server_slot,
                               ' '.join(m.wwpns) or 'no client adapter',
                               m.client_lpar_id))
    by_pair = collections.defaultdict(list)
    for m in maps:
        if m.wwpns:
            by_pair[frozenset(w.lower() for w in m.wwpns)].append(m)
    explained = set()
    for inst in instances:
        problems += _instance_problems(world, inst, fabrics, by_pair, maps,
                                       staging, explained)
    for m in maps:
        pair = frozenset(w.lower() for w in m.wwpns)
        if (m.system, m.client_lpar_id) in staging and \
                (not pair or pair not in explained):
            problems.append('staging leftover: %s/%s %s (slot %s, client '
                            'slot %s) maps %s'
                            % (m.system, m.vios, m.vfchost, m.server_slot,
                               m.client_slot,
                               ' '.join(m.wwpns) or 'no WWPNs'))
    return problems


def _instance_problems(world, inst, fabrics, by_pair, maps, staging,
                       explained):
    problems = []
    name = '' if inst is world.inst else 'instance %s: ' % inst.uuid
    uuid = vm.lpar_uuid(inst).upper()
    inst_lpars = _instance_lpar(world, inst)
    if len(inst_lpars) > 1:
        problems.append('%sLPAR of the instance on %d systems'
                        % (name, len(inst_lpars)))
    mine = set()
    for fabric in fabrics:
        try:
            rec = fabric_meta.get_fabric(inst, fabric)
        except Exception as err:
            problems.append('%smetadata: %s' % (name, err))
            continue
        for phys, pair in rec.port_map:
            key = frozenset(pair.split())
            explained.add(key)
            mine.add(key)
            found = by_pair.get(key, [])
            to_inst = [m for m in found
                       if (m.client_lpar_uuid or '').upper() == uuid]
            to_stg = [m for m in found
                      if (m.system, m.client_lpar_id) in staging]
            if rec.state == fabric_meta.INST_MAPPED:
                if len(to_inst) != 1 or len(found) != 1:
                    problems.append(
                        '%sfabric %s is inst_mapped but pair %s has %d '
                        'mapping(s), %d to the instance'
                        % (name, fabric, pair, len(found), len(to_inst)))
                elif (to_inst[0].port_wwpn or '').lower() != phys:
                    problems.append(
                        '%sfabric %s: pair %s recorded on port %s but '
                        'mapped through %s' % (name, fabric, pair, phys,
                                               to_inst[0].port_wwpn))
            elif rec.state == fabric_meta.MGMT_MAPPED:
                if len(to_stg) != 1 or len(found) != 1:
                    problems.append(
                        '%sfabric %s is mgmt_mapped but pair %s has %d '
                        'mapping(s), %d to staging'
                        % (name, fabric, pair, len(found), len(to_stg)))
            elif found:
                problems.append(
                    '%sfabric %s is unmapped but pair %s is mapped on %s'
                    % (name, fabric, pair,
                       ', '.join('%s/%s' % (m.system, m.vios)
                                 for m in found)))
    for m in maps:
        pair = frozenset(w.lower() for w in m.wwpns)
        if (m.client_lpar_uuid or '').upper() == uuid and pair not in mine:
            problems.append('%smapping %s/%s %s of the instance (%s) is not '
                            'in its metadata'
                            % (name, m.system, m.vios, m.vfchost,
                               ' '.join(m.wwpns) or 'no WWPNs'))
    return problems


def unmapped_with_wwpns(world, fabrics=FABRICS, allow_absent=True):
    """Problems unless every fabric is unmapped (WWPNs kept) or absent."""
    problems = []
    for fabric in fabrics:
        try:
            rec = fabric_meta.get_fabric(world.inst, fabric)
        except Exception as err:
            problems.append('metadata: %s' % err)
            continue
        if rec.state != fabric_meta.UNMAPPED:
            problems.append('fabric %s is %s, not unmapped'
                            % (fabric, rec.state))
        elif not rec.port_map and not allow_absent:
            problems.append('fabric %s lost its WWPNs' % fabric)
    return problems


def mapped_to_instance(world, system, fabrics=FABRICS, state='running'):
    """Problems unless the instance runs on ``system`` with every fabric
    mapped to it (and nowhere else)."""
    problems = []
    lpars = _instance_lpar(world)
    if [(lp.system, lp.state) for lp in lpars] != [(system, state)]:
        problems.append('instance LPAR is %s, expected %s on %s'
                        % ([(lp.system, lp.state) for lp in lpars] or
                           'missing', state, system))
    uuid = world.lpar_uuid.upper()
    maps = [m for m in world.sim.model.mappings()
            if (m.client_lpar_uuid or '').upper() == uuid]
    for fabric in fabrics:
        try:
            rec = fabric_meta.get_fabric(world.inst, fabric)
        except Exception as err:
            problems.append('metadata: %s' % err)
            continue
        if rec.state != fabric_meta.INST_MAPPED:
            problems.append('fabric %s is %s' % (fabric, rec.state))
        mine = [m for m in maps if m.fabric == fabric]
        if len(mine) != len(rec.port_map) or \
                any(m.system != system for m in mine):
            problems.append('fabric %s: %d mapping(s) of the instance on '
                            '%s, expected %d on %s'
                            % (fabric, len(mine),
                               sorted({m.system for m in mine}),
                               len(rec.port_map), system))
    return problems


def gone(world):
    """Problems unless the instance has no LPAR and no mapping anywhere."""
    problems = []
    if _instance_lpar(world):
        problems.append('instance LPAR still exists')
    pairs = set()
    for fabric in FABRICS:
        try:
            rec = fabric_meta.get_fabric(world.inst, fabric)
        except Exception:
            continue
        pairs.update(frozenset(p.split()) for _, p in rec.port_map)
    uuid = world.lpar_uuid.upper()
    left = [m for m in world.sim.model.mappings()
            if (m.client_lpar_uuid or '').upper() == uuid or
            frozenset(w.lower() for w in m.wwpns) in pairs]
    if left:
        problems.append('%d mapping(s) of the instance left' % len(left))
    if capacity(world.sim) != world.capacity0:
        problems.append('NPIV capacity not back to where it started')
    return problems


# --------------------------------------------------------------------------
# Scenarios


class Scenario(object):
    """One operation: how to reach its start, run it and judge a failure."""

    name = None
    hosts = (('host-a', 'sys-a'),)
    #: Fabrics whose metadata must agree with the VIOSes.
    fabrics = FABRICS

    def world(self):
        return World(self.hosts, bystanders=True)

    def prepare(self, world):
        """Bring the world to the operation's starting point."""

    def operate(self, world):
        raise NotImplementedError

    def retry(self, world):
        self.operate(world)

    def done(self, world):
        """Problems with the state a completed operation must leave."""
        return []

    def rolled_back(self, world, before):
        """Problems with the state after a failure, other than "as before".

        The default: only "exactly as before" is accepted.
        """
        return ['not as before']


class Spawn(Scenario):
    """Boot from two volumes on two fabrics: connector, then spawn.

    As nova's build does, a failed spawn is followed by destroy (nova's
    ``_shutdown_instance``); a failed connector is not.
    """

    name = 'spawn'

    def operate(self, world):
        conn = world.connector()
        staged = snapshot(world)
        try:
            world.spawn(connector=conn)
        except Exception:
            # What spawn's own reverts left: the state the connector made,
            # or the clean rollback.
            if world.double:
                # The revert itself met a fault: it cannot be clean, but
                # the VIOSes and the metadata must agree.
                problems = consistency_problems(world)
            elif snapshot(world) != staged:
                problems = (self.rolled_back(world, None) +
                            console_problems(world, staged,
                                             snapshot(world)))
            else:
                problems = []
            if problems:
                world.notes.append('after spawn\'s revert: %s'
                                       % '; '.join(problems))
            world.destroy()
            raise

    def done(self, world):
        return mapped_to_instance(world, 'sys-a')

    def rolled_back(self, world, before):
        return gone(world) + unmapped_with_wwpns(world)


class Delete(Scenario):
    """Destroy a running instance booted from two volumes."""

    name = 'delete'

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        world.destroy()

    def done(self, world):
        return gone(world) + unmapped_with_wwpns(world)

    def rolled_back(self, world, before):
        # A destroy cannot be undone: the LPAR may be powered off, and its
        # mappings may be gone if the metadata says so.  A delete whose
        # last reply was lost did complete.
        if not self.done(world):
            return []
        lpars = _instance_lpar(world)
        if [(lp.system, lp.state) for lp in lpars] != \
                [('sys-a', 'not activated')]:
            return ['instance LPAR is %s' % [(lp.system, lp.state)
                                             for lp in lpars]]
        uuid = world.lpar_uuid.upper()
        stopped = before._replace(partitions=tuple(sorted(
            (p._replace(state='not activated') if p.uuid == uuid else p
             for p in before.partitions), key=repr)))
        if snapshot(world) == stopped:
            return []
        problems = unmapped_with_wwpns(world)
        if [m for m in world.sim.model.mappings()
                if (m.client_lpar_uuid or '').upper() == uuid]:
            problems.append('instance mappings left')
        if capacity(world.sim) != world.capacity0:
            problems.append('NPIV capacity changed')
        return problems


class DeleteStaged(Scenario):
    """Destroy an instance whose connector ran but whose spawn never did."""

    name = 'delete before spawn'

    def prepare(self, world):
        world.connector()

    def operate(self, world):
        world.destroy()

    def done(self, world):
        return gone(world) + unmapped_with_wwpns(world)

    def rolled_back(self, world, before):
        return gone(world) + unmapped_with_wwpns(world)


class Attach(Scenario):
    """Attach a third volume to a running instance (nothing to map)."""

    name = 'attach'

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        bdm = world.cinder.bdm('vol-third', 2, world.connector())
        world.drivers['host-a'].attach_volume(
            world.ctxt, bdm['connection_info'], world.inst, '/dev/sdc')
        world.bdms.append(bdm)

    def done(self, world):
        return mapped_to_instance(world, 'sys-a')


class Detach(Scenario):
    """Detach the second volume of a running instance."""

    name = 'detach'

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        bdm = world.bdms[-1]
        world.drivers['host-a'].detach_volume(
            world.ctxt, bdm['connection_info'], world.inst, '/dev/sdb')

    def done(self, world):
        return mapped_to_instance(world, 'sys-a')


class AttachNewFabric(Scenario):
    """Attach to an instance booted before fabric B was configured.

    The connector allocates and stages fabric B's WWPNs, the attach maps
    them to the instance; fabric A carries the boot volume throughout.
    """

    name = 'attach (new fabric)'

    def prepare(self, world):
        world.load('host-a', 'sys-a', fabrics=['A'])
        world.spawn(volumes=1)
        world.load('host-a', 'sys-a')

    def operate(self, world):
        bdm = world.cinder.bdm('vol-new', 1, world.connector())
        world.drivers['host-a'].attach_volume(
            world.ctxt, bdm['connection_info'], world.inst, '/dev/sdb')

    def done(self, world):
        return mapped_to_instance(world, 'sys-a')

    def rolled_back(self, world, before):
        # Fabric A untouched; fabric B unmapped with its WWPNs, or staged
        # (the connector ran, the attach failed before mapping anything).
        problems = mapped_to_instance(world, 'sys-a', fabrics=['A'])
        if fabric_meta.get_fabric(world.inst, 'B').state != \
                fabric_meta.MGMT_MAPPED:
            problems += unmapped_with_wwpns(world, fabrics=['B'])
        return problems


class LiveMigrate(Scenario):
    """Live-migrate a running instance from sys-a (host-a) to sys-b."""

    name = 'live migration'
    hosts = (('host-a', 'sys-a'), ('host-b', 'sys-b'))

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        world.live_migrate()

    def retry(self, world):
        if world.inst.host == 'host-a':
            world.live_migrate()

    def done(self, world):
        return mapped_to_instance(world, 'sys-b')


SCENARIOS = (Spawn(), Attach(), AttachNewFabric(), Detach(), Delete(),
             DeleteStaged(), LiveMigrate())


def scenario(name):
    for sc in SCENARIOS:
        if sc.name == name:
            return sc
    raise KeyError(name)


# --------------------------------------------------------------------------
# Learning a request sequence and aiming faults at it

Target = collections.namedtuple('Target', 'index method path regex nth job')


def targets(records):
    """One Target per request: how to hit exactly it in a re-run."""
    out = []
    seen = collections.Counter()
    for index, rec in enumerate(records):
        regex = '^%s$' % re.escape(rec.path)
        if _JOB_ID.match(rec.path):
            regex = '^%s[^/]+$' % re.escape(_JOB_ID.match(rec.path).group(1))
        seen[(rec.method, regex)] += 1
        job = None
        match = _JOB_RUN.search(rec.path)
        if rec.method == 'PUT' and match:
            seen[('job', match.group(1))] += 1
            job = (match.group(1), seen[('job', match.group(1))])
        out.append(Target(index, rec.method, rec.path, regex,
                          seen[(rec.method, regex)], job))
    return out


def kinds_for(target, kinds=KINDS):
    return [k for k in kinds
            if (k != KIND_JOB or target.job) and
            (k != KIND_412 or target.method == 'POST')]


def arm(sim, target, kind):
    if kind == KIND_JOB:
        return sim.fail_job(target.job[0], nth=target.job[1])
    if kind == KIND_OUTAGE:
        return sim.inject_fault(target.method, target.regex, nth=target.nth,
                                kind='outage', delay=OUTAGE_SECONDS)
    if kind in _BODIES:
        return sim.inject_fault(target.method, target.regex, nth=target.nth,
                                kind='body', status=200,
                                body=_BODIES[kind])
    fault_kind = {KIND_500: 'status', KIND_DROP: 'drop', KIND_412: '412',
                  KIND_LOST: 'lost_reply'}[kind]
    return sim.inject_fault(target.method, target.regex, nth=target.nth,
                            kind=fault_kind, status=500,
                            times=3 if kind == KIND_412 else 1)


def _fired(fault):
    hits = fault.hits
    return bool(hits if isinstance(hits, list) else hits)


# --------------------------------------------------------------------------
# Running


Learned = collections.namedtuple('Learned', 'scenario requests targets '
                                 'before after seconds')

Result = collections.namedtuple(
    'Result', 'scenario kind target outcome error problems retried seconds '
    'second requests', defaults=(None, None))

#: ``retry`` of :func:`run_one`: after a failure, delete the instance (what
#: an operator does with an instance left in ERROR) instead of running the
#: operation again.
RETRY_DELETE = 'delete'

#: The fault kinds of double-fault runs, first and second.
DOUBLE_FIRST = (KIND_500, KIND_LOST)
DOUBLE_SECOND = (KIND_500, KIND_LOST)


def names_request(result):
    """Whether the error of a failed run names the request that failed."""
    text = str(result.error)
    target = result.target
    return target.path in text or bool(target.job and
                                       "'%s'" % target.job[0] in text)


def learn(sc):
    """Run ``sc`` cleanly: its requests and its start and end states."""
    started = time.monotonic()
    world = sc.world()
    try:
        sc.prepare(world)
        before = snapshot(world)
        world.sim.reset_counters()
        sc.operate(world)
        records = world.sim.request_log
        after = snapshot(world)
        problems = (sc.done(world) + consistency_problems(world, sc.fabrics)
                    + console_problems(world, before, after))
        if problems:
            raise AssertionError('%s: clean run is wrong: %s'
                                 % (sc.name, '; '.join(problems)))
    finally:
        world.close()
    return Learned(sc, records, targets(records), before, after,
                   time.monotonic() - started)


def judge(sc, world, learned, error):
    """(outcome, problems) of one run."""
    state = snapshot(world)
    problems = list(world.notes)
    problems += consistency_problems(world, sc.fabrics)
    problems += console_problems(world, learned.before, state,
                                 recorded_wwpns(learned.after))
    if error is None:
        outcome = COMPLETED
        if state != learned.after:
            problems += ['completed but differs from a clean run: %s'
                         % d for d in describe_diff(learned.after, state)]
        problems += sc.done(world)
    elif state == learned.before:
        outcome = UNCHANGED
    else:
        outcome = ROLLED_BACK
        reasons = sc.rolled_back(world, learned.before)
        if reasons and world.double:
            outcome = CONSISTENT
        elif reasons:
            problems += reasons
            problems += ['vs before: %s' % d
                         for d in describe_diff(learned.before, state)]
    return (VIOLATED if problems else outcome), problems


def run_one(sc, learned, target, kind, retry=True, plant=None,
            second=None):
    """Re-run ``sc`` with ``kind`` at ``target``; a Result.

    ``second``: (target, kind) of a second fault, aimed (by the request
    sequence of a run with the first fault alone) at a request of the
    revert or rollback that follows the first.
    ``plant(world)``, if given, runs between the operation and the judge:
    the tests of the judge plant there the damage a bug would leave.
    ``retry``: after a failure, run the operation again without faults
    (True) or delete the instance (:data:`RETRY_DELETE`); either must
    succeed.
    """
    started = time.monotonic()
    world = sc.world()
    try:
        sc.prepare(world)
        if snapshot(world) != learned.before:
            raise AssertionError('%s: the world is not deterministic'
                                 % sc.name)
        world.sim.reset_counters()
        fault = arm(world.sim, target, kind)
        fault2 = arm(world.sim, *second) if second else None
        world.double = bool(second) or kind == KIND_OUTAGE
        error = None
        try:
            sc.operate(world)
        except Exception as err:
            error = err
        requests = world.sim.request_log
        if not _fired(fault) or (second and not _fired(fault2)):
            return Result(sc.name, kind, target, NOT_FIRED, error,
                          ['the request sequence changed'], None,
                          time.monotonic() - started, second, requests)
        if plant is not None:
            plant(world)
        outcome, problems = judge(sc, world, learned, error)
        retried = None
        if not world.sim.wait_listening(OUTAGE_SECONDS + 30):
            raise AssertionError('the console outage did not end')
        if error is not None and retry:
            world.sim.clear_faults()
            world.notes = []
            if retry == RETRY_DELETE:
                retried = retried_delete(world, learned)
            else:
                retried = _retried(sc, world, learned)
        return Result(sc.name, kind, target, outcome, error, problems,
                      retried, time.monotonic() - started, second, requests)
    finally:
        world.close()


def _retried(sc, world, learned):
    try:
        sc.retry(world)
    except Exception as err:
        return ['retry failed: %s: %s' % (type(err).__name__, err)]
    return (sc.done(world) + consistency_problems(world, sc.fabrics) +
            console_problems(world, learned.before, snapshot(world)))


def retried_delete(world, learned):
    """Problems unless deleting the instance now (no faults) leaves
    nothing of it and everything else as it was before the operation."""
    try:
        world.destroy(host=world.inst.host)
    except Exception as err:
        return ['retried delete failed: %s: %s' % (type(err).__name__, err)]
    return (gone(world) + unmapped_with_wwpns(world) +
            consistency_problems(world) +
            console_problems(world, learned.before, snapshot(world)))


def matrix(sc, learned, kinds=KINDS, indexes=None, retry=True):
    """Results of every (index, kind) combination asked for."""
    results = []
    for target in learned.targets:
        if indexes is not None and target.index not in indexes:
            continue
        for kind in kinds_for(target, kinds):
            results.append(run_one(sc, learned, target, kind, retry=retry))
    return results


def double_matrix(sc, learned, first=DOUBLE_FIRST, second=DOUBLE_SECOND,
                  singles=None, indexes=None, follow=None):
    """Results of every fault pair: a first fault at request i, then a
    second at each request j > i of the revert or rollback that follows.

    Only first faults that make the operation fail have a revert to aim
    at.  ``singles``: results of :func:`matrix` already run (their request
    sequences are reused); ``follow``: only the j - i asked for (the
    unit suite's sample).
    """
    known = {(r.target.index, r.kind): r for r in singles or ()
             if r.second is None}
    results = []
    for target in learned.targets:
        if indexes is not None and target.index not in indexes:
            continue
        for kind in kinds_for(target, first):
            single = known.get((target.index, kind))
            if single is None:
                single = run_one(sc, learned, target, kind, retry=False)
            if single.outcome == NOT_FIRED or single.error is None:
                continue
            for later in targets(single.requests)[target.index + 1:]:
                if follow is not None and \
                        later.index - target.index not in follow:
                    continue
                for kind2 in kinds_for(later, second):
                    results.append(run_one(sc, learned, target, kind,
                                           retry=RETRY_DELETE,
                                           second=(later, kind2)))
    return results


def outage_matrix(sc, learned, indexes=None):
    """Results of the console going away at each request (see
    :data:`KIND_OUTAGE`), judged like double faults: the revert meets the
    outage too; then, the console back, a retried delete."""
    return [run_one(sc, learned, target, KIND_OUTAGE, retry=RETRY_DELETE)
            for target in learned.targets
            if indexes is None or target.index in indexes]


def pair_label(result):
    """'500 -> lost_reply' of a double-fault result."""
    return '%s -> %s' % (result.kind, result.second[1])


def label(target):
    path = re.sub(r'[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}', '<uuid>', target.path)
    path = re.sub(r'/jobs/\d+', '/jobs/<id>', path)
    return '#%d %s %s' % (target.index, target.method,
                          path.replace('/rest/api/uom', ''))


def format_result(res):
    text = '%s, %s at %s' % (res.scenario, res.kind, label(res.target))
    if res.second:
        text += ', then %s at %s' % (res.second[1], label(res.second[0]))
    text += ': %s' % res.outcome
    if res.error is not None:
        text += ' (%s)' % type(res.error).__name__
    for problem in res.problems:
        text += '\n    - %s' % problem
    if res.retried:
        text += '\n    retry: %s' % '; '.join(res.retried)
    return text


# --------------------------------------------------------------------------
# Test support


def reset_conf():
    """Undo what harness.load_driver set on the global CONF."""
    for name in list(CONF.powervm.keys()):
        try:
            CONF.clear_override(name, group='powervm')
        except cfg.NoSuchOptError:
            pass
    CONF.clear_override('compute_driver')
    CONF.clear_override('connection', group='database')


#: The node identity of harness drivers (see WorldTestCase).
NODE_UUID = '0c7e2d9a-5c3b-4e8f-9a7d-2b6f1e4c8d30'


class WorldTestCase(testtools.TestCase):
    """Tests on simulator worlds; logs captured, CONF restored."""

    log_level = logging.INFO

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=self.log_level,
            format='%(levelname)s %(name)s %(message)s'))
        self.addCleanup(reset_conf)
        # The harness is no nova service: no parsed nova.conf to find the
        # node identity file in (nova's own tests replace it the same way).
        self.useFixture(fixtures.MockPatch(
            'nova.virt.node.get_local_node_uuid', return_value=NODE_UUID))

    def world(self, hosts=(('host-a', 'sys-a'),), topology=None,
              bystanders=False, **overrides):
        world = World(hosts, topology=topology, bystanders=bystanders,
                      **overrides)
        self.addCleanup(world.close)
        return world
