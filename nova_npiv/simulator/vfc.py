"""The vFC update plan: what a POSTed VirtualIOServer does to its mappings.

pypowervm's ``vfc_mapper.add_map``/``remove_maps`` change a VIOS by POSTing
it whole, with its ``VirtualFibreChannelMappings`` as the client wants them.
:class:`VfcUpdate` turns that body into a change in two phases, so that a
refused POST leaves nothing half-done (as on a console) and each phase can be
tested alone:

* :meth:`VfcUpdate.validate` pairs the posted mappings with the existing
  ones, checks every addition, rebind and removal against the state and
  settles slots, WWPNs and NPIV capacity.  It raises
  :class:`~nova_npiv.simulator.vocab.SimulatorError` and changes nothing
  except drawing generated WWPNs from the system's pool (as the firmware
  does);
* :meth:`VfcUpdate.apply` carries the validated plan out.

Both run under the model's lock (the caller holds it).
"""

import collections
import dataclasses

from nova_npiv.simulator import dlpar
from nova_npiv.simulator import state
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import SimulatorError


@dataclasses.dataclass
class NewMapping:
    """A mapping the update adds, with everything settled."""
    posted: state.PostedMapping
    lpar: object       # state.LparState
    wwpns: tuple
    client_slot: int
    server_slot: int


def match_posted(vios, posted):
    """Pair posted mappings with existing ones: ({key: (map, posted)}, new).

    An existing mapping is recognised by its server adapter (slot and
    vfchost name, echoed back as read); anything else is new.
    """
    by_both, by_slot, by_name = {}, {}, {}
    for m in vios.maps.values():
        by_both.setdefault((m.server_slot, m.vfchost), []).append(m)
        by_slot.setdefault(m.server_slot, []).append(m)
        by_name.setdefault(m.vfchost, []).append(m)
    keep = {}
    new = []
    for pm in posted:
        found = None
        for index, key in ((by_both, (pm.server_slot, pm.server_name)),
                           (by_slot, pm.server_slot),
                           (by_name, pm.server_name)):
            for m in index.get(key, ()):
                if m.key not in keep:
                    found = m
                    break
            if found is not None:
                break
        if found is None or (pm.server_slot is None
                             and pm.server_name is None):
            new.append(pm)
        else:
            keep[found.key] = (found, pm)
    return keep, new


class VfcUpdate(object):
    """The vFC mapping change one VIOS POST asks for.

    :param model: the :class:`~nova_npiv.simulator.model.Model`.
    :param vios: the live ``ViosState`` being updated.
    :param posted: the list of ``PostedMapping`` in the body.
    """

    def __init__(self, model, vios, posted):
        self.model = model
        self.vios = vios
        self.posted = list(posted)
        self.keep = {}        # map key -> (MapState, PostedMapping)
        self.removed = []     # MapState
        self.rebinds = []     # (MapState, new port name)
        self.added = []       # NewMapping
        self.validated = False

    @property
    def changes(self):
        return bool(self.removed or self.rebinds or self.added)

    # -- phase 1 ---------------------------------------------------------
    def validate(self):
        """Check the whole update; raise SimulatorError if it is refused."""
        vios = self.vios
        sysm = vios.system
        self.keep, new = match_posted(vios, self.posted)
        self.removed = [m for key, m in vios.maps.items()
                        if key not in self.keep]
        delta = collections.Counter()
        for m in self.removed:
            if m.port is not None:
                delta[m.port] += 1
        self.rebinds = []
        for m, pm in self.keep.values():
            if pm.port_name is not None and pm.port_name != m.port:
                self._require_port(pm.port_name)
                delta[pm.port_name] -= 1
                if m.port is not None:
                    delta[m.port] += 1
                self.rebinds.append((m, pm.port_name))
        freed = collections.Counter()
        freed_slots = collections.defaultdict(set)
        for m in self.removed:
            if m.client:
                freed.update(m.wwpns)
                freed_slots[m.client_id].add(m.client_slot)
        kept_slots = {m.server_slot for m, _pm in self.keep.values()}
        plan = []
        new_wwpns = set()
        new_client_slots = collections.defaultdict(set)
        new_server_slots = set()
        for pm in new:
            lpar = self._posted_client(pm)
            if pm.port_name is not None:
                self._require_port(pm.port_name)
                delta[pm.port_name] -= 1
            wwpns = None
            if pm.wwpns is not None:
                wwpns = self._check_posted_wwpns(pm.wwpns, freed, new_wwpns)
                new_wwpns.update(wwpns)
            used = ((self.model.client_slots(sysm, lpar.id)
                     - freed_slots[lpar.id]) | new_client_slots[lpar.id])
            slot = self._client_slot(pm, lpar, used)
            new_client_slots[lpar.id].add(slot)
            sslot = self._server_slot(pm, kept_slots | new_server_slots)
            new_server_slots.add(sslot)
            plan.append((pm, lpar, wwpns, slot, sslot))
        for name, d in delta.items():
            port = vios.ports[name]
            if port.available + d < 0:
                raise SimulatorError(400, vios.no_capacity_msg(port))
        # Generated WWPNs last: explicit ones must not be handed out.
        self.added = []
        taken = set(new_wwpns)
        for pm, lpar, wwpns, slot, sslot in plan:
            if wwpns is None:
                wwpns = self.model.next_pair(sysm, taken)
                taken.update(wwpns)
            self.added.append(NewMapping(pm, lpar, wwpns, slot, sslot))
        self.validated = True
        return self

    def _client_slot(self, pm, lpar, used):
        if pm.client_slot is not None:
            slot = int(pm.client_slot)
            if slot in used:
                raise SimulatorError(
                    400, 'Virtual slot %d of partition %s is already in use'
                    % (slot, lpar.name))
            if slot >= lpar.max_slots:
                raise SimulatorError(400, dlpar.slots_message(lpar, slot))
            return slot
        return state.first_free_client_slot(lpar, used)

    def _server_slot(self, pm, used):
        if pm.server_slot is not None:
            sslot = int(pm.server_slot)
            if sslot in used:
                raise SimulatorError(
                    400, 'Virtual slot %d of VIOS %s is already in use'
                    % (sslot, self.vios.name))
            return sslot
        sslot = vocab.FIRST_SERVER_SLOT
        while sslot in used:
            sslot += 1
        if sslot >= self.vios.max_slots:
            raise SimulatorError(400, 'VIOS %s has no free virtual slot'
                                 % self.vios.name)
        return sslot

    def _require_port(self, name):
        if name not in self.vios.ports:
            raise SimulatorError(
                400, 'VIOS %s has no physical FC port named %s'
                % (self.vios.name, name))

    def _posted_client(self, pm):
        vios = self.vios
        if not pm.has_client:
            raise SimulatorError(400, 'A new virtual FC mapping needs a '
                                 'ClientAdapter')
        lpar_uuid = vocab.uuid_from_href(pm.client_href)
        if lpar_uuid is None:
            raise SimulatorError(400, 'A new virtual FC mapping needs an '
                                 'AssociatedLogicalPartition link')
        part = self.model.find_partition(None, lpar_uuid)
        if part is None or part.system is not vios.system:
            raise SimulatorError(
                400, 'Logical partition %s does not exist on managed system '
                '%s' % (lpar_uuid, vios.system.name))
        if part.kind != vocab.LPAR_KIND:
            raise SimulatorError(400, 'Partition %s is a Virtual I/O Server'
                                 % part.name)
        return part

    def _check_posted_wwpns(self, wwpns, freed, new_wwpns):
        sysm = self.vios.system
        pair = tuple(vocab.normalize_wwpn(w) for w in wwpns)
        if len(pair) != 2 or len(set(pair)) != 2 or not all(
                vocab.WWPN_RE.match(w) for w in pair):
            raise SimulatorError(400, 'A virtual FC client adapter needs two '
                                 'distinct 16-digit WWPNs, not %r'
                                 % ' '.join(wwpns))
        for w in pair:
            if sysm.wwpn_use.get(w, 0) - freed.get(w, 0) > 0 or (
                    w in new_wwpns):
                raise SimulatorError(
                    400, 'WWPN %s is already in use by a virtual FC adapter '
                    'on managed system %s' % (w, sysm.name))
        return pair

    # -- phase 2 ---------------------------------------------------------
    def apply(self):
        """Carry the validated plan out; True if anything changed."""
        if not self.validated:
            raise RuntimeError('VfcUpdate.apply() before validate()')
        model, vios = self.model, self.vios
        sysm = vios.system
        for m in self.removed:
            model.drop_map(sysm, vios, m)
        for m, port_name in self.rebinds:
            if m.port is not None and m.port in vios.ports:
                vios.ports[m.port].available += 1
            vios.ports[port_name].available -= 1
            m.port = port_name
        hosts = {state.vfchost_number(m.vfchost)
                 for m, _pm in self.keep.values()}
        for new in self.added:
            n = 0
            while n in hosts:
                n += 1
            hosts.add(n)
            pm = new.posted
            if pm.port_name is not None:
                vios.ports[pm.port_name].available -= 1
            m = state.MapState(new.server_slot, 'vfchost%d' % n,
                               pm.port_name, new.lpar.id, pm.client_href,
                               True, new.client_slot, new.wwpns)
            vios.attach(m)
            model.index_map(sysm, vios, m)
            model.touch(new.lpar)
        changed = self.changes
        if changed:
            model.touch(vios)
        self.validated = False
        return changed
