"""A hand-edited state key must not crash the audit (regression).

``recorded_fabrics`` used to return the tail of every ``fabric_state_`` key;
``fabric_state_A_1`` or ``fabric_state_`` then reached ``get_fabric`` as a
fabric name, which raised NPIVConfigError, and ``Ownership.of_instances``
(start-up reconciliation, ``nova-npiv audit``) stopped on that one instance.
"""

import testtools

from nova_npiv import audit
from nova_npiv import fabric_meta as fm
from tests.unit.test_fabric_meta import FakeInstance
from tests.unit.test_fabric_meta import make_map
from tests.unit.test_fabric_meta import UUID


class TestBadStateKeys(testtools.TestCase):

    def _inst(self):
        inst = FakeInstance()
        fm.set_fabric(inst, 'B', fm.INST_MAPPED, make_map(1))
        inst.system_metadata['fabric_state_A_1'] = fm.UNMAPPED
        inst.system_metadata['fabric_state_'] = fm.INST_MAPPED
        return inst

    def test_are_no_fabrics(self):
        self.assertEqual(['B'], fm.recorded_fabrics(self._inst()))

    def test_audit_reads_the_other_fabrics(self):
        own = audit.Ownership.of_instances([self._inst()])
        self.assertEqual({frozenset(make_map(1)[0][1].split())}, own.pairs)

    def test_check_instance_reports_the_keys(self):
        inst = self._inst()
        line = ('Instance %s: key %%s belongs to a fabric that is not '
                'configured (configured: B)' % UUID)
        self.assertEqual([line % 'fabric_state_', line % 'fabric_state_A_1'],
                         fm.check_instance(inst, fm.recorded_fabrics(inst)))
