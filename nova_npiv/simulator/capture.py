"""Captured console replies turned into topology spec input.

A system's ``vios_feed`` (a VirtualIOServer feed as a console sent it, e.g.
pypowervm's ``tests/data/fake_vios_feed.txt``) becomes the ``vioses`` of its
spec here, so that the model builds captured VIOSes like any other and
nothing outside the model writes its state.

What is kept is what pypowervm reads: partition identity and state,
physical FC ports with their NPIV counts as captured, and every vFC mapping
with its slots, WWPNs, port and client link, including oddities such as
mappings without a client adapter or without a port, or a client adapter
that disagrees with its server adapter.  Client LPARs referenced by the
mappings are not created: captured feeds do not contain them.

Likewise a system's ``lpar_feed`` (e.g. ``lpar.txt``) becomes its
``lpars`` (identity, state, RMC, management flag, memory, processors,
virtual slots as captured), and ``system_feed`` (e.g.
``managedsystem.txt``) gives the system's identity and size from the entry
of the system's name (issue 13, replay).
"""

from lxml import etree

from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import int_or_none
from nova_npiv.simulator.vocab import qname
from nova_npiv.simulator.vocab import text


def feed_text(raw):
    """The Atom body of a pypowervm test-data file, or ``raw`` itself."""
    if 'BODY{' in raw:
        body = raw.split('BODY{', 1)[1]
        return body.split('END OF SECTION}', 1)[0].strip()
    return raw.strip()


def vioses_from_file(path):
    with open(path) as fh:
        return vioses_from_feed(fh.read())


def vioses_from_feed(raw):
    """The VIOS spec dicts (``'captured': True``) of a captured feed.

    A single captured entry (e.g. ``fake_vios_mappings.txt``) is a feed of
    one.
    """
    root = etree.fromstring(feed_text(raw).encode('utf-8'), vocab.PARSER)
    out = []
    entries = ([root] if root.tag == qname('entry', vocab.ATOM_NS)
               else root.iterfind(qname('entry', vocab.ATOM_NS)))
    for ent in entries:
        content = ent.find(qname('content', vocab.ATOM_NS))
        if content is None or not len(content):
            continue
        out.append(_vios(ent, content[0]))
    return out


def _entries(raw):
    """(atom entry, content element) of each entry of a captured reply."""
    root = etree.fromstring(feed_text(raw).encode('utf-8'), vocab.PARSER)
    entries = ([root] if root.tag == qname('entry', vocab.ATOM_NS)
               else root.iterfind(qname('entry', vocab.ATOM_NS)))
    for ent in entries:
        content = ent.find(qname('content', vocab.ATOM_NS))
        if content is not None and len(content):
            yield ent, content[0]


def _read(path):
    with open(path) as fh:
        return fh.read()


def lpars_from_file(path):
    """The LPAR spec dicts (``'captured': True``) of a captured feed."""
    return [_lpar(ent, elem) for ent, elem in _entries(_read(path))]


def system_from_file(path, name):
    """The system spec fields of entry ``name`` of a captured feed."""
    found = []
    for ent, elem in _entries(_read(path)):
        found.append(text(elem, 'SystemName'))
        if found[-1] == name:
            return _system(ent, elem)
    raise ValueError('topology: system_feed %s has no system %r (it has: '
                     '%s)' % (path, name, ', '.join(map(str, found))))


def _system(ent, elem):
    mem = 'AssociatedSystemMemoryConfiguration/'
    proc = 'AssociatedSystemProcessorConfiguration/'
    mtms = 'MachineTypeModelAndSerialNumber/'
    units = float(text(elem, proc + 'InstalledSystemProcessorUnits') or 1)
    return {
        'uuid': (text(ent, 'id', vocab.ATOM_NS) or '').lower() or None,
        'memory_mb': int_or_none(text(elem, mem + 'InstalledSystemMemory')),
        'vcpus': max(1, int(units)),
        'proc_units': units,
        'machine_type': text(elem, mtms + 'MachineType'),
        'model': text(elem, mtms + 'Model'),
        'serial': text(elem, mtms + 'SerialNumber'),
    }


def _lpar(ent, elem):
    uuid = text(ent, 'id', vocab.ATOM_NS) or text(elem, 'PartitionUUID')
    proc = 'PartitionProcessorConfiguration/'
    dedicated = (text(elem, proc + 'HasDedicatedProcessors')
                 or 'false').lower() == 'true'
    if dedicated:
        vcpus = int_or_none(text(elem, proc + 'DedicatedProcessorConfiguration'
                                 '/DesiredProcessors'))
        units = float(vcpus or 1)
    else:
        shared = proc + 'SharedProcessorConfiguration/'
        vcpus = int_or_none(text(elem, shared + 'DesiredVirtualProcessors'))
        units = float(text(elem, shared + 'DesiredProcessingUnits') or 0.1)
    return {
        'captured': True,
        'name': text(elem, 'PartitionName'),
        'id': int_or_none(text(elem, 'PartitionID')),
        'uuid': uuid.upper(),
        'state': text(elem, 'PartitionState') or vocab.NOT_ACTIVATED,
        'rmc_state': text(elem, 'ResourceMonitoringControlState')
        or 'inactive',
        'is_mgmt': (text(elem, 'IsManagementPartition')
                    or '').lower() == 'true',
        'env': text(elem, 'PartitionType') or 'AIX/Linux',
        'memory_mb': int_or_none(text(
            elem, 'PartitionMemoryConfiguration/DesiredMemory')) or 0,
        'vcpus': vcpus or 1,
        'proc_units': units,
        'dedicated': dedicated,
        'max_virtual_slots': int_or_none(text(
            elem, 'PartitionIOConfiguration/MaximumVirtualIOSlots')) or 64,
    }


def _vios(ent, elem):
    uuid = text(ent, 'id', vocab.ATOM_NS) or text(elem, 'PartitionUUID')
    dedicated = text(elem, 'PartitionProcessorConfiguration/'
                           'HasDedicatedProcessors')
    spec = {
        'captured': True,
        'name': text(elem, 'PartitionName'),
        'id': int_or_none(text(elem, 'PartitionID')),
        'uuid': uuid.upper(),
        'state': text(elem, 'PartitionState') or vocab.RUNNING,
        'rmc_state': text(elem, 'ResourceMonitoringControlState')
        or 'inactive',
        'is_mgmt': (text(elem, 'IsManagementPartition')
                    or '').lower() == 'true',
        'memory_mb': int_or_none(text(
            elem, 'PartitionMemoryConfiguration/DesiredMemory')) or 4096,
        'vcpus': 1,
        'max_virtual_slots': int_or_none(text(
            elem, 'PartitionIOConfiguration/MaximumVirtualIOSlots')) or 2000,
        'dedicated': (dedicated or 'true').lower() == 'true',
        'ports': [],
        'mappings': [],
    }
    ports = spec['ports']
    for pp in elem.iter(qname('PhysicalFibreChannelPort')):
        _port(ports, pp)
    container = elem.find(qname('VirtualFibreChannelMappings'))
    if container is None:
        return spec
    for vm in container.iterfind(qname('VirtualFibreChannelMapping')):
        port = vm.find(qname('Port'))
        if port is not None:
            _port(ports, port)
        spec['mappings'].append(_mapping(vm))
    return spec


def _mapping(vm):
    ca = vm.find(qname('ClientAdapter'))
    sa = vm.find(qname('ServerAdapter'))
    link = vm.find(qname('AssociatedLogicalPartition'))
    href = link.get('href') if link is not None else None
    if href and '/rest/' in href:
        # Keep the path (with its case); the host is whoever asks.
        href = '/rest/' + href.split('/rest/', 1)[1]
    sa_lpar = int_or_none(text(sa, 'ConnectingPartitionID'))
    ca_lpar = int_or_none(text(ca, 'LocalPartitionID'))
    client_id = sa_lpar if sa_lpar is not None else (ca_lpar or 0)
    client_slot = int_or_none(text(ca, 'VirtualSlotNumber'))
    if client_slot is None:
        client_slot = int_or_none(text(sa, 'ConnectingVirtualSlotNumber'))
    ca_vios = int_or_none(text(ca, 'ConnectingPartitionID'))
    return {
        'server_slot': int_or_none(text(sa, 'VirtualSlotNumber')),
        'vfchost': text(sa, 'AdapterName'),
        'port': text(vm, 'Port/PortName'),
        'client_id': client_id,
        'client_href': href,
        'client': ca is not None,
        'client_slot': client_slot,
        'wwpns': tuple((text(ca, 'WWPNs') or '').lower().split())
        if ca is not None else (),
        # What the client adapter itself reports (the model keeps it where
        # it disagrees with the server adapter).
        'ca_lpar_id': ca_lpar,
        'ca_vios_id': ca_vios,
    }


def _port(ports, pp):
    name = text(pp, 'PortName')
    if not name or any(p['name'] == name for p in ports):
        return
    total = int_or_none(text(pp, 'TotalPorts')) or 0
    avail = int_or_none(text(pp, 'AvailablePorts'))
    ports.append({
        'name': name, 'wwpn': text(pp, 'WWPN') or '', 'fabric': None,
        'total': total, 'available': total if avail is None else avail,
        'location': text(pp, 'LocationCode') or name})
