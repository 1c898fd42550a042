"""The live migration's data and checks, as nova and the other host see them.

What the destination puts on the instance for the source (the offer: its
key names, compact text, chunks read back in number order whatever order
nova's dictionary hands them in), and the refusals nova shows the operator
in full (block migration, fabrics missing on the destination, an unreadable
offer).
"""

import json

from nova import exception as nova_exc
import testtools

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.volume import migration as md
from tests.unit import fixtures as fx

UUID = '0c9a3e51-2f6b-4d8a-9e7c-5b1d2a3f4e60'


class FakeInstance(object):
    uuid = UUID

    def __init__(self, system_metadata=None):
        self.system_metadata = dict(system_metadata or {})


class Settings(object):
    def __init__(self, *fabrics):
        self.ports = {f: ['10000090fa537209'] for f in fabrics}


def _targets(count, fabric='A'):
    return {fabric: ['vios-%d/%d//fcs%d' % (i, i + 1, i % 4)
                     for i in range(count)]}


class TestOfferStored(testtools.TestCase):

    def test_small_offer_is_one_compact_key(self):
        inst = FakeInstance({'other': 'kept'})
        md.put_offer(inst, 'sys-b', {'A': ['v1/1//fcs0']})
        self.assertEqual(
            {'other': 'kept',
             'npiv_lpm_offer': '{"system":"sys-b","targets":'
                               '{"A":["v1/1//fcs0"]}}'},
            inst.system_metadata)

    def test_long_offer_spills_into_numbered_keys(self):
        inst = FakeInstance()
        targets = _targets(200)
        md.put_offer(inst, 'sys-b', targets)
        text = json.dumps({'system': 'sys-b', 'targets': targets},
                          separators=(',', ':'))
        count = -(-len(text) // 255)
        self.assertGreater(count, 11)
        self.assertEqual(
            ['npiv_lpm_offer'] + ['npiv_lpm_offer#%d' % i
                                  for i in range(1, count)],
            sorted(inst.system_metadata,
                   key=lambda k: int(k.split('#')[1]) if '#' in k else 0))
        self.assertEqual(text[255:510],
                         inst.system_metadata['npiv_lpm_offer#1'])

    def test_chunks_taken_in_number_order_whatever_the_key_order(self):
        # "#10" sorts before "#2" as text; nova's dictionary keeps no order.
        inst = FakeInstance()
        targets = _targets(200)
        md.put_offer(inst, 'sys-b', targets)
        for order in (reversed, sorted, lambda keys: keys):
            shuffled = FakeInstance(dict(
                (k, inst.system_metadata[k])
                for k in order(list(inst.system_metadata))))
            self.assertEqual(('sys-b', targets), md.take_offer(shuffled))
            self.assertEqual({}, shuffled.system_metadata)

    def test_first_key_last_in_the_dictionary(self):
        inst = FakeInstance()
        targets = _targets(15)
        md.put_offer(inst, 'sys-b', targets)
        self.assertEqual(2, len(inst.system_metadata))
        first = inst.system_metadata.pop('npiv_lpm_offer')
        inst.system_metadata['npiv_lpm_offer'] = first
        self.assertEqual(('sys-b', targets), md.take_offer(inst))

    def test_unreadable_offer_message_in_full(self):
        for text in ('{"system": "sys-b"', '{"system": "sys-b"}', '[1]'):
            inst = FakeInstance({md.OFFER_KEY: text})
            err = self.assertRaises(exception.LiveMigrationDataError,
                                    md.take_offer, inst)
            self.assertTrue(err.format_message().startswith(
                'NPIV live migration data for instance %s is unusable: '
                'npiv_lpm_offer is not a destination offer: ' % UUID),
                err.format_message())


class TestDestinationCheck(testtools.TestCase):

    def test_block_migration_refused_in_full(self):
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                md.destination_check, FakeInstance(),
                                Settings('A'), True)
        self.assertEqual('Migration pre-check error: block migration is not '
                         'supported: NPIV volumes follow the instance',
                         err.format_message())

    def test_missing_fabrics_named_in_full(self):
        inst = FakeInstance()
        for fabric in ('A', 'B', 'C'):
            fabric_meta.set_fabric(inst, fabric, fabric_meta.INST_MAPPED,
                                   [(fx.V1_FCS0, fx.pair(0, 1))])
        err = self.assertRaises(exception.LiveMigrationDataError,
                                md.destination_check, inst, Settings('B'),
                                False)
        self.assertEqual(
            'NPIV live migration data for instance %s is unusable: '
            'fabric(s) A, C not configured on the destination' % UUID,
            err.format_message())

    def test_configured_fabrics_pass(self):
        inst = FakeInstance()
        fabric_meta.set_fabric(inst, 'A', fabric_meta.INST_MAPPED,
                               [(fx.V1_FCS0, fx.pair(0, 1))])
        data = md.destination_check(inst, Settings('A', 'B'), False)
        self.assertEqual((False, True, True, True),
                         (data.block_migration, data.is_shared_block_storage,
                          data.is_shared_instance_path,
                          data.is_volume_backed))
