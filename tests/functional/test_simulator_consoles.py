"""Console-to-console migration in the simulator (issue 13, R1).

Two NovaLinks, one system each, one port each, sharing only the registry:
a Migrate names the remote console and user, and the remote console must
trust the source console's public SSH key.
"""

import testtools
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import management_console as mgmt
from pypowervm.tasks import migration as pvm_mig
from pypowervm.wrappers import logical_partition as pvm_lpar

from nova_npiv.simulator import Estate
from nova_npiv.simulator import hmc_topology
from nova_npiv.simulator import novalink_pair
from nova_npiv.simulator import Simulator

REMOTE = dict(tgt_mgmt_svr='127.0.0.1', tgt_mgmt_usr='wlp')


class TestTwoNovaLinks(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.est = Estate(novalink_pair()).start()
        self.addCleanup(self.est.stop)
        self.a, self.b = self.est.consoles
        self.adpt_a, self.adpt_b = self.a.adapter(), self.b.adapter()
        self.lp = self.est.model.add_lpar('sys-a', 'vm1', state='running')
        for vios, port in (('vios-a1', 'fcs0'), ('vios-a2', 'fcs1')):
            self.est.model.add_mapping('sys-a', vios, 'vm1', port=port)
        self.before = self.est.model.mappings('sys-a')

    def lpar_w(self):
        return pvm_lpar.LPAR.get(self.adpt_a, uuid=self.lp.uuid)

    def trust(self):
        mgmt.add_authorized_key(self.adpt_b, mgmt.get_public_key(self.adpt_a))

    def assertRefused(self, words, **kwargs):
        exc = self.assertRaises(pvm_exc.JobRequestFailed,
                                pvm_mig.migrate_lpar, self.lpar_w(), 'sys-b',
                                **kwargs)
        self.assertIn(words, str(exc))
        # Nothing moved, nothing changed.
        self.assertEqual('sys-a', self.est.model.lpar('vm1').system)
        self.assertEqual(self.before, self.est.model.mappings('sys-a'))
        self.assertEqual([], [m for m in self.est.model.mappings('sys-b')
                              if m.client_lpar_name == 'vm1'])

    def test_each_console_sees_only_its_system(self):
        self.assertEqual(['sys-a'], [s.name for s in self.a.model.systems()])
        self.assertNotEqual(self.a.port, self.b.port)
        self.assertNotEqual(mgmt.get_public_key(self.adpt_a),
                            mgmt.get_public_key(self.adpt_b))

    def test_authorized_keys_are_added_once(self):
        key = mgmt.get_public_key(self.adpt_a)
        self.assertTrue(key.startswith('ssh-rsa AAAA'))
        self.assertEqual((), mgmt.get_authorized_keys(self.adpt_b))
        mgmt.add_authorized_key(self.adpt_b, key)
        mgmt.add_authorized_key(self.adpt_b, key)
        self.assertEqual((key,), mgmt.get_authorized_keys(self.adpt_b))
        self.assertEqual((), mgmt.get_authorized_keys(self.adpt_a))

    def test_migration_without_the_remote_console_is_refused(self):
        self.trust()
        self.assertRefused('Target managed system sys-b is not known to this '
                           'management console')
        for validate in (True, False):
            self.assertRefused('needs both TargetRemoteHMCIPAddress and '
                               'TargetRemoteHMCUserID',
                               tgt_mgmt_svr='127.0.0.1',
                               validate_only=validate)

    def test_untrusted_key_is_refused(self):
        self.assertRefused('does not trust this management console',
                           validate_only=True, **REMOTE)
        self.assertRefused('does not trust this management console',
                           **REMOTE)
        # Trust the other way round is not the trust needed.
        mgmt.add_authorized_key(self.adpt_a, mgmt.get_public_key(self.adpt_b))
        self.assertRefused('does not trust', **REMOTE)

    def test_wrong_user_or_address_is_refused(self):
        self.trust()
        self.assertRefused('refused the logon of user admin',
                           tgt_mgmt_svr='127.0.0.1', tgt_mgmt_usr='admin')
        self.assertRefused('no management console answers at that address',
                           tgt_mgmt_svr='127.0.0.9', tgt_mgmt_usr='wlp')

    def test_hand_over(self):
        self.trust()
        pvm_mig.migrate_lpar(self.lpar_w(), 'sys-b', validate_only=True,
                             **REMOTE)
        pvm_mig.migrate_lpar(self.lpar_w(), 'sys-b', **REMOTE)
        moved = self.est.model.lpar('vm1')
        self.assertEqual(('sys-b', self.lp.uuid), (moved.system, moved.uuid))
        self.assertIsNone(self.a.model.lpar('vm1'))
        # Console A no longer has it; console B serves it.
        self.assertRaises(pvm_exc.HttpNotFound, pvm_lpar.LPAR.get,
                          self.adpt_a, uuid=self.lp.uuid)
        self.assertEqual('vm1', pvm_lpar.LPAR.get(self.adpt_b,
                                                  uuid=self.lp.uuid).name)
        self.assertEqual([], [m for m in self.est.model.mappings('sys-a')
                              if m.client_lpar_name == 'vm1'])
        after = [m for m in self.est.model.mappings('sys-b')
                 if m.client_lpar_uuid == self.lp.uuid]
        # The client WWPN pairs are kept; the partner WWPN logs in now.
        self.assertEqual(sorted(m.wwpns for m in self.before),
                         sorted(m.wwpns for m in after))
        self.assertEqual(sorted(m.wwpns[1] for m in self.before),
                         sorted(m.logged_in for m in after))
        self.assertEqual({'A', 'B'}, {m.fabric for m in after})
        # The fabric is shared: its name server sees the partner WWPNs.
        logins = self.est.model.fabric_logins()
        for m in after:
            self.assertIn(m.logged_in, logins[m.fabric])
        # And back again, once B's key is trusted by A.
        mgmt.add_authorized_key(self.adpt_a, mgmt.get_public_key(self.adpt_b))
        back = pvm_lpar.LPAR.get(self.adpt_b, uuid=self.lp.uuid)
        pvm_mig.migrate_lpar(back, 'sys-a', **REMOTE)
        self.assertEqual('sys-a', self.est.model.lpar('vm1').system)


class TestOneHmc(testtools.TestCase):

    def test_same_console_needs_no_remote_console(self):
        with Simulator(hmc_topology()) as sim:
            adpt = sim.adapter()
            lp = sim.model.add_lpar('sys-a', 'vm1', state='running')
            self.assertEqual(['npiv-staging', 'npiv-staging'],
                             [p.name for p in sim.model.lpars()
                              if p.name != 'vm1'])
            pvm_mig.migrate_lpar(pvm_lpar.LPAR.get(adpt, uuid=lp.uuid),
                                 'sys-b')
            self.assertEqual('sys-b', sim.model.lpar('vm1').system)

    def test_system_names_must_differ_across_consoles(self):
        exc = self.assertRaises(ValueError, Estate,
                                novalink_pair(systems=('s', 's')))
        self.assertIn('system names repeat across consoles: s', str(exc))
