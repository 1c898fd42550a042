"""Thread-safe state of the simulated PowerVM estate.

:class:`Model` builds the estate from a normalised topology spec and keeps
its identity (UUIDs, ids, WWPNs, etags), its indexes and its snapshots; the
vFC update plan (``vfc``) and the job service (``jobs``) change it through
the model's public methods.  It knows nothing about HTTP or XML, so that
tests, the CLI and benchmarks can plant and inspect state directly (like
moto's backends); the HTTP side (``responses``) and the XML side
(``render``) call into it under :attr:`Model.lock`.

Queries return frozen dataclass snapshots, never the live objects, so callers
cannot corrupt the state or race with request threads.
"""

import collections
import itertools
import threading
import uuid as uuidlib

from nova_npiv.simulator import build
from nova_npiv.simulator import dlpar
from nova_npiv.simulator import consoles
from nova_npiv.simulator import jobs
from nova_npiv.simulator import lpars
from nova_npiv.simulator import pools
from nova_npiv.simulator import queries
from nova_npiv.simulator import rmc
from nova_npiv.simulator import state as st
from nova_npiv.simulator import topology as topo
from nova_npiv.simulator import vfc
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import NOT_ACTIVATED
from nova_npiv.simulator.vocab import RUNNING
from nova_npiv.simulator.vocab import SimulatorError


class Model(queries.SnapshotQueries, rmc.RmcControl):
    """The estate: systems, partitions, ports, mappings, WWPN pools, jobs.

    Every public method takes :attr:`lock` (an ``RLock``), so it is safe
    from any thread; the HTTP layer also holds it while rendering so that a
    reply is one consistent snapshot.
    """

    def __init__(self, topology=None):
        spec = topo.normalize(topology if topology is not None
                              else topo.default_topology())
        self.spec = spec
        self.lock = threading.RLock()
        self.console = spec['console']
        self.username = spec['username']
        self.password = spec['password']
        self.seed = spec['seed']
        self._ns = uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                 'nova-npiv-simulator/%d' % self.seed)
        self._etag_seq = itertools.count(1000 + 7 * self.seed)
        self._port_seq = itertools.count()
        self._uuid_seq = itertools.count()
        self._systems = collections.OrderedDict()  # name -> st.SystemState
        self._parts = {}       # upper-case uuid -> partition state
        self._reserved = set()  # WWPNs handed out by GetNextWWPNs
        self.job_service = jobs.JobService(self)
        self.generation = 0
        #: Seconds after a client LPAR's PowerOn until its RMC is active.
        self.rmc_seconds = spec['rmc_seconds']
        #: Images without RSCT: no client LPAR's RMC becomes active.
        self.rmc_down = spec['rmc_down']
        #: The ManagementConsole object; ``registry``: the other consoles
        #: of this process, when there are any (see consoles.Registry).
        self.mc = consoles.ConsoleState(spec, self.seed)
        self.registry = None
        self.touch(self.mc)
        with self.lock:
            for index, sys_spec in enumerate(spec['systems']):
                build.build_system(self, index, sys_spec)

    # ------------------------------------------------------------------
    # Identity helpers
    # ------------------------------------------------------------------
    def make_uuid(self, *key, partition=True):
        value = str(uuidlib.uuid5(self._ns, '/'.join(str(k) for k in key)))
        if partition:
            # PowerVM partition UUIDs have the top bit clear, upper case.
            value = ('%x' % (int(value[0], 16) & 7) + value[1:]).upper()
        return value

    def touch(self, *objs):
        """Give each object a new etag: its rendering has changed."""
        self.generation += 1
        for obj in objs:
            if obj is not None:
                obj.etag = str(next(self._etag_seq))

    def new_port_wwpn(self):
        while True:
            n = next(self._port_seq)
            wwpn = '10000090FA%06X' % ((((self.seed * 0x9E5) & 0xFFF) << 12)
                                       + n & 0xFFFFFF)
            if not self._port_wwpn_used(wwpn):
                return wwpn

    def _port_wwpn_used(self, wwpn):
        for sysm in self._systems.values():
            for vios in sysm.vioses.values():
                for port in vios.ports.values():
                    if port.wwpn.upper() == wwpn.upper():
                        return True
        return False

    def partition_uuid(self, sysm, kind, name, given):
        if given:
            value = str(given).upper()
        else:
            value = self.make_uuid(kind, sysm.name, name, next(self._uuid_seq))
        if value in self._parts:
            raise SimulatorError(400, 'Partition UUID %s is already in use'
                                 % value)
        return value

    def register_system(self, sysm):
        self._systems[sysm.name] = sysm

    def add_partition(self, sysm, part):
        if isinstance(part, st.ViosState):
            sysm.vioses[part.uuid] = part
        else:
            sysm.lpars[part.uuid] = part
        sysm.ids[part.id] += 1
        self._parts[part.uuid.upper()] = part
        self.touch(part, sysm)

    def new_lpar(self, sysm, name, pid, uuid, state, memory_mb, vcpus,
                  max_slots):
        lpar = st.LparState(
            sysm, name, pid or self.next_part_id(sysm),
            self.partition_uuid(sysm, 'lpar', name, uuid), state,
            'active' if state == RUNNING else 'inactive', False, 'AIX/Linux',
            memory_mb, vcpus, max_slots)
        self.add_partition(sysm, lpar)
        return lpar

    def next_part_id(self, sysm):
        """The lowest partition id that neither a partition, a server
        adapter (orphans included) nor the topology claims."""
        pid = max(1, sysm.id_hint)
        while (pid in sysm.ids or pid in sysm.client_maps
               or pid in sysm.reserved_ids):
            pid += 1
        sysm.id_hint = pid
        return pid

    # ------------------------------------------------------------------
    # Index maintenance
    # ------------------------------------------------------------------
    def index_map(self, sysm, vios, m):
        sysm.client_maps.setdefault(m.client_id, {})[
            (vios.uuid, m.key)] = m
        if m.client:
            for w in m.wwpns:
                sysm.wwpn_use[w] += 1

    def unindex_map(self, sysm, vios, m):
        maps = sysm.client_maps.get(m.client_id)
        if maps is not None:
            maps.pop((vios.uuid, m.key), None)
            if not maps:
                del sysm.client_maps[m.client_id]
        if m.client:
            for w in m.wwpns:
                sysm.wwpn_use[w] -= 1
                if sysm.wwpn_use[w] <= 0:
                    del sysm.wwpn_use[w]

    def client_slots(self, sysm, client_id):
        return {m.client_slot
                for m in sysm.client_maps.get(client_id, {}).values()
                if m.client and m.client_slot is not None}

    def _wwpn_in_use(self, wwpn, sysm=None):
        systems = [sysm] if sysm is not None else self._systems.values()
        return any(s.wwpn_use.get(wwpn) for s in systems)

    def _lpar_by_id(self, sysm, pid):
        for lpar in sysm.lpars.values():
            if lpar.id == pid:
                return lpar
        return None

    def lpar_href(self, sysm, lpar):
        return '/rest/api/uom/ManagedSystem/%s/LogicalPartition/%s' % (
            sysm.uuid, lpar.uuid)

    # ------------------------------------------------------------------
    # WWPN allocation
    # ------------------------------------------------------------------
    def next_pair(self, sysm, taken=()):
        """The next free pair from the system's WWPN pool.

        Pairs are consecutive, like the firmware's; a WWPN is skipped when
        any client adapter anywhere, an earlier job, or ``taken`` uses it.
        """
        while sysm.wwpn_next < 0x10000:
            n = sysm.wwpn_next
            sysm.wwpn_next += 2
            pair = tuple(('%s%04X' % (sysm.wwpn_prefix, n + i)).lower()
                         for i in (0, 1))
            if any(w in self._reserved or w in taken
                   or self._wwpn_in_use(w) for w in pair):
                continue
            self.touch(sysm)  # AvailableWWPNs changed
            return pair
        raise SimulatorError(500, 'Managed system %s has no WWPNs left in '
                             'its pool' % sysm.name)

    def available_wwpns(self, sysm):
        return max(0, 0x10000 - sysm.wwpn_next)

    # ------------------------------------------------------------------
    # Mapping creation used by topology, tests and migration
    # ------------------------------------------------------------------
    def free_server_slot(self, vios, taken=()):
        slot = max(vocab.FIRST_SERVER_SLOT, vios.slot_hint)
        while slot in vios.slot_use or slot in taken:
            slot += 1
        if not taken:
            vios.slot_hint = slot
        if slot >= vios.max_slots:
            raise SimulatorError(400, 'VIOS %s has no free virtual slot'
                                 % vios.name)
        return slot

    def _free_client_slot(self, sysm, lpar, taken=()):
        return st.first_free_client_slot(
            lpar, self.client_slots(sysm, lpar.id) | set(taken))

    @staticmethod
    def free_vfchost(vios, taken=()):
        n = vios.host_hint
        while n in vios.host_use or n in taken:
            n += 1
        if not taken:
            vios.host_hint = n
        return n

    def add_map(self, sysm, vios, lpar, port_name, wwpns, client_slot,
                 server_slot=None, href=None, flipped=False, client=True):
        port = vios.ports[port_name] if port_name is not None else None
        if port is not None and port.available <= 0:
            raise SimulatorError(400, vios.no_capacity_msg(port))
        if server_slot is None:
            server_slot = self.free_server_slot(vios)
        if client and client_slot is None:
            client_slot = self._free_client_slot(sysm, lpar)
        if client and wwpns is None:
            wwpns = self.next_pair(sysm)
        if port is not None:
            port.available -= 1
        m = st.MapState(
            server_slot, 'vfchost%d' % self.free_vfchost(vios), port_name,
            lpar.id, href if href is not None else self.lpar_href(sysm, lpar),
            client, client_slot, wwpns or (), flipped)
        vios.attach(m)
        self.index_map(sysm, vios, m)
        self.touch(vios, lpar)
        return m

    # ------------------------------------------------------------------
    # Lookups for the HTTP layer (call with the lock held)
    # ------------------------------------------------------------------
    def system_states(self):
        return list(self._systems.values())

    def system_by_name(self, name):
        return self._systems.get(name)

    def find_system(self, key):
        """A system by UUID (any case) or name."""
        if key is None:
            return None
        for sysm in self._systems.values():
            if sysm.uuid.lower() == str(key).lower() or sysm.name == key:
                return sysm
        return None

    def find_partition(self, kind, uuid, sysm=None):
        part = self._parts.get(str(uuid).upper())
        if part is None or (kind and part.kind != kind):
            return None
        if sysm is not None and part.system is not sysm:
            return None
        return part

    def partition_states(self, kind, sysm=None):
        systems = [sysm] if sysm is not None else self._systems.values()
        out = []
        for s in systems:
            out.extend((s.vioses if kind == vocab.VIOS_KIND
                        else s.lpars).values())
        return out

    def client_maps(self, lpar):
        """[(vios, map)] of the client adapters of ``lpar``, by slot."""
        sysm = lpar.system
        out = []
        for (vios_uuid, _slot), m in sysm.client_maps.get(lpar.id,
                                                          {}).items():
            if m.client:
                out.append((sysm.vioses[vios_uuid], m))
        out.sort(key=lambda vm: (vm[1].client_slot or 0, vm[0].id))
        return out

    def check_etag(self, obj, if_match):
        if if_match and if_match != obj.etag:
            raise SimulatorError(
                412, 'The object was changed since it was read (etag %s, '
                'current %s)' % (if_match, obj.etag),
                reason='Precondition failed')

    # ------------------------------------------------------------------
    # Planting and inspecting state (tests, CLI, benchmarks)
    # ------------------------------------------------------------------
    def _vios_state(self, system, vios):
        sysm = self._systems_for(system)[0]
        for v in sysm.vioses.values():
            if v.name == vios or v.uuid.upper() == str(vios).upper():
                return sysm, v
        raise KeyError('no VIOS %r on %s' % (vios, sysm.name))

    def _lpar_state(self, system, lpar):
        for s in self._systems_for(system):
            for lp in s.lpars.values():
                if lp.name == lpar or lp.uuid.upper() == str(lpar).upper():
                    return s, lp
        raise KeyError('no LPAR %r' % (lpar,))

    def add_lpar(self, system, name, id=None, uuid=None,
                 state=NOT_ACTIVATED, memory_mb=2048, vcpus=1,
                 max_virtual_slots=topo.DEFAULT_LPAR_SLOTS):
        """Create a client LPAR directly, as if made outside OpenStack."""
        with self.lock:
            sysm = self._systems_for(system)[0]
            if any(p.name == name for p in sysm.partitions()):
                raise ValueError('partition %s already exists' % name)
            return st.lpar_snapshot(self.new_lpar(
                sysm, name, id, uuid, state, memory_mb, vcpus,
                max_virtual_slots))

    def configure_pool(self, system, pool_id, name, max_units):
        """Name and size a shared processor pool, as an operator does."""
        with self.lock:
            sysm = self._systems_for(system)[0]
            pool = sysm.pools[pool_id]
            if pool_id == pools.DEFAULT_ID or max_units <= 0:
                raise ValueError('pool %d cannot be configured as %s, %s'
                                 % (pool_id, name, max_units))
            pool.name, pool.max_units = name, float(max_units)

    def set_lpar_state(self, system, lpar, state):
        with self.lock:
            sysm, lp = self._lpar_state(system, lpar)
            self.set_state(lp, state)
            return st.lpar_snapshot(lp)

    def set_vios_state(self, system, vios, state, rmc_state=None):
        with self.lock:
            _sysm, v = self._vios_state(system, vios)
            self.set_state(v, state, rmc_state)

    def set_vios_error(self, system, vios, error='in an error state'):
        """Put a VIOS in error (its reads fail) or, with None, out of it."""
        with self.lock:
            _sysm, v = self._vios_state(system, vios)
            v.error = error
            self.touch(v)

    def set_state(self, part, state, rmc_state=None):
        part.state = state
        part.rmc_state = rmc_state or ('active' if state == RUNNING
                                       else 'inactive')
        self.touch(part, part.system)

    def set_migration(self, lpar, migration_state, state):
        """A Migrate under way, failed (``state`` migrating) or over."""
        lpar.migration_state = migration_state
        lpar.state = state
        self.touch(lpar, lpar.system)

    def open_vterm(self, system, lpar):
        """Open a virtual terminal on an LPAR, as an operator's console."""
        with self.lock:
            _sysm, lp = self._lpar_state(system, lpar)
            lp.vterm_open = True

    def vterm_open(self, system, lpar):
        with self.lock:
            return self._lpar_state(system, lpar)[1].vterm_open

    def delete_lpar(self, system, lpar):
        """Remove an LPAR like the platform does: its server adapters stay."""
        with self.lock:
            _sysm, lp = self._lpar_state(system, lpar)
            self._delete_partition(lp)

    def add_mapping(self, system, vios, lpar=None, port='fcs0', wwpns=None,
                    client_slot=None, client_lpar_id=None,
                    client_adapter=True, client_href_uuid=None):
        """Plant a vFC mapping, bypassing the REST API's checks.

        :param lpar: name or UUID of the client LPAR on ``system``; omit and
                     give ``client_lpar_id`` for a mapping to a partition
                     that does not exist (an orphan).
        :param port: physical port name, or None for a mapping without Port.
        :param wwpns: client WWPN pair; None to take the next pool pair.
        :param client_adapter: False for a server adapter whose client
                               adapter is gone (no WWPNs, no client slot).
        :param client_href_uuid: the UUID to put in the
                                 AssociatedLogicalPartition link of an
                                 orphan (default: a made-up one).
        :returns: the new :class:`Mapping`.
        """
        with self.lock:
            sysm, v = self._vios_state(system, vios)
            if lpar is not None:
                _s, lp = self._lpar_state(sysm.name, lpar)
            else:
                if client_lpar_id is None:
                    raise ValueError('give lpar or client_lpar_id')
                lp = st.LparState(sysm, 'missing', int(client_lpar_id),
                                client_href_uuid or self.make_uuid(
                                    'orphan', sysm.name, client_lpar_id),
                                NOT_ACTIVATED, 'inactive', False,
                                'AIX/Linux', 0, 1, topo.DEFAULT_LPAR_SLOTS)
            if port is not None and port not in v.ports:
                raise KeyError('no port %s on %s' % (port, v.name))
            if wwpns is not None:
                wwpns = tuple(vocab.normalize_wwpn(w) for w in wwpns)
            m = self.add_map(sysm, v, lp, port,
                              wwpns if client_adapter else (),
                              client_slot, client=client_adapter)
            if not client_adapter and lpar is None:
                m.client_href = None
            return st.mapping_snapshot(sysm, v, m,
                                  {x.id: x for x in sysm.lpars.values()})

    def remove_mappings(self, system=None, vios=None, client_lpar_id=None,
                        wwpn=None):
        """Drop matching mappings (freeing their NPIV slots); the count."""
        with self.lock:
            count = 0
            for sysm in self._systems_for(system):
                for v in list(sysm.vioses.values()):
                    if vios is not None and vios not in (v.name, v.uuid):
                        continue
                    for m in list(v.maps.values()):
                        if (client_lpar_id is not None
                                and m.client_id != int(client_lpar_id)):
                            continue
                        if (wwpn is not None
                                and vocab.normalize_wwpn(wwpn) not in m.wwpns):
                            continue
                        self.drop_map(sysm, v, m)
                        count += 1
            return count

    def drop_map(self, sysm, vios, m):
        vios.detach(m)
        self.unindex_map(sysm, vios, m)
        if m.port is not None and m.port in vios.ports:
            port = vios.ports[m.port]
            port.available = min(port.total, port.available + 1)
        self.touch(vios, self._lpar_by_id(sysm, m.client_id))

    def next_wwpns(self, system, pairs=1):
        """Allocate WWPN pairs exactly like the GetNextWWPNs job does."""
        with self.lock:
            sysm = self._systems_for(system)[0]
            return self.allocate_pairs(sysm, pairs)

    def allocate_pairs(self, sysm, pairs):
        out = []
        for _ in range(pairs):
            pair = self.next_pair(sysm)
            self._reserved.update(pair)
            out.extend(pair)
        return out

    # ------------------------------------------------------------------
    # REST-driven changes (the HTTP layer calls these)
    # ------------------------------------------------------------------
    def update_vios(self, vios, if_match, posted, dlpar_seconds=0.0,
                    dlpar_fault=None):
        """Apply a POSTed VIOS: vFC mapping adds, removals, port binds.

        ``posted`` is the list of :class:`~st.PostedMapping` in the body,
        or None when the request carried no mapping group (then the mappings
        are left alone).  See :class:`~nova_npiv.simulator.vfc.VfcUpdate`:
        a refused POST leaves no partial state.  Returns the
        :class:`~nova_npiv.simulator.dlpar.Outcome` of its DLPAR
        operations (the caller waits it out with ``dlpar.finish``); a
        DLPAR that fails leaves everything as it was.
        """
        with self.lock:
            self.check_etag(vios, if_match)
            if posted is None:
                return dlpar.Outcome()
            update = vfc.VfcUpdate(self, vios, posted).validate()
            outcome = dlpar.plan(update, dlpar_seconds, dlpar_fault)
            if outcome.error is None:
                update.apply()
            return outcome

    def create_lpar(self, sysm, fields):
        with self.lock:
            return lpars.create(self, sysm, fields)

    def update_lpar(self, lpar, if_match, fields):
        with self.lock:
            self.check_etag(lpar, if_match)
            lpars.update(self, lpar, fields)

    def delete_partition(self, part, if_match=None):
        with self.lock:
            self.check_etag(part, if_match)
            lpars.check_delete(part)
            self._delete_partition(part)

    def _delete_partition(self, part):
        sysm = part.system
        if part.kind == vocab.VIOS_KIND:
            for m in list(part.maps.values()):
                self.drop_map(sysm, part, m)
            del sysm.vioses[part.uuid]
        else:
            del sysm.lpars[part.uuid]
            # The hypervisor removes the client adapters; the VIOS server
            # adapters (and their port bindings) remain as orphans.
            for (vios_uuid, _slot), m in list(
                    sysm.client_maps.get(part.id, {}).items()):
                vios = sysm.vioses[vios_uuid]
                self.unindex_map(sysm, vios, m)
                m.client = False
                m.client_href = None
                m.wwpns = ()
                self.index_map(sysm, vios, m)
                self.touch(vios)
        del self._parts[part.uuid.upper()]
        self.forget_id(sysm, part.id)
        self.touch(sysm)

    @staticmethod
    def forget_id(sysm, pid):
        sysm.ids[pid] -= 1
        if sysm.ids[pid] <= 0:
            del sysm.ids[pid]
        sysm.id_hint = min(sysm.id_hint, pid)

    # ------------------------------------------------------------------
    # Jobs (see nova_npiv.simulator.jobs)
    # ------------------------------------------------------------------
    def job_target(self, kind, uuid, operation, sysm=None):
        with self.lock:
            return self.job_service.target(kind, uuid, operation, sysm)

    def run_job(self, kind, uuid, operation, params, fail_message=None,
                polls=0, sysm=None, seconds=0.0):
        """Run a job (in ``seconds``, 0: now); keep its record to poll."""
        with self.lock:
            return self.job_service.run(kind, uuid, operation, params,
                                        fail_message, polls, sysm, seconds)

    def finish_job(self, job_id):
        with self.lock:
            self.job_service.finish(job_id)

    def get_job(self, job_id):
        with self.lock:
            return self.job_service.get(job_id)

    def delete_job(self, job_id):
        with self.lock:
            return self.job_service.delete(job_id)

    def jobs(self):
        with self.lock:
            return self.job_service.records()

