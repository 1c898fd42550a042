"""Building the estate from a normalised topology spec.

The model's constructor calls :func:`build_system` once per system: it
makes the system, its management partition, its VIOSes (captured ones as
``capture`` read them, the others with made-up but deterministic ports) and
LPARs, then the ``existing_mappings`` to unrelated running partitions.
Identities come from the model (seeded UUIDs, WWPNs, ids), so one spec and
seed always give the same estate.
"""

import collections

from nova_npiv.simulator import pools
from nova_npiv.simulator import state as st
from nova_npiv.simulator import topology as topo
from nova_npiv.simulator.vocab import NOT_ACTIVATED
from nova_npiv.simulator.vocab import RUNNING


def build_system(model, index, spec):
    serial = spec['serial'] or '21%05X' % (
        (model.seed * 7919 + index * 104729) & 0xFFFFF)
    prefix = 'C050760%05X' % ((model.seed * 0x9E37 + index * 0x101
                               + 0x1000) & 0xFFFFF)
    sysm = st.SystemState(
        index, spec['name'],
        spec['uuid'] or model.make_uuid('system', spec['name'],
                                        partition=False),
        spec['memory_mb'], spec['vcpus'], spec['proc_units'],
        spec['machine_type'], spec['model'], serial, prefix)
    model.register_system(sysm)
    model.touch(sysm)
    sysm.pools = pools.make(model, sysm, spec.get('shared_pools') or [])
    sysm.reserved_ids = {p['id'] for p in spec['vioses'] + spec['lpars']
                         if p['id'] is not None}
    mgmt = spec['mgmt_partition']
    if mgmt:
        lpar = model.new_lpar(sysm, mgmt['name'], mgmt['id'], mgmt['uuid'],
                              RUNNING, mgmt['memory_mb'], mgmt['vcpus'],
                              topo.MAX_VIRTUAL_SLOTS)
        lpar.is_mgmt = True
    for vspec in spec['vioses']:
        _build_vios(model, sysm, vspec)
    for lspec in spec['lpars']:
        lpar = model.new_lpar(sysm, lspec['name'], lspec['id'],
                              lspec['uuid'], lspec['state'],
                              lspec['memory_mb'], lspec['vcpus'],
                              lspec['max_virtual_slots'])
        if lspec.get('captured'):
            _captured_lpar(model, lpar, lspec)
    sysm.reserved_ids = set()
    if spec['existing_mappings']:
        _populate(model, sysm, spec['existing_mappings'])


def _captured_lpar(model, lpar, lspec):
    """What a captured LPAR has that a made-up one derives (see
    ``capture``): RMC, the management flag, processors, environment."""
    lpar.rmc_state = lspec['rmc_state']
    lpar.is_mgmt = lspec['is_mgmt']
    lpar.env = lspec['env']
    lpar.dedicated = lspec['dedicated']
    lpar.proc_units = lspec['proc_units']
    model.touch(lpar)


def _build_vios(model, sysm, vspec):
    captured = vspec.get('captured', False)
    rmc = vspec['rmc_state']
    if not captured and vspec['state'] != RUNNING:
        rmc = 'inactive'
    vios = st.ViosState(
        sysm, vspec['name'], vspec['id'] or model.next_part_id(sysm),
        model.partition_uuid(sysm, 'vios', vspec['name'], vspec['uuid']),
        vspec['state'], rmc, vspec.get('is_mgmt', False),
        'Virtual IO Server', vspec['memory_mb'], vspec['vcpus'],
        vspec['max_virtual_slots'])
    if captured:
        vios.dedicated = vspec['dedicated']
    vios.physical_volumes = vspec.get('physical_volumes', 0)
    vios.error = vspec.get('error')
    model.add_partition(sysm, vios)
    for n, pspec in enumerate(vspec['ports']):
        if captured:
            wwpn, loc = pspec['wwpn'], pspec['location']
        else:
            wwpn = pspec['wwpn'] or model.new_port_wwpn()
            loc = pspec['location'] or '%s-P1-C%d-T%d' % (
                'U78CB.001.%s' % sysm.serial, 30 + len(sysm.vioses),
                n + 1)
        vios.ports[pspec['name']] = st.PortState(
            pspec['name'], wwpn, pspec['fabric'], pspec['total'],
            pspec['available'], loc)
    for mspec in vspec.get('mappings', ()):
        _build_captured_map(model, sysm, vios, mspec)
    if captured:
        model.touch(vios)
    return vios


def _build_captured_map(model, sysm, vios, mspec):
    """A mapping exactly as a captured feed had it (see ``capture``)."""
    slot = mspec['server_slot']
    if slot is None:
        slot = model.free_server_slot(vios)
    m = st.MapState(
        slot, mspec['vfchost'] or 'vfchost%d' % model.free_vfchost(vios),
        mspec['port'], mspec['client_id'], mspec['client_href'],
        mspec['client'], mspec['client_slot'], mspec['wwpns'])
    if (mspec['ca_lpar_id'] is not None
            and mspec['ca_lpar_id'] != m.client_id):
        m.ca_lpar_id = mspec['ca_lpar_id']
    if (mspec['ca_vios_id'] is not None
            and mspec['ca_vios_id'] != vios.id):
        m.ca_vios_id = mspec['ca_vios_id']
    vios.attach(m)
    model.index_map(sysm, vios, m)


def _populate(model, sysm, count):
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
        lpar = model.new_lpar(sysm, 'existing-%s-%04d' % (sysm.name,
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
            model.add_map(sysm, vios, lpar, port.name, None, None)
            made += 1
    # A host carrying that many running partitions has the memory and
    # processors for them: keep what was free before free for new work.
    running = [p for p in sysm.partitions() if p.state != NOT_ACTIVATED]
    used_mb = sum(p.memory_mb for p in running)
    for _ in range(3):  # the hypervisor's share grows with the memory
        sysm.memory_mb = used_mb + sysm.firmware_mb + free_mb
    sysm.proc_units = round(
        sum(p.proc_units for p in running) + free_units, 2)
    model.touch(sysm)
