"""What every run must leave: the judge of the whole console.

The invariant (doc/source/reliability.rst) is judged on the whole console,
not on what the operation meant to touch: a bug that changes something
else -- another partition's slot, a port's NPIV capacity, a bystander
LPAR's state -- is exactly what an operation-local check would miss.  So
:func:`snapshot` takes every partition with its state, every virtual slot
(staging partition included) and every port's NPIV capacity, plus the
instance's fabric metadata; :func:`console_problems` reports whatever
changed outside the instance's own share (its LPAR, its slots, its
metadata).

Whatever the outcome, the metadata must also agree with the VIOSes
(:func:`consistency_problems`): every recorded pair mapped where its state
says, nothing mapped that the metadata does not explain, nothing left on
the staging partition that no metadata claims, with or without WWPNs, and
no mapping pointing at a partition that does not exist.  The scenarios
state what a completed or rolled-back operation leaves with
:func:`mapped_to_instance`, :func:`unmapped_with_wwpns` and :func:`gone`.
"""

import collections
import re

from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv.testing import world as world_lib
from nova_npiv import vm
from nova_npiv.volume import migration as migration_data


State = collections.namedtuple(
    'State', 'partitions mappings own_slots capacity metadata')


def _meta(inst):
    prefixes = (fabric_meta.STATE_PREFIX, fabric_meta.MAP_PREFIX,
                migration_data.KEY_PREFIX, vm.LPAR_UUID_KEY,
                moves.SOURCE_LPAR_KEY)
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


def own_uuids(inst):
    """Every partition UUID that is the instance's: the derived one, the
    one recorded when the platform chose it, and the source LPAR's of a
    move to another system until confirm or revert."""
    uuids = set(vm.known_uuids(inst))
    if moves.source_lpar_uuid(inst):
        uuids.add(moves.source_lpar_uuid(inst))
    return uuids


def _uuid_set(lpar_uuids):
    if lpar_uuids is None:
        return set()
    if isinstance(lpar_uuids, str):
        return {lpar_uuids.upper()}
    return {u.upper() for u in lpar_uuids}


def _owned(lpar_uuids, wwpns, client_uuid, href_uuid, slot_wwpns):
    return (bool(lpar_uuids & {client_uuid, href_uuid}) or
            bool(set(slot_wwpns) & wwpns))


def _slots(model, lpar_uuid, wwpns):
    lpar_uuid = _uuid_set(lpar_uuid)
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
    slots, own = _slots(model, own_uuids(world.inst), _recorded(meta))
    return State(_partitions(model), slots, own,
                 world_lib.capacity(world.sim), meta)


def console(sim):
    """The whole console alone (no instance, every client slot exact)."""
    slots, _own = _slots(sim.model, None, set())
    return State(_partitions(sim.model), slots, (), world_lib.capacity(sim),
                 ())


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
    uuids = _uuid_set(lpar_uuid)
    slots = tuple(s for s in state.mappings
                  if not _owned(uuids, wwpns, s.client_uuid, s.href_uuid,
                                s.wwpns))
    bound = collections.Counter((s.system, s.vios, s.port)
                                for s in state.mappings if s.port)
    cap = tuple((system, vios, port, free + bound[(system, vios, port)])
                for system, vios, port, free in state.capacity)
    return State(tuple(p for p in state.partitions if p.uuid not in uuids),
                 slots, (), cap, ())


def console_problems(world, before, state, wwpns=()):
    """Everything that changed on the console and is not the instance's."""
    wwpns = recorded_wwpns(before, state) | set(wwpns)
    uuids = own_uuids(world.inst) | _recorded_uuids(before, state)
    return ['outside the instance: %s' % d for d in describe_diff(
        outside(before, uuids, wwpns),
        outside(state, uuids, wwpns))]


def _recorded_uuids(*states):
    """LPAR UUIDs the instance's metadata names in any of ``states``: a
    revert forgets the destination LPAR it deleted."""
    keys = (vm.LPAR_UUID_KEY, moves.SOURCE_LPAR_KEY)
    return {v.upper() for st in states for k, v in st.metadata
            if k in keys and v}


def instance_lpars(world, inst=None):
    """The LPARs (on any system) of ``inst`` (default: the world's)."""
    uuids = own_uuids(inst or world.inst)
    return [lp for lp in world.sim.model.lpars() if lp.uuid.upper() in uuids]


def source_lpars(world):
    """The LPAR a move to another system left, until confirm or revert."""
    uuid = moves.source_lpar_uuid(world.inst)
    return [lp for lp in world.sim.model.lpars() if lp.uuid.upper() == uuid]


def _moved_lpars(world, inst=None):
    """The instance's LPARs but the source one of a move."""
    source = moves.source_lpar_uuid(inst or world.inst)
    return [lp for lp in instance_lpars(world, inst)
            if lp.uuid.upper() != source]


def consistency_problems(world, fabrics=world_lib.FABRICS, instances=None):
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
    uuids = own_uuids(inst)
    inst_lpars = _moved_lpars(world, inst)
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
                       if (m.client_lpar_uuid or '').upper() in uuids]
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
        if (m.client_lpar_uuid or '').upper() in uuids and pair not in mine:
            problems.append('%smapping %s/%s %s of the instance (%s) is not '
                            'in its metadata'
                            % (name, m.system, m.vios, m.vfchost,
                               ' '.join(m.wwpns) or 'no WWPNs'))
    return problems


def unmapped_with_wwpns(world, fabrics=world_lib.FABRICS, allow_absent=True):
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


def mapped_to_instance(world, system, fabrics=world_lib.FABRICS,
                       state='running'):
    """Problems unless the instance runs on ``system`` with every fabric
    mapped to it (and nowhere else).  The LPAR a move to another system
    left behind until confirm is not counted (see :func:`source_lpars`)."""
    problems = []
    lpars = _moved_lpars(world)
    if [(lp.system, lp.state) for lp in lpars] != [(system, state)]:
        problems.append('instance LPAR is %s, expected %s on %s'
                        % ([(lp.system, lp.state) for lp in lpars] or
                           'missing', state, system))
    uuids = own_uuids(world.inst)
    maps = [m for m in world.sim.model.mappings()
            if (m.client_lpar_uuid or '').upper() in uuids]
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
    if instance_lpars(world):
        problems.append('instance LPAR still exists')
    pairs = set()
    for fabric in world_lib.FABRICS:
        try:
            rec = fabric_meta.get_fabric(world.inst, fabric)
        except Exception:
            continue
        pairs.update(frozenset(p.split()) for _, p in rec.port_map)
    uuids = own_uuids(world.inst)
    left = [m for m in world.sim.model.mappings()
            if (m.client_lpar_uuid or '').upper() in uuids or
            frozenset(w.lower() for w in m.wwpns) in pairs]
    if left:
        problems.append('%d mapping(s) of the instance left' % len(left))
    if world_lib.capacity(world.sim) != world.capacity0:
        problems.append('NPIV capacity not back to where it started')
    return problems
