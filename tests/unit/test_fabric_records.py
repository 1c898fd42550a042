"""The per-instance owner of the fabric records (no VIOS involved)."""

import testtools

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import fabric_records
from tests.unit import fixtures as fx

INST = fabric_meta.INST_MAPPED
MGMT = fabric_meta.MGMT_MAPPED
UNMAPPED = fabric_meta.UNMAPPED
W = fx.WWPNJob.wwpn
pair = fx.pair


class TestPortMapEntry(testtools.TestCase):

    def test_from_and_to_pypowervm(self):
        entry = fabric_records.PortMapEntry.from_pvm(
            (fx.V1_FCS0.upper(), '%s %s' % (W(0).upper(), W(1))))
        self.assertEqual((fx.V1_FCS0, W(0), W(1)), entry)
        self.assertEqual((fx.V1_FCS0, pair(0, 1)), entry.pvm)

    def test_flipped_and_moved(self):
        entry = fabric_records.PortMapEntry(fx.V1_FCS0, W(0), W(1))
        self.assertEqual((W(1), W(0)), entry.flipped().pair)
        self.assertEqual(entry.key, entry.flipped().key)
        self.assertEqual(fx.V2_FCS1, entry.on(fx.V2_FCS1.upper()).phys)


class TestFabricRecords(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.inst = fx.FakeInstance()
        fabric_meta.set_fabric(self.inst, 'A', MGMT,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.V2_FCS1, pair(2, 3)),
                                (fx.V1_FCS1, pair(4, 5))])
        self.records = fabric_records.FabricRecords(self.inst, ['A', 'B'])

    def test_typed_records_in_fabric_order(self):
        recs = list(self.records)
        self.assertEqual(['A', 'B'], [r.fabric for r in recs])
        self.assertEqual([MGMT, INST], [r.state for r in recs])
        self.assertEqual([fx.V2_FCS1, fx.V1_FCS1], recs[1].phys_ports)
        self.assertEqual([W(0), W(2), W(4)], self.records.active_wwpns())
        self.assertEqual([W(1), W(3), W(5)], self.records.partner_wwpns())
        self.assertEqual([W(i) for i in range(6)], self.records.all_wwpns())
        self.assertEqual(fabric_meta.all_wwpns(self.inst, ['A', 'B']),
                         self.records.all_wwpns())

    def test_decoded_once_while_unchanged(self):
        calls = []
        real = fabric_meta.get_fabric

        def counting(instance, fabric):
            calls.append(fabric)
            return real(instance, fabric)

        self.patch(fabric_meta, 'get_fabric', counting)
        for _ in range(3):
            list(self.records)
            self.records.entries()
        self.assertEqual(['A', 'B'], calls)

    def test_sees_what_another_writer_stored(self):
        list(self.records)
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        self.assertEqual(INST, self.records['A'].state)

    def test_set_writes_through_and_saves_once(self):
        self.records.set('A', INST)
        self.records.set('B', UNMAPPED, self.records['B'].entries[:1])
        self.assertEqual(0, self.inst.saves)
        self.assertEqual(INST, fx.state(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))

        self.assertTrue(self.records.save())
        self.assertFalse(self.records.save())
        self.assertEqual(1, self.inst.saves)
        self.assertEqual(self.inst.system_metadata,
                         self.inst.db.read(self.inst.uuid))

    def test_refused_record_leaves_the_old_one(self):
        before = dict(self.inst.system_metadata)
        self.assertRaises(ValueError, self.records.set, 'A', INST, [])
        self.assertEqual(before, self.inst.system_metadata)

    def test_corrupt_fabric(self):
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = 'not,wwpns'
        self.assertRaises(exception.CorruptFabricMetadata, list,
                          self.records)
        self.assertRaises(exception.CorruptFabricMetadata,
                          self.records.__getitem__, 'A')
        self.assertEqual(['B'], [r.fabric for r in self.records.readable()])
        self.assertEqual(['A'], list(self.records.errors()))
        self.assertEqual(INST, self.records['B'].state)

    def test_absent_fabric_is_unmapped_and_empty(self):
        records = fabric_records.FabricRecords(self.inst, ['C'])
        self.assertEqual((UNMAPPED, []),
                         (records['C'].state, records['C'].entries))
