"""What the VIOSes of a console really hold, as plain records.

``ports``, ``show`` and ``audit`` (and the driver's start-up reconciliation)
all look at the same facts: physical FC ports with their NPIV capacity, and
vFC mappings with their client partition, adapter and port.  They are read
once per managed system (one VIOS feed with the mapping and storage groups,
one partition feed) and flattened here so that the callers only compare.
"""

import collections

from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv import vios as npiv_vios
from nova_npiv import wwpn as wwpn_util

Port = collections.namedtuple('Port', [
    'system', 'vios', 'vios_active', 'name', 'wwpn', 'fabric', 'total',
    'available'])

Mapping = collections.namedtuple('Mapping', [
    'system', 'system_uuid', 'vios', 'vios_uuid', 'vfchost', 'server_slot',
    'port_name', 'port_wwpn', 'fabric', 'client_id', 'client_name',
    'client_uuid', 'client_slot', 'wwpns'])


class SystemView(object):
    """One managed system: its VIOSes, partitions, ports and mappings."""

    def __init__(self, system_w, vios_wraps, partitions, settings=None):
        self.system = system_w
        self.name = system_w.system_name
        self.uuid = system_w.uuid
        self.vios_wraps = vios_wraps
        self.partitions = {p.id: p for p in partitions}
        self.partitions.update({v.id: v for v in vios_wraps})
        self._settings = settings
        self.ports = self._ports()
        self.mappings = self._mappings()

    def fabric_of(self, wwpn):
        if self._settings is None or not wwpn:
            return None
        return self._settings.fabric_of(wwpn)

    def _ports(self):
        active = {v.uuid for v in npiv_vios.active(self.vios_wraps)}
        ports = []
        for vios_w in self.vios_wraps:
            for port in vios_w.pfc_ports:
                ports.append(Port(
                    self.name, vios_w.name, vios_w.uuid in active, port.name,
                    wwpn_util.normalize(port.wwpn),
                    self.fabric_of(port.wwpn), port.npiv_total_ports,
                    port.npiv_available_ports))
        return ports

    def _mappings(self):
        maps = []
        for vios_w in self.vios_wraps:
            for vmap in vios_w.vfc_mappings:
                server = vmap.server_adapter
                client = vmap.client_adapter
                port = vmap.backing_port
                client_id = server.lpar_id if server is not None else (
                    client.lpar_id if client is not None else None)
                part = self.partitions.get(client_id)
                port_wwpn = (wwpn_util.normalize(port.wwpn)
                             if port is not None and port.wwpn else None)
                maps.append(Mapping(
                    self.name, self.uuid, vios_w.name, vios_w.uuid,
                    server.name if server is not None else None,
                    server.vios_slot_num if server is not None else None,
                    port.name if port is not None else None, port_wwpn,
                    self.fabric_of(port_wwpn),
                    client_id, part.name if part is not None else None,
                    part.uuid if part is not None else None,
                    client.lpar_slot_num if client is not None else None,
                    tuple(wwpn_util.normalize_list(client.wwpns))
                    if client is not None else ()))
        return maps


def read_system(adapter, system_w, settings=None):
    vios_wraps = npiv_vios.read_feed(adapter, system_w.uuid,
                                     npiv_vios.XAGS_PORTS)
    lpars = pvm_lpar.LPAR.get(adapter, parent_type=pvm_ms.System,
                              parent_uuid=system_w.uuid)
    return SystemView(system_w, vios_wraps, lpars, settings)


def read_console(adapter, settings=None, only=None):
    """A SystemView per managed system (or only the one named)."""
    views = []
    for system_w in pvm_ms.System.get(adapter):
        if only and only not in (system_w.system_name, system_w.uuid):
            continue
        views.append(read_system(adapter, system_w, settings))
    return views


def vios_by_uuid(view):
    return {v.uuid: v for v in view.vios_wraps
            if isinstance(v, pvm_vios.VIOS)}
