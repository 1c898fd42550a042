"""The simulator's topology spec, state model, concurrency and entry points."""

import io
import json
import logging
import os
import sys
import tempfile
import threading
from unittest import mock

import fixtures
from pypowervm import const as pvm_const
from pypowervm.tasks import vfc_mapper
from pypowervm.utils import transaction as pvm_tx
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Model
from nova_npiv.simulator import normalize_topology
from nova_npiv.simulator import server
from nova_npiv.simulator import Simulator

FMAP = pvm_const.XAG.VIO_FMAP
STOR = pvm_const.XAG.VIO_STOR


class TestTopology(testtools.TestCase):

    def test_default_topology_novalink(self):
        model = Model(default_topology())
        self.assertEqual(['sys-a', 'sys-b'],
                         [s.name for s in model.systems()])
        self.assertEqual('novalink', model.console)
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
        model = Model(default_topology())
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


class TestConcurrency(testtools.TestCase):
    """Parallel FeedTasks for different LPARs: no mapping lost or doubled."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.sim = Simulator(default_topology(systems=('sys-a',)))
        self.sim.start()
        self.addCleanup(self.sim.stop)

    def test_parallel_feedtasks(self):
        adpt = self.sim.adapter()
        host = self.sim.model.system('sys-a').uuid
        lpars = [self.sim.model.add_lpar('sys-a', 'vm%d' % i)
                 for i in range(6)]
        ports = {f: [p.wwpn for p in self.sim.model.ports() if p.fabric == f]
                 for f in 'AB'}
        errors = []

        def attach(lpar):
            try:
                getter = pvm_vios.VIOS.getter(
                    adpt, parent_class=pvm_ms.System, parent_uuid=host,
                    xag=[FMAP, STOR])
                feed = getter.get()
                ftsk = pvm_tx.FeedTask('attach_%s' % lpar.name, feed)
                for fabric in 'AB':
                    for port_map in vfc_mapper.derive_base_npiv_map(
                            feed, ports[fabric], 1):
                        def add(vios_w, port_map=port_map):
                            if vfc_mapper.find_vios_for_wwpn(
                                    [vios_w], port_map[0])[0] is None:
                                return None
                            return vfc_mapper.add_map(vios_w, host,
                                                      lpar.uuid, port_map)
                        ftsk.add_functor_subtask(add)
                ftsk.execute()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=attach, args=(lp,))
                   for lp in lpars]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual([], errors)
        maps = self.sim.model.mappings('sys-a')
        self.assertEqual(12, len(maps))
        for lpar in lpars:
            mine = [m for m in maps if m.client_lpar_uuid == lpar.uuid]
            self.assertEqual(['A', 'B'], sorted(m.fabric for m in mine))
            self.assertEqual(2, len({m.client_slot for m in mine}))
        wwpns = [w for m in maps for w in m.wwpns]
        self.assertEqual(24, len(set(wwpns)))
        used = sum(p.total - p.available for p in self.sim.model.ports())
        self.assertEqual(12, used)
        self.assertIn('POST VirtualIOServer', self.sim.counters())


class TestLparUpdate(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.sim = Simulator(default_topology(systems=('sys-a',)))
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()

    def test_update_with_etag(self):
        mem = pvm_bp.PartitionMemoryConfiguration.bld(self.adpt, 1024)
        proc = pvm_bp.PartitionProcessorConfiguration.bld_dedicated(
            self.adpt, 1)
        lpar = pvm_lpar.LPAR.bld(self.adpt, 'vm1', mem, proc).create(
            parent_type=pvm_ms.System,
            parent_uuid=self.sim.model.system('sys-a').uuid)
        stale = pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid)
        lpar.name = 'vm1-renamed'
        lpar = lpar.update()
        self.assertEqual('vm1-renamed', lpar.name)
        self.assertEqual('vm1-renamed', self.sim.model.lpar(lpar.uuid).name)
        stale.name = 'lost-update'
        from pypowervm import exceptions as pvm_exc
        exc = self.assertRaises(pvm_exc.HttpError, stale.update)
        self.assertEqual(412, exc.response.status)


class TestEntryPoints(testtools.TestCase):

    def test_serve_forever_prints_conf_and_stops(self):
        out = io.StringIO()
        stop = threading.Event()
        result = {}

        def run():
            result['sim'] = server.serve_forever(
                default_topology(console='hmc'), out=out, stop_event=stop)

        thread = threading.Thread(target=run)
        thread.start()
        for _ in range(100):
            if 'fabric_B_port_wwpns' in out.getvalue().split('sys-b')[-1]:
                break
            stop.wait(0.05)
        stop.set()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        text = out.getvalue()
        self.assertIn('listening on http://127.0.0.1:', text)
        self.assertEqual(2, text.count('[powervm]'))
        self.assertIn('managed_system = sys-a', text)
        self.assertIn('fabrics = A,B', text)
        self.assertIn('protocol = http', text)
        sim = result['sim']
        conf = sim.powervm_conf('sys-b')
        self.assertEqual(['A', 'B'], conf['fabrics'])
        self.assertEqual(
            [p.wwpn for p in sim.model.ports('sys-b') if p.fabric == 'A'],
            conf['fabric_A_port_wwpns'])
        self.assertEqual(('127.0.0.1', 'http', 'admin', 's3cret-pass'),
                         (conf['host'], conf['protocol'], conf['username'],
                          conf['password']))

    def test_serve_forever_reads_a_topology_file(self):
        fd, path = tempfile.mkstemp(suffix='.json')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as fh:
            json.dump(default_topology(systems=('solo',)), fh)
        out = io.StringIO()
        stop = threading.Event()
        stop.set()
        sim = server.serve_forever(topology_file=path, out=out,
                                   stop_event=stop)
        self.assertEqual(['solo'], [s.name for s in sim.model.systems()])
        self.assertIn('managed_system = solo', out.getvalue())

    def test_main_parses_options(self):
        with mock.patch.object(server, 'serve_forever') as serve:
            self.assertEqual(0, server.main(['--port', '0', '--console',
                                             'hmc']))
        spec = serve.call_args[0][0]
        self.assertEqual('hmc', spec['console'])
        self.assertEqual(0, serve.call_args[1]['port'])
        with mock.patch.object(server, 'serve_forever') as serve:
            server.main(['--topology', '/some/file.json'])
        self.assertEqual('/some/file.json',
                         serve.call_args[1]['topology_file'])

    def test_refuses_to_run_on_green_threads(self):
        patcher = mock.Mock()
        patcher.is_monkey_patched.return_value = True
        with mock.patch.dict(sys.modules, {'eventlet.patcher': patcher}):
            exc = self.assertRaises(RuntimeError,
                                    Simulator(default_topology()).start)
        self.assertIn('OS_NOVA_DISABLE_EVENTLET_PATCHING', str(exc))
