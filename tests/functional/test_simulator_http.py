"""The simulator over HTTP: concurrency, LPAR updates and serving.

What needs no HTTP is under tests/unit/simulator/ (the model and topology
in test_model.py, the command line's options in test_cli.py, the server's
refusals in test_server.py).
"""

import io
import json
import logging
import os
import tempfile
import threading

import fixtures
from pypowervm import const as pvm_const
from pypowervm.tasks import vfc_mapper
from pypowervm.utils import transaction as pvm_tx
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import cli
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator

FMAP = pvm_const.XAG.VIO_FMAP
STOR = pvm_const.XAG.VIO_STOR


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
            result['sim'] = cli.serve_forever(
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
        sim = cli.serve_forever(topology_file=path, out=out,
                                   stop_event=stop)
        self.assertEqual(['solo'], [s.name for s in sim.model.systems()])
        self.assertIn('managed_system = solo', out.getvalue())
