"""A managed system's shared processor pools, and the console's checks.

Every system has 64 pools, as pypowervm's captured feed
(``shrprocpool.txt``) shows: pool 0, ``DefaultPool``, holds every shared
partition not placed elsewhere; pools 1-63 exist from the start, named
``SharedPoolNN`` with no processing units until an operator configures
them (renamed, a maximum given).  A partition can be placed only in the
default pool or a configured one: the console refuses a create or update
naming another (the refusal's text and code are assumed, not captured).
"""

import dataclasses

from nova_npiv.simulator.vocab import SimulatorError

KIND = 'SharedProcessorPool'
POOLS = 64
DEFAULT_ID = 0
DEFAULT_NAME = 'DefaultPool'


@dataclasses.dataclass
class PoolState:
    id: int
    uuid: str
    name: str
    #: MaximumProcessingUnits: 0 for a pool nobody configured.
    max_units: float = 0.0

    @property
    def configured(self):
        return self.id == DEFAULT_ID or self.max_units > 0


def default_name(pool_id):
    return DEFAULT_NAME if pool_id == DEFAULT_ID else 'SharedPool%02d' % (
        pool_id)


def make(model, sysm, configured):
    """The system's 64 pools, those ``configured`` (the topology's
    ``shared_pools``: id, name, max_units) named and sized."""
    given = {p['id']: (p['name'], p['max_units']) for p in configured}
    out = {}
    for pool_id in range(POOLS):
        name, units = given.get(pool_id, (default_name(pool_id), 0.0))
        out[pool_id] = PoolState(
            pool_id, model.make_uuid('pool', sysm.name, pool_id,
                                     partition=False), name, float(units))
    return out


def members(sysm, pool):
    """The partitions of ``sysm`` the pool lists: those placed in it; the
    default pool's also every partition with dedicated processors (the
    captured default pool lists a VIOS)."""
    # Client partitions first, then the VIOSes, as captured.
    parts = list(sysm.lpars.values()) + list(sysm.vioses.values())
    return [p for p in parts if p.pool_id == pool.id]


def reserved_units(sysm, pool):
    """Processing units the pool's activated shared partitions hold."""
    return sum(p.proc_units for p in members(sysm, pool)
               if not p.dedicated and p.state != 'not activated')


def check_placement(sysm, pool_id):
    """Refuse a partition in a pool the system does not have configured."""
    pool = sysm.pools.get(pool_id)
    if pool is None:
        raise SimulatorError(400, 'HSCL1350 Shared processor pool %s does '
                             'not exist on the managed system %s (pool IDs '
                             'are 0 to %d)' % (pool_id, sysm.name,
                                               POOLS - 1))
    if not pool.configured:
        raise SimulatorError(400, 'HSCL1351 Shared processor pool %s (%s) '
                             'of the managed system %s is not configured: '
                             'it has no processing units' % (
                                 pool.id, pool.name, sysm.name))


def find(sysm, uuid):
    for pool in sysm.pools.values():
        if pool.uuid.lower() == str(uuid).lower():
            return pool
    raise SimulatorError(404, '%s %s not found' % (KIND, uuid))
