"""audit: whose a finding is, and which findings a fix may remove."""

import logging

import fixtures
import testtools

from nova_npiv import audit
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import inventory
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv import vm
from tests.unit import fixtures as fx

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

    def test_several_names(self):
        third = audit._finding(audit.NO_PARTITION,
                               mapping(vfchost='vfchost8'), 'z', None)
        self.assertEqual([self.nova, self.other, third], audit.select(
            [self.nova, self.other, third],
            named=['vios-1/vfchost9', 'sys/vios-1/vfchost8']))

    def test_every_unknown_name_is_named(self):
        err = self.assertRaises(
            exception.NPIVConfigError, audit.select, [self.nova],
            named=['vios-1/vfchost7', 'vios-1/vfchost5', 'vios-1/vfchost0'])
        self.assertEqual(str(exception.NPIVConfigError(
            option='--mapping', reason='vios-1/vfchost5, vios-1/vfchost7: '
            'not a finding of this audit')), str(err))


PAIR_A = 'c05076079cff0e42 c05076079cff0e43'
PAIR_B = 'C05076079CFF0E44 c05076079cff0e45'


def _instance(uuid, fabrics=None, chosen=None):
    inst = fx.FakeInstance(uuid=uuid)
    for fabric, (state, pair) in (fabrics or {}).items():
        fabric_meta.set_fabric(inst, fabric, state, [(fx.V1_FCS0, pair)])
    if chosen:
        inst.system_metadata[vm.LPAR_UUID_KEY] = chosen
    return inst


class TestOwnershipOfInstances(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.audit', level=logging.INFO))

    def test_partitions_of_live_instances_only(self):
        live = _instance(fx.INSTANCE_UUID, chosen='chosen-uuid')
        gone = _instance('0b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6e')
        own = audit.Ownership.of_instances([live], [gone])
        self.assertEqual({vm.lpar_uuid(live), 'CHOSEN-UUID'},
                         own.lpar_uuids)
        self.assertEqual(set(), own.pairs)
        self.assertEqual(set(), own.staged_ok)

    def test_pairs_of_every_instance_staged_of_live_ones(self):
        live = _instance(fx.INSTANCE_UUID, {
            'A': (fabric_meta.MGMT_MAPPED, PAIR_A),
            'B': (fabric_meta.INST_MAPPED, PAIR_B)})
        gone = _instance('0b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6e', {
            'A': (fabric_meta.MGMT_MAPPED, 'c0507600ae370000 '
                  'c0507600ae370001')})
        own = audit.Ownership.of_instances([live], [gone])
        pair_a = frozenset(PAIR_A.split())
        pair_b = frozenset(PAIR_B.lower().split())
        pair_gone = frozenset((W1, W2))
        self.assertEqual({pair_a, pair_b, pair_gone}, own.pairs)
        self.assertEqual({pair_a}, own.staged_ok)
        self.assertEqual('client WWPNs are in nova fabric metadata',
                         own.proof(mapping(wwpns=(W2, W1))))

    def test_corrupt_metadata_is_logged_and_skipped(self):
        bad = _instance(fx.INSTANCE_UUID, {
            'B': (fabric_meta.MGMT_MAPPED, PAIR_B)})
        bad.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        own = audit.Ownership.of_instances([bad])
        self.assertEqual({frozenset(PAIR_B.lower().split())}, own.pairs)
        self.assertIn(fabric_meta.state_key('A'), self.logs.output)
        self.assertIn(fx.INSTANCE_UUID, self.logs.output)

    def test_lpar_uuids_compared_upper_case(self):
        own = audit.Ownership(['abc'])
        self.assertEqual({'ABC'}, own.lpar_uuids)
        self.assertEqual('client partition is a nova instance',
                         own.proof(mapping(client_uuid='aBc')))


class TestReportAndName(testtools.TestCase):

    def test_mapping_name(self):
        f = audit._finding(audit.NO_PORT, mapping(vfchost='vfchost4'), 'x',
                           None)
        self.assertEqual('sys/vios-1/vfchost4', audit.mapping_name(f))

    def test_only_unproven_are_reported(self):
        logs = self.useFixture(fixtures.FakeLogger(name='nova_npiv.audit'))
        own = audit.Ownership([LPAR])
        ours = audit._finding(audit.NO_PORT, mapping(
            client_uuid=LPAR, vfchost='vfchost1'), 'd1', own)
        theirs = audit._finding(audit.NO_PARTITION, mapping(
            vfchost='vfchost2'), 'd2', own)
        audit.report_unproven([ours, theirs])
        self.assertNotIn('vfchost1', logs.output)
        self.assertIn("Left no-partition mapping sys/vios-1/vfchost2 (d2): "
                      "nothing proves it is nova's", logs.output)


class TestFixOnConsole(testtools.TestCase):
    """fix() removes exactly the findings, one POST per VIOS touched."""

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.audit', level=logging.INFO))
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        model = self.sim.model
        self.keep = model.add_lpar('sys-a', 'keep', state='running')
        model.add_mapping('sys-a', 'vios-a1', self.keep.uuid)
        model.add_mapping('sys-a', 'vios-a2', self.keep.uuid)
        self.orphan1 = model.add_mapping('sys-a', 'vios-a1',
                                         client_lpar_id=40)
        self.orphan2 = model.add_mapping('sys-a', 'vios-a1',
                                         client_lpar_id=41)
        self.orphan_b = model.add_mapping('sys-b', 'vios-b2',
                                          client_lpar_id=42)

    def views(self):
        return {v.name: v for v in inventory.read_console(self.adpt)}

    def clients(self, system):
        return sorted((m.vios, m.client_lpar_id)
                      for m in self.sim.model.mappings(system))

    def test_only_the_findings_of_the_view_go(self):
        views = self.views()
        findings = audit.find(list(views.values()),
                              {'sys-a': None, 'sys-b': None})
        self.assertEqual({('sys-a', 40), ('sys-a', 41), ('sys-b', 42)},
                         {(f.system, f.client_id) for f in findings})
        before_b = self.clients('sys-b')
        self.sim.reset_counters()
        removed = audit.fix(views['sys-a'], findings)
        self.assertEqual({40, 41}, {f.client_id for f in removed})
        self.assertEqual([('vios-a1', self.keep.id),
                          ('vios-a2', self.keep.id)], self.clients('sys-a'))
        self.assertEqual(before_b, self.clients('sys-b'))
        # One POST: only vios-a1 held something to remove.
        self.assertEqual(1, self.sim.count('POST'))
        self.assertIn('Removed no-partition mapping sys-a/vios-a1/%s'
                      % self.orphan1.vfchost, self.logs.output)
        self.assertIn('named by the operator', self.logs.output)

    def test_the_proof_is_logged(self):
        views = self.views()
        own = audit.Ownership(pairs=[frozenset(
            w.lower() for w in self.orphan2.wwpns)])
        findings = audit.select(audit.find([views['sys-a']],
                                           {'sys-a': None}, own))
        self.assertEqual([41], [f.client_id for f in findings])
        audit.fix(views['sys-a'], findings)
        self.assertEqual(sorted(
            [('vios-a1', 40), ('vios-a1', self.keep.id),
             ('vios-a2', self.keep.id)]), self.clients('sys-a'))
        self.assertIn('client WWPNs are in nova fabric metadata',
                      self.logs.output)

    def test_nothing_for_this_system(self):
        views = self.views()
        findings = [f for f in audit.find(list(views.values()),
                                          {'sys-a': None, 'sys-b': None})
                    if f.system == 'sys-b']
        self.sim.reset_counters()
        self.assertEqual([], audit.fix(views['sys-a'], findings))
        self.assertEqual(0, self.sim.count())
