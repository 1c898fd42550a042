"""Ports of a VIOS read without ViosStorage, from the port directory."""

import types

import testtools

from nova_npiv import exception
from nova_npiv import port_directory as pd


def _port(wwpn, name, total, available):
    return types.SimpleNamespace(wwpn=wwpn, name=name,
                                 npiv_total_ports=total,
                                 npiv_available_ports=available)


def _vios(uuid, ports=(), mappings=()):
    maps = [types.SimpleNamespace(backing_port=p) for p in mappings]
    return types.SimpleNamespace(uuid=uuid, name='vios-' + uuid,
                                 pfc_ports=list(ports), vfc_mappings=maps)


class TestWithPorts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Noted from a read with the storage group: fcs0 had 10 left.
        self.directory = pd.note([_vios('V1', ports=[
            _port('10000090FA5371F1', 'fcs0', 64, 10),
            _port('10000090FA5371F2', 'fcs1', 64, 30),
            _port('10000090FA5371F3', 'fcs2', 64, 5)])])

    def test_capacity_is_what_the_mappings_report_else_all(self):
        fresh = _vios('V1', mappings=[
            _port('10000090fa5371f1', None, None, 7),     # reported now
            None,                                         # no backing port
            _port('10000090FA5371F3', None, None, None)])  # not reported
        got = pd.with_ports(fresh, self.directory)
        self.assertEqual(
            [('fcs0', 7), ('fcs1', 64), ('fcs2', 5)],
            [(p.name, p.npiv_available_ports) for p in got.pfc_ports])
        # Everything else is the wrapper's.
        self.assertIs(fresh.vfc_mappings, got.vfc_mappings)
        got.marker = 1
        self.assertEqual(1, fresh.marker)

    def test_a_wrapper_with_its_own_ports_is_left_alone(self):
        own = _vios('V1', ports=[_port('AA', 'fcs9', 8, 8)])
        self.assertIs(own, pd.with_ports(own, self.directory))

    def test_an_unknown_vios_is_an_error_not_a_silent_skip(self):
        self.assertRaises(exception.PortDirectoryStale, pd.with_ports,
                          _vios('V2'), self.directory)
