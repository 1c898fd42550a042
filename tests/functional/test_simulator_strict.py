"""The simulator refuses writes a console refuses (R10) and scopes nested
requests to their managed system (R12), over HTTP with pypowervm."""

from lxml import etree
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator

UOM_NS = '{http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/}'
UNMARSHAL = 'Failed to unmarshal input payload'


class StrictTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.lpar = self.sim.model.add_lpar('sys-a', 'vm1')

    def lpar_wrapper(self):
        return pvm_lpar.LPAR.get(self.adpt, uuid=self.lpar.uuid)

    def vios_wrapper(self, name='vios-a1'):
        vios = [v for v in self.sim.model.vioses() if v.name == name][0]
        return pvm_vios.VIOS.get(self.adpt, uuid=vios.uuid,
                                 xag=['ViosFCMapping'])

    def post(self, wrapper, body=None, etag='from-wrapper'):
        if etag == 'from-wrapper':
            etag = wrapper.etag
        path = wrapper.href.split('://', 1)[1]
        path = path[path.index('/'):]
        return self.adpt.update_by_path(
            body if body is not None else wrapper.toxmlstring(), etag, path)

    def assertHttp(self, status, func, *args, **kwargs):
        exc = self.assertRaises(pvm_exc.HttpError, func, *args, **kwargs)
        self.assertEqual(status, exc.response.status)
        return exc.response.body


class TestIfMatch(StrictTestCase):

    def test_lpar_post_without_if_match(self):
        lpar = self.lpar_wrapper()
        lpar.name = 'vm1-renamed'
        body = self.assertHttp(400, self.post, lpar, etag=None)
        self.assertIn('If-Match', body)
        self.assertEqual('vm1', self.sim.model.lpar('vm1').name)
        # With the etag it was read at, the same update goes through.
        self.post(lpar)
        self.assertIsNotNone(self.sim.model.lpar('vm1-renamed'))

    def test_vios_post_without_if_match(self):
        vios = self.vios_wrapper()
        self.assertHttp(400, self.post, vios, etag=None)
        self.post(vios)

    def test_wrapper_update_carries_the_etag(self):
        lpar = self.lpar_wrapper()
        lpar.name = 'vm1-b'
        lpar.update()
        self.assertIsNotNone(self.sim.model.lpar('vm1-b'))


class TestUnmarshal(StrictTestCase):

    def test_unknown_lpar_element_changes_nothing(self):
        lpar = self.lpar_wrapper()
        lpar.name = 'vm1-renamed'
        elem = lpar.element.element
        etree.SubElement(elem, UOM_NS + 'NotASchemaElement').text = 'x'
        body = self.assertHttp(400, self.post, lpar)
        self.assertIn(UNMARSHAL, body)
        self.assertIn('NotASchemaElement', body)
        self.assertIsNotNone(self.sim.model.lpar('vm1'))

    def test_lpar_children_out_of_order(self):
        lpar = self.lpar_wrapper()
        elem = lpar.element.element
        name = elem.find(UOM_NS + 'PartitionName')
        elem.remove(name)
        elem.insert(1, name)
        self.assertIn(UNMARSHAL, self.assertHttp(400, self.post, lpar))

    def test_vios_mapping_out_of_order_adds_nothing(self):
        model = self.sim.model
        before = len(model.mappings('sys-a'))
        vios = self.vios_wrapper()
        container = vios.element.element.find(
            UOM_NS + 'VirtualFibreChannelMappings')
        mapping = etree.SubElement(
            container, UOM_NS + 'VirtualFibreChannelMapping',
            schemaVersion='V1_0')
        # Port before ClientAdapter: the schema has ClientAdapter first.
        port = etree.SubElement(mapping, UOM_NS + 'Port',
                                schemaVersion='V1_0')
        etree.SubElement(port, UOM_NS + 'PortName').text = 'fcs0'
        client = etree.SubElement(mapping, UOM_NS + 'ClientAdapter',
                                  schemaVersion='V1_0')
        etree.SubElement(client, UOM_NS + 'AdapterType').text = 'Client'
        body = self.assertHttp(400, self.post, vios)
        self.assertIn(UNMARSHAL, body)
        self.assertEqual(before, len(model.mappings('sys-a')))

    def test_create_with_unknown_element(self):
        from pypowervm.wrappers import base_partition as pvm_bp
        from pypowervm.wrappers import managed_system as pvm_ms
        sysm = self.sim.model.system('sys-a')
        lpar = pvm_lpar.LPAR.bld(
            self.adpt, 'vm-new', pvm_bp.PartitionMemoryConfiguration.bld(
                self.adpt, 2048, 2048, 2048),
            pvm_bp.PartitionProcessorConfiguration.bld_dedicated(
                self.adpt, 1, 1, 1))
        etree.SubElement(lpar.element.element, UOM_NS + 'Extra')
        exc = self.assertRaises(
            pvm_exc.HttpError, lpar.create, parent_type=pvm_ms.System,
            parent_uuid=sysm.uuid)
        self.assertEqual(400, exc.response.status)
        self.assertIn(UNMARSHAL, exc.response.body)
        self.assertNotIn('vm-new', [lp.name for lp in
                                    self.sim.model.lpars('sys-a')])


class TestNestedSearch(StrictTestCase):
    """A search under ManagedSystem/<uuid>/ answers for that system only."""

    def search(self, system, expr):
        resp = self.adpt.read('ManagedSystem', self.sim.model.system(
            system).uuid, child_type='LogicalPartition', suffix_type='search',
            suffix_parm=expr)
        return [] if resp.status == 204 else [
            pvm_lpar.LPAR.wrap(e) for e in resp.feed.entries]

    def test_by_name(self):
        self.sim.model.add_lpar('sys-b', 'vm-b')
        self.assertEqual([], self.search('sys-a', "(PartitionName=='vm-b')"))
        self.assertEqual(['vm-b'], [w.name for w in self.search(
            'sys-b', "(PartitionName=='vm-b')")])
        # At the root the whole console is searched.
        resp = self.adpt.read('LogicalPartition', suffix_type='search',
                              suffix_parm="(PartitionName=='vm-b')")
        self.assertEqual(1, len(resp.feed.entries))

    def test_by_id_the_same_on_two_systems(self):
        a = self.sim.model.add_lpar('sys-a', 'vm-a7', id=7)
        b = self.sim.model.add_lpar('sys-b', 'vm-b7', id=7)
        self.assertEqual([a.uuid], [w.uuid for w in self.search(
            'sys-a', '(PartitionID==7)')])
        self.assertEqual([b.uuid], [w.uuid for w in self.search(
            'sys-b', '(PartitionID==7)')])


class TestDeleteWhereAllowed(StrictTestCase):

    def test_lpar_delete(self):
        self.adpt.delete('LogicalPartition', self.lpar.uuid)
        self.assertNotIn('vm1', [lp.name for lp in self.sim.model.lpars()])

    def test_managed_system_is_not_deleted(self):
        uuid = self.sim.model.system('sys-a').uuid
        self.assertHttp(405, self.adpt.delete, 'ManagedSystem', uuid)
        self.assertIsNotNone(self.sim.model.system('sys-a'))

    def test_vios_delete_is_not_served_and_not_404(self):
        vios = self.vios_wrapper()
        self.assertHttp(500, self.adpt.delete, 'VirtualIOServer', vios.uuid)
        self.assertIn('vios-a1', [v.name for v in self.sim.model.vioses()])

    def test_client_adapter_child_is_read_only_here(self):
        self.sim.model.add_mapping('sys-a', 'vios-a1', lpar='vm1')
        feed = self.adpt.read('LogicalPartition', self.lpar.uuid,
                              child_type='VirtualFibreChannelClientAdapter')
        adapter = feed.feed.entries[0].uuid
        # Was answered as a GET, so the caller believed it deleted.
        self.assertHttp(500, self.adpt.delete, 'LogicalPartition',
                        self.lpar.uuid,
                        child_type='VirtualFibreChannelClientAdapter',
                        child_id=adapter)
        self.assertEqual(1, len([m for m in self.sim.model.mappings('sys-a')
                                 if m.client_lpar_uuid == self.lpar.uuid]))


class TestViosInError(testtools.TestCase):
    """R11: a VIOS in error fails the VIOS feed it is in."""

    def setUp(self):
        super().setUp()
        topo = co_managed_topology()
        topo['systems'][0]['vioses'][1]['error'] = 'RMC connection lost'
        self.sim = Simulator(topo)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()

    def vios_uuid(self, name):
        return [v.uuid for v in self.sim.model.vioses() if v.name == name][0]

    def test_feed_fails_whole(self):
        exc = self.assertRaises(pvm_exc.HttpError, self.adpt.read,
                                'VirtualIOServer')
        self.assertEqual(500, exc.response.status)
        self.assertIn('vios-a2', exc.response.body)
        self.assertIn('RMC connection lost', exc.response.body)
        self.assertRaises(pvm_exc.HttpError, self.adpt.read, 'ManagedSystem',
                          self.sim.model.system('sys-a').uuid,
                          child_type='VirtualIOServer')

    def test_other_systems_feed_and_healthy_entries_are_served(self):
        feed = self.adpt.read('ManagedSystem',
                              self.sim.model.system('sys-b').uuid,
                              child_type='VirtualIOServer')
        self.assertEqual(2, len(feed.feed.entries))
        pvm_vios.VIOS.get(self.adpt, uuid=self.vios_uuid('vios-a1'))
        self.assertRaises(pvm_exc.HttpError, pvm_vios.VIOS.get, self.adpt,
                          uuid=self.vios_uuid('vios-a2'))

    def test_ignore_error_skips_the_vios(self):
        resp = self.adpt.read('VirtualIOServer',
                              add_qp=[('ignoreError', 'true')])
        names = [pvm_vios.VIOS.wrap(e).name for e in resp.feed.entries]
        self.assertNotIn('vios-a2', names)
        self.assertIn('vios-a1', names)

    def test_error_cleared(self):
        self.sim.model.set_vios_error('sys-a', 'vios-a2', None)
        self.assertEqual(4, len(self.adpt.read(
            'VirtualIOServer').feed.entries))


class TestPhysicalVolumes(testtools.TestCase):
    """R11: ViosStorage replies carry the VIOS's SAN LUNs."""

    def size(self, pvs):
        with Simulator(default_topology(systems=('sys-a',),
                                        physical_volumes=pvs)) as sim:
            adpt = sim.adapter()
            resp = adpt.read('VirtualIOServer', xag=['ViosStorage'])
            wrappers = pvm_vios.VIOS.wrap(resp)
            self.assertEqual([pvs, pvs], [len(w.phys_vols)
                                          for w in wrappers])
            if pvs:
                pv = wrappers[0].phys_vols[-1]
                self.assertEqual('hdisk%d' % (pvs - 1), pv.name)
                self.assertEqual(102400, pv.capacity)  # MB
                self.assertTrue(pv.is_fc_backed)
            # Not part of the other groups.
            self.assertNotIn('PhysicalVolume ', adpt.read(
                'VirtualIOServer', xag=['ViosFCMapping']).body)
            return len(resp.body)

    def test_size_grows_with_luns(self):
        small, large = self.size(0), self.size(200)
        # Each LUN is most of a kilobyte on the wire, as captured ones are.
        self.assertGreater(large - small, 2 * 200 * 500)
