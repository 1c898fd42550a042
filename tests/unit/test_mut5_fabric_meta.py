"""The audit keeps going past a corrupt fabric (mutation round 5).

``check_instance`` is the operator's list of what is wrong with an
instance's fabric metadata.  A fabric whose record cannot be read must not
end the audit: the fabrics after it may be corrupt too, or share client
WWPNs with one before it, and the operator repairs them one by one from this
list.  (Until now only ``test_property_garbage_never_crashes`` noticed an
audit that stops at the first corrupt fabric, and only when hypothesis
happened to draw two bad fabrics.)
"""

import testtools

from nova_npiv import fabric_meta as fm
from tests.unit.test_fabric_meta import FakeInstance
from tests.unit.test_fabric_meta import make_map
from tests.unit.test_fabric_meta import UUID

_CORRUPT = ('Instance %s has corrupt NPIV metadata in system_metadata key '
            '%s: %s')


class TestAuditPastACorruptFabric(testtools.TestCase):

    def test_every_corrupt_fabric_is_reported(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1))
        inst.system_metadata['fabric_state_A'] = 'bogus'
        inst.system_metadata['npiv_adpt_wwpns_C'] = 'garbage'
        self.assertEqual([
            _CORRUPT % (UUID, 'fabric_state_A', "unknown state 'bogus' "
                        '(expected one of unmapped, mgmt_mapped, '
                        'inst_mapped)'),
            _CORRUPT % (UUID, 'npiv_adpt_wwpns_C',
                        "token 1 'garbage' is not a WWPN (16 hex digits)"),
        ], fm.check_instance(inst, ['A', 'B', 'C']))

    def test_shared_client_wwpn_found_across_a_corrupt_fabric(self):
        # A and C carry the same client adapters; B, between them, is
        # unreadable.  Both the corruption and the clash are reported.
        inst = FakeInstance()
        fm.set_fabric(inst, 'A', fm.INST_MAPPED, make_map(1))
        fm.set_fabric(inst, 'C', fm.INST_MAPPED, make_map(1))
        inst.system_metadata['fabric_state_B'] = fm.INST_MAPPED
        active, partner = make_map(1)[0][1].split()
        self.assertEqual(
            [_CORRUPT % (UUID, 'npiv_adpt_wwpns_B',
                         'missing or empty although fabric_state_B is '
                         "inst_mapped: the mapped client adapters' WWPNs "
                         'are unknown')] +
            ['Instance %s: client WWPN %s is on fabric C (key '
             'npiv_adpt_wwpns_C) and on fabric A' % (UUID, client)
             for client in (active, partner)],
            fm.check_instance(inst, ['A', 'B', 'C']))
