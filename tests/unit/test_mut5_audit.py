"""What the audit reports to the operator, line by line.

The audit's log lines are its result for whoever runs ``nova-npiv audit
--fix`` or reads the start-up reconciliation: which mapping was removed
and why (kind, VIOS, server adapter, the finding's detail, the proof or
the operator's naming), which nova record could not be read, and, when
the removal fails, which system's fix it was.  They are checked in full.
"""

import logging

import fixtures
from pypowervm import exceptions as pvm_exc
import testtools

from nova_npiv import audit
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import inventory
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from tests.unit import fixtures as fx

PAIR = 'c05076079cff0e42 c05076079cff0e43'


def capture(test):
    return test.useFixture(fixtures.FakeLogger(
        name='nova_npiv.audit', level=logging.INFO,
        format='%(levelname)s %(message)s'))


class TestUnreadableRecordReport(testtools.TestCase):

    def test_the_record_is_reported_as_an_error_in_full(self):
        logs = capture(self)
        bad = fx.FakeInstance(uuid=fx.INSTANCE_UUID)
        fabric_meta.set_fabric(bad, 'B', fabric_meta.MGMT_MAPPED,
                               [(fx.V1_FCS0, PAIR)])
        bad.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                fabric_meta.get_fabric, bad, 'A')
        message = err.format_message()
        # What the operator needs to find it: the instance and the key.
        self.assertIn(fx.INSTANCE_UUID, message)
        self.assertIn(fabric_meta.state_key('A'), message)

        audit.Ownership.of_instances([bad])

        self.assertEqual(['ERROR %s' % message], logs.output.splitlines())


class FixTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = capture(self)
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        model = self.sim.model
        self.orphan1 = model.add_mapping('sys-a', 'vios-a1',
                                         client_lpar_id=40)
        self.orphan2 = model.add_mapping('sys-a', 'vios-a2',
                                         client_lpar_id=41)

    def view(self):
        return {v.name: v for v in inventory.read_console(self.adpt)}['sys-a']

    def clients(self):
        return sorted((m.vios, m.client_lpar_id)
                      for m in self.sim.model.mappings('sys-a'))


class TestRemovedReport(FixTestCase):

    def test_each_removal_is_reported_with_why_it_was_removed(self):
        view = self.view()
        own = audit.Ownership(pairs=[frozenset(
            w.lower() for w in self.orphan2.wwpns)])
        findings = audit.find([view], {'sys-a': None}, own)
        # 40 is named by the operator, 41 is proven nova's.
        chosen = audit.select(findings, named=[
            'vios-a1/%s' % self.orphan1.vfchost])

        audit.fix(view, chosen)

        self.assertEqual([], self.clients())
        self.assertEqual(
            ['WARNING Removed no-partition mapping sys-a/vios-a1/%s (client '
             'partition id 40 does not exist; named by the operator)'
             % self.orphan1.vfchost,
             'WARNING Removed no-partition mapping sys-a/vios-a2/%s (client '
             'partition id 41 does not exist; client WWPNs are in nova '
             'fabric metadata)' % self.orphan2.vfchost],
            sorted(self.logs.output.splitlines()))


class TestGoneBeforeTheFix(FixTestCase):

    def test_a_mapping_gone_before_the_fix_is_not_reported_removed(self):
        view = self.view()
        own = audit.Ownership(pairs=[frozenset(
            w.lower() for w in w_pair) for w_pair in (self.orphan1.wwpns,
                                                      self.orphan2.wwpns)])
        findings = audit.select(audit.find([view], {'sys-a': None}, own))
        self.assertEqual({40, 41}, {f.client_id for f in findings})
        # Another host's clean-up removes one after the audit's read.
        self.assertEqual(1, self.sim.model.remove_mappings(
            'sys-a', client_lpar_id=40))

        removed = audit.fix(view, findings)

        self.assertEqual([41], [f.client_id for f in removed])
        self.assertEqual([], self.clients())
        lines = self.logs.output.splitlines()
        self.assertEqual(
            ['INFO No-partition mapping sys-a/vios-a1/%s was gone when the '
             'fix was sent: nothing removed' % self.orphan1.vfchost],
            [line for line in lines if 'vios-a1' in line])
        self.assertEqual(1, len([line for line in lines
                                 if line.startswith('WARNING Removed')]))


class TestFailedFixReport(FixTestCase):

    def test_the_failure_names_the_systems_fix_and_nothing_is_reported(
            self):
        # pypowervm logs each failure with its traceback: kept out of the
        # test's output.
        self.useFixture(fixtures.FakeLogger(name='pypowervm'))
        view = self.view()
        findings = audit.find([view], {'sys-a': None})
        self.sim.inject_fault('POST', 'VirtualIOServer/', times=2)

        err = self.assertRaises(pvm_exc.MultipleExceptionsInFeedTask,
                                audit.fix, view, findings)

        self.assertIn('FeedTask audit_fix_sys-a experienced multiple '
                      'exceptions', str(err))
        self.assertEqual([('vios-a1', 40), ('vios-a2', 41)], self.clients())
        self.assertNotIn('Removed', self.logs.output)
