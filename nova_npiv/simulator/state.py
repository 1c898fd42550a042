"""The records the simulated estate is made of.

Two families: frozen snapshots (``System``, ``Vios``, ``Lpar``, ``Port``,
``Mapping``) that :class:`~nova_npiv.simulator.model.Model` hands to tests,
the CLI and benchmarks, and the live state objects (``*State``) the model,
its vFC update plan, its jobs and the renderer work on under the model's
lock.  The live objects carry data and index upkeep only; what is allowed is
decided by the model and its services.
"""

import collections
import dataclasses
import itertools

from nova_npiv.simulator import dlpar
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import RUNNING


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
    migration_state: str = vocab.NOT_MIGRATING


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
    status: str = vocab.JOB_OK
    results: dict = dataclasses.field(default_factory=dict)
    message: object = None
    polls_left: int = 0
    #: While an asynchronous job's work is still to be done: (target,
    #: failure message, state to restore), and the Timer that will do it.
    pending: object = None
    timer: object = None


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


@dataclasses.dataclass(frozen=True)
class Pool:
    id: int
    uuid: str
    name: str
    max_units: float
    partitions: tuple


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
    #: (minimum, desired, maximum) as posted; None where not given.
    memory_range: object = None
    proc_range: object = None
    units_range: object = None
    #: SharedProcessorPoolID of a shared-processor configuration.
    pool_id: object = None


# --------------------------------------------------------------------------
# Internal state
# --------------------------------------------------------------------------

class PortState(object):
    __slots__ = ('name', 'wwpn', 'fabric', 'total', 'available', 'location')

    def __init__(self, name, wwpn, fabric, total, available, location):
        self.name = name
        self.wwpn = wwpn
        self.fabric = fabric
        self.total = total
        self.available = available
        self.location = location


class MapState(object):
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


class PartState(object):
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
        #: SharedProcessorPoolID of a shared-processor partition.
        self.pool_id = 0
        self.max_slots = max_slots
        self.srr = False
        self.etag = None


class ViosState(PartState):
    kind = vocab.VIOS_KIND

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ports = collections.OrderedDict()
        self.maps = collections.OrderedDict()  # MapState.key -> MapState
        self.slot_use = collections.Counter()   # server slot -> maps
        self.host_use = collections.Counter()   # vfchost number -> maps
        self.slot_hint = 0
        self.host_hint = 0
        #: SAN LUNs the VIOS sees (ViosStorage ``PhysicalVolumes``).
        self.physical_volumes = 0
        #: Why the VIOS is in error (its feed and entry fail), or None.
        self.error = None

    def attach(self, m):
        self.maps[m.key] = m
        self.slot_use[m.server_slot] += 1
        num = vfchost_number(m.vfchost)
        if num is not None:
            self.host_use[num] += 1

    def no_capacity_msg(self, port):
        """What the console says when ``port`` has no NPIV slot left."""
        return ('VIOS %s: physical FC port %s (WWPN %s) has no NPIV capacity '
                'left (TotalPorts %d, AvailablePorts %d)'
                % (self.name, port.name, port.wwpn, port.total,
                   port.available))

    def detach(self, m):
        del self.maps[m.key]
        self.slot_use[m.server_slot] -= 1
        if self.slot_use[m.server_slot] <= 0:
            del self.slot_use[m.server_slot]
        self.slot_hint = min(self.slot_hint, m.server_slot)
        num = vfchost_number(m.vfchost)
        if num is not None:
            self.host_use[num] -= 1
            if self.host_use[num] <= 0:
                del self.host_use[num]
            self.host_hint = min(self.host_hint, num)


def vfchost_number(name):
    if name and name.startswith('vfchost') and name[7:].isdigit():
        return int(name[7:])
    return None


class LparState(PartState):
    kind = vocab.LPAR_KIND

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An operator's virtual terminal (console) session on the partition,
        # opened outside the API (mkvterm, the HMC GUI); the CloseVterm job
        # ends it.
        self.vterm_open = False
        #: LogicalPartition MigrationState, and the PartitionState to go
        #: back to when a migration ends without moving the partition.
        self.migration_state = vocab.NOT_MIGRATING
        self.pre_migration_state = None
        #: False: the image has no RSCT, so RMC never becomes active.
        self.rsct = True
        #: Counts boots, so that a late RMC timer of an earlier boot is
        #: ignored.
        self.boots = 0


class SystemState(object):
    kind = vocab.SYSTEM_KIND

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
        self.vioses = collections.OrderedDict()  # uuid -> ViosState
        self.lpars = collections.OrderedDict()   # uuid -> LparState
        # client partition id -> {(vios uuid, server slot): MapState}
        self.client_maps = {}
        # lower-case client WWPN -> number of client adapters using it
        self.wwpn_use = collections.Counter()
        # ids a topology gives explicitly, kept free while others are chosen
        self.reserved_ids = set()
        self.ids = collections.Counter()  # partition id -> partitions
        self.id_hint = 1
        self.etag = None
        #: pool id -> pools.PoolState (its shared processor pools).
        self.pools = {}

    def partitions(self):
        return list(self.vioses.values()) + list(self.lpars.values())

    @property
    def firmware_mb(self):
        return max(1024, self.memory_mb // 64)

    def memory_free_mb(self):
        used = sum(p.memory_mb for p in self.partitions()
                   if p.state != vocab.NOT_ACTIVATED)
        return max(0, self.memory_mb - self.firmware_mb - used)

    def proc_units_free(self):
        used = sum(p.proc_units for p in self.partitions()
                   if p.state != vocab.NOT_ACTIVATED)
        return max(0.0, self.proc_units - used)

    def location_prefix(self):
        return 'U%s.%s.%s' % (self.machine_type, self.model, self.serial)


# --------------------------------------------------------------------------
# Snapshots of live records (call with the model lock held)
# --------------------------------------------------------------------------

def system_snapshot(sysm):
    mgmt = [p.name for p in sysm.partitions() if p.is_mgmt]
    return System(sysm.name, sysm.uuid, sysm.memory_mb, sysm.memory_free_mb(),
                  sysm.vcpus, sysm.proc_units, sysm.machine_type, sysm.model,
                  sysm.serial, sysm.wwpn_prefix, mgmt[0] if mgmt else None)


def lpar_snapshot(lp):
    return Lpar(lp.system.name, lp.name, lp.id, lp.uuid, lp.state, lp.is_mgmt,
                lp.rmc_state, lp.env, lp.memory_mb, lp.vcpus, lp.max_slots,
                getattr(lp, 'migration_state', vocab.NOT_MIGRATING))


def mapping_snapshot(sysm, vios, m, lpars):
    """``lpars``: the system's LPARs by partition id."""
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
        lpar.name if lpar else None, m.client_slot if m.client else None,
        tuple(m.wwpns) if m.client else (), logged_in, m.client,
        vocab.uuid_from_href(m.client_href))


def first_free_client_slot(lpar, used):
    """The lowest client slot of ``lpar`` not in ``used``, as a console
    hands out the next slot; 400 when the partition has none left."""
    slot = vocab.FIRST_CLIENT_SLOT
    while slot in used:
        slot += 1
    if slot >= lpar.max_slots:
        raise vocab.SimulatorError(400, dlpar.slots_message(lpar))
    return slot
