"""Bad-input corpus for Cinder FC connection_info (issue 7).

The accepted shapes: doc/source/design/flows.rst, "Cinder connection_info".
"""

import copy

import hypothesis
from hypothesis import strategies as st
import testtools

from nova_npiv import connection_info as ci
from nova_npiv import exception

VOL = '0b8c3e52-7d0a-4bd7-9a0e-6a3f1a2b4c5d'
T1 = '500507680b21ac11'
T2 = '500507680b22ac12'
T1_COLONS_UPPER = '50:05:07:68:0B:21:AC:11'
# The instance's client WWPNs: (active, partner) on two fabrics.
ACTIVE = ['c05076079cff0fa0', 'c05076079cff0fb0']
PARTNER = ['c05076079cff0fa1', 'c05076079cff0fb1']
INSTANCE_WWPNS = ACTIVE + PARTNER


def conn(**data):
    info = {'driver_volume_type': 'fibre_channel', 'serial': VOL,
            'data': {'target_discovered': False, 'volume_id': VOL,
                     'target_wwn': T1, 'target_lun': 1}}
    info['data'].update(data)
    for key, value in list(info['data'].items()):
        if value is _DROP:
            del info['data'][key]
    return info


_DROP = object()


# name, connection_info, expected (target_wwpns, target_luns, itmap)
VALID = [
    ('single target string', conn(), ([T1], [1], None)),
    ('target lun 0', conn(target_lun=0), ([T1], [0], None)),
    ('absent target_lun defaults to 0 like os-brick',
     conn(target_lun=_DROP), ([T1], [0], None)),
    ('target_wwn list', conn(target_wwn=[T1, T2]), ([T1, T2], [1, 1], None)),
    ('target_wwn tuple', conn(target_wwn=(T1, T2)),
     ([T1, T2], [1, 1], None)),
    ('target_wwns list', conn(target_wwn=_DROP, target_wwns=[T1, T2]),
     ([T1, T2], [1, 1], None)),
    ('target_wwns string', conn(target_wwn=_DROP, target_wwns=T2),
     ([T2], [1], None)),
    ('target_wwns wins over target_wwn',
     conn(target_wwn=T1, target_wwns=[T2]), ([T2], [1], None)),
    ('empty target_wwns falls back to target_wwn',
     conn(target_wwns=[], target_wwn=[T1]), ([T1], [1], None)),
    ('colons and upper case', conn(target_wwn=T1_COLONS_UPPER),
     ([T1], [1], None)),
    ('mixed case', conn(target_wwn='500507680B21aC11'), ([T1], [1], None)),
    ('0x prefix', conn(target_wwn='0x500507680B21AC11'), ([T1], [1], None)),
    ('target_luns one per target',
     conn(target_wwn=[T1, T2], target_luns=[3, 4], target_lun=_DROP),
     ([T1, T2], [3, 4], None)),
    ('target_luns wins over target_lun',
     conn(target_wwn=[T1, T2], target_luns=[3, 4], target_lun=3),
     ([T1, T2], [3, 4], None)),
    ('single target_luns entry applies to all targets',
     conn(target_wwns=[T1, T2], target_luns=[7]), ([T1, T2], [7, 7], None)),
    ('empty target_luns falls back to target_lun',
     conn(target_luns=[], target_lun=5), ([T1], [5], None)),
    ('big LUN', conn(target_lun=2 ** 64 - 1), ([T1], [2 ** 64 - 1], None)),
    ('itmap with active initiators',
     conn(target_wwn=[T1, T2], initiator_target_map={
         ACTIVE[0]: [T1], ACTIVE[1]: [T2]}),
     ([T1, T2], [1, 1], {ACTIVE[0]: [T1], ACTIVE[1]: [T2]})),
    ('itmap with partner initiators (made for the migration target)',
     conn(initiator_target_map={PARTNER[0]: [T1]}),
     ([T1], [1], {PARTNER[0]: [T1]})),
    ('itmap spelled with colons and upper case',
     conn(initiator_target_map={'C0:50:76:07:9C:FF:0F:A0':
                                [T1_COLONS_UPPER, T2.upper()]}),
     ([T1], [1], {ACTIVE[0]: [T1, T2]})),
    ('itmap initiator spelled twice is merged',
     conn(initiator_target_map={ACTIVE[0]: [T1],
                                ACTIVE[0].upper(): [T1, T2]}),
     ([T1], [1], {ACTIVE[0]: [T1, T2]})),
    ('itmap with an initiator without targets',
     conn(initiator_target_map={ACTIVE[0]: []}),
     ([T1], [1], {ACTIVE[0]: []})),
    ('empty itmap', conn(initiator_target_map={}), ([T1], [1], {})),
    ('itmap None means absent', conn(initiator_target_map=None),
     ([T1], [1], None)),
]


def _no_data():
    info = conn()
    del info['data']
    return info


def _no_dvt():
    info = conn()
    del info['driver_volume_type']
    return info


# name, connection_info, field named in the error, text in the reason
INVALID = [
    ('not a dict', ['fibre_channel'], 'connection_info', 'not a dict'),
    ('wrong driver_volume_type', dict(conn(), driver_volume_type='iscsi'),
     'driver_volume_type', "'iscsi'"),
    ('driver_volume_type case',
     dict(conn(), driver_volume_type='FIBRE_CHANNEL'),
     'driver_volume_type', "'FIBRE_CHANNEL'"),
    ('missing driver_volume_type', _no_dvt(), 'driver_volume_type', 'None'),
    ('missing data', _no_data(), 'data', 'missing'),
    ('data None', dict(conn(), data=None), 'data', 'NoneType'),
    ('data a list', dict(conn(), data=[T1]), 'data', 'not a dict'),
    ('no target WWPNs', conn(target_wwn=_DROP), 'data.target_wwn',
     'missing or empty'),
    ('target_wwn None', conn(target_wwn=None), 'data.target_wwn',
     'missing or empty'),
    ('empty target_wwn string', conn(target_wwn=''), 'data.target_wwn',
     'missing or empty'),
    ('empty target_wwn list', conn(target_wwn=[]), 'data.target_wwn',
     'missing or empty'),
    ('only empty target_wwns', conn(target_wwn=_DROP, target_wwns=[]),
     'data.target_wwns', 'missing or empty'),
    ('both empty', conn(target_wwn=[], target_wwns=[]), 'data.target_wwn',
     'missing or empty'),
    ('non-hex target', conn(target_wwn='500507680b21ac1g'),
     'data.target_wwn', "'500507680b21ac1g'"),
    ('short target', conn(target_wwn='500507680b21ac1'), 'data.target_wwn',
     "'500507680b21ac1'"),
    ('long target', conn(target_wwn='500507680b21ac111'), 'data.target_wwn',
     "'500507680b21ac111'"),
    ('dashes', conn(target_wwn='50-05-07-68-0b-21-ac-11'), 'data.target_wwn',
     '50-05'),
    ('integer target', conn(target_wwn=0x500507680b21ac11),
     'data.target_wwn', 'not a WWPN string'),
    ('bad second target in list', conn(target_wwn=[T1, 'nothex']),
     'data.target_wwn[1]', "'nothex'"),
    ('None in target list', conn(target_wwn=[T1, None]),
     'data.target_wwn[1]', 'None'),
    ('bad target in target_wwns', conn(target_wwns=[T2, T1, 'x' * 16]),
     'data.target_wwns[2]', 'xxxx'),
    ('bad target_wwn next to good target_wwns',
     conn(target_wwns=[T2], target_wwn='junk'), 'data.target_wwn', "'junk'"),
    ('target_wwns a dict', conn(target_wwns={T1: 1}), 'data.target_wwns',
     'not a WWPN string'),
    ('negative lun', conn(target_lun=-1), 'data.target_lun', '-1'),
    ('lun too big', conn(target_lun=2 ** 64), 'data.target_lun',
     '18446744073709551616'),
    ('string lun', conn(target_lun='1'), 'data.target_lun', "'1' (str)"),
    ('non-integer string lun', conn(target_lun='one'), 'data.target_lun',
     "'one'"),
    ('float lun', conn(target_lun=1.0), 'data.target_lun', '(float)'),
    ('bool lun', conn(target_lun=True), 'data.target_lun', '(bool)'),
    ('None lun', conn(target_lun=None), 'data.target_lun', 'None'),
    ('negative lun in list', conn(target_wwn=[T1, T2], target_luns=[0, -3]),
     'data.target_luns[1]', '-3'),
    ('bool lun in list', conn(target_wwn=[T1, T2], target_luns=[False, 1]),
     'data.target_luns[0]', '(bool)'),
    ('string lun in list', conn(target_luns=['2']), 'data.target_luns[0]',
     "'2'"),
    ('target_luns not a list', conn(target_luns=3), 'data.target_luns',
     'not a list'),
    ('bad target_lun next to good target_luns',
     conn(target_luns=[1], target_lun=-1), 'data.target_lun', '-1'),
    ('too few luns', conn(target_wwn=[T1, T2, T1.replace('1', '3')],
                          target_luns=[1, 2]),
     'data.target_luns', '2 LUN(s)'),
    ('too many luns', conn(target_wwn=[T1], target_luns=[1, 2]),
     'data.target_luns', 'for 1 target'),
    ('itmap a list', conn(initiator_target_map=[ACTIVE[0]]),
     'data.initiator_target_map', 'not a dict'),
    ('initiator not the instance\'s',
     conn(initiator_target_map={'c05076079cff0ff0': [T1]}),
     "data.initiator_target_map['c05076079cff0ff0']",
     "not one of this instance's"),
    ('one of two initiators not the instance\'s',
     conn(initiator_target_map={ACTIVE[0]: [T1],
                                '21000024FF000001': [T1]}),
     "data.initiator_target_map['21000024FF000001']",
     "not one of this instance's"),
    ('initiator not a WWPN', conn(initiator_target_map={'host1': [T1]}),
     "data.initiator_target_map['host1']", "'host1'"),
    ('bad target in the map',
     conn(initiator_target_map={ACTIVE[0]: [T1, '5005076']}),
     "data.initiator_target_map['%s'][1]" % ACTIVE[0], "'5005076'"),
    ('map targets a string',
     conn(initiator_target_map={ACTIVE[0]: T1}),
     "data.initiator_target_map['%s']" % ACTIVE[0], 'not a list'),
]


class TestValid(testtools.TestCase):

    def test_corpus(self):
        for name, info, (targets, luns, itmap) in VALID:
            before = copy.deepcopy(info)
            result = ci.validate(info, INSTANCE_WWPNS)
            self.assertEqual(VOL, result.volume_id, name)
            self.assertEqual(targets, result.target_wwpns, name)
            self.assertEqual(luns, result.target_luns, name)
            self.assertEqual(itmap, result.initiator_target_map, name)
            self.assertEqual(list(zip(targets, luns, strict=True)),
                             result.targets, name)
            self.assertEqual(before, info, name + ': input modified')

    def test_instance_wwpns_in_any_spelling(self):
        info = conn(initiator_target_map={ACTIVE[0]: [T1]})
        spelled = [':'.join(w[i:i + 2] for i in range(0, 16, 2)).upper()
                   for w in INSTANCE_WWPNS]
        self.assertEqual({ACTIVE[0]: [T1]},
                         ci.validate(info, spelled).initiator_target_map)

    def test_membership_skipped_without_instance_wwpns(self):
        info = conn(initiator_target_map={'c05076079cff0ff0': [T1]})
        self.assertEqual({'c05076079cff0ff0': [T1]},
                         ci.validate(info).initiator_target_map)
        # Still validated as WWPNs.
        info = conn(initiator_target_map={'nope': [T1]})
        self.assertRaises(exception.InvalidConnectionInfo, ci.validate, info)

    def test_empty_instance_wwpns_rejects_every_initiator(self):
        info = conn(initiator_target_map={ACTIVE[0]: [T1]})
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, info, [])
        self.assertIn('(none)', str(err))

    def test_volume_id_sources(self):
        info = conn()
        del info['serial']
        self.assertEqual(VOL, ci.validate(info).volume_id)
        del info['data']['volume_id']
        self.assertEqual('unknown', ci.validate(info).volume_id)

    def test_result_is_immutable_tuple(self):
        result = ci.validate(conn())
        self.assertIsInstance(result, ci.FCTarget)
        self.assertRaises(AttributeError, setattr, result, 'volume_id', 'x')


class TestInvalid(testtools.TestCase):

    def test_corpus(self):
        for name, info, field, reason in INVALID:
            before = copy.deepcopy(info)
            err = self.assertRaises(exception.InvalidConnectionInfo,
                                    ci.validate, info, INSTANCE_WWPNS)
            msg = str(err)
            self.assertEqual(field, err.kwargs['field'], name)
            self.assertIn('field %s ' % field, msg, name)
            self.assertIn(reason, msg, name)
            if isinstance(info, dict) and 'data' in info:
                self.assertIn(VOL, msg, name)
            self.assertEqual(before, info, name + ': input modified')

    def test_is_a_nova_invalid_input(self):
        from nova import exception as nova_exc
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, conn(target_lun=-1))
        self.assertIsInstance(err, nova_exc.InvalidInput)

    def test_volume_id_from_data_in_message(self):
        info = conn(target_lun=-1)
        del info['serial']
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, info)
        self.assertEqual(VOL, err.kwargs['volume_id'])
        info = dict(conn(target_lun=-1), serial=None)
        del info['data']['volume_id']
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, info)
        self.assertEqual('unknown', err.kwargs['volume_id'])

    def test_first_bad_field_is_reported(self):
        # driver_volume_type is checked before data.
        info = dict(conn(target_wwn='bad'), driver_volume_type='iscsi')
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, info)
        self.assertEqual('driver_volume_type', err.kwargs['field'])


_HEX = '0123456789abcdef'
_WWPN = st.text(_HEX, min_size=16, max_size=16)


class TestProperties(testtools.TestCase):

    @hypothesis.settings(deadline=None, database=None, max_examples=200)
    @hypothesis.given(targets=st.lists(_WWPN, min_size=1, max_size=8),
                      lun=st.integers(0, 2 ** 64 - 1), upper=st.booleans(),
                      key=st.sampled_from(['target_wwn', 'target_wwns']))
    def test_valid_inputs_normalise(self, targets, lun, upper, key):
        spelled = [t.upper() if upper else t for t in targets]
        fields = {'target_wwn': _DROP, 'target_lun': lun}
        fields[key] = spelled
        info = conn(**fields)
        result = ci.validate(info, INSTANCE_WWPNS)
        self.assertEqual(targets, result.target_wwpns)
        self.assertEqual([lun] * len(targets), result.target_luns)

    @hypothesis.settings(deadline=None, database=None, max_examples=300)
    @hypothesis.given(data=st.dictionaries(
        st.sampled_from(['target_wwn', 'target_wwns', 'target_lun',
                         'target_luns', 'initiator_target_map']),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20)
            | st.sampled_from([T1, ACTIVE[0], PARTNER[1]]),
            lambda inner: st.lists(inner, max_size=3)
            | st.dictionaries(st.text(max_size=16) | st.just(ACTIVE[0]),
                              inner, max_size=2),
            max_leaves=6)))
    def test_garbage_only_raises_invalid_connection_info(self, data):
        info = {'driver_volume_type': 'fibre_channel', 'data': data}
        try:
            result = ci.validate(info, INSTANCE_WWPNS)
        except exception.InvalidConnectionInfo as err:
            self.assertTrue(err.kwargs['field'].startswith('data.'))
            return
        self.assertTrue(result.target_wwpns)
        self.assertEqual(len(result.target_wwpns), len(result.target_luns))


class TestErrorMessages(testtools.TestCase):
    """The whole message an operator reads for each kind of bad field."""

    def message(self, instance_wwpns=None, **data):
        err = self.assertRaises(exception.InvalidConnectionInfo, ci.validate,
                                conn(**data), instance_wwpns)
        prefix = ('Invalid Fibre Channel connection_info for volume %s: '
                  'field ' % VOL)
        msg = err.format_message()
        self.assertTrue(msg.startswith(prefix), msg)
        return msg[len(prefix):]

    def test_itmap_not_a_dict(self):
        self.assertEqual(
            "data.initiator_target_map is ['x'], not a dict of initiator "
            "WWPN to target WWPNs",
            self.message(initiator_target_map=['x']))

    def test_itmap_initiator_not_the_instances(self):
        self.assertEqual(
            "data.initiator_target_map['c05076079cff0fc0'] is not one of "
            "this instance's virtual FC WWPNs (%s, %s)" % tuple(ACTIVE),
            self.message(ACTIVE[::-1], initiator_target_map={
                'c05076079cff0fc0': [T1]}))
        self.assertEqual(
            "data.initiator_target_map['c05076079cff0fc0'] is not one of "
            "this instance's virtual FC WWPNs (none)",
            self.message([], initiator_target_map={
                'c05076079cff0fc0': [T1]}))

    def test_itmap_targets_not_a_list(self):
        self.assertEqual(
            "data.initiator_target_map['%s'] is 5, not a list of target "
            "WWPNs" % ACTIVE[0],
            self.message(initiator_target_map={ACTIVE[0]: 5}))

    def test_lun_not_an_integer(self):
        self.assertEqual(
            "data.target_lun is '1' (str), not an integer LUN",
            self.message(target_lun='1'))

    def test_lun_out_of_range(self):
        self.assertEqual(
            'data.target_lun is -1, outside the LUN range 0..2**64-1',
            self.message(target_lun=-1))

    def test_luns_not_a_list(self):
        self.assertEqual(
            'data.target_luns is 3, not a list of integer LUNs',
            self.message(target_luns=3))
