"""Every refusal of a Cinder FC connection_info, as the operator reads it.

The message is all an operator has to tell Cinder's driver bug from ours:
it names the volume, the exact field and what is wrong with its value.
(test_connection_info.py checks which field each bad input is blamed on;
this file pins the whole sentence of each kind of refusal.)
"""

import testtools

from nova_npiv import connection_info as ci
from nova_npiv import exception
from tests.unit.test_connection_info import _DROP
from tests.unit.test_connection_info import ACTIVE
from tests.unit.test_connection_info import conn
from tests.unit.test_connection_info import T1
from tests.unit.test_connection_info import T2
from tests.unit.test_connection_info import VOL

T3 = '500507680b23ac13'
NOT_A_WWPN = 'not a WWPN (16 hex digits, colons allowed)'
NO_TARGETS = 'the volume has no target WWPNs'

# connection_info, volume named, field and reason in full
CASES = [
    (['fibre_channel'], 'unknown', "connection_info is 'list', not a dict"),
    (dict(conn(), driver_volume_type='iscsi'), VOL,
     "driver_volume_type is 'iscsi', expected 'fibre_channel'"),
    ({'driver_volume_type': 'fibre_channel', 'serial': VOL}, VOL,
     'data is missing'),
    (dict(conn(), data=[T1]), VOL, "data is 'list', not a dict"),
    (conn(target_wwn=_DROP), VOL,
     'data.target_wwn is missing or empty (neither target_wwn nor '
     'target_wwns): ' + NO_TARGETS),
    (conn(target_wwn='', target_wwns=[]), VOL,
     "data.target_wwn is missing or empty (target_wwn='', "
     "target_wwns=[]): " + NO_TARGETS),
    (conn(target_wwn=_DROP, target_wwns=[]), VOL,
     'data.target_wwns is missing or empty (target_wwns=[]): ' + NO_TARGETS),
    (conn(target_wwn='junk'), VOL, "data.target_wwn is 'junk', " + NOT_A_WWPN),
    (conn(target_wwn=[T1, 'x']), VOL,
     "data.target_wwn[1] is 'x', " + NOT_A_WWPN),
    (conn(target_wwns={T1: 1}), VOL,
     "data.target_wwns is {'%s': 1}, not a WWPN string or a list of WWPNs"
     % T1),
    (conn(target_wwn=[T1, T2, T3], target_luns=[1, 2]), VOL,
     'data.target_luns has 2 LUN(s) [1, 2] for 3 target WWPN(s): needs '
     'one, or one per target'),
    (conn(target_wwn=[T1], target_lun=_DROP, target_luns=[1, 2]), VOL,
     'data.target_luns has 2 LUN(s) [1, 2] for 1 target WWPN(s): needs '
     'one, or one per target'),
    (conn(target_wwn=[T1, T2], target_luns=[0, -3]), VOL,
     'data.target_luns[1] is -3, outside the LUN range 0..2**64-1'),
    (conn(initiator_target_map={ACTIVE[0]: [T1, 'x']}), VOL,
     "data.initiator_target_map['%s'][1] is 'x', %s"
     % (ACTIVE[0], NOT_A_WWPN)),
    # The volume is named by data.volume_id when the serial is empty, and
    # by whatever the serial is otherwise.
    (dict(conn(target_lun=-1), serial=''), VOL,
     'data.target_lun is -1, outside the LUN range 0..2**64-1'),
    (dict(conn(target_lun=-1), serial=0), '0',
     'data.target_lun is -1, outside the LUN range 0..2**64-1'),
]


class TestRefusalMessages(testtools.TestCase):

    def test_each_refusal_in_full(self):
        for info, volume, reason in CASES:
            err = self.assertRaises(exception.InvalidConnectionInfo,
                                    ci.validate, info, ACTIVE)
            self.assertEqual(
                'Invalid Fibre Channel connection_info for volume %s: '
                'field %s' % (volume, reason), str(err))
            self.assertEqual(volume, err.kwargs['volume_id'])


class TestVolumeIdOfOddShapes(testtools.TestCase):

    def test_data_not_a_dict_leaves_the_volume_unknown(self):
        info = {'driver_volume_type': 'fibre_channel', 'data': 'x'}
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, info)
        self.assertEqual('unknown', err.kwargs['volume_id'])

    def test_empty_volume_id_in_data_is_unknown(self):
        info = dict(conn(target_lun=-1, volume_id=''), serial=None)
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                ci.validate, info)
        self.assertEqual('unknown', err.kwargs['volume_id'])
