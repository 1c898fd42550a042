"""Thread-safe state of the simulated PowerVM estate.

This module knows managed systems, partitions, physical FC ports, vFC
mappings, WWPN pools and jobs; it knows nothing about HTTP or XML, so that
tests, the CLI and benchmarks can plant and inspect state directly (like
moto's backends).  The HTTP layer (``server``) and the XML layer (``render``)
call into it under :attr:`Model.lock`.

Queries return frozen dataclass snapshots, never the live objects, so callers
cannot corrupt the state or race with request threads.
"""

import collections
import dataclasses
import itertools
import re
import threading
import uuid as uuidlib

from nova_npiv.simulator import topology as topo

RUNNING = 'running'
NOT_ACTIVATED = 'not activated'
VIOS_KIND = 'VirtualIOServer'
LPAR_KIND = 'LogicalPartition'
SYSTEM_KIND = 'ManagedSystem'

JOB_OK = 'COMPLETED_OK'
JOB_RUNNING = 'RUNNING'
JOB_FAILED = 'FAILED_BEFORE_COMPLETION'

#: Operations the simulated job service knows, per target type.
JOB_OPERATIONS = {
    SYSTEM_KIND: ('GetNextWWPNs',),
    LPAR_KIND: ('PowerOn', 'PowerOff', 'MigrateValidate', 'Migrate',
                'CloseVterm'),
    VIOS_KIND: ('PowerOn', 'PowerOff'),
}
#: The platform hands out at most this many WWPN pairs per job.
MAX_WWPN_PAIRS = 8

# Client slots 0 and 1 are the virtual serial adapters and slot 2 is where
# deployers usually put the first network adapter.
_FIRST_CLIENT_SLOT = 3
# Low VIOS slots hold SEA trunk adapters and the like on real systems.
_FIRST_SERVER_SLOT = 11

_UUID_RE = re.compile(
    r'[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-'
    r'[0-9A-Fa-f]{12}')
_WWPN_RE = re.compile(r'^[0-9a-f]{16}$')

# Codes pypowervm's power tasks look for to treat a no-op as success.
_ALREADY_OFF = {'hmc': 'HSCL1558', 'novalink': 'PVME01050901'}
_ALREADY_ON = {'hmc': 'HSCL3681', 'novalink': 'PVME01042026'}


class SimulatorError(Exception):
    """An API request the platform would refuse.

    The HTTP layer turns it into an error reply carrying an
    ``HttpErrorResponse`` whose message pypowervm puts into its exception.
    """

    def __init__(self, status, message, reason=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or {
            400: 'Bad request', 404: 'Not found', 409: 'Conflict',
            412: 'Precondition failed', 500: 'Internal error'}.get(
                status, 'Error')


def not_simulated(what):
    """The error for an endpoint the console has but the simulator lacks.

    Answered the way NovaLink answers an operation it does not support:
    HTTP 500 "Internal Server Error" with an HttpErrorResponse (pypowervm
    issue #10: ``GET .../do/GetNextWWPNs`` on a NovaLink that lacks the
    operation).  That an HMC answers the same is assumed.  Never 404: every
    client reads 404 as "the object does not exist".
    """
    return SimulatorError(500, '%s is not implemented by the PowerVM REST '
                          'simulator' % what, reason='Internal Server Error')


class JobFailure(Exception):
    """A job that was accepted but failed; its message goes in the reply."""


# --------------------------------------------------------------------------
# Public snapshots
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class System:
    name: str
    uuid: str
    memory_mb: int
    memory_free_mb: int
    vcpus: int
    proc_units: float
    machine_type: str
    model: str
    serial: str
    wwpn_prefix: str
    mgmt_partition: object  # name of the management partition or None


@dataclasses.dataclass(frozen=True)
class Vios:
    system: str
    name: str
    id: int
    uuid: str
    state: str
    rmc_state: str
    is_mgmt: bool
    max_virtual_slots: int


@dataclasses.dataclass(frozen=True)
class Lpar:
    system: str
    name: str
    id: int
    uuid: str
    state: str
    is_mgmt: bool
    rmc_state: str
    env: str
    memory_mb: int
    vcpus: int
    max_virtual_slots: int


@dataclasses.dataclass(frozen=True)
class Port:
    system: str
    vios: str
    name: str
    wwpn: str
    fabric: object
    total: int
    available: int
    location: str


@dataclasses.dataclass(frozen=True)
class Mapping:
    system: str
    vios: str
    vios_id: int
    vfchost: str
    server_slot: int
    port_name: object
    port_wwpn: object
    fabric: object
    client_lpar_id: int
    client_lpar_uuid: object
    client_lpar_name: object
    client_slot: object
    wwpns: tuple
    logged_in: object
    has_client_adapter: bool = True
    client_href_uuid: object = None


@dataclasses.dataclass
class Job:
    """A job run by the simulated job service (kept until DELETEd)."""
    job_id: str
    operation: str
    group: str
    target_uuid: str
    params: list
    status: str = JOB_OK
    results: dict = dataclasses.field(default_factory=dict)
    message: object = None
    polls_left: int = 0


@dataclasses.dataclass
class PostedMapping:
    """One VirtualFibreChannelMapping as a client POSTed it."""
    server_slot: object = None
    server_name: object = None
    client_href: object = None
    has_client: bool = False
    client_slot: object = None
    wwpns: object = None  # None: not given, let the server generate
    port_name: object = None


@dataclasses.dataclass
class LparFields:
    """The partition attributes the simulator honours on create/update."""
    name: object = None
    id: object = None
    uuid: object = None
    env: object = None
    memory_mb: object = None
    vcpus: object = None
    proc_units: object = None
    dedicated: object = None
    max_virtual_slots: object = None
    srr: object = None


# --------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------

class _PortState(object):
    __slots__ = ('name', 'wwpn', 'fabric', 'total', 'available', 'location')

    def __init__(self, name, wwpn, fabric, total, available, location):
        self.name = name
        self.wwpn = wwpn
        self.fabric = fabric
        self.total = total
        self.available = available
        self.location = location


class _MapState(object):
    """A vFC server adapter on a VIOS and what it is bound to.

    ``client`` is False when the client adapter is gone (deleted partition,
    or a mapping seeded that way); the server adapter and its port binding
    survive, as on real systems, which is what makes orphans.
    """
    __slots__ = ('key', 'server_slot', 'vfchost', 'port', 'client_id',
                 'client_href', 'client', 'client_slot', 'wwpns', 'flipped',
                 'ca_lpar_id', 'ca_vios_id')
    _keys = itertools.count(1)

    def __init__(self, server_slot, vfchost, port, client_id, client_href,
                 client, client_slot, wwpns, flipped=False):
        # Server slots are not unique in captured data; this key is.
        self.key = next(self._keys)
        self.server_slot = server_slot
        self.vfchost = vfchost
        self.port = port
        self.client_id = client_id
        self.client_href = client_href
        self.client = client
        self.client_slot = client_slot
        self.wwpns = tuple(wwpns)
        self.flipped = flipped
        # What the client adapter itself reports, when a captured feed has
        # it disagree with the server adapter (None: they agree).
        self.ca_lpar_id = None
        self.ca_vios_id = None


class _PartState(object):
    kind = None

    def __init__(self, system, name, pid, uuid, state, rmc_state, is_mgmt,
                 env, memory_mb, vcpus, max_slots):
        self.system = system
        self.name = name
        self.id = pid
        self.uuid = uuid
        self.state = state
        self.rmc_state = rmc_state
        self.is_mgmt = is_mgmt
        self.env = env
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.proc_units = float(vcpus)
        self.dedicated = True
        self.max_slots = max_slots
        self.srr = False
        self.etag = None


class _ViosState(_PartState):
    kind = VIOS_KIND

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ports = collections.OrderedDict()
        self.maps = collections.OrderedDict()  # _MapState.key -> _MapState
        self.slot_use = collections.Counter()   # server slot -> maps
        self.host_use = collections.Counter()   # vfchost number -> maps
        self.slot_hint = 0
        self.host_hint = 0

    def attach(self, m):
        self.maps[m.key] = m
        self.slot_use[m.server_slot] += 1
        num = _vfchost_number(m.vfchost)
        if num is not None:
            self.host_use[num] += 1

    def detach(self, m):
        del self.maps[m.key]
        self.slot_use[m.server_slot] -= 1
        if self.slot_use[m.server_slot] <= 0:
            del self.slot_use[m.server_slot]
        self.slot_hint = min(self.slot_hint, m.server_slot)
        num = _vfchost_number(m.vfchost)
        if num is not None:
            self.host_use[num] -= 1
            if self.host_use[num] <= 0:
                del self.host_use[num]
            self.host_hint = min(self.host_hint, num)


def _vfchost_number(name):
    if name and name.startswith('vfchost') and name[7:].isdigit():
        return int(name[7:])
    return None


class _LparState(_PartState):
    kind = LPAR_KIND

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An operator's virtual terminal (console) session on the partition,
        # opened outside the API (mkvterm, the HMC GUI); the CloseVterm job
        # ends it.
        self.vterm_open = False


class _SystemState(object):
    kind = SYSTEM_KIND

    def __init__(self, index, name, uuid, memory_mb, vcpus, proc_units,
                 machine_type, model, serial, wwpn_prefix):
        self.index = index
        self.name = name
        self.uuid = uuid
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.proc_units = proc_units
        self.machine_type = machine_type
        self.model = model
        self.serial = serial
        self.wwpn_prefix = wwpn_prefix
        self.wwpn_next = 0
        self.vioses = collections.OrderedDict()  # uuid -> _ViosState
        self.lpars = collections.OrderedDict()   # uuid -> _LparState
        # client partition id -> {(vios uuid, server slot): _MapState}
        self.client_maps = {}
        # lower-case client WWPN -> number of client adapters using it
        self.wwpn_use = collections.Counter()
        # ids a topology gives explicitly, kept free while others are chosen
        self.reserved_ids = set()
        self.ids = collections.Counter()  # partition id -> partitions
        self.id_hint = 1
        self.etag = None

    def partitions(self):
        return list(self.vioses.values()) + list(self.lpars.values())

    @property
    def firmware_mb(self):
        return max(1024, self.memory_mb // 64)

    def memory_free_mb(self):
        used = sum(p.memory_mb for p in self.partitions()
                   if p.state != NOT_ACTIVATED)
        return max(0, self.memory_mb - self.firmware_mb - used)

    def proc_units_free(self):
        used = sum(p.proc_units for p in self.partitions()
                   if p.state != NOT_ACTIVATED)
        return max(0.0, self.proc_units - used)

    def location_prefix(self):
        return 'U%s.%s.%s' % (self.machine_type, self.model, self.serial)


def uuid_from_href(href):
    """The last UUID in an href or path, with its case kept."""
    if not href:
        return None
    found = _UUID_RE.findall(href.split('?', 1)[0])
    return found[-1] if found else None


def normalize_wwpn(value):
    return str(value).replace(':', '').strip().lower()


class Model(object):
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
        self._job_seq = itertools.count(1)
        self._systems = collections.OrderedDict()  # name -> _SystemState
        self._parts = {}       # upper-case uuid -> partition state
        self._reserved = set()  # WWPNs handed out by GetNextWWPNs
        self._jobs = collections.OrderedDict()
        self.generation = 0
        with self.lock:
            for index, sys_spec in enumerate(spec['systems']):
                self._build_system(index, sys_spec)

    # ------------------------------------------------------------------
    # Identity helpers
    # ------------------------------------------------------------------
    def _uuid(self, *key, partition=True):
        value = str(uuidlib.uuid5(self._ns, '/'.join(str(k) for k in key)))
        if partition:
            # PowerVM partition UUIDs have the top bit clear, upper case.
            value = ('%x' % (int(value[0], 16) & 7) + value[1:]).upper()
        return value

    def _touch(self, *objs):
        """Give each object a new etag: its rendering has changed."""
        self.generation += 1
        for obj in objs:
            if obj is not None:
                obj.etag = str(next(self._etag_seq))

    def _port_wwpn(self):
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

    # ------------------------------------------------------------------
    # Construction from the topology
    # ------------------------------------------------------------------
    def _build_system(self, index, spec):
        serial = spec['serial'] or '21%05X' % (
            (self.seed * 7919 + index * 104729) & 0xFFFFF)
        prefix = 'C050760%05X' % ((self.seed * 0x9E37 + index * 0x101
                                   + 0x1000) & 0xFFFFF)
        sysm = _SystemState(
            index, spec['name'],
            spec['uuid'] or self._uuid('system', spec['name'],
                                       partition=False),
            spec['memory_mb'], spec['vcpus'], spec['proc_units'],
            spec['machine_type'], spec['model'], serial, prefix)
        self._systems[sysm.name] = sysm
        self._touch(sysm)
        sysm.reserved_ids = {p['id'] for p in spec['vioses'] + spec['lpars']
                             if p['id'] is not None}
        mgmt = spec['mgmt_partition']
        if mgmt:
            lpar = self._new_lpar(sysm, mgmt['name'], mgmt['id'], mgmt['uuid'],
                                  RUNNING, mgmt['memory_mb'], mgmt['vcpus'],
                                  topo.MAX_VIRTUAL_SLOTS)
            lpar.is_mgmt = True
        if spec['vios_feed']:
            from nova_npiv.simulator import render
            with open(spec['vios_feed']) as fh:
                render.seed_vios_feed(self, sysm.name, fh.read())
        for vspec in spec['vioses']:
            self._build_vios(sysm, vspec)
        for lspec in spec['lpars']:
            self._new_lpar(sysm, lspec['name'], lspec['id'], lspec['uuid'],
                           lspec['state'], lspec['memory_mb'],
                           lspec['vcpus'], lspec['max_virtual_slots'])
        sysm.reserved_ids = set()
        if spec['existing_mappings']:
            self._populate(sysm, spec['existing_mappings'])

    def _build_vios(self, sysm, vspec):
        vios = _ViosState(
            sysm, vspec['name'], vspec['id'] or self._next_part_id(sysm),
            self._partition_uuid(sysm, 'vios', vspec['name'], vspec['uuid']),
            vspec['state'],
            vspec['rmc_state'] if vspec['state'] == RUNNING else 'inactive',
            False, 'Virtual IO Server', vspec['memory_mb'], vspec['vcpus'],
            vspec['max_virtual_slots'])
        self._add_partition(sysm, vios)
        for n, pspec in enumerate(vspec['ports']):
            loc = pspec['location'] or '%s-P1-C%d-T%d' % (
                'U78CB.001.%s' % sysm.serial, 30 + len(sysm.vioses), n + 1)
            vios.ports[pspec['name']] = _PortState(
                pspec['name'], pspec['wwpn'] or self._port_wwpn(),
                pspec['fabric'], pspec['total'], pspec['available'], loc)
        return vios

    def _partition_uuid(self, sysm, kind, name, given):
        if given:
            value = str(given).upper()
        else:
            value = self._uuid(kind, sysm.name, name, next(self._uuid_seq))
        if value in self._parts:
            raise SimulatorError(400, 'Partition UUID %s is already in use'
                                 % value)
        return value

    def _add_partition(self, sysm, part):
        if isinstance(part, _ViosState):
            sysm.vioses[part.uuid] = part
        else:
            sysm.lpars[part.uuid] = part
        sysm.ids[part.id] += 1
        self._parts[part.uuid.upper()] = part
        self._touch(part, sysm)

    def _new_lpar(self, sysm, name, pid, uuid, state, memory_mb, vcpus,
                  max_slots):
        lpar = _LparState(
            sysm, name, pid or self._next_part_id(sysm),
            self._partition_uuid(sysm, 'lpar', name, uuid), state,
            'active' if state == RUNNING else 'inactive', False, 'AIX/Linux',
            memory_mb, vcpus, max_slots)
        self._add_partition(sysm, lpar)
        return lpar

    def _next_part_id(self, sysm):
        """The lowest partition id that neither a partition, a server
        adapter (orphans included) nor the topology claims."""
        pid = max(1, sysm.id_hint)
        while (pid in sysm.ids or pid in sysm.client_maps
               or pid in sysm.reserved_ids):
            pid += 1
        sysm.id_hint = pid
        return pid

    def _populate(self, sysm, count):
        """Pre-populate mappings to unrelated running client LPARs.

        Each LPAR gets one mapping per fabric, like an instance with one port
        per fabric, spread round-robin over each fabric's ports.
        """
        fabrics = collections.OrderedDict()
        for vios in sysm.vioses.values():
            for port in vios.ports.values():
                if port.fabric is not None:
                    fabrics.setdefault(port.fabric, []).append((vios, port))
        if not fabrics:
            raise ValueError('topology: system %s has no fabric ports for '
                             'existing_mappings' % sysm.name)
        free_mb, free_units = sysm.memory_free_mb(), sysm.proc_units_free()
        made = 0
        lpar_no = 0
        cursor = collections.Counter()
        while made < count:
            lpar_no += 1
            lpar = self._new_lpar(sysm, 'existing-%s-%04d' % (sysm.name,
                                                              lpar_no),
                                  None, None, RUNNING, 512, 1,
                                  topo.DEFAULT_LPAR_SLOTS)
            lpar.dedicated = False
            lpar.proc_units = 0.1
            for fabric, ports in fabrics.items():
                if made >= count:
                    break
                for _ in range(len(ports)):
                    vios, port = ports[cursor[fabric] % len(ports)]
                    cursor[fabric] += 1
                    if port.available > 0:
                        break
                else:
                    raise ValueError(
                        'topology: existing_mappings=%d exceeds the NPIV '
                        'capacity of fabric %s on system %s; raise the '
                        "ports' total" % (count, fabric, sysm.name))
                self._add_map(sysm, vios, lpar, port.name, None, None)
                made += 1
        # A host carrying that many running partitions has the memory and
        # processors for them: keep what was free before free for new work.
        running = [p for p in sysm.partitions() if p.state != NOT_ACTIVATED]
        used_mb = sum(p.memory_mb for p in running)
        for _ in range(3):  # the hypervisor's share grows with the memory
            sysm.memory_mb = used_mb + sysm.firmware_mb + free_mb
        sysm.proc_units = round(
            sum(p.proc_units for p in running) + free_units, 2)
        self._touch(sysm)

    # ------------------------------------------------------------------
    # Index maintenance
    # ------------------------------------------------------------------
    def _index(self, sysm, vios, m):
        sysm.client_maps.setdefault(m.client_id, {})[
            (vios.uuid, m.key)] = m
        if m.client:
            for w in m.wwpns:
                sysm.wwpn_use[w] += 1

    def _unindex(self, sysm, vios, m):
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

    def _client_slots(self, sysm, client_id):
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

    def _lpar_href(self, sysm, lpar):
        return '/rest/api/uom/ManagedSystem/%s/LogicalPartition/%s' % (
            sysm.uuid, lpar.uuid)

    # ------------------------------------------------------------------
    # WWPN allocation
    # ------------------------------------------------------------------
    def _next_pair(self, sysm, taken=()):
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
            self._touch(sysm)  # AvailableWWPNs changed
            return pair
        raise SimulatorError(500, 'Managed system %s has no WWPNs left in '
                             'its pool' % sysm.name)

    def available_wwpns(self, sysm):
        return max(0, 0x10000 - sysm.wwpn_next)

    # ------------------------------------------------------------------
    # Mapping creation used by topology, tests and migration
    # ------------------------------------------------------------------
    def _free_server_slot(self, vios, taken=()):
        slot = max(_FIRST_SERVER_SLOT, vios.slot_hint)
        while slot in vios.slot_use or slot in taken:
            slot += 1
        if not taken:
            vios.slot_hint = slot
        if slot >= vios.max_slots:
            raise SimulatorError(400, 'VIOS %s has no free virtual slot'
                                 % vios.name)
        return slot

    def _free_client_slot(self, sysm, lpar, taken=()):
        used = self._client_slots(sysm, lpar.id) | set(taken)
        slot = _FIRST_CLIENT_SLOT
        while slot in used:
            slot += 1
        if slot >= lpar.max_slots:
            raise SimulatorError(
                400, 'Partition %s has no free virtual slot (maximum %d)'
                % (lpar.name, lpar.max_slots))
        return slot

    @staticmethod
    def _free_vfchost(vios, taken=()):
        n = vios.host_hint
        while n in vios.host_use or n in taken:
            n += 1
        if not taken:
            vios.host_hint = n
        return n

    def _add_map(self, sysm, vios, lpar, port_name, wwpns, client_slot,
                 server_slot=None, href=None, flipped=False, client=True):
        port = vios.ports[port_name] if port_name is not None else None
        if port is not None and port.available <= 0:
            raise SimulatorError(400, self._no_capacity_msg(vios, port))
        if server_slot is None:
            server_slot = self._free_server_slot(vios)
        if client and client_slot is None:
            client_slot = self._free_client_slot(sysm, lpar)
        if client and wwpns is None:
            wwpns = self._next_pair(sysm)
        if port is not None:
            port.available -= 1
        m = _MapState(
            server_slot, 'vfchost%d' % self._free_vfchost(vios), port_name,
            lpar.id, href if href is not None else self._lpar_href(sysm, lpar),
            client, client_slot, wwpns or (), flipped)
        vios.attach(m)
        self._index(sysm, vios, m)
        self._touch(vios, lpar)
        return m

    @staticmethod
    def _no_capacity_msg(vios, port):
        return ('VIOS %s: physical FC port %s (WWPN %s) has no NPIV capacity '
                'left (TotalPorts %d, AvailablePorts %d)'
                % (vios.name, port.name, port.wwpn, port.total,
                   port.available))

    # ------------------------------------------------------------------
    # Lookups for the HTTP layer (call with the lock held)
    # ------------------------------------------------------------------
    def system_states(self):
        return list(self._systems.values())

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
            out.extend((s.vioses if kind == VIOS_KIND else s.lpars).values())
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
    # Snapshot queries
    # ------------------------------------------------------------------
    def _systems_for(self, system):
        if system is None:
            return list(self._systems.values())
        sysm = self.find_system(system)
        if sysm is None:
            raise KeyError('no managed system %r' % system)
        return [sysm]

    def _sys_snap(self, sysm):
        mgmt = [p.name for p in sysm.partitions() if p.is_mgmt]
        return System(sysm.name, sysm.uuid, sysm.memory_mb,
                      sysm.memory_free_mb(), sysm.vcpus, sysm.proc_units,
                      sysm.machine_type, sysm.model, sysm.serial,
                      sysm.wwpn_prefix, mgmt[0] if mgmt else None)

    def systems(self):
        with self.lock:
            return [self._sys_snap(s) for s in self._systems.values()]

    def system(self, key):
        with self.lock:
            return self._sys_snap(self._systems_for(key)[0])

    def vioses(self, system=None):
        with self.lock:
            return [Vios(s.name, v.name, v.id, v.uuid, v.state, v.rmc_state,
                         v.is_mgmt, v.max_slots)
                    for s in self._systems_for(system)
                    for v in s.vioses.values()]

    def lpars(self, system=None):
        with self.lock:
            return [self._lpar_snap(lp) for s in self._systems_for(system)
                    for lp in s.lpars.values()]

    @staticmethod
    def _lpar_snap(lp):
        return Lpar(lp.system.name, lp.name, lp.id, lp.uuid, lp.state,
                    lp.is_mgmt, lp.rmc_state, lp.env, lp.memory_mb, lp.vcpus,
                    lp.max_slots)

    def lpar(self, key, system=None):
        """An LPAR snapshot by name or UUID (None if absent)."""
        with self.lock:
            for s in self._systems_for(system):
                for lp in s.lpars.values():
                    if lp.name == key or lp.uuid.upper() == str(key).upper():
                        return self._lpar_snap(lp)
            return None

    def ports(self, system=None):
        with self.lock:
            return [Port(s.name, v.name, p.name, p.wwpn, p.fabric, p.total,
                         p.available, p.location)
                    for s in self._systems_for(system)
                    for v in s.vioses.values() for p in v.ports.values()]

    def mappings(self, system=None):
        with self.lock:
            out = []
            for s in self._systems_for(system):
                lpars = {lp.id: lp for lp in s.lpars.values()}
                for v in s.vioses.values():
                    for m in v.maps.values():
                        out.append(self._map_snap(s, v, m, lpars))
            return out

    def fabric_logins(self):
        """Per fabric, the client WWPNs its name server sees logged in.

        What a SAN switch would answer (the FC zone manager's lookup
        service asks it): an adapter logs in through the physical port it is
        mapped to while its partition runs, and the management partition's
        (staging) at once; an unmapped WWPN, one of a partition that is not
        activated or one behind a VIOS that is down never does.
        """
        running = {(v.system, v.name) for v in self.vioses()
                   if v.state == RUNNING}
        logins = collections.defaultdict(set)
        for m in self.mappings():
            if (m.logged_in and m.fabric is not None
                    and (m.system, m.vios) in running):
                logins[str(m.fabric)].add(m.logged_in.lower())
        return {fabric: sorted(wwpns) for fabric, wwpns in logins.items()}

    @staticmethod
    def _map_snap(sysm, vios, m, lpars):
        lpar = lpars.get(m.client_id)
        port = vios.ports.get(m.port) if m.port else None
        logged_in = None
        if (m.client and m.wwpns and lpar is not None
                and (lpar.state == RUNNING or lpar.is_mgmt)):
            logged_in = m.wwpns[1 if m.flipped else 0]
        return Mapping(
            sysm.name, vios.name, vios.id, m.vfchost, m.server_slot, m.port,
            port.wwpn if port else None, port.fabric if port else None,
            m.client_id, lpar.uuid if lpar else None,
            lpar.name if lpar else None,
            m.client_slot if m.client else None,
            tuple(m.wwpns) if m.client else (), logged_in, m.client,
            uuid_from_href(m.client_href))

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
            return self._lpar_snap(self._new_lpar(
                sysm, name, id, uuid, state, memory_mb, vcpus,
                max_virtual_slots))

    def set_lpar_state(self, system, lpar, state):
        with self.lock:
            sysm, lp = self._lpar_state(system, lpar)
            self._set_state(lp, state)
            return self._lpar_snap(lp)

    def set_vios_state(self, system, vios, state, rmc_state=None):
        with self.lock:
            _sysm, v = self._vios_state(system, vios)
            self._set_state(v, state, rmc_state)

    def _set_state(self, part, state, rmc_state=None):
        part.state = state
        part.rmc_state = rmc_state or ('active' if state == RUNNING
                                       else 'inactive')
        self._touch(part, part.system)

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
                lp = _LparState(sysm, 'missing', int(client_lpar_id),
                                client_href_uuid or self._uuid(
                                    'orphan', sysm.name, client_lpar_id),
                                NOT_ACTIVATED, 'inactive', False,
                                'AIX/Linux', 0, 1, topo.DEFAULT_LPAR_SLOTS)
            if port is not None and port not in v.ports:
                raise KeyError('no port %s on %s' % (port, v.name))
            if wwpns is not None:
                wwpns = tuple(normalize_wwpn(w) for w in wwpns)
            m = self._add_map(sysm, v, lp, port,
                              wwpns if client_adapter else (),
                              client_slot, client=client_adapter)
            if not client_adapter and lpar is None:
                m.client_href = None
            return self._map_snap(sysm, v, m,
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
                                and normalize_wwpn(wwpn) not in m.wwpns):
                            continue
                        self._drop_map(sysm, v, m)
                        count += 1
            return count

    def _drop_map(self, sysm, vios, m):
        vios.detach(m)
        self._unindex(sysm, vios, m)
        if m.port is not None and m.port in vios.ports:
            port = vios.ports[m.port]
            port.available = min(port.total, port.available + 1)
        self._touch(vios, self._lpar_by_id(sysm, m.client_id))

    def next_wwpns(self, system, pairs=1):
        """Allocate WWPN pairs exactly like the GetNextWWPNs job does."""
        with self.lock:
            sysm = self._systems_for(system)[0]
            return self._allocate_pairs(sysm, pairs)

    def _allocate_pairs(self, sysm, pairs):
        out = []
        for _ in range(pairs):
            pair = self._next_pair(sysm)
            self._reserved.update(pair)
            out.extend(pair)
        return out

    # ------------------------------------------------------------------
    # REST-driven changes (the HTTP layer calls these)
    # ------------------------------------------------------------------
    def update_vios(self, vios, if_match, posted):
        """Apply a POSTed VIOS: vFC mapping adds, removals, port binds.

        ``posted`` is the list of :class:`PostedMapping` in the body, or
        None when the request carried no mapping group (then the mappings
        are left alone).  Everything is checked before anything changes, so
        a refused POST leaves no partial state.  Returns True if anything
        changed.
        """
        with self.lock:
            self.check_etag(vios, if_match)
            if posted is None:
                return False
            sysm = vios.system
            keep, new = self._match_posted(vios, posted)
            removed = [m for key, m in vios.maps.items() if key not in keep]
            delta = collections.Counter()
            for m in removed:
                if m.port is not None:
                    delta[m.port] += 1
            rebinds = []
            for m, pm in keep.values():
                if pm.port_name is not None and pm.port_name != m.port:
                    self._require_port(vios, pm.port_name)
                    delta[pm.port_name] -= 1
                    if m.port is not None:
                        delta[m.port] += 1
                    rebinds.append((m, pm.port_name))
            freed = collections.Counter()
            for m in removed:
                if m.client:
                    freed.update(m.wwpns)
            freed_slots = collections.defaultdict(set)
            for m in removed:
                if m.client:
                    freed_slots[m.client_id].add(m.client_slot)
            kept_slots = {m.server_slot for m, _pm in keep.values()}
            kept_hosts = {_vfchost_number(m.vfchost)
                          for m, _pm in keep.values()}
            plan = []
            new_wwpns = set()
            new_client_slots = collections.defaultdict(set)
            new_server_slots = set()
            for pm in new:
                lpar = self._posted_client(vios, pm)
                if pm.port_name is not None:
                    self._require_port(vios, pm.port_name)
                    delta[pm.port_name] -= 1
                wwpns = None
                if pm.wwpns is not None:
                    wwpns = self._check_posted_wwpns(sysm, pm.wwpns, freed,
                                                     new_wwpns)
                    new_wwpns.update(wwpns)
                used = ((self._client_slots(sysm, lpar.id)
                         - freed_slots[lpar.id]) | new_client_slots[lpar.id])
                if pm.client_slot is not None:
                    slot = int(pm.client_slot)
                    if slot in used:
                        raise SimulatorError(
                            400, 'Virtual slot %d of partition %s is already '
                            'in use' % (slot, lpar.name))
                    if slot >= lpar.max_slots:
                        raise SimulatorError(
                            400, 'Virtual slot %d exceeds the maximum (%d) of '
                            'partition %s' % (slot, lpar.max_slots,
                                              lpar.name))
                else:
                    slot = _FIRST_CLIENT_SLOT
                    while slot in used:
                        slot += 1
                    if slot >= lpar.max_slots:
                        raise SimulatorError(
                            400, 'Partition %s has no free virtual slot '
                            '(maximum %d)' % (lpar.name, lpar.max_slots))
                new_client_slots[lpar.id].add(slot)
                if pm.server_slot is not None:
                    sslot = int(pm.server_slot)
                    if sslot in kept_slots or sslot in new_server_slots:
                        raise SimulatorError(
                            400, 'Virtual slot %d of VIOS %s is already in '
                            'use' % (sslot, vios.name))
                else:
                    sslot = _FIRST_SERVER_SLOT
                    while sslot in kept_slots or sslot in new_server_slots:
                        sslot += 1
                    if sslot >= vios.max_slots:
                        raise SimulatorError(
                            400, 'VIOS %s has no free virtual slot'
                            % vios.name)
                new_server_slots.add(sslot)
                plan.append((pm, lpar, wwpns, slot, sslot))
            for name, d in delta.items():
                port = vios.ports[name]
                if port.available + d < 0:
                    raise SimulatorError(400, self._no_capacity_msg(vios,
                                                                    port))
            # Generated WWPNs last: explicit ones must not be handed out.
            final = []
            taken = set(new_wwpns)
            for pm, lpar, wwpns, slot, sslot in plan:
                if wwpns is None:
                    wwpns = self._next_pair(sysm, taken)
                    taken.update(wwpns)
                final.append((pm, lpar, wwpns, slot, sslot))
            # Apply.
            changed = bool(removed or rebinds or final)
            for m in removed:
                self._drop_map(sysm, vios, m)
            for m, port_name in rebinds:
                if m.port is not None and m.port in vios.ports:
                    vios.ports[m.port].available += 1
                vios.ports[port_name].available -= 1
                m.port = port_name
            hosts = set(kept_hosts)
            for pm, lpar, wwpns, slot, sslot in final:
                n = 0
                while n in hosts:
                    n += 1
                hosts.add(n)
                if pm.port_name is not None:
                    vios.ports[pm.port_name].available -= 1
                m = _MapState(sslot, 'vfchost%d' % n, pm.port_name, lpar.id,
                              pm.client_href, True, slot, wwpns)
                vios.attach(m)
                self._index(sysm, vios, m)
                self._touch(lpar)
            if changed:
                self._touch(vios)
            return changed

    @staticmethod
    def _match_posted(vios, posted):
        """Pair posted mappings with existing ones: {key: (map, posted)}.

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

    @staticmethod
    def _require_port(vios, name):
        if name not in vios.ports:
            raise SimulatorError(
                400, 'VIOS %s has no physical FC port named %s'
                % (vios.name, name))

    def _posted_client(self, vios, pm):
        if not pm.has_client:
            raise SimulatorError(400, 'A new virtual FC mapping needs a '
                                 'ClientAdapter')
        lpar_uuid = uuid_from_href(pm.client_href)
        if lpar_uuid is None:
            raise SimulatorError(400, 'A new virtual FC mapping needs an '
                                 'AssociatedLogicalPartition link')
        part = self._parts.get(lpar_uuid.upper())
        if part is None or part.system is not vios.system:
            raise SimulatorError(
                400, 'Logical partition %s does not exist on managed system '
                '%s' % (lpar_uuid, vios.system.name))
        if part.kind != LPAR_KIND:
            raise SimulatorError(400, 'Partition %s is a Virtual I/O Server'
                                 % part.name)
        return part

    def _check_posted_wwpns(self, sysm, wwpns, freed, new_wwpns):
        pair = tuple(normalize_wwpn(w) for w in wwpns)
        if len(pair) != 2 or len(set(pair)) != 2 or not all(
                _WWPN_RE.match(w) for w in pair):
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

    def create_lpar(self, sysm, fields):
        with self.lock:
            if not fields.name:
                raise SimulatorError(400, 'PartitionName is required')
            if any(p.name == fields.name for p in sysm.partitions()):
                raise SimulatorError(
                    400, 'A partition named %s already exists on managed '
                    'system %s' % (fields.name, sysm.name))
            if fields.id is not None and int(fields.id) in sysm.ids:
                raise SimulatorError(400, 'Partition ID %s is already in use'
                                     % fields.id)
            if fields.uuid and str(fields.uuid).upper() in self._parts:
                raise SimulatorError(400, 'Partition UUID %s is already in '
                                     'use' % fields.uuid)
            lpar = self._new_lpar(
                sysm, fields.name,
                int(fields.id) if fields.id is not None else None,
                fields.uuid, NOT_ACTIVATED, fields.memory_mb or 2048,
                fields.vcpus or 1,
                fields.max_virtual_slots or topo.DEFAULT_LPAR_SLOTS)
            self._apply_lpar_fields(lpar, fields)
            return lpar

    def update_lpar(self, lpar, if_match, fields):
        with self.lock:
            self.check_etag(lpar, if_match)
            if fields.name and fields.name != lpar.name and any(
                    p.name == fields.name
                    for p in lpar.system.partitions()):
                raise SimulatorError(400, 'A partition named %s already '
                                     'exists' % fields.name)
            self._apply_lpar_fields(lpar, fields)
            self._touch(lpar, lpar.system)

    @staticmethod
    def _apply_lpar_fields(lpar, fields):
        for attr in ('name', 'env', 'memory_mb', 'vcpus', 'dedicated',
                     'srr'):
            value = getattr(fields, attr)
            if value is not None:
                setattr(lpar, attr, value)
        if fields.max_virtual_slots:
            lpar.max_slots = fields.max_virtual_slots
        if fields.proc_units is not None:
            lpar.proc_units = float(fields.proc_units)
        elif fields.vcpus is not None and lpar.dedicated:
            lpar.proc_units = float(fields.vcpus)

    def delete_partition(self, part, if_match=None):
        with self.lock:
            self.check_etag(part, if_match)
            if part.is_mgmt:
                raise SimulatorError(400, 'The management partition %s '
                                     'cannot be deleted' % part.name)
            if part.state != NOT_ACTIVATED:
                raise SimulatorError(
                    400, 'Partition %s is in state %s; it must be not '
                    'activated to be deleted' % (part.name, part.state))
            if getattr(part, 'vterm_open', False):
                # Assumed, not captured from a console: nova-powervm closed
                # the terminal before every delete, which says a delete with
                # a session open does not go through.
                raise SimulatorError(
                    409, 'Partition %s has an open virtual terminal '
                    'session; close it (CloseVterm) before deleting the '
                    'partition' % part.name)
            self._delete_partition(part)

    def _delete_partition(self, part):
        sysm = part.system
        if part.kind == VIOS_KIND:
            for m in list(part.maps.values()):
                self._drop_map(sysm, part, m)
            del sysm.vioses[part.uuid]
        else:
            del sysm.lpars[part.uuid]
            # The hypervisor removes the client adapters; the VIOS server
            # adapters (and their port bindings) remain as orphans.
            for (vios_uuid, _slot), m in list(
                    sysm.client_maps.get(part.id, {}).items()):
                vios = sysm.vioses[vios_uuid]
                self._unindex(sysm, vios, m)
                m.client = False
                m.client_href = None
                m.wwpns = ()
                self._index(sysm, vios, m)
                self._touch(vios)
        del self._parts[part.uuid.upper()]
        self._forget_id(sysm, part.id)
        self._touch(sysm)

    @staticmethod
    def _forget_id(sysm, pid):
        sysm.ids[pid] -= 1
        if sysm.ids[pid] <= 0:
            del sysm.ids[pid]
        sysm.id_hint = min(sysm.id_hint, pid)

    # ------------------------------------------------------------------
    # Jobs
    # ------------------------------------------------------------------
    def job_target(self, kind, uuid, operation, sysm=None):
        """The object a job runs against.

        SimulatorError(404) when the object does not exist (under ``sysm``
        if given), :func:`not_simulated` for an operation the simulator
        does not implement on an object that does.
        """
        with self.lock:
            if kind == SYSTEM_KIND:
                target = self.find_system(uuid)
                if target is not None and target.uuid.lower() != \
                        str(uuid).lower():
                    target = None
            else:
                target = self.find_partition(kind, uuid, sysm)
            if target is None:
                raise SimulatorError(404, '%s %s not found' % (kind, uuid))
            if operation not in JOB_OPERATIONS.get(kind, ()):
                raise not_simulated('Job %s on %s' % (operation, kind))
            return target

    def run_job(self, kind, uuid, operation, params, fail_message=None,
                polls=0, sysm=None):
        """Run a job to completion and keep its record for polling.

        ``params`` is the list of (name, value) JobParameters.  A job that
        cannot do its work is recorded as FAILED_BEFORE_COMPLETION with a
        ResponseException message, as the platform reports it.
        """
        with self.lock:
            target = self.job_target(kind, uuid, operation, sysm)
            job = Job('%d' % (1500000000000 + next(self._job_seq)),
                      operation, kind, uuid, list(params), polls_left=polls)
            try:
                if fail_message is not None:
                    raise JobFailure(fail_message)
                job.results = getattr(self, '_job_' + operation)(
                    target, dict(params)) or {}
                job.status = JOB_OK
            except JobFailure as exc:
                job.status = JOB_FAILED
                job.message = str(exc)
            self._jobs[job.job_id] = job
            return job

    def get_job(self, job_id):
        with self.lock:
            return self._jobs.get(job_id)

    def delete_job(self, job_id):
        with self.lock:
            return self._jobs.pop(job_id, None) is not None

    def jobs(self):
        with self.lock:
            return [dataclasses.replace(j) for j in self._jobs.values()]

    def _job_GetNextWWPNs(self, sysm, params):
        raw = params.get('numberPairsRequested', '1')
        try:
            count = int(raw)
        except ValueError:
            raise JobFailure('numberPairsRequested must be a number, not %r'
                             % raw)
        if not 1 <= count <= MAX_WWPN_PAIRS:
            raise JobFailure('numberPairsRequested must be between 1 and %d, '
                             'not %d' % (MAX_WWPN_PAIRS, count))
        try:
            pairs = self._allocate_pairs(sysm, count)
        except SimulatorError as exc:
            raise JobFailure(exc.message)
        self._touch(sysm)
        return {'wwpnList': ','.join(w.upper() for w in pairs)}

    def _job_PowerOn(self, part, params):
        if part.state == RUNNING:
            raise JobFailure('%s: partition %s is already running'
                             % (_ALREADY_ON[self.console], part.name))
        if part.state != NOT_ACTIVATED:
            raise JobFailure('Partition %s cannot be powered on from state '
                             '%s' % (part.name, part.state))
        if part.memory_mb > part.system.memory_free_mb():
            raise JobFailure('Not enough memory on managed system %s to '
                             'activate %s (%d MB needed, %d MB free)'
                             % (part.system.name, part.name, part.memory_mb,
                                part.system.memory_free_mb()))
        self._set_state(part, RUNNING)

    def _job_PowerOff(self, part, params):
        if part.is_mgmt:
            raise JobFailure('The management partition cannot be powered '
                             'off through the API')
        restart = str(params.get('restart', '')).lower() == 'true'
        if part.state == NOT_ACTIVATED:
            raise JobFailure('%s: partition %s is already powered off'
                             % (_ALREADY_OFF[self.console], part.name))
        self._set_state(part, RUNNING if restart else NOT_ACTIVATED)

    def _job_CloseVterm(self, lpar, params):
        # Closing where no session is open is a no-op that succeeds
        # (nova-powervm ran it before every delete without checking).
        lpar.vterm_open = False

    def _job_MigrateValidate(self, lpar, params):
        self._plan_migration(lpar, params)

    def _job_Migrate(self, lpar, params):
        target, plan = self._plan_migration(lpar, params)
        self._migrate(lpar, target, plan)

    def _plan_migration(self, lpar, params):
        src = lpar.system
        tname = params.get('TargetManagedSystemName')
        if not tname:
            raise JobFailure('TargetManagedSystemName is required')
        target = self._systems.get(tname)
        if target is None:
            raise JobFailure('Target managed system %s is not known to this '
                             'management console' % tname)
        if target is src:
            raise JobFailure('Partition %s is already on managed system %s'
                             % (lpar.name, tname))
        if lpar.is_mgmt:
            raise JobFailure('The management partition cannot migrate')
        if lpar.state not in (RUNNING, NOT_ACTIVATED):
            raise JobFailure('Partition %s cannot migrate from state %s'
                             % (lpar.name, lpar.state))
        if any(p.name == lpar.name for p in target.partitions()):
            raise JobFailure('A partition named %s already exists on %s'
                             % (lpar.name, tname))
        if lpar.state == RUNNING and lpar.memory_mb > target.memory_free_mb():
            raise JobFailure('Not enough memory on %s for %s'
                             % (tname, lpar.name))
        adapters = collections.OrderedDict(
            (m.client_slot, (vios, m)) for vios, m in self.client_maps(lpar))
        raw = params.get('VirtualFCMappings')
        entries = [e.strip() for e in raw.split(',') if e.strip()] \
            if raw else []
        plan = []
        usage = collections.Counter()
        if entries:
            if len(entries) != len(adapters):
                raise JobFailure(
                    'VirtualFCMappings has %d entries but partition %s has %d '
                    'virtual FC client adapters (slots %s)'
                    % (len(entries), lpar.name, len(adapters),
                       ','.join(str(s) for s in adapters) or 'none'))
            for entry in entries:
                plan.append(self._plan_entry(lpar, target, adapters, entry,
                                             plan, usage))
        else:
            for slot, (vios, m) in adapters.items():
                plan.append(self._auto_entry(target, slot, vios, m, usage))
        for (tv, pname), n in usage.items():
            port = tv.ports[pname]
            if port.available < n:
                raise JobFailure(self._no_capacity_msg(tv, port))
        return target, plan

    def _plan_entry(self, lpar, target, adapters, entry, plan, usage):
        parts = entry.split('/')
        if len(parts) < 3:
            raise JobFailure('Malformed VirtualFCMappings entry %r' % entry)
        parts += [''] * (5 - len(parts))
        slot_s, vname, vid, vslot, pname = parts[:5]
        try:
            slot = int(slot_s)
        except ValueError:
            raise JobFailure('Malformed client slot in %r' % entry)
        if slot not in adapters:
            raise JobFailure('Partition %s has no virtual FC client adapter '
                             'in slot %d (entry %r)' % (lpar.name, slot,
                                                        entry))
        if any(p[0] == slot for p in plan):
            raise JobFailure('Client slot %d is mapped twice' % slot)
        if not vname and not vid:
            raise JobFailure('Entry %r names no VIOS' % entry)
        tv = None
        for v in target.vioses.values():
            if (not vname or v.name == vname) and (
                    not vid or str(v.id) == vid):
                tv = v
                break
        if tv is None:
            raise JobFailure('No VIOS %s on managed system %s (entry %r)'
                             % (vname or vid, target.name, entry))
        if tv.state != RUNNING:
            raise JobFailure('VIOS %s on %s is not active' % (tv.name,
                                                              target.name))
        src_vios, src_map = adapters[slot]
        if pname:
            if pname not in tv.ports:
                raise JobFailure('VIOS %s on %s has no FC port %s (entry %r)'
                                 % (tv.name, target.name, pname, entry))
        else:
            pname = self._pick_port(tv, src_vios, src_map, usage)
        server_slot = None
        if vslot:
            try:
                server_slot = int(vslot)
            except ValueError:
                raise JobFailure('Malformed VIOS slot in %r' % entry)
            if server_slot in tv.slot_use or any(
                    p[2] is tv and p[4] == server_slot for p in plan):
                raise JobFailure('Slot %d of VIOS %s is in use'
                                 % (server_slot, tv.name))
        usage[(tv, pname)] += 1
        return (slot, src_map, tv, pname, server_slot)

    def _pick_port(self, tv, src_vios, src_map, usage):
        fabric = None
        if src_map.port and src_map.port in src_vios.ports:
            fabric = src_vios.ports[src_map.port].fabric
        best = None
        for port in tv.ports.values():
            if fabric is not None and port.fabric != fabric:
                continue
            free = port.available - usage[(tv, port.name)]
            if free > 0 and (best is None or free > best[0]):
                best = (free, port.name)
        if best is None:
            raise JobFailure('VIOS %s has no FC port with NPIV capacity on '
                             'fabric %s' % (tv.name, fabric))
        return best[1]

    def _auto_entry(self, target, slot, src_vios, src_map, usage):
        per_vios = collections.Counter(v for (v, _p) in usage.elements())
        for tv in sorted((v for v in target.vioses.values()
                          if v.state == RUNNING),
                         key=lambda v: (per_vios[v], v.id)):
            try:
                pname = self._pick_port(tv, src_vios, src_map, usage)
            except JobFailure:
                continue
            usage[(tv, pname)] += 1
            return (slot, src_map, tv, pname, None)
        raise JobFailure('No VIOS on %s can host the virtual FC adapter in '
                         'slot %d' % (target.name, slot))

    def _migrate(self, lpar, target, plan):
        src = lpar.system
        for vios, m in self.client_maps(lpar):
            self._drop_map(src, vios, m)
        # Server adapters still pointing at the old id (orphans) stay behind.
        taken = (lpar.id in target.ids or lpar.id in target.client_maps
                 or lpar.id in target.reserved_ids)
        new_id = self._next_part_id(target) if taken else lpar.id
        del src.lpars[lpar.uuid]
        self._forget_id(src, lpar.id)
        lpar.system = target
        lpar.id = new_id
        target.lpars[lpar.uuid] = lpar
        target.ids[new_id] += 1
        for slot, src_map, tv, pname, server_slot in plan:
            self._add_map(target, tv, lpar, pname, src_map.wwpns, slot,
                          server_slot=server_slot,
                          href=self._lpar_href(target, lpar),
                          flipped=not src_map.flipped)
        self._touch(lpar, src, target)
