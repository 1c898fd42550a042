"""The schema check of POSTed and PUT objects, without HTTP."""

import copy

from lxml import etree
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import storage as pvm_stor
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import model as sim_model
from nova_npiv.simulator import parse
from nova_npiv.simulator import render
from nova_npiv.simulator import schema
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import SimulatorError

BASE = 'http://localhost:12080'
UOM = '{%s}' % vocab.UOM_NS
ALL_GROUPS = vocab.Groups(','.join(sorted(vocab.VIOS_XAGS)))


class SchemaTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.model = sim_model.Model(default_topology(systems=('sys-a',),
                                                      physical_volumes=2))
        self.lpar = self.model.add_lpar('sys-a', 'vm1', state='running')
        self.model.add_mapping('sys-a', 'vios-a1', lpar='vm1')

    def rendered_lpar(self, lpar=None):
        with self.model.lock:
            part = self.model.find_partition(vocab.LPAR_KIND,
                                             (lpar or self.lpar).uuid)
            return render.lpar(part, self.model, BASE, vocab.Groups(None))

    def rendered_vios(self):
        vios = [v for v in self.model.vioses() if v.name == 'vios-a1'][0]
        with self.model.lock:
            part = self.model.find_partition(vocab.VIOS_KIND, vios.uuid)
            return render.vios(part, self.model, BASE, ALL_GROUPS)

    def child(self, elem, *names):
        for name in names:
            elem = elem.find(UOM + name)
        return elem


class TestOrders(SchemaTestCase):

    def test_orders_are_pypowervms(self):
        orders = schema.orders()
        self.assertEqual(pvm_lpar.LPAR._child_order,
                         orders[(vocab.LPAR_KIND,)])
        self.assertEqual(
            pvm_stor.VFCClientAdapterElement._child_order,
            orders[(vocab.VIOS_KIND, 'VirtualFibreChannelMappings',
                    'VirtualFibreChannelMapping', 'ClientAdapter')])

    def test_what_the_simulator_renders_passes(self):
        """pypowervm echoes what it read: every rendering must be a body
        the console takes back (MigrationState was rendered before
        RemoteRestartCapable, against the LPAR schema order)."""
        shared = self.model.add_lpar('sys-a', 'vm2')
        with self.model.lock:
            part = self.model.find_partition(vocab.LPAR_KIND, shared.uuid)
            part.dedicated = not part.dedicated
            part.proc_units = 0.5
        for elem in (self.rendered_lpar(), self.rendered_lpar(shared),
                     self.rendered_vios()):
            self.assertIsNone(schema.problems(elem))

    def test_migration_state_after_suspend_capable(self):
        tags = [etree.QName(c).localname for c in self.rendered_lpar()]
        self.assertEqual(tags.index('SuspendCapable') + 1,
                         tags.index('MigrationState'))


class TestRefusals(SchemaTestCase):

    def assertRefused(self, elem, *words):
        exc = self.assertRaises(SimulatorError, schema.check, elem)
        self.assertEqual(400, exc.status)
        self.assertIn('Failed to unmarshal input payload', exc.message)
        for word in words:
            self.assertIn(word, exc.message)

    def test_unknown_top_level_child(self):
        elem = self.rendered_lpar()
        etree.SubElement(elem, UOM + 'PartitionColour').text = 'blue'
        self.assertRefused(elem, "'PartitionColour'")

    def test_top_level_children_out_of_order(self):
        elem = self.rendered_lpar()
        name = self.child(elem, 'PartitionName')
        elem.remove(name)
        elem.append(name)
        self.assertRefused(elem, "'PartitionName'", 'LogicalPartition')

    def test_unknown_child_of_memory_configuration(self):
        elem = self.rendered_lpar()
        mem = self.child(elem, 'PartitionMemoryConfiguration')
        etree.SubElement(mem, UOM + 'DesiredMemoryMB').text = '2048'
        self.assertRefused(elem, "'DesiredMemoryMB'",
                           'PartitionMemoryConfiguration')

    def test_processor_configuration_out_of_order(self):
        elem = self.rendered_lpar()
        proc = self.child(elem, 'PartitionProcessorConfiguration')
        first = proc[0]
        proc.remove(first)
        proc.append(first)
        self.assertRefused(elem, 'PartitionProcessorConfiguration')

    def test_mapping_children_out_of_order(self):
        elem = self.rendered_vios()
        vfc = self.child(elem, 'VirtualFibreChannelMappings',
                         'VirtualFibreChannelMapping')
        port = self.child(vfc, 'Port')
        vfc.remove(port)
        vfc.insert(1, port)
        self.assertRefused(elem, "'", 'VirtualFibreChannelMapping')

    def test_unknown_child_of_client_adapter(self):
        elem = self.rendered_vios()
        ca = self.child(elem, 'VirtualFibreChannelMappings',
                        'VirtualFibreChannelMapping', 'ClientAdapter')
        etree.SubElement(ca, UOM + 'WWPNList').text = 'c05076079cff0e56'
        self.assertRefused(elem, "'WWPNList'", 'ClientAdapter')

    def test_physical_volume_out_of_order(self):
        elem = self.rendered_vios()
        pv = self.child(elem, 'PhysicalVolumes', 'PhysicalVolume')
        name = self.child(pv, 'VolumeName')
        pv.remove(name)
        pv.insert(1, name)
        # The validator names where the sequence breaks: the element after.
        self.assertRefused(elem, "'Description'", '(in PhysicalVolume)')

    def test_foreign_member_in_mapping_container(self):
        elem = self.rendered_vios()
        container = self.child(elem, 'VirtualFibreChannelMappings')
        etree.SubElement(container, UOM + 'VirtualSCSIMapping')
        self.assertRefused(elem, "'VirtualSCSIMapping'")

    def test_where_pypowervm_has_no_order_nothing_is_checked(self):
        # PartitionIOConfiguration has no declared order: the evidence
        # gives nothing to refuse by.
        elem = self.rendered_lpar()
        io = self.child(elem, 'PartitionIOConfiguration')
        etree.SubElement(io, UOM + 'SomethingNewer')
        self.assertIsNone(schema.problems(elem))

    def test_parsers_check_before_reading(self):
        elem = self.rendered_lpar()
        etree.SubElement(elem, UOM + 'Bogus')
        body = etree.tostring(elem)
        self.assertRaises(SimulatorError, parse.parse_lpar, body)
        vios = self.rendered_vios()
        etree.SubElement(vios, UOM + 'Bogus')
        self.assertRaises(SimulatorError, parse.parse_vios_update,
                          etree.tostring(vios), ALL_GROUPS)
        # The untouched renderings still parse.
        parse.parse_lpar(etree.tostring(copy.deepcopy(self.rendered_lpar())))
