"""The console flattened into ports and mappings, read from the simulator.

Every record is compared with what the simulated console holds: which VIOS,
which port and fabric, which client partition, slot and WWPNs.
"""

import fixtures
from pypowervm.wrappers import logical_partition as pvm_lpar
import testtools

from nova_npiv import inventory
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv import vios as npiv_vios

PAIR = ('c05076000000aa10', 'c05076000000aa11')


class _Settings(object):
    """fabric_of of NPIVSettings over the simulator's cabling."""

    def __init__(self, by_wwpn):
        self.by_wwpn = by_wwpn
        self.asked = []

    def fabric_of(self, wwpn):
        if not wwpn:
            raise AssertionError('fabric_of asked about %r' % (wwpn,))
        self.asked.append(wwpn)
        return self.by_wwpn.get(wwpn.lower())


class InventoryTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.model = self.sim.model
        self.settings = _Settings({p.wwpn.lower(): p.fabric
                                   for p in self.model.ports()})
        self.lpar = self.model.add_lpar('sys-a', 'inst-1', state='running')

    def view(self, settings='default', system='sys-a'):
        settings = self.settings if settings == 'default' else settings
        (view,) = inventory.read_console(self.adpt, settings, only=system)
        return view

    def port(self, vios, name, system='sys-a'):
        (port,) = [p for p in self.model.ports(system)
                   if (p.vios, p.name) == (vios, name)]
        return port


class TestPorts(InventoryTestCase):

    def test_every_port_of_every_vios(self):
        view = self.view()
        expected = sorted(
            ('sys-a', p.vios, True, p.name, p.wwpn.lower(), p.fabric,
             p.total, p.available)
            for p in self.model.ports('sys-a'))
        self.assertEqual(expected, sorted(tuple(p) for p in view.ports))
        self.assertEqual(4, len(view.ports))

    def test_capacity_follows_the_mappings(self):
        self.model.add_mapping('sys-a', 'vios-a1', self.inst_uuid(),
                               port='fcs0', wwpns=PAIR)
        port = self.port('vios-a1', 'fcs0')
        (got,) = [p for p in self.view().ports
                  if (p.vios, p.name) == ('vios-a1', 'fcs0')]
        self.assertEqual((port.total, port.available),
                         (got.total, got.available))
        self.assertEqual(port.total - 1, got.available)

    def test_inactive_vios_is_flagged(self):
        self.model.set_vios_state('sys-a', 'vios-a2', 'not activated')
        flags = {(p.vios, p.name): p.vios_active for p in self.view().ports}
        self.assertEqual({('vios-a1', 'fcs0'): True,
                          ('vios-a1', 'fcs1'): True,
                          ('vios-a2', 'fcs0'): False,
                          ('vios-a2', 'fcs1'): False}, flags)

    def test_without_settings_no_fabric(self):
        view = self.view(settings=None)
        self.assertEqual({None}, {p.fabric for p in view.ports})
        self.assertEqual(4, len(view.ports))

    def inst_uuid(self):
        return self.lpar.uuid


class TestMappings(InventoryTestCase):

    def only(self, view):
        (m,) = view.mappings
        return m

    def test_mapping_of_a_client_partition(self):
        planted = self.model.add_mapping('sys-a', 'vios-a2', self.lpar.uuid,
                                         port='fcs1', wwpns=PAIR)
        view = self.view()
        m = self.only(view)
        port = self.port('vios-a2', 'fcs1')
        vios_uuid = {v.name: v.uuid for v in self.model.vioses('sys-a')}
        self.assertEqual(inventory.Mapping(
            'sys-a', self.model.system('sys-a').uuid, 'vios-a2',
            vios_uuid['vios-a2'], planted.vfchost, planted.server_slot,
            'fcs1', port.wwpn.lower(), port.fabric, self.lpar.id, 'inst-1',
            self.lpar.uuid, planted.client_slot, PAIR), m)
        self.assertEqual('B', m.fabric)

    def test_wwpns_normalised(self):
        self.model.add_mapping('sys-a', 'vios-a1', self.lpar.uuid,
                               wwpns=tuple(w.upper() for w in PAIR))
        self.assertEqual(PAIR, self.only(self.view()).wwpns)

    def test_orphan_keeps_its_client_id(self):
        self.model.add_mapping('sys-a', 'vios-a1', client_lpar_id=42,
                               wwpns=PAIR)
        m = self.only(self.view())
        self.assertEqual((42, None, None, PAIR),
                         (m.client_id, m.client_name, m.client_uuid,
                          m.wwpns))
        self.assertNotIn(42, self.view().partitions)

    def test_without_client_adapter(self):
        planted = self.model.add_mapping('sys-a', 'vios-a1', self.lpar.uuid,
                                         client_adapter=False)
        m = self.only(self.view())
        self.assertEqual((self.lpar.id, 'inst-1', None, ()),
                         (m.client_id, m.client_name, m.client_slot,
                          m.wwpns))
        self.assertEqual(planted.vfchost, m.vfchost)

    def test_without_port(self):
        self.model.add_mapping('sys-a', 'vios-a1', self.lpar.uuid, port=None,
                               wwpns=PAIR)
        m = self.only(self.view())
        self.assertEqual((None, None, None),
                         (m.port_name, m.port_wwpn, m.fabric))
        self.assertEqual(PAIR, m.wwpns)

    def test_every_mapping_of_every_vios(self):
        for vios in ('vios-a1', 'vios-a2'):
            for port in ('fcs0', 'fcs1'):
                self.model.add_mapping('sys-a', vios, self.lpar.uuid,
                                       port=port)
        self.model.add_mapping('sys-b', 'vios-b1',
                               self.model.add_lpar('sys-b', 'b1').uuid)
        got = sorted((m.vios, m.port_name, m.wwpns)
                     for m in self.view().mappings)
        want = sorted((m.vios, m.port_name, tuple(w.lower() for w in m.wwpns))
                      for m in self.model.mappings('sys-a'))
        self.assertEqual(want, got)
        self.assertEqual(4, len(got))


class TestPartitions(InventoryTestCase):

    def test_lpars_and_vioses_by_id(self):
        view = self.view()
        want = {p.id: p.uuid for p in self.model.lpars('sys-a')}
        want.update({v.id: v.uuid for v in self.model.vioses('sys-a')})
        self.assertEqual(want, {i: p.uuid for i, p in view.partitions.items()})
        self.assertIn(self.lpar.id, view.partitions)

    def test_vios_by_uuid(self):
        view = self.view()
        self.assertEqual(sorted(v.uuid for v in self.model.vioses('sys-a')),
                         sorted(inventory.vios_by_uuid(view)))
        lpar_w = pvm_lpar.LPAR.wrap(self.adpt.read(
            'LogicalPartition', self.lpar.uuid))
        view.vios_wraps.append(lpar_w)
        self.assertNotIn(self.lpar.uuid, inventory.vios_by_uuid(view))

    def test_fabric_of_empty_wwpn(self):
        view = self.view()
        self.assertIsNone(view.fabric_of(''))
        self.assertIsNone(view.fabric_of(None))
        port = self.port('vios-a1', 'fcs1')
        self.assertEqual('B', view.fabric_of(port.wwpn))
        self.assertIsNone(self.view(settings=None).fabric_of(port.wwpn))


class TestReadConsole(InventoryTestCase):

    def test_every_system(self):
        views = inventory.read_console(self.adpt, self.settings)
        self.assertEqual(['sys-a', 'sys-b'], sorted(v.name for v in views))
        by_name = {v.name: v for v in views}
        self.assertEqual(self.model.system('sys-b').uuid,
                         by_name['sys-b'].uuid)
        self.assertEqual('sys-b', by_name['sys-b'].system.system_name)

    def test_only_by_name_or_uuid(self):
        uuid = self.model.system('sys-b').uuid
        self.assertEqual(['sys-b'], [v.name for v in inventory.read_console(
            self.adpt, only=uuid)])
        self.assertEqual(['sys-a'], [v.name for v in inventory.read_console(
            self.adpt, only='sys-a')])
        self.assertEqual([], inventory.read_console(self.adpt,
                                                    only='sys-z'))

    def test_one_feed_read_with_ports_and_mappings(self):
        reads = []
        real = npiv_vios.read_feed

        def spy(adapter, host_uuid, xags):
            reads.append((host_uuid, tuple(xags)))
            return real(adapter, host_uuid, xags)

        self.useFixture(fixtures.MockPatchObject(npiv_vios, 'read_feed',
                                                 spy))
        view = self.view()
        self.assertEqual([(view.uuid, npiv_vios.XAGS_PORTS)], reads)
