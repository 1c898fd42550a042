"""Replay (issue 13, "Prove it"): a simulator seeded from real captures.

One managed system of pypowervm's ``managedsystem.txt``, the LPARs of
``lpar.txt`` and the VIOSes of ``fake_vios_feed.txt`` (their vFC mappings
included): read back through the simulator with pypowervm, the wrappers
say what reading the captures directly says; and the driver spawns,
connects and destroys an instance on that estate.
"""

import os

from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios
import pypowervm.tests as pvm_tests

from nova_npiv.simulator import Simulator
from nova_npiv.testing import invariants
from tests.functional import base

DATA = os.path.join(os.path.dirname(pvm_tests.__file__), 'data')
SYSTEM = 'Server-8246-L1C-SN0604CAA'


def replay_topology():
    return {'console': 'novalink', 'systems': [{
        'name': SYSTEM,
        'system_feed': os.path.join(DATA, 'managedsystem.txt'),
        'lpar_feed': os.path.join(DATA, 'lpar.txt'),
        'vios_feed': os.path.join(DATA, 'fake_vios_feed.txt'),
        'port_fabrics': {'fcs0': 'A', 'fcs1': 'B'},
    }]}


def captured(name, cls, adapter):
    return cls.wrap(pvmhttp.load_pvm_resp(name,
                                          adapter=adapter).get_response())


def system_view(s):
    return (s.system_name, s.uuid.lower(), s.mtms.mtms_str, s.memory_total,
            s.proc_units)


def lpar_view(w):
    return (w.name, w.id, w.uuid.upper(), w.state, w.rmc_state,
            w.is_mgmt_partition, w.env, w.mem_config.desired,
            w.proc_config.has_dedicated, w.io_config.max_virtual_slots)


def vios_view(w):
    ports = sorted((p.name, p.wwpn.upper(), p.npiv_total_ports,
                    p.npiv_available_ports) for p in w.pfc_ports)
    maps = sorted((
        (m.server_adapter.lpar_slot_num, m.server_adapter.name,
         m.server_adapter.lpar_id,
         m.backing_port.name if m.backing_port is not None else None,
         tuple(m.client_adapter.wwpns) if m.client_adapter else None,
         m.client_adapter.lpar_slot_num if m.client_adapter else None)
        for m in w.vfc_mappings), key=repr)
    return (w.name, w.id, w.uuid.upper(), w.state, w.rmc_state, ports,
            maps)


class TestReplayedWrappers(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(replay_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()

    def test_managed_system(self):
        (cap,) = [s for s in captured('managedsystem.txt', pvm_ms.System,
                                      self.adpt) if s.system_name == SYSTEM]
        (got,) = pvm_ms.System.get(self.adpt)
        self.assertEqual(system_view(cap), system_view(got))

    def test_lpars(self):
        cap = {w.uuid.upper(): lpar_view(w) for w in captured(
            'lpar.txt', pvm_lpar.LPAR, self.adpt)}
        got = {w.uuid.upper(): lpar_view(w)
               for w in pvm_lpar.LPAR.get(self.adpt)}
        self.assertEqual(21, len(cap))
        # The one known difference: linux1's entry in lpar.txt has neither
        # a memory nor an I/O configuration (a sparse capture), which the
        # simulator always renders (no memory, pypowervm's 64 slots).
        sparse = '9068B0FB-1CF0-4D23-8A23-31AC87D5F5D2'
        self.assertEqual((None, None), (cap[sparse][7], cap[sparse][9]))
        self.assertEqual((0, 64), (got[sparse][7], got[sparse][9]))
        cap[sparse] = got[sparse]
        self.assertEqual(cap, got)

    def test_vioses_with_their_mappings(self):
        cap = {w.uuid.upper(): vios_view(w) for w in captured(
            'fake_vios_feed.txt', pvm_vios.VIOS, self.adpt)}
        got = {w.uuid.upper(): vios_view(w) for w in pvm_vios.VIOS.get(
            self.adpt, xag=['ViosFCMapping', 'ViosStorage'])}
        self.assertEqual(cap, got)
        self.assertEqual(114, sum(len(v[6]) for v in got.values()))


class TestDriverOnReplay(base.WorldTestCase):

    def test_spawn_connect_destroy(self):
        w = self.world(hosts=(('host-a', SYSTEM),),
                       topology=replay_topology())
        before = invariants.snapshot(w)
        # The staging partition is the captured management partition.
        self.assertEqual('z3-9-5-126-127-00000001',
                         w.drivers['host-a'].staging.name)
        w.spawn()
        self.assertEqual([], invariants.mapped_to_instance(w, SYSTEM))
        self.assertEqual(['running'], [lp.state for lp in
                                       invariants.instance_lpars(w)])
        w.destroy()
        self.assertEqual([], invariants.gone(w))
        self.assertEqual([], invariants.unmapped_with_wwpns(w))
        after = invariants.snapshot(w)
        # The captured estate is as it was: every partition, slot, port.
        self.assertEqual(before.partitions, after.partitions)
        self.assertEqual(before.mappings, after.mappings)
        self.assertEqual(before.capacity, after.capacity)


class TestReplayTopology(base.WorldTestCase):

    def test_unknown_system_name_is_refused_naming_the_captured_ones(self):
        spec = replay_topology()
        spec['systems'][0]['name'] = 'no-such-system'
        err = self.assertRaises(ValueError, Simulator, spec)
        self.assertIn("has no system 'no-such-system'", str(err))
        self.assertIn(SYSTEM, str(err))

    def test_captured_lpars_bring_their_management_partition(self):
        spec = replay_topology()
        spec['systems'][0]['mgmt_partition'] = True
        err = self.assertRaises(ValueError, Simulator, spec)
        self.assertIn('brings its own management partition', str(err))

    def test_explicit_keys_win_over_the_capture(self):
        spec = replay_topology()
        spec['systems'][0]['memory_mb'] = 131072
        sim = Simulator(spec)
        self.assertEqual(131072, sim.model.system(SYSTEM).memory_mb)
