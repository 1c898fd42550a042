"""The test FC backend's fabric: who is logged in, who gets zoned, and the
simulator's login rule it relies on."""

import os

import fixtures
import requests
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Model
from nova_npiv.simulator import Simulator
from nova_npiv.testing import fabric

T_A = '500507680b2155a0'
T_B = '500507680b2255a0'
TARGETS = {'A': [T_A], 'B': [T_B]}


class TestLookup(testtools.TestCase):

    def test_only_logged_in_initiators_are_mapped(self):
        logins = {'A': {'c050760000000001'}, 'B': {'c050760000000009'}}
        dev = fabric.device_map(['C0:50:76:00:00:00:00:01',
                                 'c050760000000002'], TARGETS, logins)
        self.assertEqual({'A': {'initiator_port_wwn_list':
                                ['c050760000000001'],
                                'target_port_wwn_list': [T_A]}}, dev)
        self.assertEqual({'c050760000000001': [T_A]},
                         fabric.initiator_target_map(dev))

    def test_nobody_logged_in_maps_nothing(self):
        self.assertEqual({}, fabric.device_map(['c050760000000001'],
                                               TARGETS, {}))

    def test_parse_targets(self):
        self.assertEqual({'A': [T_A, 'c050760000000001'], 'B': [T_B]},
                         fabric.parse_targets(
                             ['A:%s|C0:50:76:00:00:00:00:01' % T_A,
                              'B:%s' % T_B]))
        self.assertRaises(ValueError, fabric.parse_targets, ['A:'])
        self.assertRaises(ValueError, fabric.parse_targets, [])


class TestArrayState(testtools.TestCase):

    def setUp(self):
        super().setUp()
        path = self.useFixture(fixtures.TempDir()).path
        self.state = fabric.ArrayState(os.path.join(path, 'array.json'))

    def test_luns_are_reused_after_delete(self):
        self.assertEqual(1, self.state.create_lun('v1', 1))
        self.assertEqual(2, self.state.create_lun('v2', 2))
        self.state.delete_lun('v1')
        self.assertEqual(1, self.state.create_lun('v3', 3))
        self.state.resize_lun('v3', 4)
        self.assertEqual(6, self.state.used_gb())
        self.assertRaises(KeyError, self.state.lun, 'v1')

    def test_zone_stays_while_another_volume_is_presented(self):
        self.state.present('v1', ['c050760000000001'])
        self.state.present('v2', ['c050760000000001', 'c050760000000003'])
        self.state.add_zones('A', {'c050760000000001': [T_A]})
        self.assertEqual([], self.state.unpresent('v1',
                                                  ['c050760000000001']))
        self.assertEqual(['c050760000000001', 'c050760000000003'],
                         self.state.unpresent(
                             'v2', ['c050760000000001', 'c050760000000003']))
        self.assertEqual({'A': ['c050760000000001']}, self.state.zoned())
        self.state.delete_zones('A', {'C0:50:76:00:00:00:00:01': [T_A]})
        self.assertEqual({}, self.state.zoned())


class TestLoginRule(testtools.TestCase):
    """A client adapter logs in through its mapped port while its partition
    runs; the management (staging) partition's at once; never unmapped."""

    def setUp(self):
        super().setUp()
        self.model = Model(default_topology(systems=('sys-a',)))
        self.mgmt = next(lp for lp in self.model.lpars('sys-a')
                         if lp.is_mgmt)

    def _logins(self):
        return {w for ws in self.model.fabric_logins().values() for w in ws}

    def test_staging_instance_and_unmapped(self):
        staged = self.model.add_mapping('sys-a', 'vios-a1',
                                        lpar=self.mgmt.name, port='fcs0')
        self.model.add_lpar('sys-a', 'vm1')
        inst = self.model.add_mapping('sys-a', 'vios-a2', lpar='vm1',
                                      port='fcs1')
        unmapped = self.model.add_mapping('sys-a', 'vios-a1', lpar='vm1',
                                          port=None)
        self.assertEqual({'A': [staged.wwpns[0]]},
                         self.model.fabric_logins())
        self.model.set_lpar_state('sys-a', 'vm1', 'running')
        self.assertEqual({'A': [staged.wwpns[0]], 'B': [inst.wwpns[0]]},
                         self.model.fabric_logins())
        self.assertNotIn(unmapped.wwpns[0], self._logins())
        self.assertNotIn(staged.wwpns[1], self._logins())

    def test_nothing_logs_in_behind_a_vios_that_is_down(self):
        self.model.add_mapping('sys-a', 'vios-a1', lpar=self.mgmt.name,
                               port='fcs0')
        self.model.set_vios_state('sys-a', 'vios-a1', 'not activated')
        self.assertEqual({}, self.model.fabric_logins())

    def test_served_over_http_without_a_console_session(self):
        staged = self.model.add_mapping('sys-a', 'vios-a1',
                                        lpar=self.mgmt.name, port='fcs0')
        sim = Simulator(default_topology(systems=('sys-a',)))
        sim.model = self.model
        sim.start()
        self.addCleanup(sim.stop)
        self.assertEqual({'A': {staged.wwpns[0]}},
                         fabric.NameServer(sim.url).logins())
        resp = requests.post(sim.url + '/fabric/logins', timeout=5)
        self.assertEqual(401, resp.status_code)
