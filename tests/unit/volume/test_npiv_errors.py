"""Errors: configuration, capacity and corrupt metadata."""



from nova_npiv import exception
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
W = npiv_base.W
UNMAPPED = npiv_base.UNMAPPED
pair = npiv_base.pair


class TestConfigAndCapacityErrors(NPIVTestCase):

    def _unchanged(self):
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual(0, self.inst.saves)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(0, self.fx.updates)

    def test_fabric_ports_on_no_vios(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.connector)
        self.assertIn('Fabric B', str(err))
        self.assertIn(fx.NOWHERE, str(err))
        self._unchanged()

    def test_fabric_ports_on_an_inactive_vios(self):
        self.fx.vios(fx.VIOS2).set_parm_value('PartitionState',
                                              'not activated')
        self.fx.configure({'A': [fx.V2_FCS0]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.connector)
        self.assertIn('Fabric A', str(err))
        self._unchanged()

    def test_inactive_vios_is_not_used(self):
        self.fx.vios(fx.VIOS2).set_parm_value(
            'ResourceMonitoringControlState', 'inactive')
        self.fx.configure({'A': fx.FABRIC_A, 'B': fx.FABRIC_B})
        self.connector()
        self.assertEqual([fx.VIOS1], self.fx.updated())
        self.assertEqual([(fx.V1_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))

    def test_fabric_without_ports(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': []})
        err = self.assertRaises(exception.NPIVConfigError, self.fx.npiv,
                                self.inst)
        self.assertIn('fabric_B_port_wwpns', str(err))


class TestNoCapacity(NPIVTestCase):

    extra_vios = ('fake_vios.txt',)

    def test_no_free_npiv_slot(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.V3_FCS1_FULL]})
        err = self.assertRaises(exception.NoFabricCapacity, self.connector)
        self.assertIn('Fabric B', str(err))
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(0, self.fx.updates)

    def test_full_port_is_skipped(self):
        self.fx.configure({'A': [fx.V3_FCS1_FULL, fx.V3_FCS0]})
        self.connector()
        self.assertEqual(fx.V3_FCS0, fx.port_map(self.inst, 'A')[0][0])


class TestCorruptMetadata(NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.connect()
        self.fx.reset_counts()

    def test_bad_state(self):
        self.inst.system_metadata['fabric_state_B'] = 'half_mapped'
        self.inst.save()
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                self.connector)
        self.assertIn(self.inst.uuid, str(err))
        self.assertIn('fabric_state_B', str(err))
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))

    def test_bad_wwpn(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = (
            '%s,%s,zz' % (fx.V1_FCS0, W(0)))
        self.inst.save()
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                self.connector)
        self.assertIn('npiv_adpt_wwpns_A', str(err))

    def test_bad_token_count_on_connect(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = (
            '%s,%s' % (fx.V1_FCS0, W(0)))
        drv = self.fx.npiv(self.inst, fx.connection_info([W(2)], 'vol-2'))
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                drv.connect_volume)
        self.assertIn('npiv_adpt_wwpns_A', str(err))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_delete_removes_the_partition_mappings_anyway(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = 'garbage'

        self.fx.npiv(self.inst).remove_instance_mappings()

        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual(2, self.fx.updates)
        # The readable fabric is recorded, the corrupt one left for audit.
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'B'))
        self.assertEqual('garbage',
                         self.inst.system_metadata['npiv_adpt_wwpns_A'])
