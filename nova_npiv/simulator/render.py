"""XML out: the Atom/UOM documents the simulator answers with.

Everything is built with lxml element by element, in the shapes and element
orders pypowervm's wrappers read (checked against pypowervm 1.1.27 and its
shipped sample data).  Rendering functions take the model's internal state
objects and must be called with the model lock held.

Atom bodies are serialised *without* an XML declaration: pypowervm parses
response text (a ``str``), and lxml refuses a ``str`` that declares an
encoding.
"""

import copy
import re
import uuid as uuidlib

from lxml import etree

from nova_npiv.simulator import render_storage
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import ATOM_NS
from nova_npiv.simulator.vocab import UOM_NS
from nova_npiv.simulator.vocab import WEB_NS

GENERATOR = 'IBM Power Systems Management Console (nova-npiv simulator)'
_UUID_NS = uuidlib.UUID('6ba7b811-9dad-11d1-80b4-00c04fd430c8')
_q = vocab.qname
_QNAMES = vocab.QNAMES
_SubElement = etree.SubElement


def _root(tag, ns=UOM_NS, **attrib):
    attrib.setdefault('schemaVersion', 'V1_0')
    return etree.Element(_q(tag, ns), attrib, nsmap={None: ns})


def _el(parent, tag, text=None, ns=UOM_NS, **attrib):
    # Hot path: a 5000-mapping feed makes a quarter million of these.
    try:
        qname = _QNAMES[ns, tag]
    except KeyError:
        qname = _q(tag, ns)
    elem = _SubElement(parent, qname, attrib) if attrib else _SubElement(
        parent, qname)
    if text is not None:
        elem.text = text if text.__class__ is str else str(text)
    return elem


def _bool(value):
    return 'true' if value else 'false'


def _metadata(parent, atom_id=None, ns=UOM_NS):
    md = _el(parent, 'Metadata', ns=ns)
    atom = _el(md, 'Atom', ns=ns)
    if atom_id:
        _el(atom, 'AtomID', atom_id, ns=ns)
        _el(atom, 'AtomCreated', '0', ns=ns)
    return md


def _link(parent, tag, href):
    return _el(parent, tag, href=href, rel='related')


def tostring(elem):
    return etree.tostring(elem, encoding='unicode').encode('utf-8')


def copy_element(elem):
    """A detached copy: a cached element must not be moved into a feed."""
    return copy.deepcopy(elem)


# --------------------------------------------------------------------------
# Atom envelopes
# --------------------------------------------------------------------------

def entry(uuid, title, self_href, content, content_type, etag=None):
    """An Atom <entry> around one UOM/WEB object."""
    ent = etree.Element(_q('entry', ATOM_NS), nsmap={None: ATOM_NS})
    _el(ent, 'id', uuid, ns=ATOM_NS)
    _el(ent, 'title', title, ns=ATOM_NS)
    if self_href:
        _el(ent, 'link', ns=ATOM_NS, rel='SELF', href=self_href)
    author = _el(ent, 'author', ns=ATOM_NS)
    _el(author, 'name', GENERATOR, ns=ATOM_NS)
    if etag is not None:
        tag = etree.SubElement(ent, _q('etag'), nsmap={'etag': UOM_NS})
        tag.text = etag
    cont = _el(ent, 'content', ns=ATOM_NS, type=content_type)
    cont.append(content)
    return ent


def feed(self_href, entries):
    """An Atom <feed> of entries (elements, appended as given)."""
    fd = etree.Element(_q('feed', ATOM_NS), nsmap={None: ATOM_NS})
    _el(fd, 'id', str(uuidlib.uuid5(_UUID_NS, self_href)), ns=ATOM_NS)
    _el(fd, 'link', ns=ATOM_NS, rel='SELF', href=self_href)
    _el(fd, 'generator', GENERATOR, ns=ATOM_NS)
    for ent in entries:
        fd.append(ent)
    return fd


def http_error(status, uri, reason, message):
    """The Atom entry a PowerVM console returns with an HTTP error."""
    her = _root('HttpErrorResponse', WEB_NS, schemaVersion='V1_2_0')
    _metadata(her, ns=WEB_NS)
    _el(her, 'HTTPStatus', status, ns=WEB_NS)
    _el(her, 'RequestURI', uri, ns=WEB_NS)
    _el(her, 'ReasonCode', reason, ns=WEB_NS)
    _el(her, 'Message', message, ns=WEB_NS)
    return entry(str(uuidlib.uuid4()), 'HttpErrorResponse', None, her,
                 vocab.WEB_TYPE % 'HttpErrorResponse')


def logon_response(token=None, token_file=None):
    resp = _root('LogonResponse', WEB_NS)
    _metadata(resp, ns=WEB_NS)
    if token_file:
        _el(resp, 'X-API-SessionFile', token_file, ns=WEB_NS)
    else:
        _el(resp, 'X-API-Session', token, ns=WEB_NS)
    return etree.tostring(resp, xml_declaration=True, encoding='UTF-8',
                          standalone=True)


# --------------------------------------------------------------------------
# Managed system
# --------------------------------------------------------------------------

def system(sysm, model, base):
    # Children in the order of the captured ManagedSystem (managedsystem.txt):
    # pypowervm declares no order for it, the console's reply is the schema.
    ms = _root('ManagedSystem')
    _metadata(ms, sysm.uuid)
    lps = _el(ms, 'AssociatedLogicalPartitions')
    for lpar in sysm.lpars.values():
        _el(lps, 'link', href='%s/rest/api/uom/ManagedSystem/%s/'
            'LogicalPartition/%s' % (base, sysm.uuid, lpar.uuid),
            rel='related')
    caps = _el(ms, 'AssociatedSystemCapabilities')
    for name, value in (
            ('ActiveLogicalPartitionMobilityCapable', True),
            ('ActiveMemoryExpansionCapable', False),
            ('AIXCapable', True), ('IBMiCapable', False),
            ('IBMiLogicalPartitionMobilityCapable', False),
            ('IBMiRestrictedIOModeCapable', False),
            ('InactiveLogicalPartitionMobilityCapable', True),
            ('LinuxCapable', True), ('SharedProcessorPoolCapable', True),
            ('VirtualEthernetCustomMACAddressCapable', True),
            ('VirtualNICDedicatedSRIOVCapable', False),
            ('VirtualNICFailOverCapable', False),
            # Not in the capture (an older console); next to its toggle.
            ('PowerVMLogicalPartitionSimplifiedRemoteRestartCapable', True),
            ('DynamicSimplifiedRemoteRestartToggleCapable', True),
            ('CustomPhysicalPageTableRatioCapable', True),
            ('DedicatedProcessorPartitionCapable', True)):
        _el(caps, name, _bool(value))
    asio = _el(ms, 'AssociatedSystemIOConfiguration')
    _el(asio, 'AvailableWWPNs', model.available_wwpns(sysm))
    _el(asio, 'IOSlots')
    _el(asio, 'WWPNPrefix', sysm.wwpn_prefix)
    mem = _el(ms, 'AssociatedSystemMemoryConfiguration')
    _el(mem, 'ConfigurableSystemMemory', sysm.memory_mb)
    _el(mem, 'CurrentAvailableSystemMemory', sysm.memory_free_mb())
    _el(mem, 'DefaultHardwarePageTableRatio', 6)
    _el(mem, 'DefaultPhysicalPageTableRatio', 6)
    _el(mem, 'InstalledSystemMemory', sysm.memory_mb)
    _el(mem, 'MemoryRegionSize', vocab.MEMORY_REGION_MB)
    _el(mem, 'MemoryUsedByHypervisor', sysm.firmware_mb)
    proc = _el(ms, 'AssociatedSystemProcessorConfiguration')
    _el(proc, 'ConfigurableSystemProcessorUnits', '%.2f' % sysm.proc_units)
    _el(proc, 'CurrentAvailableSystemProcessorUnits',
        '%.2f' % sysm.proc_units_free())
    _el(proc, 'CurrentMaximumProcessorsPerAIXOrLinuxPartition', sysm.vcpus)
    _el(proc, 'CurrentMaximumAllowedProcessorsPerPartition', sysm.vcpus)
    _el(proc, 'CurrentMaximumVirtualProcessorsPerAIXOrLinuxPartition',
        sysm.vcpus * 4)
    _el(proc, 'InstalledSystemProcessorUnits', '%.2f' % sysm.proc_units)
    _el(proc, 'MaximumAllowedVirtualProcessorsPerPartition', sysm.vcpus * 4)
    _el(proc, 'MinimumProcessorUnitsPerVirtualProcessor', '0.05')
    for mode in ('default', 'POWER7', 'POWER8', 'POWER9_Base', 'POWER9'):
        _el(proc, 'SupportedPartitionProcessorCompatibilityModes', mode)
    vioses = _el(ms, 'AssociatedVirtualIOServers')
    for vios in sysm.vioses.values():
        _el(vioses, 'link', href='%s/rest/api/uom/ManagedSystem/%s/'
            'VirtualIOServer/%s' % (base, sysm.uuid, vios.uuid),
            rel='related')
    mtms = _el(ms, 'MachineTypeModelAndSerialNumber')
    _el(mtms, 'MachineType', sysm.machine_type)
    _el(mtms, 'Model', sysm.model)
    _el(mtms, 'SerialNumber', sysm.serial)
    _el(ms, 'MaximumPartitions', 1000)
    _el(ms, 'PrimaryIPAddress', '127.0.0.1')
    _el(ms, 'State', 'operating')
    _el(ms, 'SystemName', sysm.name)
    mig = _el(ms, 'SystemMigrationInformation')
    _el(mig, 'MaximumInactiveMigrations', 16)
    _el(mig, 'MaximumActiveMigrations', 16)
    moving = [lp.state for lp in sysm.lpars.values()
              if lp.migration_state == vocab.MIGRATION_STARTING]
    _el(mig, 'NumberOfInactiveMigrationsInProgress',
        moving.count(vocab.MIGRATING_NOT_ACTIVE))
    _el(mig, 'NumberOfActiveMigrationsInProgress',
        moving.count(vocab.MIGRATING_RUNNING))
    _el(mig, 'MaximumFirmwareActiveMigrations', 16)
    _el(mig, 'LogicalPartitionAffinityCheckCapable', 'false')
    _el(ms, 'IsPowerVMManagementMaster',
        _bool(model.console == 'novalink'))
    return ms


# --------------------------------------------------------------------------
# Partitions
# --------------------------------------------------------------------------

def _loc(sysm, part_id, slot):
    return '%s-V%d-C%d' % (sysm.location_prefix(), part_id, slot)


def _partition_base(part, base, kind):
    sysm = part.system
    root = _root(kind)
    _metadata(root, part.uuid)
    running = part.state == vocab.RUNNING
    rmc_up = part.rmc_state == 'active'
    _el(root, 'AllowPerformanceDataCollection', 'false')
    _el(root, 'AvailabilityPriority', 191 if kind == vocab.VIOS_KIND else 127)
    _el(root, 'CurrentProcessorCompatibilityMode',
        'POWER8' if running else 'default')
    _el(root, 'CurrentProfileSync', 'On')
    _el(root, 'IsBootable', 'true')
    _el(root, 'IsConnectionMonitoringEnabled', 'true')
    _el(root, 'IsOperationInProgress', 'false')
    _el(root, 'IsRedundantErrorPathReportingEnabled', 'false')
    _el(root, 'IsTimeReferencePartition', 'false')
    _el(root, 'IsVirtualServiceAttentionLEDOn', 'false')
    _el(root, 'IsVirtualTrustedPlatformModuleEnabled', 'false')
    _el(root, 'KeylockPosition', 'normal')
    _el(root, 'LogicalSerialNumber', '%s%d' % (sysm.serial, part.id))
    if kind == vocab.VIOS_KIND:
        os_ver = 'VIOS 3.1.3.10'
    elif part.is_mgmt:
        os_ver = 'Linux/Ubuntu 4.15.0-20-generic'
    else:
        os_ver = 'Linux/Red Hat 4.18.0' if running else 'Unknown'
    _el(root, 'OperatingSystemVersion', os_ver)
    caps = _el(root, 'PartitionCapabilities')
    for name in ('DynamicLogicalPartitionIOCapable',
                 'DynamicLogicalPartitionMemoryCapable',
                 'DynamicLogicalPartitionProcessorCapable'):
        _el(caps, name, _bool(running and (rmc_up or part.is_mgmt)))
    _el(caps, 'InternalAndExternalIntrusionDetectionCapable', 'false')
    _el(caps, 'ResourceMonitoringControlOperatingSystemShutdownCapable',
        _bool(running and rmc_up))
    _el(root, 'PartitionID', part.id)
    return root


def _partition_middle(root, part, io_children=None):
    io = _el(root, 'PartitionIOConfiguration')
    _el(io, 'MaximumVirtualIOSlots', part.max_slots)
    if io_children is not None:
        io_children(io)
    mem = _el(root, 'PartitionMemoryConfiguration')
    _el(mem, 'ActiveMemoryExpansionEnabled', 'false')
    _el(mem, 'ActiveMemorySharingEnabled', 'false')
    _el(mem, 'DesiredMemory', part.memory_mb)
    _el(mem, 'MaximumMemory', part.memory_mb)
    _el(mem, 'MinimumMemory', part.memory_mb)
    _el(mem, 'CurrentMemory',
        part.memory_mb if part.state != vocab.NOT_ACTIVATED else 0)
    _el(mem, 'SharedMemoryEnabled', 'false')
    _el(root, 'PartitionName', part.name)
    proc = _el(root, 'PartitionProcessorConfiguration')
    if part.dedicated:
        ded = _el(proc, 'DedicatedProcessorConfiguration')
        _el(ded, 'DesiredProcessors', part.vcpus)
        _el(ded, 'MaximumProcessors', part.vcpus)
        _el(ded, 'MinimumProcessors', part.vcpus)
        _el(proc, 'HasDedicatedProcessors', 'true')
        _el(proc, 'SharingMode', 'sre idle proces')
    else:
        _el(proc, 'HasDedicatedProcessors', 'false')
        shr = _el(proc, 'SharedProcessorConfiguration')
        _el(shr, 'DesiredProcessingUnits', '%.2f' % part.proc_units)
        _el(shr, 'DesiredVirtualProcessors', part.vcpus)
        _el(shr, 'MaximumProcessingUnits', '%.2f' % part.proc_units)
        _el(shr, 'MaximumVirtualProcessors', part.vcpus)
        _el(shr, 'MinimumProcessingUnits', '%.2f' % part.proc_units)
        _el(shr, 'MinimumVirtualProcessors', part.vcpus)
        _el(shr, 'SharedProcessorPoolID', part.pool_id)
        _el(shr, 'UncappedWeight', 128)
        _el(proc, 'SharingMode', 'uncapped')


def _partition_tail(root, part, base):
    sysm = part.system
    _el(root, 'PartitionState', part.state)
    _el(root, 'PartitionType', part.env)
    _el(root, 'PartitionUUID', part.uuid)
    _el(root, 'PendingProcessorCompatibilityMode', 'default')
    _el(root, 'ResourceMonitoringControlState', part.rmc_state)
    _link(root, 'AssociatedManagedSystem',
          '%s/rest/api/uom/ManagedSystem/%s' % (base, sysm.uuid))
    _el(root, 'IsServicePartition', 'false')
    _el(root, 'ReferenceCode',
        '' if part.state == vocab.RUNNING else '00000000')
    _el(root, 'IsManagementPartition', _bool(part.is_mgmt))


def lpar(part, model, base, groups):
    root = _partition_base(part, base, vocab.LPAR_KIND)
    _partition_middle(root, part)
    _partition_tail(root, part, base)
    _el(root, 'RemoteRestartCapable', 'false')
    _el(root, 'SimplifiedRemoteRestartCapable', _bool(part.srr))
    _el(root, 'SuspendCapable', 'false')
    # After SuspendCapable in the schema (pypowervm's LPAR child order): a
    # console refuses an LPAR POST that echoes it anywhere else.
    _el(root, 'MigrationState', part.migration_state)
    adapters = _el(root, 'VirtualFibreChannelClientAdapters')
    for _vios, m in model.client_maps(part):
        _el(adapters, 'link', rel='related', href=(
            '%s/rest/api/uom/LogicalPartition/%s/'
            'VirtualFibreChannelClientAdapter/%s'
            % (base, part.uuid, client_adapter_uuid(part, m.client_slot))))
    return root


#: The property names of the ``/quick`` API, as a console lists them in
#: ``<partition>/quick/All`` (nova-powervm's unit test data for ``get_vm_qp``
#: holds a NovaLink reply with exactly these keys).
QUICK_PROPERTIES = (
    'AllocatedVirtualProcessors', 'AssociatedManagedSystem',
    'CurrentMemory', 'CurrentProcessingUnits', 'CurrentProcessors',
    'HasDedicatedProcessors', 'IsVirtualServiceAttentionLEDOn',
    'MigrationState', 'OperatingSystemVersion', 'PartitionID',
    'PartitionName', 'PartitionState', 'PartitionType', 'PowerManagementMode',
    'ProgressState', 'RMCState', 'ReferenceCode', 'RemoteRestartState',
    'ResourceMonitoringIPAddress', 'SharingMode')


def quick_properties(part, base):
    """The ``/quick/All`` dict of a partition, as JSON-able values.

    Numbers are JSON numbers and flags are the strings ``"true"`` /
    ``"false"``, as in the captured reply; the values agree with the XML
    rendering of the same partition.
    """
    running = part.state == vocab.RUNNING
    if part.kind == vocab.VIOS_KIND:
        os_ver = 'VIOS 3.1.3.10'
    elif part.is_mgmt:
        os_ver = 'Linux/Ubuntu 4.15.0-20-generic'
    else:
        os_ver = 'Linux/Red Hat 4.18.0' if running else 'Unknown'
    return {
        'AllocatedVirtualProcessors': None if part.dedicated else part.vcpus,
        'AssociatedManagedSystem': '%s/rest/api/uom/ManagedSystem/%s'
                                   % (base, part.system.uuid),
        'CurrentMemory': part.memory_mb if part.state != vocab.NOT_ACTIVATED
        else 0,
        'CurrentProcessingUnits': None if part.dedicated
        else round(part.proc_units, 2),
        'CurrentProcessors': part.vcpus if part.dedicated else None,
        'HasDedicatedProcessors': _bool(part.dedicated),
        'IsVirtualServiceAttentionLEDOn': 'false',
        'MigrationState': getattr(part, 'migration_state',
                                  vocab.NOT_MIGRATING),
        'OperatingSystemVersion': os_ver,
        'PartitionID': part.id,
        'PartitionName': part.name,
        'PartitionState': part.state,
        'PartitionType': part.env,
        'PowerManagementMode': None,
        'ProgressState': None,
        'RMCState': part.rmc_state,
        'ReferenceCode': '' if running else '00000000',
        'RemoteRestartState': 'Invalid',
        'ResourceMonitoringIPAddress': None,
        'SharingMode': 'sre idle proces' if part.dedicated else 'uncapped',
    }


def client_adapter_uuid(part, slot):
    return str(uuidlib.uuid5(_UUID_NS, '%s/vfc/%s' % (part.uuid, slot)))


def _server_adapter(parent, sysm, vios, m, port, tag='ServerAdapter'):
    sa = _el(parent, tag, schemaVersion='V1_0')
    _metadata(sa)
    loc = _loc(sysm, vios.id, m.server_slot)
    _el(sa, 'AdapterType', 'Server')
    _el(sa, 'DynamicReconfigurationConnectorName', loc)
    _el(sa, 'LocationCode', loc)
    _el(sa, 'LocalPartitionID', vios.id)
    _el(sa, 'RequiredAdapter', 'false')
    _el(sa, 'VariedOn', 'true')
    _el(sa, 'VirtualSlotNumber', m.server_slot)
    _el(sa, 'AdapterName', m.vfchost)
    _el(sa, 'ConnectingPartitionID', m.client_id)
    if m.client_slot is not None:
        _el(sa, 'ConnectingVirtualSlotNumber', m.client_slot)
    _el(sa, 'UniqueDeviceID', '1d' + loc)
    if port is not None:
        _el(sa, 'MapPort', port.name)
        _phys_port(sa, port, 'PhysicalPort')
    return sa


def _phys_port(parent, port, tag):
    pp = _el(parent, tag, schemaVersion='V1_0')
    _metadata(pp)
    _el(pp, 'LocationCode', port.location)
    _el(pp, 'PortName', port.name)
    _el(pp, 'UniqueDeviceID', '1a' + port.location)
    _el(pp, 'WWPN', port.wwpn)
    _el(pp, 'AvailablePorts', port.available)
    _el(pp, 'TotalPorts', port.total)
    return pp


def _client_adapter_children(ca, sysm, vios, m, client_id):
    loc = _loc(sysm, client_id, m.client_slot)
    _el(ca, 'AdapterType', 'Client')
    _el(ca, 'DynamicReconfigurationConnectorName', loc)
    _el(ca, 'LocationCode', loc)
    _el(ca, 'LocalPartitionID', client_id)
    _el(ca, 'RequiredAdapter', 'false')
    _el(ca, 'VariedOn', 'true')
    _el(ca, 'VirtualSlotNumber', m.client_slot)
    _el(ca, 'ConnectingPartitionID',
        m.ca_vios_id if m.ca_vios_id is not None else vios.id)
    _el(ca, 'ConnectingVirtualSlotNumber', m.server_slot)


def _absolute(href, base):
    if href and href.startswith('/'):
        return base + href
    return href


def vfc_mapping(parent, sysm, vios, m, base):
    vm = _el(parent, 'VirtualFibreChannelMapping', schemaVersion='V1_0')
    _metadata(vm)
    if m.client_href:
        _link(vm, 'AssociatedLogicalPartition', _absolute(m.client_href,
                                                          base))
    if m.client:
        ca = _el(vm, 'ClientAdapter', schemaVersion='V1_0')
        _metadata(ca)
        _client_adapter_children(
            ca, sysm, vios, m,
            m.ca_lpar_id if m.ca_lpar_id is not None else m.client_id)
        if m.wwpns:
            _el(ca, 'WWPNs', ' '.join(m.wwpns))
    port = vios.ports.get(m.port) if m.port else None
    if port is not None:
        _phys_port(vm, port, 'Port')
    _server_adapter(vm, sysm, vios, m, port)
    return vm


def _fc_slots(io, vios):
    """ProfileIOSlots with one FC adapter per card (ports share a card when
    their location codes differ only in the -T suffix)."""
    slots = _el(io, 'ProfileIOSlots')
    cards = {}
    for port in vios.ports.values():
        card = re.sub(r'-T\d+$', '', port.location or port.name)
        cards.setdefault(card, []).append(port)
    for n, (card, ports) in enumerate(cards.items()):
        slot = _el(slots, 'ProfileIOSlot', schemaVersion='V1_0')
        _metadata(slot)
        aio = _el(slot, 'AssociatedIOSlot', schemaVersion='V1_0')
        _metadata(aio)
        drc = 553713664 + 256 * vios.id + n
        _el(aio, 'BusGroupingRequired', 'false')
        _el(aio, 'Description', '8 Gigabit PCI Express Dual Port Fibre '
            'Channel Adapter')
        _el(aio, 'IOUnitPhysicalLocation', card.rsplit('-P', 1)[0])
        _el(aio, 'PCAdapterID', 637)
        _el(aio, 'PCIClass', 3076)
        _el(aio, 'PCIDeviceID', 637)
        _el(aio, 'PCISubsystemDeviceID', 1054)
        _el(aio, 'PCIManufacturerID', 4116)
        _el(aio, 'PCIRevisionID', 2)
        _el(aio, 'PCIVendorID', 4116)
        _el(aio, 'PCISubsystemVendorID', 4116)
        rel = _el(aio, 'RelatedIOAdapter')
        fca = _el(rel, 'PhysicalFibreChannelAdapter', schemaVersion='V1_0')
        _metadata(fca)
        _el(fca, 'AdapterID', drc)
        _el(fca, 'Description', '8 Gigabit PCI Express Dual Port Fibre '
            'Channel Adapter')
        _el(fca, 'DeviceName', 'Fibre Channel Serial Bus')
        _el(fca, 'DynamicReconfigurationConnectorName', card)
        _el(fca, 'PhysicalLocation', card.rsplit('-', 1)[-1])
        _el(fca, 'UniqueDeviceID', '%d' % drc)
        pports = _el(fca, 'PhysicalFibreChannelPorts')
        for port in ports:
            _phys_port(pports, port, 'PhysicalFibreChannelPort')
        _el(aio, 'SlotDynamicReconfigurationConnectorIndex', drc)
        _el(aio, 'SlotDynamicReconfigurationConnectorName', card)
        _el(slot, 'IsRequired', 'false')


def vios(part, model, base, groups):
    sysm = part.system
    root = _partition_base(part, base, vocab.VIOS_KIND)
    fc_slots = None
    if vocab.XAG_STORAGE in groups:
        def fc_slots(io):
            _fc_slots(io, part)
    _partition_middle(root, part, io_children=fc_slots)
    _partition_tail(root, part, base)

    def container(tag, group):
        if group in groups:
            return _el(root, tag, group=group, schemaVersion='V1_0')
        return None

    _el(root, 'APICapable', 'false')
    _el(root, 'ManagerPassthroughCapable', 'false')
    container('MediaRepositories', vocab.XAG_STORAGE)
    _el(root, 'MoverServicePartition', 'true')
    pvs = container('PhysicalVolumes', vocab.XAG_STORAGE)
    if pvs is not None:
        render_storage.physical_volumes(pvs, part)
    container('SharedEthernetAdapters', vocab.XAG_NETWORK)
    container('StoragePools', vocab.XAG_STORAGE)
    container('TrunkAdapters', vocab.XAG_NETWORK)
    _el(root, 'VirtualIOServerLicenseAccepted', 'true')
    maps = container('VirtualFibreChannelMappings', vocab.XAG_FC_MAPPING)
    if maps is not None:
        for m in part.maps.values():
            vfc_mapping(maps, sysm, part, m, base)
    container('VirtualSCSIMappings', vocab.XAG_SCSI_MAPPING)
    container('FreeIOAdaptersForLinkAggregation', vocab.XAG_NETWORK)
    container('FreeEthenetBackingDevicesForSEA', vocab.XAG_NETWORK)
    return root


def vfc_client_adapter(part, vios_state, m):
    """A LogicalPartition/<uuid>/VirtualFibreChannelClientAdapter CHILD."""
    sysm = part.system
    root = _root('VirtualFibreChannelClientAdapter')
    _metadata(root, client_adapter_uuid(part, m.client_slot))
    _client_adapter_children(root, sysm, vios_state, m, part.id)
    port = vios_state.ports.get(m.port) if m.port else None
    _server_adapter(root, sysm, vios_state, m, port)
    if m.wwpns:
        _el(root, 'WWPNs', ' '.join(m.wwpns))
    return root
