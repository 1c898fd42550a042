"""Bad input against the simulator: configuration and corrupt metadata.

Extends the unit corpora (tests/unit/test_conf.py for option parsing,
tests/unit/test_fabric_meta.py for metadata decoding,
tests/unit/test_connection_info.py for Cinder's connection_info) with what
the driver does with them end to end: nova-compute's ``init_host`` fails
with the option, fabric or port named and nothing sent to the VIOSes;
operations on an instance with corrupt system_metadata fail naming the
instance and the key, without a VIOS change, while delete and nova's
periodic calls keep working.
"""

import os
import tempfile

import copy

import fixtures
from nova.virt import driver as nova_driver
from nova.virt import virtapi
from oslo_config import cfg

from nova_npiv import console
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.simulator import co_managed_topology
from nova_npiv import job_requests
from nova_npiv.testing import harness
from nova_npiv.testing import invariants
from tests.functional import base

CONF = cfg.CONF


class ConfigTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(CONF.reset)
        self.w = self.world()
        self.sim = self.w.sim
        # A service whose init_host failed is never cleaned up: log its
        # session off with the simulator.
        build = console.build_adapter

        def tracked(conf):
            return self.sim.track_session(build(conf))

        self.useFixture(fixtures.MockPatchObject(console, 'build_adapter',
                                                 tracked))

    def init_host(self, **changes):
        """A new nova-compute for sys-a with ``changes`` to its nova.conf,
        read from a file as nova-compute reads it (None drops an option)."""
        harness.reset_conf()
        opts = dict(self.sim.powervm_conf('sys-a'), **changes)
        lines = ['[powervm]']
        for key, value in opts.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = ','.join(value)
            lines.append('%s = %s' % (key, value))
        fd, path = tempfile.mkstemp(suffix='.conf')
        with os.fdopen(fd, 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
        self.addCleanup(os.unlink, path)
        CONF.reset()
        CONF(['--config-file', path], project='nova')
        CONF.set_override('compute_driver', 'npiv.NPIVDriver')
        self.sim.reset_counters()
        drv = nova_driver.load_compute_driver(virtapi.VirtAPI())
        drv.init_host('host-c')
        self.addCleanup(drv.cleanup_host, 'host-c')
        return drv

    def assertNothingChanged(self, before, world=None):
        world = world or self.w
        self.assertEqual(before, invariants.snapshot(world))
        self.assertEqual([], [(r.method, r.path)
                              for r in world.sim.request_log
                              if r.method != 'GET' and r.kind != 'Logon'])

    def fails(self, exc_class, *texts, **changes):
        before = invariants.snapshot(self.w)
        err = self.assertRaises(exc_class, self.init_host, **changes)
        for text in texts:
            self.assertIn(text, str(err))
        self.assertNothingChanged(before)
        return err

    def test_the_good_configuration_starts(self):
        drv = self.init_host()
        self.assertEqual(['A', 'B'], drv.settings.fabrics)

    def test_fabric_without_ports(self):
        self.fails(exception.NPIVConfigError,
                   '[powervm] fabric_C_port_wwpns', 'fabric C has no '
                   'physical ports', fabrics=['A', 'B', 'C'])
        self.assertEqual([], self.sim.request_log)   # before any logon

    def test_port_on_no_vios(self):
        ports = self.sim.powervm_conf('sys-a')['fabric_B_port_wwpns']
        self.fails(exception.FabricPortsNotFound, 'Fabric B',
                   'c0507600deadbeef', 'sys-a',
                   fabric_B_port_wwpns=ports + ['C0:50:76:00:DE:AD:BE:EF'])

    def test_port_of_another_system(self):
        other = self.sim.powervm_conf('sys-b')['fabric_A_port_wwpns'][0]
        self.fails(exception.FabricPortsNotFound, 'Fabric A', other.lower(),
                   fabric_A_port_wwpns=[other])

    def test_port_on_a_vios_without_rmc(self):
        vios = [v for v in self.sim.model.vioses('sys-a')][1]
        port = [p for p in self.sim.model.ports('sys-a')
                if p.vios == vios.name and p.fabric == 'A'][0]
        self.sim.model.set_vios_state('sys-a', vios.name, 'running',
                                      rmc_state='inactive')
        self.fails(exception.FabricPortsNotFound, 'Fabric A',
                   port.wwpn.lower())

    def test_ports_per_fabric_out_of_range(self):
        for value in ('0', '9', 'two'):
            self.fails(exception.NPIVConfigError,
                       '[powervm] ports_per_fabric', 'from 1 to 8',
                       ports_per_fabric=value)

    def test_fabric_without_npiv_capacity(self):
        topology = copy.deepcopy(co_managed_topology())
        for vios in topology['systems'][0]['vioses']:
            vios['ports'][1]['available'] = 0
        world = self.world(topology=topology)
        before = invariants.snapshot(world)
        world.sim.reset_counters()
        err = self.assertRaises(exception.NoFabricCapacity, world.connector)
        self.assertIn('Fabric B: needs 1 physical port(s) with free NPIV '
                      'capacity, only 0 available', str(err))
        self.assertNothingChanged(before, world)

    def test_unknown_managed_system(self):
        self.fails(exception.ManagedSystemNotFound, 'sys-x',
                   'it has: sys-a, sys-b', managed_system='sys-x')

    def test_ambiguous_managed_system(self):
        self.fails(exception.AmbiguousManagedSystem, '2 systems',
                   'sys-a, sys-b', managed_system=None)

    def test_unknown_staging_partition(self):
        self.fails(exception.StagingPartitionNotFound, 'no-such-lpar',
                   staging_partition='no-such-lpar')


class CorruptMetadataTestCase(base.WorldTestCase):
    """Corrupt system_metadata: (key, value, what the error says)."""

    P_A, P_B = '10000090fa9e5000', '10000090fa9e5003'
    CASES = [
        # (changes, key named, what is said)
        ({'npiv_adpt_wwpns_A': P_A + ',c0507600ae370000'},
         'npiv_adpt_wwpns_A', 'not a multiple of 3'),
        ({'npiv_adpt_wwpns_B': P_B + ',c0507600ae37zz02,c0507600ae370003'},
         'npiv_adpt_wwpns_B', 'is not a WWPN'),
        ({'fabric_state_A': 'half_mapped'}, 'fabric_state_A',
         'unknown state'),
        ({'npiv_adpt_wwpns_B_3': P_B + ',c0507600ae370004,c0507600ae370005'},
         'npiv_adpt_wwpns_B_2', 'the port map is incomplete'),
        ({'fabric_state_B': 'inst_mapped', 'npiv_adpt_wwpns_B': ''},
         'npiv_adpt_wwpns_B', 'WWPNs are unknown'),
    ]

    def setUp(self):
        super().setUp()
        self.w = self.world()
        self.drv = self.w.drivers['host-a']

    def check_refused(self, func, key, text):
        before = invariants.snapshot(self.w)
        # The spawn's finished jobs are deleted after it (job_requests):
        # those DELETEs are not the refused call's.
        job_requests.drain_all()
        self.w.sim.reset_counters()
        err = self.assertRaises(exception.CorruptFabricMetadata, func)
        self.assertIn('Instance %s' % self.w.inst.uuid, str(err))
        self.assertIn('key %s' % key, str(err))
        self.assertIn(text, str(err))
        self.assertEqual(before, invariants.snapshot(self.w))
        self.assertEqual([], [r for r in self.w.sim.request_log
                              if r.method != 'GET'])

    def test_connector(self):
        staged = {'fabric_state_B': 'mgmt_mapped',
                  'npiv_adpt_wwpns_B': self.P_B + ',c0507600ae370002,'
                                                  'c0507600ae370003'}
        for changes, key, text in self.CASES:
            self.w.inst.system_metadata = dict(staged, **changes)
            self.check_refused(self.w.connector, key, text)

    def test_attach_extend_and_migration_check(self):
        self.w.spawn()
        good = dict(self.w.inst.system_metadata)
        wwpns = fabric_meta.active_wwpns(self.w.inst, ['A', 'B'])
        info = self.w.cinder.bdm('vol-x', 2, {'wwpns': wwpns})[
            'connection_info']
        calls = {
            'attach': lambda: self.drv.attach_volume(
                self.w.ctxt, info, self.w.inst, '/dev/sdc'),
            'extend': lambda: self.drv.extend_volume(
                self.w.ctxt, info, self.w.inst, 1),
            'migration check': lambda: self.drv.check_can_live_migrate_source(
                self.w.ctxt, self.w.inst, None),
        }
        for changes, key, text in self.CASES:
            for call in calls.values():
                self.w.inst.system_metadata = dict(good, **changes)
                self.check_refused(call, key, text)

    def test_delete_and_periodic_calls_still_work(self):
        self.w.spawn()
        self.w.inst.system_metadata['npiv_adpt_wwpns_A'] = 'garbage'
        node = self.drv.nodename
        self.assertEqual(base.NODE_UUID,
                         self.drv.get_available_resource(node)['uuid'])
        self.drv.get_info(self.w.inst)
        self.assertIn(self.w.inst.uuid, self.drv.list_instance_uuids())
        self.w.destroy()
        self.assertEqual([], invariants.gone(self.w))

