"""Live-migration targets in system_metadata: written, read back, checked.

The source re-reads what the destination wrote from nova's database; what it
reads decides which VIOS ports the Migrate job moves the adapters to, so
anything that is not a list of ``<vios>/<id>//<port>`` targets is refused
with the key named.
"""

import json

import testtools

from nova_npiv import exception
from nova_npiv.volume import migration as md


class FakeInstance(object):
    uuid = '0c9a3e51-2f6b-4d8a-9e7c-5b1d2a3f4e60'

    def __init__(self, system_metadata=None):
        self.system_metadata = dict(system_metadata or {})


def _targets(count, fabric='A'):
    return {fabric: ['vios-%d/%d//fcs%d' % (i, i + 1, i % 4)
                     for i in range(count)]}


class TestRoundTrip(testtools.TestCase):

    def test_small(self):
        inst = FakeInstance({'other': 'kept'})
        targets = {'A': ['vios-b1/1//fcs0'], 'B': ['vios-b2/2//fcs1']}
        md.set_targets(inst, targets)
        self.assertEqual(targets, md.get_targets(inst))
        self.assertEqual({'other': 'kept',
                          'npiv_lpm_targets_A': '["vios-b1/1//fcs0"]',
                          'npiv_lpm_targets_B': '["vios-b2/2//fcs1"]'},
                         inst.system_metadata)

    def test_long_lists_spill_into_numbered_keys_read_in_number_order(self):
        # More than ten chunks: "#10" sorts before "#2" as text.
        targets = _targets(200)
        inst = FakeInstance()
        md.set_targets(inst, targets)
        keys = [k for k in inst.system_metadata if k.startswith(
            'npiv_lpm_targets_A')]
        self.assertGreater(len(keys), 11)
        self.assertIn('npiv_lpm_targets_A#10', keys)
        self.assertTrue(all(len(v) <= 255
                            for v in inst.system_metadata.values()))
        self.assertEqual(255, len(inst.system_metadata['npiv_lpm_targets_A']))
        self.assertEqual(targets, md.get_targets(inst))

    def test_chunks_read_in_number_order_whatever_the_key_order(self):
        # nova's database hands system_metadata back in no particular order.
        targets = _targets(40)
        inst = FakeInstance()
        md.set_targets(inst, targets)
        for order in (reversed, sorted):
            shuffled = FakeInstance(dict(
                (k, inst.system_metadata[k])
                for k in order(list(inst.system_metadata))))
            self.assertEqual(targets, md.get_targets(shuffled))

    def test_stored_compact(self):
        # No blanks after separators: fewer keys for the same targets.
        inst = FakeInstance()
        md.set_targets(inst, {'A': ['v1/1//fcs0', 'v2/2//fcs1']})
        self.assertEqual({'npiv_lpm_targets_A': '["v1/1//fcs0","v2/2//fcs1"]'},
                         inst.system_metadata)

    def test_empty_list_is_kept(self):
        inst = FakeInstance()
        md.set_targets(inst, {'A': []})
        self.assertEqual({'npiv_lpm_targets_A': '[]'}, inst.system_metadata)
        self.assertEqual({'A': []}, md.get_targets(inst))

    def test_rewrite_drops_the_old_chunks(self):
        inst = FakeInstance()
        md.set_targets(inst, dict(_targets(200), **_targets(1, 'B')))
        md.set_targets(inst, _targets(1))
        self.assertEqual(_targets(1), md.get_targets(inst))
        self.assertEqual(['npiv_lpm_targets_A'], sorted(inst.system_metadata))

    def test_clear_keeps_everything_else(self):
        inst = FakeInstance({'fabric_state_A': 'inst_mapped',
                             'npiv_lpm_target': 'not ours'})
        md.set_targets(inst, _targets(50))
        md.clear_targets(inst)
        self.assertEqual({'fabric_state_A': 'inst_mapped',
                          'npiv_lpm_target': 'not ours'},
                         inst.system_metadata)
        self.assertEqual({}, md.get_targets(inst))

    def test_no_targets(self):
        self.assertEqual({}, md.get_targets(FakeInstance({'x': 'y'})))


class TestValidation(testtools.TestCase):

    def _refused(self, sysmeta, key):
        err = self.assertRaises(exception.LiveMigrationDataError,
                                md.get_targets, FakeInstance(sysmeta))
        msg = err.format_message()
        self.assertIn(FakeInstance.uuid, msg)
        self.assertIn(key, msg)
        return msg

    def test_not_json(self):
        msg = self._refused({'npiv_lpm_targets_A': '["vios/1//fcs0"'},
                            'npiv_lpm_targets_A')
        self.assertTrue(msg.startswith(
            'NPIV live migration data for instance %s is unusable: '
            'npiv_lpm_targets_A is not valid JSON: ' % FakeInstance.uuid),
            msg)

    def test_a_missing_chunk_is_refused(self):
        inst = FakeInstance()
        md.set_targets(inst, _targets(40))
        del inst.system_metadata['npiv_lpm_targets_A#1']
        err = self.assertRaises(exception.LiveMigrationDataError,
                                md.get_targets, inst)
        self.assertIn('npiv_lpm_targets_A', err.format_message())

    def test_not_a_list(self):
        for doc in ({'vios': '1//fcs0'}, 'vios/1//fcs0', 7, None):
            msg = self._refused({'npiv_lpm_targets_B': json.dumps(doc)},
                                'npiv_lpm_targets_B')
            self.assertEqual(
                'NPIV live migration data for instance %s is unusable: '
                'npiv_lpm_targets_B does not list <vios>/<id>//<port> '
                'targets' % FakeInstance.uuid, msg)

    def test_entries_that_are_not_targets(self):
        for entry in ('vios/1/fcs0', 'vios/1///fcs0', '', 3, ['a/b//c'],
                      None):
            self._refused({'npiv_lpm_targets_A': json.dumps(
                ['vios/1//fcs0', entry])}, 'npiv_lpm_targets_A')

    def test_one_bad_fabric_refuses_the_whole_read(self):
        self._refused({'npiv_lpm_targets_A': '["vios/1//fcs0"]',
                       'npiv_lpm_targets_B': '["vios/1/fcs1"]'},
                      'npiv_lpm_targets_B')


class TestOffer(testtools.TestCase):
    """The destination's offer rides on the instance, never saved."""

    def test_round_trip_in_chunks_and_taken_off(self):
        inst = FakeInstance({'other': 'kept'})
        targets = _targets(40)
        md.put_offer(inst, 'sys-b', targets)
        keys = sorted(k for k in inst.system_metadata if k != 'other')
        self.assertGreater(len(keys), 1)
        self.assertTrue(all(len(inst.system_metadata[k]) <= 255
                            for k in keys))
        # Targets proper (what marks an adoption to finish) are untouched.
        self.assertEqual({}, md.get_targets(inst))
        self.assertEqual(('sys-b', targets), md.take_offer(inst))
        self.assertEqual({'other': 'kept'}, inst.system_metadata)
        self.assertIsNone(md.take_offer(inst))

    def test_unreadable_offer_is_named_and_taken_off(self):
        inst = FakeInstance({md.OFFER_KEY: '{"system": "sys-b"'})
        err = self.assertRaises(exception.LiveMigrationDataError,
                                md.take_offer, inst)
        self.assertIn('npiv_lpm_offer is not a destination offer',
                      err.format_message())
        self.assertEqual({}, inst.system_metadata)
        inst = FakeInstance({md.OFFER_KEY: json.dumps({'system': 'x'})})
        self.assertRaises(exception.LiveMigrationDataError, md.take_offer,
                          inst)
