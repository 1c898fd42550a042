"""Live migration (doc/source/design/flows.rst, Live migration)."""

from nova.compute import task_states

from nova_npiv import exception
from nova_npiv import fabric_meta
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
INST = npiv_base.INST
pair = npiv_base.pair


def _rest_instance(fixture, fabrics=('A', 'B'), port_maps=None):
    """An instance whose LPAR is REST_LPAR of the sample feed."""
    inst = fixture.instance(uuid=fx.REST_LPAR_UUID.lower())
    if port_maps is None:
        port_maps = [[(port, ' '.join(wwpns))]
                     for _v, port, wwpns, _s in fx.REST_LPAR_MAPS]
    for fabric, port_map in zip(fabrics, port_maps):
        fabric_meta.set_fabric(inst, fabric, INST, port_map)
    return inst


class TestClientSlots(NPIVTestCase):

    def test_per_fabric_slots(self):
        inst = _rest_instance(self.fx)
        slots = self.fx.npiv(inst).migration.client_slots()
        self.assertEqual({'A': [2], 'B': [4]}, slots)
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_ordered_like_the_port_map(self):
        entries = [(port, ' '.join(wwpns))
                   for _v, port, wwpns, _s in fx.REST_LPAR_MAPS]
        self.fx.configure({'A': fx.FABRIC_A + fx.FABRIC_B})
        inst = _rest_instance(self.fx, ('A',), [entries])
        self.assertEqual({'A': [2, 4]},
                         self.fx.npiv(inst).migration.client_slots(self.fx.feed))
        inst = _rest_instance(self.fx, ('A',), [entries[::-1]])
        self.assertEqual({'A': [4, 2]},
                         self.fx.npiv(inst).migration.client_slots(self.fx.feed))

    def test_pair_order_does_not_matter(self):
        _v, port, wwpns, _s = fx.REST_LPAR_MAPS[0]
        inst = _rest_instance(self.fx, port_maps=[
            [(port, '%s %s' % (wwpns[1], wwpns[0]))],
            [(fx.REST_LPAR_MAPS[1][1], ' '.join(fx.REST_LPAR_MAPS[1][2]))]])
        self.assertEqual({'A': [2], 'B': [4]},
                         self.fx.npiv(inst).migration.client_slots(self.fx.feed))

    def test_missing_adapter(self):
        inst = _rest_instance(self.fx)
        fabric_meta.set_fabric(inst, 'B', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(inst).migration.client_slots,
                                self.fx.feed)
        self.assertIn(pair(0, 1), str(err))
        self.assertIn('fabric B', str(err))

    def test_another_partitions_adapter_is_not_ours(self):
        # C05076079CFF0E56/57 belongs to another partition of the feed.
        inst = _rest_instance(self.fx)
        fabric_meta.set_fabric(inst, 'B', INST, [
            (fx.V2_FCS1, 'c05076079cff0e56 c05076079cff0e57')])
        self.assertRaises(exception.LiveMigrationDataError,
                          self.fx.npiv(inst).migration.client_slots,
                          self.fx.feed)


class TestMigrationTargets(NPIVTestCase):
    """On the destination: where each vFC adapter will land."""

    ports_per_fabric = 2

    def setUp(self):
        super().setUp()
        self.inst.host = 'source-host'
        self.inst.task_state = task_states.MIGRATING
        fabric_meta.set_fabric(self.inst, 'A', INST, [
            ('1000000000000001', pair(0, 1)),
            ('1000000000000002', pair(2, 3))])
        fabric_meta.set_fabric(self.inst, 'B', INST, [
            ('1000000000000003', pair(4, 5)),
            ('1000000000000004', pair(6, 7))])
        self.sysmeta = dict(self.inst.system_metadata)

    def test_vios_name_id_and_port_per_adapter(self):
        targets = self.fx.npiv(self.inst).migration.targets()

        self.assertEqual(
            {'A': ['%s/1//fcs0' % fx.VIOS1, '%s/2//fcs0' % fx.VIOS2],
             'B': ['%s/2//fcs1' % fx.VIOS2, '%s/1//fcs1' % fx.VIOS1]},
            targets)
        self.assertEqual((1, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))
        self.assertEqual(self.sysmeta, self.inst.system_metadata)

    def test_count_follows_the_source(self):
        fabric_meta.set_fabric(self.inst, 'B', INST, [
            ('1000000000000003', pair(4, 5))])
        targets = self.fx.npiv(self.inst).migration.targets(self.fx.feed)
        self.assertEqual(2, len(targets['A']))
        self.assertEqual(['%s/2//fcs1' % fx.VIOS2], targets['B'])

    def test_fabric_without_adapters_skipped(self):
        fabric_meta.clear_fabric(self.inst, 'B')
        targets = self.fx.npiv(self.inst).migration.targets(self.fx.feed)
        self.assertEqual(['A'], list(targets))

    def test_destination_ports_missing(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]}, 2)
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.fx.npiv(self.inst).migration.targets,
                                self.fx.feed)
        self.assertIn('Fabric B', str(err))


class TestMigrationMappings(NPIVTestCase):
    """On the source: the Migrate job's VirtualFCMappings."""

    def setUp(self):
        super().setUp()
        self.inst = _rest_instance(self.fx)

    def test_slot_in_front_of_each_target(self):
        targets = {'A': ['%s/1//fcs0' % fx.VIOS1],
                   'B': ['%s/2//fcs1' % fx.VIOS2]}
        mappings = self.fx.npiv(self.inst).migration.mappings(targets)
        self.assertEqual(['2/%s/1//fcs0' % fx.VIOS1,
                          '4/%s/2//fcs1' % fx.VIOS2], mappings)
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_round_trip_with_the_destination(self):
        dest = fx.FakeInstance(uuid=self.inst.uuid, host='source-host',
                               system_metadata=self.inst.system_metadata)
        targets = self.fx.npiv(dest).migration.targets(self.fx.feed)
        mappings = self.fx.npiv(self.inst).migration.mappings(
            targets, self.fx.feed)
        self.assertEqual(['2/%s' % targets['A'][0],
                          '4/%s' % targets['B'][0]], mappings)

    def test_count_mismatch(self):
        targets = {'A': [], 'B': ['%s/2//fcs1' % fx.VIOS2]}
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).migration.mappings,
                                targets, self.fx.feed)
        self.assertIn('fabric A has 1 vFC adapter(s) but the destination '
                      'chose 0', str(err))

    def test_missing_fabric_in_targets(self):
        self.assertRaises(exception.LiveMigrationDataError,
                          self.fx.npiv(self.inst).migration.mappings,
                          {'A': ['x/1//fcs0']}, self.fx.feed)


class TestAdoptMigratedMappings(NPIVTestCase):
    """After migration, on the destination: flip pairs, record ports."""

    def setUp(self):
        super().setUp()
        # As the source recorded them: source ports, first WWPN active.
        self.inst = _rest_instance(self.fx, port_maps=[
            [('2000000000000001', 'c05076079cff0e42 c05076079cff0e43')],
            [('2000000000000002', 'c05076079cff0e44 c05076079cff0e45')]])

    def test_flips_pairs_and_records_destination_ports(self):
        self.fx.npiv(self.inst).migration.adopt()

        self.assertEqual([(fx.V1_FCS0, 'c05076079cff0e43 c05076079cff0e42')],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, 'c05076079cff0e45 c05076079cff0e44')],
                         fx.port_map(self.inst, 'B'))
        self.assertStates(INST, self.inst)
        self.assertEqual(['c05076079cff0e43', 'c05076079cff0e45'],
                         fabric_meta.active_wwpns(self.inst, ['A', 'B']))
        self.assertEqual(self.inst.system_metadata,
                         self.inst.db.read(self.inst.uuid))
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_adapter_did_not_arrive(self):
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [('2000000000000002', pair(0, 1))])
        sysmeta = dict(self.inst.system_metadata)
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.fx.npiv(self.inst).
                                migration.adopt, self.fx.feed)
        self.assertIn('fabric B did not arrive', str(err))
        self.assertEqual(0, self.inst.saves)
        self.assertEqual(sysmeta['npiv_adpt_wwpns_B'],
                         self.inst.system_metadata['npiv_adpt_wwpns_B'])

    def test_next_connector_call_reports_the_new_active_wwpns(self):
        self.fx.npiv(self.inst).migration.adopt(self.fx.feed)
        self.fx.reset_counts()
        self.assertEqual(['c05076079cff0e43', 'c05076079cff0e45'],
                         self.connector(self.inst))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
