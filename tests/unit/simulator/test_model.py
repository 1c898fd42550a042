"""The simulator's topology spec and state model, without HTTP."""

import copy
import json
import os
import tempfile

import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Model
from nova_npiv.simulator import normalize_topology
from nova_npiv.simulator import Simulator


class TestTopology(testtools.TestCase):

    def test_default_topology_of_two_systems_is_an_hmc(self):
        self.assertEqual('hmc', Model(default_topology()).console)
        self.assertEqual('novalink',
                         Model(default_topology(systems=('s',))).console)

    def test_novalink_over_two_systems_is_refused(self):
        """R1: a NovaLink manages only the system it runs on."""
        spec = default_topology(console='hmc')
        spec['console'] = 'novalink'
        exc = self.assertRaises(ValueError, Model, spec)
        self.assertIn('a NovaLink console manages only the system it runs '
                      'on, not 2 (sys-a, sys-b)', str(exc))
        self.assertRaises(ValueError, default_topology, console='novalink')
        self.assertEqual('novalink',
                         Model(default_topology(systems=('s',))).console)

    def test_co_managed_default_topology(self):
        model = Model(default_topology(console='hmc', mgmt_partition=True))
        self.assertEqual(['sys-a', 'sys-b'],
                         [s.name for s in model.systems()])
        self.assertEqual('hmc', model.console)
        for system in ('sys-a', 'sys-b'):
            vioses = model.vioses(system)
            self.assertEqual(2, len(vioses))
            ports = model.ports(system)
            self.assertEqual(4, len(ports))
            for fabric in ('A', 'B'):
                on_fabric = [p for p in ports if p.fabric == fabric]
                self.assertEqual({v.name for v in vioses},
                                 {p.vios for p in on_fabric})
            self.assertEqual({64}, {p.total for p in ports})
            self.assertEqual({64}, {p.available for p in ports})
            (mgmt,) = [lp for lp in model.lpars(system) if lp.is_mgmt]
            self.assertEqual('running', mgmt.state)
            self.assertEqual(mgmt.name, model.system(system).mgmt_partition)
        wwpns = [p.wwpn for p in model.ports()]
        self.assertEqual(len(wwpns), len(set(wwpns)))
        self.assertEqual([], model.mappings())

    def test_default_topology_hmc(self):
        model = Model(default_topology(console='hmc'))
        self.assertEqual('hmc', model.console)
        self.assertEqual([], model.lpars())
        self.assertEqual([None, None],
                         [s.mgmt_partition for s in model.systems()])
        self.assertRaises(ValueError, default_topology, console='ivm')

    def test_existing_mappings_are_spread_over_fabrics_and_ports(self):
        model = Model(default_topology(systems=('sys-a',),
                                       existing_mappings=10))
        maps = model.mappings('sys-a')
        self.assertEqual(10, len(maps))
        self.assertEqual({'A': 5, 'B': 5}, {
            f: len([m for m in maps if m.fabric == f]) for f in 'AB'})
        self.assertEqual(sorted(p.total - p.available
                                for p in model.ports()), [2, 2, 3, 3])
        self.assertTrue(all(m.client_lpar_uuid and m.logged_in
                            for m in maps))
        self.assertEqual(6, len(model.lpars('sys-a')))

    def test_populated_system_keeps_room_for_new_partitions(self):
        spec = default_topology(systems=('sys-a',), total_ports=1000,
                                existing_mappings=2000)
        model = Model(spec)
        self.assertEqual(2000, len(model.mappings('sys-a')))
        system = model.system('sys-a')
        self.assertGreater(system.memory_free_mb, 200000)
        model.add_lpar('sys-a', 'big', memory_mb=65536)
        job = model.run_job('LogicalPartition', model.lpar('big').uuid,
                            'PowerOn', [])
        self.assertEqual('COMPLETED_OK', job.status)

    def test_existing_mappings_beyond_capacity_is_refused(self):
        exc = self.assertRaises(ValueError, Model, default_topology(
            systems=('sys-a',), total_ports=2, existing_mappings=10))
        self.assertIn('capacity', str(exc))

    def test_spec_errors_name_the_item(self):
        cases = [
            ({'systems': [{'name': 's', 'vioses': [
                {'name': 'v'}, {'name': 'v'}]}]}, 'partition names repeat'),
            ({'systems': [{'name': 's', 'vioses': [{'name': 'v', 'ports': [
                {'name': 'fcs0', 'total': 4, 'available': 5}]}]}]},
             'system s VIOS v port fcs0: available'),
            ({'systems': [{'name': 's'}, {'name': 's'}]},
             'system names repeat'),
            ({'console': 'ivm'}, 'console'),
            ({'systems': [{'name': 's', 'vioses': [{'name': 'v', 'ports': [
                {'name': 'fcs0', 'wwpn': 'xyz'}]}]}]}, 'bad wwpn'),
            ({'systems': [{'name': 's', 'lpars': [
                {'name': 'l', 'state': 'on'}]}]}, 'LPAR l state'),
            ({'systems': [{'name': 's', 'vioses': [
                {'name': 'v', 'physical_volumes': -1}]}]},
             'VIOS v physical_volumes'),
        ]
        for spec, message in cases:
            exc = self.assertRaises(ValueError, normalize_topology, spec)
            self.assertIn(message, str(exc))

    def test_explicit_ids_uuids_and_wwpns_are_kept(self):
        spec = {'console': 'hmc', 'systems': [{
            'name': 's', 'uuid': 'e7344c5b-79b5-3e73-8f64-94821424bc25',
            'vioses': [{'name': 'v', 'id': 4,
                        'uuid': '1300c76f-9814-4a4d-b1f0-5b69352a7dea',
                        'ports': [{'name': 'fcs3', 'fabric': 'X',
                                   'wwpn': '10:00:00:90:fa:53:71:f1'}]}],
            'lpars': [{'name': 'l', 'id': 1, 'state': 'running'}]}]}
        model = Model(spec)
        (vios,) = model.vioses()
        self.assertEqual((4, '1300C76F-9814-4A4D-B1F0-5B69352A7DEA'),
                         (vios.id, vios.uuid))
        self.assertEqual('10000090FA5371F1', model.ports()[0].wwpn)
        self.assertEqual(1, model.lpars()[0].id)
        self.assertEqual('e7344c5b-79b5-3e73-8f64-94821424bc25',
                         model.system('s').uuid)

    def test_vios_luns_and_error(self):
        spec = default_topology(systems=('s-a',), physical_volumes=3)
        spec['systems'][0]['vioses'][0]['error'] = True
        norm = normalize_topology(spec)
        v1, v2 = norm['systems'][0]['vioses']
        self.assertEqual((3, 3), (v1['physical_volumes'],
                                  v2['physical_volumes']))
        self.assertEqual('the VIOS is in an error state', v1['error'])
        self.assertIsNone(v2['error'])
        model = Model(spec)
        with model.lock:
            states = model.partition_states('VirtualIOServer')
            self.assertEqual([3, 3], [v.physical_volumes for v in states])
            self.assertEqual(['the VIOS is in an error state', None],
                             [v.error for v in states])

    def test_load_topology_file(self):
        spec = default_topology(console='hmc', systems=('only',))
        fd, path = tempfile.mkstemp(suffix='.json')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as fh:
            json.dump(spec, fh)
        from nova_npiv.simulator import load_topology
        self.assertEqual(normalize_topology(spec), load_topology(path))


class TestModelHelpers(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.model = Model(default_topology(systems=('sys-a',)))

    def test_plant_and_remove_mappings(self):
        lpar = self.model.add_lpar('sys-a', 'vm1', state='running')
        made = self.model.add_mapping('sys-a', 'vios-a1', lpar='vm1',
                                      port='fcs1')
        self.assertEqual((lpar.uuid, 'vm1', 'B'), (
            made.client_lpar_uuid, made.client_lpar_name, made.fabric))
        self.assertEqual(made.wwpns[0], made.logged_in)
        self.assertEqual(3, made.client_slot)
        orphan = self.model.add_mapping('sys-a', 'vios-a2',
                                        client_lpar_id=77, port='fcs0')
        self.assertIsNone(orphan.client_lpar_uuid)
        self.assertIsNotNone(orphan.client_href_uuid)
        self.assertEqual(2, len(orphan.wwpns))
        self.assertNotEqual(lpar.id, 77)
        self.assertEqual(1, self.model.remove_mappings(client_lpar_id=77))
        self.assertEqual(1, self.model.remove_mappings(wwpn=made.wwpns[1]))
        self.assertEqual([], self.model.mappings())
        self.assertEqual({64}, {p.available for p in self.model.ports()})

    def test_new_partition_ids_skip_orphaned_ones(self):
        self.model.add_mapping('sys-a', 'vios-a1', client_lpar_id=4,
                               port='fcs0', client_adapter=False)
        self.assertEqual(5, self.model.add_lpar('sys-a', 'vm1').id)

    def test_next_wwpns_are_unique_across_systems(self):
        model = Model(default_topology(console='hmc', mgmt_partition=True))
        wwpns = model.next_wwpns('sys-a', 8) + model.next_wwpns('sys-b', 8)
        self.assertEqual(32, len(set(wwpns)))
        planted = model.add_mapping('sys-a', 'vios-a1', lpar='novalink-sys-a',
                                    port='fcs0')
        self.assertFalse({w.lower() for w in wwpns} & set(planted.wwpns))

    def test_set_states_and_delete(self):
        self.model.add_lpar('sys-a', 'vm1')
        self.assertEqual('running',
                         self.model.set_lpar_state('sys-a', 'vm1',
                                                   'running').state)
        self.model.add_mapping('sys-a', 'vios-a1', lpar='vm1', port='fcs0')
        self.model.delete_lpar('sys-a', 'vm1')
        (orphan,) = self.model.mappings()
        self.assertFalse(orphan.has_client_adapter)
        self.model.set_vios_state('sys-a', 'vios-a1', 'not activated')
        vios = [v for v in self.model.vioses() if v.name == 'vios-a1'][0]
        self.assertEqual(('not activated', 'inactive'),
                         (vios.state, vios.rmc_state))
        self.assertRaises(KeyError, self.model.mappings, 'sys-z')


class TestDeterminism(testtools.TestCase):

    def test_same_spec_same_identities(self):
        def identities(spec):
            sim = Simulator(spec)
            model = sim.model
            return ([(s.name, s.uuid) for s in model.systems()],
                    [(v.name, v.uuid) for v in model.vioses()],
                    [(lp.name, lp.uuid) for lp in model.lpars()],
                    [(p.vios, p.name, p.wwpn) for p in model.ports()],
                    [m.wwpns for m in model.mappings()],
                    model.next_wwpns('sys-a', 2))

        spec = default_topology(existing_mappings=6)
        first = identities(copy.deepcopy(spec))
        self.assertEqual(first, identities(copy.deepcopy(spec)))
        other = copy.deepcopy(spec)
        other['seed'] = 2
        second = identities(other)
        self.assertNotEqual(first[1], second[1])
        self.assertNotEqual(first[3], second[3])
        all_wwpns = [w for pair in first[4] for w in pair] + first[5]
        self.assertEqual(len(all_wwpns), len(set(w.lower()
                                                 for w in all_wwpns)))
