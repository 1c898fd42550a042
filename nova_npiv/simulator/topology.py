"""The topology spec: what estate the simulator pretends to manage.

A topology is a plain, JSON-able dict so that tests, benchmarks and the
``nova-npiv sim`` command can all describe an estate the same way (inline or
from a ``.json`` file).  :func:`normalize` fills in every default and rejects
inconsistent specs early, with a message that names the offending item, so the
state model can trust its input.

Shape (every key but ``systems[].name`` is optional)::

    {
      'console': 'novalink' | 'hmc',
      'name': 'hmc1',                   # ManagementConsoleName
      'address': '127.0.0.1',           # what TargetRemoteHMCIPAddress names
      'ssh_user': 'wlp' | username,     # what TargetRemoteHMCUserID names
      'authorized_keys': [],            # public SSH keys it trusts
      'username': 'admin', 'password': 's3cret-pass',
      'seed': 1,
      'systems': [
        {'name': 'sys-a', 'uuid': ..., 'memory_mb': 262144, 'vcpus': 64,
         'mgmt_partition': True | False | {'name':, 'id':, 'uuid':,
                                            'memory_mb':},
         'vioses': [
            {'name': 'vios-a1', 'id':, 'uuid':, 'state': 'running',
             'rmc_state': 'active', 'max_virtual_slots': 32767,
             'physical_volumes': 0, 'error': None | 'why',
             'ports': [{'name': 'fcs0', 'fabric': 'A', 'total': 64,
                        'available':, 'wwpn':, 'location':}, ...]},
            ...],
         'lpars': [{'name':, 'id':, 'uuid':, 'state': 'not activated',
                    'memory_mb': 2048, 'vcpus': 1}, ...],
         'existing_mappings': 0,
         'shared_pools': [{'id': 1, 'name': 'gold', 'max_units': 8.0}],
         'vios_feed': '/path/to/a/VirtualIOServer/feed'},   # instead of vioses
        ...],
      'vios_busy': {'every': 0, 'probability': 0.0, 'seed': 1},
      'rmc_seconds': 0.0, 'rmc_down': False,
    }

A NovaLink manages exactly the system it runs on: a NovaLink spec with more
than one system is refused.  Several consoles (two NovaLinks, two HMCs) are
a list of such specs, served by :class:`~nova_npiv.simulator.estate.Estate`
(see :func:`novalink_pair`); :func:`hmc_topology` is one HMC over two
systems with a named staging partition on each.

``vios_busy`` makes VIOS writes busy in the background (HTTP 500
HSCL3205/VIOS0014, see :class:`~nova_npiv.simulator.faults.BusyVios`).
``rmc_seconds``: how long after its PowerOn a client LPAR's RMC becomes
active; ``rmc_down``: the images have no RSCT, RMC never becomes active.
"""

import copy
import json

from nova_npiv.simulator import capture
from nova_npiv.simulator import faults

CONSOLE_NOVALINK = 'novalink'
CONSOLE_HMC = 'hmc'
CONSOLES = (CONSOLE_NOVALINK, CONSOLE_HMC)

DEFAULT_USERNAME = 'admin'
DEFAULT_PASSWORD = 's3cret-pass'
DEFAULT_TOTAL_PORTS = 64
#: The hypervisor's ceiling for virtual slots on one partition.  VIOSes and
#: the management partition get it so that scale tests are bounded by NPIV
#: port capacity, as on real systems, rather than by slots.
MAX_VIRTUAL_SLOTS = 32767
#: What pypowervm's LPAR builders ask for when the caller does not say.
DEFAULT_LPAR_SLOTS = 64

PARTITION_STATES = ('running', 'not activated', 'error', 'not available',
                    'open firmware', 'starting', 'shutting down',
                    'migrating running', 'migrating not active',
                    'suspended')
RMC_STATES = ('active', 'inactive', 'none', 'unknown', 'busy')


#: The user a NovaLink's peers migrate through (nova-powervm always named
#: ``wlp``, the NovaLink REST server's user, and pypowervm's captured
#: NovaLink key is ``wlp@...``).
NOVALINK_SSH_USER = 'wlp'
#: The name of the staging partition of :func:`hmc_topology`.
STAGING_PARTITION = 'npiv-staging'


def default_topology(console=None, systems=('sys-a', 'sys-b'),
                     vioses_per_system=2, fabrics=('A', 'B'),
                     total_ports=DEFAULT_TOTAL_PORTS, existing_mappings=0,
                     seed=1, physical_volumes=0, mgmt_partition=None):
    """One console's estate: the building block of demo and tests.

    Managed systems with two VIOSes each; every VIOS has one FC port per
    fabric (``fcs0`` on the first fabric, ``fcs1`` on the second), so each
    fabric has one port per VIOS and a mapping can be spread over both
    VIOSes.  On NovaLink the system has its management partition; on a
    plain HMC there is none.  ``console`` defaults to NovaLink for one
    system and to an HMC for several (a NovaLink manages only its own
    system).  ``mgmt_partition`` (default: on NovaLink only) True on an
    HMC gives each system a NovaLink partition too: systems co-managed by
    an HMC and their NovaLinks, as the HMC sees them.  ``physical_volumes``
    SAN LUNs per VIOS make its ``ViosStorage`` replies the size of a real
    one's.
    """
    if console is None:
        console = CONSOLE_NOVALINK if len(systems) == 1 else CONSOLE_HMC
    if console not in CONSOLES:
        raise ValueError('console must be one of %s' % ', '.join(CONSOLES))
    _check_novalink(console, list(systems))
    spec_systems = []
    for sys_name in systems:
        suffix = sys_name.rsplit('-', 1)[-1]
        vioses = []
        for v in range(1, vioses_per_system + 1):
            vioses.append({
                'name': 'vios-%s%d' % (suffix, v),
                'physical_volumes': physical_volumes,
                'ports': [{'name': 'fcs%d' % i, 'fabric': fabric,
                           'total': total_ports}
                          for i, fabric in enumerate(fabrics)]})
        spec_systems.append({
            'name': sys_name,
            'memory_mb': 262144,
            'vcpus': 64,
            'mgmt_partition': (console == CONSOLE_NOVALINK
                               if mgmt_partition is None
                               else bool(mgmt_partition)),
            'vioses': vioses,
            'lpars': [],
            'existing_mappings': existing_mappings,
        })
    return {
        'console': console,
        'username': DEFAULT_USERNAME,
        'password': DEFAULT_PASSWORD,
        'seed': seed,
        'systems': spec_systems,
    }


def novalink_pair(systems=('sys-a', 'sys-b'), seed=1, **kwargs):
    """Two NovaLink consoles, one system each: the demo's default.

    A list of console specs for :class:`~nova_npiv.simulator.estate.Estate`;
    each console gets its own seed, so UUIDs, serials and WWPN pools do not
    collide between them.  ``kwargs`` go to :func:`default_topology`.
    """
    return [dict(default_topology(CONSOLE_NOVALINK, systems=(name,),
                                  seed=seed + index, **kwargs),
                 name='novalink-%s' % name)
            for index, name in enumerate(systems)]


def co_managed_topology(systems=('sys-a', 'sys-b'), **kwargs):
    """One HMC over systems that each run a NovaLink too (co-management):
    migrations stay on the HMC, staging uses each NovaLink partition.  What
    tests of one console over several systems with staging run on."""
    return default_topology(CONSOLE_HMC, systems=systems, mgmt_partition=True,
                            **kwargs)


def hmc_topology(systems=('sys-a', 'sys-b'), staging=STAGING_PARTITION,
                 **kwargs):
    """One HMC over several systems, each with a running LPAR named
    ``staging`` to stage vFC adapters on (an HMC has no management
    partition; nova.conf names the partition, ``staging_partition``)."""
    spec = default_topology(CONSOLE_HMC, systems=systems, **kwargs)
    if staging:
        for system in spec['systems']:
            system['lpars'].append({'name': staging, 'state': 'running',
                                    'memory_mb': 2048, 'vcpus': 1,
                                    'max_virtual_slots': MAX_VIRTUAL_SLOTS})
    return spec


def load_topology(path):
    """Read a topology from a JSON file and normalise it."""
    with open(path) as fh:
        return normalize(json.load(fh))


def _check(cond, msg, *args):
    if not cond:
        raise ValueError('topology: ' + (msg % args if args else msg))


def _int(value, what, minimum=0):
    try:
        ivalue = int(value)
    except (TypeError, ValueError):
        raise ValueError('topology: %s must be an integer, not %r'
                         % (what, value))
    _check(ivalue >= minimum, '%s must be >= %d, not %d', what, minimum,
           ivalue)
    return ivalue


def _state(value, what, allowed):
    _check(value in allowed, '%s must be one of %s, not %r', what,
           ', '.join(allowed), value)
    return value


def _norm_port(port, where):
    _check(isinstance(port, dict) and port.get('name'),
           '%s: every port needs a name', where)
    where = '%s port %s' % (where, port['name'])
    out = {
        'name': str(port['name']),
        'fabric': (None if port.get('fabric') is None
                   else str(port['fabric'])),
        'total': _int(port.get('total', DEFAULT_TOTAL_PORTS),
                      where + ' total'),
        'wwpn': port.get('wwpn'),
        'location': port.get('location'),
    }
    avail = port.get('available')
    out['available'] = (out['total'] if avail is None
                        else _int(avail, where + ' available'))
    _check(out['available'] <= out['total'],
           '%s: available (%d) exceeds total (%d)', where, out['available'],
           out['total'])
    if out['wwpn'] is not None:
        wwpn = str(out['wwpn']).replace(':', '').upper()
        _check(len(wwpn) == 16 and all(c in '0123456789ABCDEF' for c in wwpn),
               '%s: bad wwpn %r', where, out['wwpn'])
        out['wwpn'] = wwpn
    return out


def _norm_vios(vios, where):
    _check(isinstance(vios, dict) and vios.get('name'),
           '%s: every VIOS needs a name', where)
    where = '%s VIOS %s' % (where, vios['name'])
    ports = [_norm_port(p, where) for p in vios.get('ports', [])]
    names = [p['name'] for p in ports]
    _check(len(set(names)) == len(names), '%s: port names repeat', where)
    return {
        'name': str(vios['name']),
        'id': None if vios.get('id') is None else _int(vios['id'],
                                                       where + ' id', 1),
        'uuid': vios.get('uuid'),
        'state': _state(vios.get('state', 'running'), where + ' state',
                        PARTITION_STATES),
        'rmc_state': _state(vios.get('rmc_state', 'active'),
                            where + ' rmc_state', RMC_STATES),
        'memory_mb': _int(vios.get('memory_mb', 8192), where + ' memory_mb'),
        'vcpus': _int(vios.get('vcpus', 2), where + ' vcpus', 1),
        'max_virtual_slots': _int(vios.get('max_virtual_slots',
                                           MAX_VIRTUAL_SLOTS),
                                  where + ' max_virtual_slots', 16),
        'ports': ports,
        'physical_volumes': _int(vios.get('physical_volumes', 0),
                                 where + ' physical_volumes'),
        'error': None if not vios.get('error') else (
            str(vios['error']) if vios['error'] is not True
            else 'the VIOS is in an error state'),
    }


def _norm_captured_vios(vios, where):
    """A VIOS read from a captured feed: kept as captured (see capture)."""
    _check(isinstance(vios, dict) and vios.get('name'),
           '%s: a captured VIOS without a PartitionName', where)
    return dict(vios, ports=[dict(p) for p in vios['ports']],
                mappings=[dict(m) for m in vios['mappings']])


def _norm_lpar(lpar, where):
    _check(isinstance(lpar, dict) and lpar.get('name'),
           '%s: every LPAR needs a name', where)
    where = '%s LPAR %s' % (where, lpar['name'])
    return {
        'name': str(lpar['name']),
        'id': None if lpar.get('id') is None else _int(lpar['id'],
                                                       where + ' id', 1),
        'uuid': lpar.get('uuid'),
        'state': _state(lpar.get('state', 'not activated'),
                        where + ' state', PARTITION_STATES),
        'memory_mb': _int(lpar.get('memory_mb', 2048), where + ' memory_mb'),
        'vcpus': _int(lpar.get('vcpus', 1), where + ' vcpus', 1),
        'max_virtual_slots': _int(lpar.get('max_virtual_slots',
                                           DEFAULT_LPAR_SLOTS),
                                  where + ' max_virtual_slots', 4),
    }


def _norm_mgmt(mgmt, sys_name):
    if not mgmt:
        return None
    mgmt = {} if mgmt is True else dict(mgmt)
    return {
        'name': str(mgmt.get('name') or 'novalink-%s' % sys_name),
        'id': _int(mgmt.get('id', 1), 'mgmt_partition id', 1),
        'uuid': mgmt.get('uuid'),
        'memory_mb': _int(mgmt.get('memory_mb', 4096),
                          'mgmt_partition memory_mb'),
        'vcpus': _int(mgmt.get('vcpus', 1), 'mgmt_partition vcpus', 1),
    }


def _norm_system(system):
    _check(isinstance(system, dict) and system.get('name'),
           'every system needs a name')
    name = str(system['name'])
    where = 'system %s' % name
    vioses = [_norm_captured_vios(v, where)
              if isinstance(v, dict) and v.get('captured')
              else _norm_vios(v, where) for v in system.get('vioses', [])]
    lpars = [_norm_lpar(lp, where) for lp in system.get('lpars', [])]
    if system.get('system_feed'):
        # Identity and size as captured; explicit keys still win.
        system = dict(capture.system_from_file(system['system_feed'], name),
                      **{k: v for k, v in system.items()
                         if k != 'system_feed'})
    mgmt = _norm_mgmt(system.get('mgmt_partition'), name)
    feed = system.get('vios_feed')
    _check(not (feed and vioses), '%s: give vioses or vios_feed, not both',
           where)
    names = [v['name'] for v in vioses] + [lp['name'] for lp in lpars]
    if mgmt:
        names.append(mgmt['name'])
    _check(len(set(names)) == len(names), '%s: partition names repeat',
           where)
    ids = [p['id'] for p in vioses + lpars if p['id'] is not None]
    if mgmt:
        ids.append(mgmt['id'])
    _check(len(set(ids)) == len(ids), '%s: partition ids repeat', where)
    if feed:
        # Read once, here: the model builds captured VIOSes like any other
        # (names and ids stay as captured, unchecked).
        vioses = [_norm_captured_vios(v, where)
                  for v in capture.vioses_from_file(feed)]
        feed = None
    if system.get('lpar_feed'):
        _check(not mgmt, '%s: a captured lpar_feed brings its own '
               'management partition', where)
        lpars += [dict(lp) for lp in
                  capture.lpars_from_file(system['lpar_feed'])]
    # Captured ports carry no fabric: ``port_fabrics`` ({port name:
    # fabric}) gives them one, for a driver to be configured on them.
    for vios in vioses:
        for port in vios['ports']:
            if port.get('fabric') is None:
                port['fabric'] = system.get('port_fabrics', {}).get(
                    port['name'])
    vcpus = _int(system.get('vcpus', 64), where + ' vcpus', 1)
    return {
        'name': name,
        'uuid': system.get('uuid'),
        'memory_mb': _int(system.get('memory_mb', 262144),
                          where + ' memory_mb', 1024),
        'vcpus': vcpus,
        'proc_units': float(system.get('proc_units', vcpus)),
        'serial': system.get('serial'),
        'machine_type': str(system.get('machine_type', '8286')),
        'model': str(system.get('model', '42A')),
        'mgmt_partition': mgmt,
        'vioses': vioses,
        'lpars': lpars,
        'existing_mappings': _int(system.get('existing_mappings', 0),
                                  where + ' existing_mappings'),
        'shared_pools': _norm_pools(system.get('shared_pools') or [], where),
        'vios_feed': feed,
    }


def _norm_pools(specs, where):
    """``shared_pools``: the configured ones of the system's 64 shared
    processor pools (see simulator.pools), ids 1-63, names unique."""
    out = {}
    for spec in specs:
        _check(isinstance(spec, dict), '%s: a shared pool is a dict, not %r',
               where, spec)
        pool_id = _int(spec.get('id'), '%s shared pool id' % where, 1)
        _check(pool_id < 64, '%s: shared pool ids are 1 to 63, not %d',
               where, pool_id)
        name = str(spec.get('name') or '')
        _check(name, '%s: shared pool %d needs a name', where, pool_id)
        try:
            units = float(spec.get('max_units', 1.0))
        except (TypeError, ValueError):
            units = -1.0
        _check(units > 0, '%s: shared pool %s needs max_units > 0, not %r',
               where, name, spec.get('max_units'))
        _check(pool_id not in out, '%s: shared pool id %d repeats', where,
               pool_id)
        _check(name not in [n for n, _ in out.values()] and
               name != 'DefaultPool', '%s: shared pool name %s repeats',
               where, name)
        out[pool_id] = (name, units)
    return [{'id': i, 'name': n, 'max_units': u}
            for i, (n, u) in sorted(out.items())]


def normalize(spec):
    """A deep copy of ``spec`` with every default filled in.

    :raises ValueError: naming the first inconsistency found.
    """
    _check(isinstance(spec, dict), 'must be a dict')
    spec = copy.deepcopy(spec)
    console = str(spec.get('console', CONSOLE_NOVALINK)).lower()
    _check(console in CONSOLES, "console must be one of %s, not %r",
           ', '.join(CONSOLES), spec.get('console'))
    systems = [_norm_system(s) for s in spec.get('systems', [])]
    names = [s['name'] for s in systems]
    _check(len(set(names)) == len(names), 'system names repeat')
    _check_novalink(console, names)
    username = str(spec.get('username', DEFAULT_USERNAME))
    keys = spec.get('authorized_keys') or []
    _check(isinstance(keys, (list, tuple)) and
           all(isinstance(k, str) for k in keys),
           'authorized_keys must be a list of public keys')
    return {
        'console': console,
        'name': str(spec.get('name') or (
            'novalink-%s' % names[0] if console == CONSOLE_NOVALINK and names
            else 'hmc-%d' % _int(spec.get('seed', 1), 'seed'))),
        'address': str(spec.get('address', '127.0.0.1')),
        'ssh_user': str(spec.get('ssh_user') or (
            NOVALINK_SSH_USER if console == CONSOLE_NOVALINK
            else username)),
        'authorized_keys': list(keys),
        'username': username,
        'password': str(spec.get('password', DEFAULT_PASSWORD)),
        'seed': _int(spec.get('seed', 1), 'seed'),
        'systems': systems,
        'vios_busy': _norm_busy(spec.get('vios_busy')),
        'rmc_seconds': _seconds(spec.get('rmc_seconds', 0.0), 'rmc_seconds'),
        'rmc_down': _flag(spec.get('rmc_down', False), 'rmc_down'),
    }


def _seconds(value, what):
    try:
        fvalue = float(value)
    except (TypeError, ValueError):
        raise ValueError('topology: %s must be a number of seconds, not %r'
                         % (what, value))
    _check(fvalue >= 0, '%s must be >= 0, not %s', what, fvalue)
    return fvalue


def _flag(value, what):
    _check(isinstance(value, bool), '%s must be true or false, not %r',
           what, value)
    return value


def _check_novalink(console, names):
    _check(console != CONSOLE_NOVALINK or len(names) <= 1,
           'a NovaLink console manages only the system it runs on, not %d '
           '(%s): give each system a NovaLink console of its own '
           '(nova_npiv.simulator.Estate) or use an HMC', len(names),
           ', '.join(names))


def _norm_busy(busy):
    """``vios_busy``: background busy VIOS writes (see faults.BusyVios)."""
    if faults.BusyVios.from_spec(busy) is None:
        return {}
    return dict(busy)
