"""Request bodies in: the XML a client PUTs and POSTs, read and checked.

Each parser returns plain records (``state.PostedMapping``,
``state.LparFields``, tuples) so that the model never sees XML; a body that
is not the document the endpoint takes is a
:class:`~nova_npiv.simulator.vocab.SimulatorError` (HTTP 400).
"""

from lxml import etree

from nova_npiv.simulator import schema
from nova_npiv.simulator import state as st
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import int_or_none
from nova_npiv.simulator.vocab import qname
from nova_npiv.simulator.vocab import SimulatorError
from nova_npiv.simulator.vocab import text


def parse(body):
    """Parse a request body; SimulatorError(400) if it is not XML."""
    try:
        return etree.fromstring(body, vocab.PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SimulatorError(400, 'Malformed XML in request body: %s'
                                 % exc)


def parse_logon(body):
    """(user, password or None, wants a token file)."""
    root = parse(body)
    if etree.QName(root).localname != 'LogonRequest':
        raise SimulatorError(400, 'Expected a LogonRequest')
    user = text(root, 'UserID', vocab.WEB_NS)
    found = root.find(qname('Password', vocab.WEB_NS))
    password = None
    if found is not None:
        password = found.text or ''
    wants_file = (text(root, 'GenerateX-API-SessionFile', vocab.WEB_NS) or
                  '').lower() == 'true'
    return user, password, wants_file


def parse_job_request(body):
    """(operation, group, [(name, value)]) of a PUT JobRequest."""
    root = parse(body)
    if etree.QName(root).localname != 'JobRequest':
        raise SimulatorError(400, 'Expected a JobRequest')
    op = text(root, 'RequestedOperation/OperationName', vocab.WEB_NS)
    group = text(root, 'RequestedOperation/GroupName', vocab.WEB_NS)
    params = []
    for jp in root.iterfind('%s/%s' % (qname('JobParameters', vocab.WEB_NS),
                                       qname('JobParameter', vocab.WEB_NS))):
        name = jp.find(qname('ParameterName', vocab.WEB_NS))
        value = jp.find(qname('ParameterValue', vocab.WEB_NS))
        params.append((name.text if name is not None else '',
                       (value.text or '') if value is not None else ''))
    return op, group, params


def _posted_mapping(vm):
    pm = st.PostedMapping()
    link = vm.find(qname('AssociatedLogicalPartition'))
    if link is not None:
        pm.client_href = link.get('href')
    ca = vm.find(qname('ClientAdapter'))
    if ca is not None:
        pm.has_client = True
        pm.client_slot = int_or_none(text(ca, 'VirtualSlotNumber'))
        wwpns = text(ca, 'WWPNs')
        if wwpns:
            pm.wwpns = tuple(wwpns.split())
    sa = vm.find(qname('ServerAdapter'))
    if sa is not None:
        pm.server_slot = int_or_none(text(sa, 'VirtualSlotNumber'))
        pm.server_name = text(sa, 'AdapterName')
    pm.port_name = text(vm, 'Port/PortName')
    return pm


def parse_vios_update(body, groups):
    """The posted vFC mappings, or None when the update leaves them alone.

    Mappings are only considered when the request's groups include
    ViosFCMapping and the body carries the container, as the real server
    only updates the groups it was asked for.
    """
    root = parse(body)
    if etree.QName(root).localname != vocab.VIOS_KIND:
        raise SimulatorError(400, 'Expected a VirtualIOServer')
    schema.check(root)
    if vocab.XAG_FC_MAPPING not in groups:
        return None
    container = root.find(qname('VirtualFibreChannelMappings'))
    if container is None:
        return None
    return [_posted_mapping(vm) for vm in
            container.iterfind(qname('VirtualFibreChannelMapping'))]


def parse_lpar(body):
    root = parse(body)
    if etree.QName(root).localname != vocab.LPAR_KIND:
        raise SimulatorError(400, 'Expected a LogicalPartition')
    schema.check(root)
    fields = st.LparFields()
    fields.name = text(root, 'PartitionName')
    fields.id = int_or_none(text(root, 'PartitionID'))
    fields.uuid = (text(root, 'PartitionUUID') or
                   text(root, 'Metadata/Atom/AtomID'))
    fields.env = text(root, 'PartitionType')
    fields.memory_mb = int_or_none(
        text(root, 'PartitionMemoryConfiguration/DesiredMemory'))
    fields.memory_range = _range(root, 'PartitionMemoryConfiguration/%sMemory',
                                 int_or_none)
    fields.max_virtual_slots = int_or_none(
        text(root, 'PartitionIOConfiguration/MaximumVirtualIOSlots'))
    proc = root.find(qname('PartitionProcessorConfiguration'))
    if proc is not None:
        dedicated = text(proc, 'HasDedicatedProcessors')
        if dedicated is not None:
            fields.dedicated = dedicated.lower() == 'true'
        if fields.dedicated:
            fields.vcpus = int_or_none(text(
                proc, 'DedicatedProcessorConfiguration/DesiredProcessors'))
            fields.proc_range = _range(
                proc, 'DedicatedProcessorConfiguration/%sProcessors',
                int_or_none)
        else:
            fields.vcpus = int_or_none(text(
                proc, 'SharedProcessorConfiguration/DesiredVirtualProcessors'))
            units = text(proc,
                          'SharedProcessorConfiguration/DesiredProcessingUnits')
            if units:
                fields.proc_units = float(units)
            fields.proc_range = _range(
                proc, 'SharedProcessorConfiguration/%sVirtualProcessors',
                int_or_none)
            fields.units_range = _range(
                proc, 'SharedProcessorConfiguration/%sProcessingUnits',
                _float_or_none)
            fields.pool_id = int_or_none(text(
                proc, 'SharedProcessorConfiguration/SharedProcessorPoolID'))
    srr = text(root, 'SimplifiedRemoteRestartCapable')
    if srr is not None:
        fields.srr = srr.lower() == 'true'
    return fields


def _float_or_none(value):
    try:
        return float(value) if value not in (None, '') else None
    except ValueError:
        raise SimulatorError(400, 'Expected a number, got %r' % value)


def _range(elem, pattern, convert):
    """(minimum, desired, maximum) of ``pattern`` % Minimum/Desired/Maximum,
    or None when the body gives none of them."""
    values = tuple(convert(text(elem, pattern % which))
                   for which in ('Minimum', 'Desired', 'Maximum'))
    return None if values == (None, None, None) else values
