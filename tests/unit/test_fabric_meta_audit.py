"""What the fabric metadata audit tells the operator, word for word.

``check_instance`` feeds the audit command and periodic tasks: its lines are
the operator's only view of a bad record, so their text is behaviour.  These
tests pin each kind of line, and the audit's promise never to raise, even
for objects that are barely instances.
"""

import testtools

from nova_npiv import exception
from nova_npiv import fabric_meta as fm
from tests.unit.test_fabric_meta import FakeInstance
from tests.unit.test_fabric_meta import make_map
from tests.unit.test_fabric_meta import UUID


class _NoUuid(object):
    """Something handed to the audit without a ``uuid`` attribute."""

    def __init__(self, system_metadata):
        self.system_metadata = system_metadata


class _LookupOnly(object):
    """A mapping that answers ``get`` but cannot be iterated."""

    def get(self, key, default=None):
        return default


class TestCheckInstanceLines(testtools.TestCase):

    def test_system_metadata_not_a_dict(self):
        self.assertEqual(
            ["Instance %s: system_metadata is 'list', not a dict" % UUID],
            fm.check_instance(FakeInstance(['x']), ['A']))

    def test_system_metadata_unreadable(self):
        class Broken(object):
            uuid = UUID

            @property
            def system_metadata(self):
                raise RuntimeError('lazy-load failed')

        self.assertEqual(
            ['Instance %s: cannot read system_metadata: lazy-load failed'
             % UUID],
            fm.check_instance(Broken(), ['A']))

    def test_client_wwpn_on_two_fabrics(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1))
        active, partner = make_map(1)[0][1].split()
        self.assertEqual(
            ['Instance %s: client WWPN %s is on fabric B (key '
             'npiv_adpt_wwpns_B) and on fabric A' % (UUID, client)
             for client in (active, partner)],
            fm.check_instance(inst, ['A', 'B']))

    def test_unconfigured_keys_name_the_configured_fabrics(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1, base=0x10))
        fm.set_fabric(inst, 'OLD', fm.MGMT_MAPPED, make_map(1, base=0x100))
        line = ('Instance %s: key %%s belongs to a fabric that is not '
                'configured (configured: A, B)' % UUID)
        self.assertEqual(
            [line % 'fabric_state_OLD', line % 'npiv_adpt_wwpns_OLD'],
            fm.check_instance(inst, ['A', 'B']))

    def test_unconfigured_keys_when_no_fabric_is_configured(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'OLD', fm.MGMT_MAPPED, make_map(1))
        line = ('Instance %s: key %%s belongs to a fabric that is not '
                'configured (configured: none)' % UUID)
        self.assertEqual(
            [line % 'fabric_state_OLD', line % 'npiv_adpt_wwpns_OLD'],
            fm.check_instance(inst, []))

    def test_bad_fabric_name_does_not_hide_the_next_fabric(self):
        # A fabric name the configuration should have refused is reported;
        # the fabrics after it are still audited as configured ones, so
        # their keys are not reported as leftovers of an old fabric.
        inst = FakeInstance()
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1))
        errors = fm.check_instance(inst, ['A_1', 'B'])
        self.assertEqual(1, len(errors))
        self.assertIn("fabric name 'A_1' ends in _<digits>", errors[0])

    def test_unscannable_system_metadata(self):
        errors = fm.check_instance(FakeInstance(_LookupOnly()), ['A'])
        self.assertEqual(2, len(errors))
        self.assertIn("'_LookupOnly' object is not iterable", errors[0])
        self.assertEqual(
            "Instance %s: cannot scan system_metadata keys: "
            "'_LookupOnly' object is not iterable" % UUID, errors[1])

    def test_instance_without_uuid(self):
        # The audit walks whatever the database hands it; an object without
        # a UUID is reported as such, not a crash of the whole audit.
        corrupt = {'fabric_state_A': 'inst_mapped'}
        errors = fm.check_instance(_NoUuid(corrupt), ['A'])
        self.assertEqual(1, len(errors))
        self.assertTrue(errors[0].startswith(
            'Instance None has corrupt NPIV metadata in system_metadata key '
            'npiv_adpt_wwpns_A: missing or empty'), errors[0])
        self.assertEqual(
            ["Instance None: system_metadata is 'tuple', not a dict"],
            fm.check_instance(_NoUuid(()), ['A']))

    def test_reader_names_a_missing_uuid(self):
        err = self.assertRaises(
            exception.CorruptFabricMetadata, fm.get_fabric,
            _NoUuid({'fabric_state_A': 'bogus'}), 'A')
        self.assertIn('Instance None has corrupt NPIV metadata in '
                      'system_metadata key fabric_state_A', str(err))


class TestHostNameRefusal(testtools.TestCase):

    def test_message_in_full(self):
        err = self.assertRaises(ValueError, fm.host_name,
                                FakeInstance(uuid='fake-uuid'))
        self.assertEqual("instance UUID 'fake-uuid' is not a UUID: no "
                         "storage host name can be derived from it",
                         str(err))


class TestWriteRefusals(testtools.TestCase):
    """What a refused ``set_fabric`` says: the caller logs it as the bug."""

    def test_unknown_state(self):
        err = self.assertRaises(ValueError, fm.set_fabric, FakeInstance(),
                                'A', 'attached', make_map(1))
        self.assertEqual("instance %s key fabric_state_A: unknown state "
                         "'attached'" % UUID, str(err))

    def test_mapped_state_without_port_map(self):
        err = self.assertRaises(ValueError, fm.set_fabric, FakeInstance(),
                                'A', fm.MGMT_MAPPED, [])
        self.assertEqual('instance %s key fabric_state_A: state mgmt_mapped '
                         'needs a port map' % UUID, str(err))

    def test_bad_port_map_names_the_map_key(self):
        err = self.assertRaises(ValueError, fm.set_fabric, FakeInstance(),
                                'A', fm.INST_MAPPED, 'not a list')
        self.assertEqual("instance %s key npiv_adpt_wwpns_A: port map 'not "
                         "a list' is not a list of (port WWPN, \"V1 V2\") "
                         "pairs" % UUID, str(err))


def _w(n):
    return '%016x' % n


GOOD3 = ','.join(_w(n) for n in (1, 2, 3))


class TestReadRefusals(testtools.TestCase):
    """Each corruption the reader refuses, with the key and reason in full.

    The reason is what an operator repairing the record by hand goes by.
    """

    CASES = [
        ({'npiv_adpt_wwpns_A': GOOD3, 'npiv_adpt_wwpns_A_02': GOOD3},
         'npiv_adpt_wwpns_A_02',
         'not a valid spill key of npiv_adpt_wwpns_A (parts are numbered '
         'from 2 without leading zeros)'),
        ({'npiv_adpt_wwpns_A_2': GOOD3, 'npiv_adpt_wwpns_A_3': GOOD3},
         'npiv_adpt_wwpns_A',
         'missing, but its continuation key(s) npiv_adpt_wwpns_A_2, '
         'npiv_adpt_wwpns_A_3 exist'),
        ({'npiv_adpt_wwpns_A': GOOD3, 'npiv_adpt_wwpns_A_4': GOOD3},
         'npiv_adpt_wwpns_A_2',
         'missing, but later part npiv_adpt_wwpns_A_4 exists: the port map '
         'is incomplete'),
        ({'npiv_adpt_wwpns_A': 7}, 'npiv_adpt_wwpns_A',
         'value 7 is not a string'),
        ({'npiv_adpt_wwpns_A': GOOD3, 'npiv_adpt_wwpns_A_2': ' '},
         'npiv_adpt_wwpns_A_2', 'empty part of a port map that spans 2 keys'),
        ({'npiv_adpt_wwpns_A': '%s,%s,zz' % (_w(1), _w(2))},
         'npiv_adpt_wwpns_A',
         "token 3 'zz' is not a WWPN (16 hex digits)"),
        ({'npiv_adpt_wwpns_A': '%s,%s' % (_w(1), _w(2))},
         'npiv_adpt_wwpns_A',
         '2 WWPNs is not a multiple of 3 (port, active, partner)'),
        ({'npiv_adpt_wwpns_A': '%s,%s,%s' % (_w(1), _w(2), _w(2))},
         'npiv_adpt_wwpns_A',
         'port map entry 0: client WWPN %s is used twice' % _w(2)),
        ({'fabric_state_A': 'attached'}, 'fabric_state_A',
         "unknown state 'attached' (expected one of unmapped, mgmt_mapped, "
         "inst_mapped)"),
        ({'fabric_state_A': 'inst_mapped', 'npiv_adpt_wwpns_A': ''},
         'npiv_adpt_wwpns_A',
         "missing or empty although fabric_state_A is inst_mapped: the "
         "mapped client adapters' WWPNs are unknown"),
    ]

    def test_each_refusal_in_full(self):
        for sysmeta, key, reason in self.CASES:
            err = self.assertRaises(exception.CorruptFabricMetadata,
                                    fm.get_fabric, FakeInstance(sysmeta), 'A')
            self.assertEqual(
                'Instance %s has corrupt NPIV metadata in system_metadata '
                'key %s: %s' % (UUID, key, reason), str(err), sysmeta)


class TestPortMapRefusals(testtools.TestCase):
    """``normalize_port_map`` names the entry and the problem."""

    CASES = [
        ('not a list',
         'port map \'not a list\' is not a list of (port WWPN, "V1 V2") '
         'pairs'),
        ([(_w(1),)],
         'port map entry 0 (\'%s\',) is not a (port WWPN, "V1 V2") pair'
         % _w(1)),
        ([(_w(1), '%s %s' % (_w(2), _w(3))), (_w(4), _w(5))],
         "port map entry 1: client WWPNs '%s' are not two WWPNs separated "
         "by a space" % _w(5)),
        ([('nothex', '%s %s' % (_w(2), _w(3)))],
         "port map entry 0: WWPN 'nothex' is not 16 hexadecimal digits"),
        ([(_w(1), '%s %s' % (_w(2), _w(3))),
          (_w(4), '%s %s' % (_w(3), _w(5)))],
         'port map entry 1: client WWPN %s is used twice' % _w(3)),
    ]

    def test_each_refusal(self):
        for port_map, message in self.CASES:
            err = self.assertRaises(ValueError, fm.normalize_port_map,
                                    port_map)
            self.assertTrue(str(err).startswith(message), str(err))


class TestFabricNameRefusals(testtools.TestCase):

    def test_empty_name(self):
        err = self.assertRaises(exception.NPIVConfigError, fm.state_key, '')
        self.assertEqual("Invalid configuration option [powervm] fabrics: "
                         "fabric name '' is empty or not a string", str(err))

    def test_spill_suffix(self):
        err = self.assertRaises(exception.NPIVConfigError, fm.map_key, 'A_2')
        self.assertEqual("Invalid configuration option [powervm] fabrics: "
                         "fabric name 'A_2' ends in _<digits>, which collides "
                         "with the numbered keys that long port maps spill "
                         "into", str(err))


class TestSetFabricResult(testtools.TestCase):

    def test_returns_the_normalised_record(self):
        port_map = [(_w(1).upper(), '%s %s' % (_w(2), _w(3).upper()))]
        record = fm.set_fabric(FakeInstance(), 'A', fm.MGMT_MAPPED, port_map)
        self.assertEqual(
            fm.FabricRecord('A', fm.MGMT_MAPPED,
                            [(_w(1), '%s %s' % (_w(2), _w(3)))]), record)


class TestRecordedFabrics(testtools.TestCase):

    def test_fabrics_with_a_state_whatever_the_configuration(self):
        # A live-migration destination reads the source's fabrics from the
        # record, not from its own nova.conf; map keys alone are no fabric.
        inst = FakeInstance({'image_base_image_ref': 'x'})
        fm.set_fabric(inst, 'Z', fm.INST_MAPPED, make_map(1))
        fm.set_fabric(inst, 'B', fm.UNMAPPED, [])
        inst.system_metadata['npiv_adpt_wwpns_C'] = GOOD3
        self.assertEqual(['B', 'Z'], fm.recorded_fabrics(inst))
        self.assertEqual([], fm.recorded_fabrics(FakeInstance(None)))
