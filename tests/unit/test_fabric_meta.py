"""Fabric metadata codec: round trip, 255-character limit, corruption."""

import re
import uuid

import hypothesis
from hypothesis import strategies as st
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import fabric_meta as fm

UUID = '3f1c5a2e-9b7d-4e21-8c44-0d5e6f7a8b9c'
_SETTINGS = hypothesis.settings(deadline=None, database=None,
                                max_examples=150)


class FakeInstance(object):
    def __init__(self, system_metadata=None, uuid=UUID):
        self.uuid = uuid
        self.system_metadata = ({} if system_metadata is None
                                else system_metadata)


def _w(n):
    return '%016x' % n


def make_map(ports, base=0):
    """``ports`` distinct pypowervm-style entries."""
    return [(_w(0x1000 + base + i),
             '%s %s' % (_w(0xc0500000 + base + 2 * i),
                        _w(0xc0500000 + base + 2 * i + 1)))
            for i in range(ports)]


_wwpn = st.text('0123456789abcdef', min_size=16, max_size=16)


@st.composite
def port_maps(draw, min_ports=1, max_ports=npiv_conf.MAX_PORTS_PER_FABRIC):
    ports = draw(st.integers(min_ports, max_ports))
    clients = draw(st.lists(_wwpn, min_size=2 * ports, max_size=2 * ports,
                            unique=True))
    phys = draw(st.lists(_wwpn, min_size=ports, max_size=ports))
    return [(phys[i], '%s %s' % (clients[2 * i], clients[2 * i + 1]))
            for i in range(ports)]


def _spelled(port_map, upper, colons):
    def spell(w):
        w = w.upper() if upper else w
        return ':'.join(w[i:i + 2] for i in range(0, 16, 2)) if colons else w
    return [(spell(p), ' '.join(spell(c) for c in pair.split()))
            for p, pair in port_map]


class TestRoundTrip(testtools.TestCase):

    def test_every_supported_port_count(self):
        for ports in range(1, npiv_conf.MAX_PORTS_PER_FABRIC + 1):
            for state in fm.STATES:
                inst = FakeInstance()
                port_map = make_map(ports)
                fm.set_fabric(inst, 'A', state, port_map)
                self.assertTrue(all(len(v) <= fm.MAX_VALUE_LEN
                                    for v in inst.system_metadata.values()))
                self.assertEqual(fm.FabricRecord('A', state, port_map),
                                 fm.get_fabric(inst, 'A'))

    def test_spill_layout(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(5))  # 15 tokens
        self.assertEqual({'fabric_state_A', 'npiv_adpt_wwpns_A'},
                         set(inst.system_metadata))
        self.assertEqual(254, len(inst.system_metadata['npiv_adpt_wwpns_A']))
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(8))  # 24 tokens
        self.assertEqual({'fabric_state_A', 'npiv_adpt_wwpns_A',
                          'npiv_adpt_wwpns_A_2'}, set(inst.system_metadata))
        parts = (inst.system_metadata['npiv_adpt_wwpns_A'] + ',' +
                 inst.system_metadata['npiv_adpt_wwpns_A_2']).split(',')
        self.assertEqual(24, len(parts))
        self.assertEqual(_w(0x1000), parts[0])
        # Splits only at token boundaries.
        for value in (inst.system_metadata['npiv_adpt_wwpns_A'],
                      inst.system_metadata['npiv_adpt_wwpns_A_2']):
            self.assertTrue(all(len(t) == 16 for t in value.split(',')))

    def test_encoding_format(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'B', fm.MGMT_MAPPED,
                      [('10:00:00:00:C9:00:00:01',
                        'C05076079CFF0FA0 c0:50:76:07:9c:ff:0f:a1')])
        self.assertEqual({
            'fabric_state_B': 'mgmt_mapped',
            'npiv_adpt_wwpns_B':
                '10000000c9000001,c05076079cff0fa0,c05076079cff0fa1',
        }, inst.system_metadata)
        self.assertEqual([('10000000c9000001',
                           'c05076079cff0fa0 c05076079cff0fa1')],
                         fm.get_fabric(inst, 'B').port_map)

    def test_many_ports_beyond_supported_still_round_trip(self):
        inst = FakeInstance()
        port_map = make_map(40)
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, port_map)
        self.assertTrue(all(len(v) <= fm.MAX_VALUE_LEN
                            for v in inst.system_metadata.values()))
        self.assertIn('npiv_adpt_wwpns_A_8', inst.system_metadata)
        self.assertEqual(port_map, fm.get_fabric(inst, 'A').port_map)

    @_SETTINGS
    @hypothesis.given(port_map=port_maps(), state=st.sampled_from(fm.STATES),
                      upper=st.booleans(), colons=st.booleans())
    def test_property_round_trip(self, port_map, state, upper, colons):
        inst = FakeInstance({'unrelated': 'kept'})
        fm.set_fabric(inst, 'A', state,
                      _spelled(port_map, upper, colons))
        for key, value in inst.system_metadata.items():
            self.assertLessEqual(len(value), fm.MAX_VALUE_LEN, key)
        self.assertEqual('kept', inst.system_metadata['unrelated'])
        record = fm.get_fabric(inst, 'A')
        self.assertEqual(port_map, record.port_map)
        self.assertEqual(state, record.state)

    @_SETTINGS
    @hypothesis.given(first=port_maps(), second=port_maps(min_ports=0))
    def test_property_rewrite_leaves_no_stale_keys(self, first, second):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, first)
        fm.set_fabric(inst, 'A', fm.UNMAPPED, second)
        fresh = FakeInstance()
        fm.set_fabric(fresh, 'A', fm.UNMAPPED, second)
        self.assertEqual(fresh.system_metadata, inst.system_metadata)
        self.assertEqual(second, fm.get_fabric(inst, 'A').port_map)

    def test_real_nova_instance_records_change(self):
        from nova import objects
        objects.register_all()
        inst = objects.Instance(uuid=UUID, system_metadata={'a': 'b'})
        inst.obj_reset_changes()
        fm.set_fabric(inst, 'A', fm.MGMT_MAPPED, make_map(8))
        self.assertIn('system_metadata', inst.obj_what_changed())
        self.assertEqual(make_map(8), fm.get_fabric(inst, 'A').port_map)


class TestWriteRules(testtools.TestCase):

    def test_absent_is_unmapped(self):
        rec = fm.get_fabric(FakeInstance(), 'A')
        self.assertEqual(fm.FabricRecord('A', fm.UNMAPPED, []), rec)
        self.assertFalse(rec.mapped)

    def test_none_system_metadata_is_unmapped(self):
        inst = FakeInstance()
        inst.system_metadata = None
        self.assertEqual(fm.UNMAPPED, fm.get_fabric(inst, 'A').state)

    def test_unmapped_with_wwpns_stored(self):
        # Plain HMC without staging: WWPNs allocated, nothing mapped yet.
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.UNMAPPED, make_map(2))
        rec = fm.get_fabric(inst, 'A')
        self.assertEqual((fm.UNMAPPED, make_map(2)), (rec.state, rec.port_map))
        self.assertFalse(rec.mapped)

    def test_shrinking_map_removes_stale_spill_keys(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(40))
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(8, base=0x100))
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
        keys = set(inst.system_metadata)
        self.assertEqual({'fabric_state_A', 'npiv_adpt_wwpns_A',
                          'fabric_state_B', 'npiv_adpt_wwpns_B',
                          'npiv_adpt_wwpns_B_2'}, keys)
        self.assertEqual(make_map(8, base=0x100),
                         fm.get_fabric(inst, 'B').port_map)

    def test_empty_map_removes_map_keys(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(8))
        fm.set_fabric(inst, 'A', fm.UNMAPPED, [])
        self.assertEqual({'fabric_state_A': 'unmapped'}, inst.system_metadata)

    def test_clear_fabric(self):
        inst = FakeInstance({'other': 'x'})
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(8))
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1, base=0x100))
        fm.clear_fabric(inst, 'A')
        self.assertEqual({'other', 'fabric_state_B', 'npiv_adpt_wwpns_B'},
                         set(inst.system_metadata))
        fm.clear_fabric(inst, 'A')  # idempotent
        self.assertEqual(fm.FabricRecord('A', fm.UNMAPPED, []),
                         fm.get_fabric(inst, 'A'))

    def test_clear_removes_malformed_and_gapped_spill_keys(self):
        inst = FakeInstance({'npiv_adpt_wwpns_A': _w(1),
                             'npiv_adpt_wwpns_A_3': _w(2),
                             'npiv_adpt_wwpns_A_02': _w(3),
                             'npiv_adpt_wwpns_AB': _w(4)})
        fm.clear_fabric(inst, 'A')
        self.assertEqual({'npiv_adpt_wwpns_AB': _w(4)}, inst.system_metadata)

    def test_refused_write_changes_nothing(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(8))
        before = dict(inst.system_metadata)
        bad_maps = [
            [('nothex', '%s %s' % (_w(1), _w(2)))],
            [(_w(1), _w(2))],                       # one client WWPN
            [(_w(1), '%s %s %s' % (_w(2), _w(3), _w(4)))],
            [(_w(1), '%s,%s' % (_w(2), _w(3)))],
            [(_w(1), '%s %s' % (_w(2), _w(2)))],    # duplicate client
            [(_w(1), '%s %s' % (_w(2), _w(3))),
             (_w(4), '%s %s' % (_w(3), _w(5)))],    # client on two ports
            [(_w(1),)],
            [_w(1)],
            'not a list',
            None,
        ]
        for bad in bad_maps:
            err = self.assertRaises(ValueError, fm.set_fabric, inst, 'A',
                                    fm.INST_MAPPED, bad)
            self.assertIn(UUID, str(err))
            self.assertIn('npiv_adpt_wwpns_A', str(err))
            self.assertEqual(before, inst.system_metadata)
        self.assertRaises(ValueError, fm.set_fabric, inst, 'A', 'attached',
                          make_map(1))
        self.assertRaises(ValueError, fm.set_fabric, inst, 'A',
                          fm.MGMT_MAPPED, [])
        self.assertEqual(before, inst.system_metadata)

    def test_ambiguous_fabric_names_refused(self):
        for name in ('A_2', 'fab_10', '', None):
            err = self.assertRaises(exception.NPIVConfigError, fm.get_fabric,
                                    FakeInstance(), name)
            self.assertIn('fabrics', str(err))
        self.assertRaises(exception.NPIVConfigError, fm.set_fabric,
                          FakeInstance(), 'A_2', fm.UNMAPPED, [])
        # Digits without the underscore are fine.
        fm.set_fabric(FakeInstance(), 'A2', fm.UNMAPPED, make_map(1))


class TestWwpnViews(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.inst = FakeInstance()
        fm.set_fabric(self.inst, 'A', fm.INST_MAPPED, [
            (_w(0xa1), '%s %s' % (_w(0x11), _w(0x12))),
            (_w(0xa2), '%s %s' % (_w(0x21), _w(0x22)))])
        fm.set_fabric(self.inst, 'B', fm.MGMT_MAPPED, [
            (_w(0xb1), '%s %s' % (_w(0x31), _w(0x32)))])

    def test_active_in_fabric_then_port_order(self):
        self.assertEqual([_w(0x11), _w(0x21), _w(0x31)],
                         fm.active_wwpns(self.inst, ['A', 'B']))
        self.assertEqual([_w(0x31), _w(0x11), _w(0x21)],
                         fm.active_wwpns(self.inst, ['B', 'A']))

    def test_partner(self):
        self.assertEqual([_w(0x12), _w(0x22), _w(0x32)],
                         fm.partner_wwpns(self.inst, ['A', 'B']))

    def test_all_keeps_pairs_together(self):
        self.assertEqual([_w(0x11), _w(0x12), _w(0x21), _w(0x22),
                          _w(0x31), _w(0x32)],
                         fm.all_wwpns(self.inst, ['A', 'B']))

    def test_unknown_fabric_contributes_nothing(self):
        self.assertEqual([_w(0x31)], fm.active_wwpns(self.inst, ['C', 'B']))
        self.assertEqual([], fm.all_wwpns(self.inst, []))

    def test_flip(self):
        port_map = fm.get_fabric(self.inst, 'A').port_map
        flipped = fm.flip(port_map)
        self.assertEqual([(_w(0xa1), '%s %s' % (_w(0x12), _w(0x11))),
                          (_w(0xa2), '%s %s' % (_w(0x22), _w(0x21)))],
                         flipped)
        self.assertEqual(port_map, fm.flip(flipped))
        # The input is not modified.
        self.assertEqual(_w(0x11), port_map[0][1].split()[0])

    def test_flip_then_store_swaps_active_and_partner(self):
        before_active = fm.active_wwpns(self.inst, ['A', 'B'])
        before_partner = fm.partner_wwpns(self.inst, ['A', 'B'])
        for fabric in ('A', 'B'):
            rec = fm.get_fabric(self.inst, fabric)
            fm.set_fabric(self.inst, fabric, rec.state, fm.flip(rec.port_map))
        fabrics = ['A', 'B']
        self.assertEqual(before_partner, fm.active_wwpns(self.inst, fabrics))
        self.assertEqual(before_active, fm.partner_wwpns(self.inst, fabrics))

    def test_flip_normalises(self):
        self.assertEqual([(_w(1), '%s %s' % (_w(3), _w(2)))],
                         fm.flip([(_w(1).upper(), '%s  %s' % (
                             _w(2).upper(), _w(3)))]))

    @_SETTINGS
    @hypothesis.given(port_maps())
    def test_property_flip_involution(self, port_map):
        flipped = fm.flip(port_map)
        self.assertEqual(port_map, fm.flip(flipped))
        self.assertEqual(fm.port_map_wwpns(port_map, 'active'),
                         fm.port_map_wwpns(flipped, 'partner'))


# Each corrupt metadata case: (system_metadata, key named, word in reason).
GOOD = ','.join([_w(0xa1), _w(0x11), _w(0x12)])
CORRUPT = [
    ('token count',
     {'fabric_state_A': 'inst_mapped',
      'npiv_adpt_wwpns_A': ','.join([_w(0xa1), _w(0x11)])},
     'npiv_adpt_wwpns_A', 'multiple of 3'),
    ('token count across spill',
     {'fabric_state_A': 'inst_mapped', 'npiv_adpt_wwpns_A': GOOD,
      'npiv_adpt_wwpns_A_2': _w(0xa2)},
     'npiv_adpt_wwpns_A', 'multiple of 3'),
    ('bad hex',
     {'fabric_state_A': 'inst_mapped',
      'npiv_adpt_wwpns_A': ','.join([_w(0xa1), 'zz' * 8, _w(0x12)])},
     'npiv_adpt_wwpns_A', 'zzzz'),
    ('short wwpn',
     {'npiv_adpt_wwpns_A': ','.join([_w(0xa1), 'abc', _w(0x12)])},
     'npiv_adpt_wwpns_A', "'abc'"),
    ('empty token',
     {'npiv_adpt_wwpns_A': GOOD + ',,'},
     'npiv_adpt_wwpns_A', "''"),
    ('bad hex in spill key',
     {'fabric_state_A': 'inst_mapped', 'npiv_adpt_wwpns_A': GOOD,
      'npiv_adpt_wwpns_A_2': ','.join([_w(0xa2), _w(0x21), 'x'])},
     'npiv_adpt_wwpns_A_2', "'x'"),
    ('unknown state',
     {'fabric_state_A': 'attached', 'npiv_adpt_wwpns_A': GOOD},
     'fabric_state_A', "'attached'"),
    ('state case',
     {'fabric_state_A': 'INST_MAPPED', 'npiv_adpt_wwpns_A': GOOD},
     'fabric_state_A', 'unknown state'),
    ('inst_mapped without map',
     {'fabric_state_A': 'inst_mapped'},
     'npiv_adpt_wwpns_A', 'inst_mapped'),
    ('mgmt_mapped with empty map',
     {'fabric_state_A': 'mgmt_mapped', 'npiv_adpt_wwpns_A': ''},
     'npiv_adpt_wwpns_A', 'mgmt_mapped'),
    ('missing middle spill key',
     {'fabric_state_A': 'inst_mapped', 'npiv_adpt_wwpns_A': GOOD,
      'npiv_adpt_wwpns_A_3': GOOD.replace('a1', 'a3')},
     'npiv_adpt_wwpns_A_2', 'incomplete'),
    ('spill without main key',
     {'fabric_state_A': 'unmapped', 'npiv_adpt_wwpns_A_2': GOOD},
     'npiv_adpt_wwpns_A', 'npiv_adpt_wwpns_A_2'),
    ('malformed spill number',
     {'npiv_adpt_wwpns_A': GOOD, 'npiv_adpt_wwpns_A_02': GOOD},
     'npiv_adpt_wwpns_A_02', 'spill'),
    ('spill number 1',
     {'npiv_adpt_wwpns_A': GOOD, 'npiv_adpt_wwpns_A_1': GOOD},
     'npiv_adpt_wwpns_A_1', 'spill'),
    ('empty spill part',
     {'npiv_adpt_wwpns_A': GOOD, 'npiv_adpt_wwpns_A_2': ''},
     'npiv_adpt_wwpns_A_2', 'empty'),
    ('non-string value',
     {'npiv_adpt_wwpns_A': 42},
     'npiv_adpt_wwpns_A', 'not a string'),
    ('duplicate client',
     {'npiv_adpt_wwpns_A': GOOD + ',' + ','.join(
         [_w(0xa2), _w(0x11), _w(0x22)])},
     'npiv_adpt_wwpns_A', 'twice'),
]


class TestCorrupt(testtools.TestCase):

    def test_each_case_names_instance_key_and_problem(self):
        for name, sysmeta, key, reason in CORRUPT:
            inst = FakeInstance(dict(sysmeta))
            err = self.assertRaises(exception.CorruptFabricMetadata,
                                    fm.get_fabric, inst, 'A')
            msg = str(err)
            self.assertIn(UUID, msg, name)
            self.assertIn('key %s:' % key, msg, name)
            self.assertIn(reason, msg, name)
            self.assertEqual(key, err.kwargs['key'], name)
            # The views raise the same error...
            for view in (fm.active_wwpns, fm.partner_wwpns, fm.all_wwpns):
                self.assertRaises(exception.CorruptFabricMetadata, view,
                                  inst, ['A'])
            # ...and the audit reports it without raising.
            self.assertEqual([msg], fm.check_instance(inst, ['A']), name)
            # Reading left the metadata alone.
            self.assertEqual(sysmeta, inst.system_metadata, name)

    def test_corruption_of_one_fabric_does_not_hide_the_other(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1, base=0x100))
        inst.system_metadata['fabric_state_A'] = 'bogus'
        self.assertEqual(make_map(1, base=0x100),
                         fm.get_fabric(inst, 'B').port_map)
        errors = fm.check_instance(inst, ['A', 'B'])
        self.assertEqual(1, len(errors))
        self.assertIn('fabric_state_A', errors[0])

    def test_set_fabric_repairs_corrupt_fabric(self):
        for _name, sysmeta, _key, _reason in CORRUPT:
            inst = FakeInstance(dict(sysmeta))
            fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
            self.assertEqual(make_map(1), fm.get_fabric(inst, 'A').port_map)
            self.assertEqual([], fm.check_instance(inst, ['A']))


class TestCheckInstance(testtools.TestCase):

    def test_healthy(self):
        inst = FakeInstance({'image_base_image_ref': 'x'})
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(8))
        fm.set_fabric(inst, 'B', fm.UNMAPPED, make_map(2, base=0x100))
        self.assertEqual([], fm.check_instance(inst, ['A', 'B']))
        self.assertEqual([], fm.check_instance(FakeInstance(), ['A']))

    def test_client_wwpn_on_two_fabrics(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1))
        errors = fm.check_instance(inst, ['A', 'B'])
        self.assertEqual(2, len(errors))
        self.assertIn('fabric B', errors[0])
        self.assertIn('fabric A', errors[0])

    def test_unconfigured_fabric_keys(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
        fm.set_fabric(inst, 'OLD', fm.INST_MAPPED, make_map(8, base=0x100))
        errors = fm.check_instance(inst, ['A'])
        self.assertEqual(3, len(errors))
        for error, key in zip(errors, ['fabric_state_OLD',
                                       'npiv_adpt_wwpns_OLD',
                                       'npiv_adpt_wwpns_OLD_2'],
                              strict=True):
            self.assertIn(key, error)
            self.assertIn(UUID, error)

    def test_never_raises(self):
        class Broken(object):
            uuid = UUID

            @property
            def system_metadata(self):
                raise RuntimeError('lazy-load failed')

        weird = [
            Broken(),
            FakeInstance(['not', 'a', 'dict']),
            FakeInstance({'fabric_state_A': object()}),
            FakeInstance({'npiv_adpt_wwpns_A': None,
                          'npiv_adpt_wwpns_A_2': GOOD}),
        ]
        for inst in weird:
            errors = fm.check_instance(inst, ['A'])
            self.assertIsInstance(errors, list)
            self.assertNotEqual([], errors)
            self.assertTrue(all(isinstance(e, str) for e in errors))
        # Keys that are not ours are none of the audit's business.
        self.assertEqual([], fm.check_instance(
            FakeInstance({1: 2, None: 'x'}), ['A']))
        self.assertNotEqual([], fm.check_instance(FakeInstance(), ['A_1']))
        self.assertNotEqual([], fm.check_instance(FakeInstance(), None))

    @_SETTINGS
    @hypothesis.given(st.dictionaries(
        st.sampled_from(['fabric_state_A', 'npiv_adpt_wwpns_A',
                         'npiv_adpt_wwpns_A_2', 'npiv_adpt_wwpns_A_3',
                         'fabric_state_B', 'npiv_adpt_wwpns_B']),
        st.one_of(st.none(), st.text(max_size=60),
                  st.sampled_from(fm.STATES), st.just(GOOD))))
    @hypothesis.example({'npiv_adpt_wwpns_A': GOOD,
                         'npiv_adpt_wwpns_B': GOOD})
    @hypothesis.example({'fabric_state_A': 'inst_mapped',
                         'npiv_adpt_wwpns_A': GOOD,
                         'fabric_state_B': 'inst_mapped'})
    def test_property_garbage_never_crashes(self, sysmeta):
        # The audit reports exactly what the reads refuse, plus client
        # WWPNs on both fabrics; nothing else for keys of configured fabrics.
        inst = FakeInstance(sysmeta)
        errors = fm.check_instance(inst, ['A', 'B'])
        self.assertIsInstance(errors, list)
        refused, clients = [], {}
        for fabric in ('A', 'B'):
            try:
                rec = fm.get_fabric(inst, fabric)
            except exception.CorruptFabricMetadata as err:
                self.assertIn(UUID, str(err))
                refused.append(str(err))
                continue
            self.assertIn(rec.state, fm.STATES)
            if rec.state in fm.MAPPED_STATES:
                self.assertTrue(rec.port_map)
            clients[fabric] = set(fm.port_map_wwpns(rec.port_map))
        shared = clients.get('A', set()) & clients.get('B', set())
        self.assertEqual(sorted(refused), sorted(
            e for e in errors if ' and on fabric ' not in e))
        self.assertEqual(len(shared), len(
            [e for e in errors if ' and on fabric ' in e]))


class TestHostName(testtools.TestCase):

    _ALLOWED = re.compile(r'^[a-z][a-z0-9-]*$')

    def test_shape(self):
        name = fm.host_name(FakeInstance())
        self.assertEqual('npiv-3f1c5a2e9b7d4e218c440d5e6f', name)
        self.assertEqual(31, len(name))
        self.assertRegex(name, self._ALLOWED)

    def test_depends_only_on_uuid(self):
        a = FakeInstance({'x': 'y'})
        a.name = 'instance-00000001'
        a.host = 'compute1'
        b = FakeInstance()
        b.name = 'renamed'
        b.host = 'compute2'
        self.assertEqual(fm.host_name(a), fm.host_name(b))
        upper = FakeInstance(uuid=UUID.upper())
        self.assertEqual(fm.host_name(a), fm.host_name(upper))

    def test_unique_per_instance(self):
        names = {fm.host_name(FakeInstance(uuid=str(uuid.uuid4())))
                 for _ in range(2000)}
        self.assertEqual(2000, len(names))

    def test_non_uuid_is_refused(self):
        for odd in ('fake-uuid', '', 'x' * 300, 12):
            err = self.assertRaises(ValueError, fm.host_name,
                                    FakeInstance(uuid=odd))
            self.assertIn('instance UUID %r is not a UUID' % str(odd),
                          str(err))

    @_SETTINGS
    @hypothesis.given(st.uuids())
    def test_property_valid_and_deterministic(self, value):
        name = fm.host_name(FakeInstance(uuid=str(value)))
        self.assertLessEqual(len(name), 31)
        self.assertRegex(name, self._ALLOWED)
        self.assertTrue(name.startswith('npiv-' + value.hex[:8]))
        self.assertEqual(name, fm.host_name(FakeInstance(uuid=value)))
