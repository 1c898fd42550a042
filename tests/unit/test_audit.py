"""audit: whose a finding is, and which findings a fix may remove."""

import testtools

from nova_npiv import audit
from nova_npiv import exception
from nova_npiv import inventory

W1, W2 = 'c0507600ae370000', 'c0507600ae370001'
LPAR = '3F0C0A38-6F3C-4B7E-9D46-0C6A1D0E9A01'


def mapping(client_uuid=None, wwpns=(), vfchost='vfchost0', vios='vios-1'):
    return inventory.Mapping(
        'sys', 'sys-uuid', vios, 'vios-uuid', vfchost, 3, 'fcs0',
        '10000090fa5371f2', None, 7, None, client_uuid, 2, tuple(wwpns))


class TestOwnership(testtools.TestCase):

    def test_proof_by_partition_or_wwpns_only(self):
        own = audit.Ownership([LPAR.lower()], [frozenset((W1, W2))])
        self.assertIn('nova instance', own.proof(mapping(client_uuid=LPAR)))
        self.assertIn('fabric metadata', own.proof(mapping(wwpns=(W2, W1))))
        self.assertIsNone(own.proof(mapping(wwpns=(W1,))))
        self.assertIsNone(own.proof(mapping()))
        self.assertIsNone(audit.Ownership().proof(mapping(
            client_uuid=LPAR, wwpns=(W1, W2))))

    def test_unknown_ownership_proves_nothing(self):
        f = audit._finding(audit.NO_PORT, mapping(client_uuid=LPAR), 'x',
                           None)
        self.assertEqual((audit.UNPROVEN, ''), (f.owner, f.proof))


class TestSelect(testtools.TestCase):

    def setUp(self):
        super().setUp()
        own = audit.Ownership([LPAR])
        self.nova = audit._finding(audit.NO_PORT, mapping(client_uuid=LPAR),
                                   'x', own)
        self.other = audit._finding(audit.NO_PARTITION,
                                    mapping(vfchost='vfchost9'), 'y', own)

    def test_only_novas_by_default(self):
        self.assertEqual([self.nova],
                         audit.select([self.nova, self.other]))

    def test_named_and_included(self):
        for name in ('vios-1/vfchost9', 'sys/vios-1/vfchost9'):
            self.assertEqual([self.nova, self.other], audit.select(
                [self.nova, self.other], named=[name]))
        self.assertEqual([self.nova, self.other], audit.select(
            [self.nova, self.other], include_foreign=True))

    def test_unknown_name_refused(self):
        err = self.assertRaises(exception.NPIVConfigError, audit.select,
                                [self.nova], named=['vios-1/vfchost5'])
        self.assertIn('vios-1/vfchost5: not a finding', str(err))
