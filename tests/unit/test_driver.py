"""NPIVDriver on its own, on the simulated console.

The driver is loaded the way nova-compute loads it (``cmd.harness``), so
each test checks what nova's call did to the console (partitions, power
jobs, mappings) or what it answered nova, against the simulator's state.
The start-up reconciliation and the live-migration flow have tests of
their own (tests/functional).
"""

import logging
from unittest import mock

import fixtures
from nova import exception as nova_exc
from nova.objects import migrate_data as migrate_data_obj
from nova.objects import migration as migration_obj
from nova.virt import hardware
import os_resource_classes as orc
from oslo_config import cfg
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import migration as pvm_mig
from pypowervm.wrappers import job as pvm_job
import testtools

from nova_npiv import driver as npiv_driver
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import host_info
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator
from nova_npiv.testing import fake_cinder
from nova_npiv.testing import harness
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import lpm_platform
from nova_npiv.volume import migration as migration_data

CONF = cfg.CONF
INSTANCE_UUID = '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d'
NODE_UUID = '0c7e2d9a-5c3b-4e8f-9a7d-2b6f1e4c8d30'


def _reset_conf():
    for name in list(CONF.powervm.keys()):
        try:
            CONF.clear_override(name, group='powervm')
        except cfg.NoSuchOptError:
            pass
    CONF.clear_override('compute_driver')


class DriverTestCase(testtools.TestCase):

    console = 'novalink'

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv', level=logging.INFO))
        self.addCleanup(_reset_conf)
        self.node = self.useFixture(fixtures.MockPatch(
            'nova.virt.node.get_local_node_uuid',
            return_value=NODE_UUID)).mock
        # Two systems: a NovaLink's view is an HMC co-managing them.
        self.sim = Simulator(
            co_managed_topology() if self.console == 'novalink'
            else default_topology(console=self.console))
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.model = self.sim.model
        self.drv = self.load()
        self.inst = harness.new_instance(1, INSTANCE_UUID, 'host-a',
                                         node='sys-a')
        self.lpar_uuid = vm.lpar_uuid(self.inst)
        self.cinder = fake_cinder.FakeCinder()
        self.ctxt = harness.admin_context()
        self.bdms = []

    def load(self, **overrides):
        drv = harness.load_driver(self.sim, 'host-a', 'sys-a', **overrides)
        self.sim.track_session(drv.adapter)
        return drv

    def bdi(self, volumes=1):
        conn = self.drv.get_volume_connector(self.inst)
        self.bdms = [self.cinder.bdm('vol-%d' % i, i, conn)
                     for i in range(volumes)]
        return {'block_device_mapping': self.bdms}

    def spawn(self, volumes=1, **kwargs):
        self.drv.spawn(self.ctxt, self.inst, None, [], None, {},
                       block_device_info=self.bdi(volumes), **kwargs)

    def lpar(self):
        return self.model.lpar(self.lpar_uuid)

    def own_maps(self):
        return [m for m in self.model.mappings('sys-a')
                if (m.client_lpar_uuid or '').upper() == self.lpar_uuid]

    def spy_jobs(self):
        jobs = []
        run_job = self.model.run_job

        def spy(kind, uuid, operation, params, *args, **kwargs):
            if uuid.upper() == self.lpar_uuid:
                jobs.append((operation, dict(params)))
            return run_job(kind, uuid, operation, params, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(self.model, 'run_job', spy))
        return jobs


class TestHost(DriverTestCase):

    def test_init_host_finds_the_system_and_the_staging_partition(self):
        sysm = self.model.system('sys-a')
        self.assertEqual(sysm.uuid, self.drv.system_uuid)
        self.assertEqual('sys-a', self.drv.nodename)
        self.assertEqual(['sys-a'], self.drv.get_available_nodes())
        (mgmt,) = [p for p in self.model.lpars('sys-a') if p.is_mgmt]
        self.assertEqual(mgmt.uuid, self.drv.staging.uuid)
        self.assertEqual('host-a', self.drv.settings.host)
        self.assertIn('nova-npiv drives managed system sys-a (%s)'
                      % sysm.uuid, self.logs.output)

    def test_init_host_collects_the_partition_feed_before_the_vios_one(self):
        # The staging partition is found in the partition feed, whose
        # wrappers end in cycles: gone before the VIOS feed is parsed.
        order = []
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.heap.collect',
            side_effect=lambda *a: order.append('collect')))
        real = npiv_vios.read_feed
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.vios.read_feed',
            side_effect=lambda *a: order.append('vios') or real(*a)))
        self.load()
        self.assertEqual(['collect', 'vios'], order[:2])

    def test_missing_fabric_port_is_refused(self):
        port = self.model.ports('sys-a')[0]
        self.model.set_vios_state('sys-a', port.vios, 'not activated')
        err = self.assertRaises(exception.FabricPortsNotFound, self.load)
        msg = err.format_message()
        self.assertIn(port.wwpn.lower(), msg.lower())
        self.assertIn('sys-a', msg)

    def test_unknown_staging_partition_is_refused_at_start(self):
        self.assertRaises(exception.StagingPartitionNotFound, self.load,
                          staging_partition='no-such-lpar')

    def test_second_init_host_logs_the_first_session_off(self):
        old = self.drv.adapter
        with mock.patch.object(old.session, '_logoff') as logoff:
            self.drv.init_host('host-a')
        logoff.assert_called_once_with()
        self.assertIsNot(old, self.drv.adapter)
        self.sim.track_session(self.drv.adapter)

    def test_cleanup_host_survives_a_failed_logoff(self):
        with mock.patch.object(self.drv.adapter.session, '_logoff',
                               side_effect=RuntimeError('gone')) as logoff:
            self.drv.cleanup_host('host-a')
        logoff.assert_called_once_with()
        npiv_driver.NPIVDriver(None).cleanup_host('host-a')

    def test_node_uuid_is_novas_local_identity_read_once(self):
        self.assertEqual({NODE_UUID: 'sys-a'},
                         self.drv.get_nodenames_by_uuid())
        self.assertEqual(NODE_UUID, self.drv.node_uuid)
        self.node.assert_called_once_with()

    def test_host_facts(self):
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.host_info.host_uptime', return_value='up 3 days'))
        self.assertEqual('up 3 days', self.drv.get_host_uptime())
        self.assertEqual(CONF.my_ip, self.drv.get_host_ip_addr())
        self.assertEqual('[]', self.drv.get_instance_disk_info(self.inst))
        caps = self.drv.capabilities
        self.assertTrue(caps['supports_evacuate'])
        self.assertTrue(caps['supports_extend_volume'])
        self.assertTrue(caps['supports_multiattach'])


class TestResources(DriverTestCase):

    def test_available_resource_reports_used_not_free(self):
        self.model.add_lpar('sys-a', 'other', memory_mb=4096, vcpus=2,
                            state='running')
        sysm = self.drv._refresh_host()
        res = self.drv.get_available_resource('sys-a')
        total_mem = sysm.memory_configurable
        self.assertEqual(total_mem, res['memory_mb'])
        self.assertEqual(total_mem - sysm.memory_free, res['memory_mb_used'])
        self.assertGreater(res['memory_mb_used'], 0)
        vcpus = int(sysm.proc_units_configurable)
        self.assertEqual(vcpus, res['vcpus'])
        self.assertEqual(vcpus - int(sysm.proc_units_avail),
                         res['vcpus_used'])
        self.assertGreater(res['vcpus_used'], 0)
        self.assertEqual((NODE_UUID, 'sys-a', 'phyp', 0, 0, 0, 1, None),
                         (res['uuid'], res['hypervisor_hostname'],
                          res['hypervisor_type'], res['local_gb'],
                          res['local_gb_used'], res['disk_available_least'],
                          res['hypervisor_version'], res['numa_topology']))
        self.assertEqual([('ppc64le', 'phyp', 'hvm'),
                          ('ppc64', 'phyp', 'hvm')],
                         res['supported_instances'])
        self.assertEqual(host_info.cpu_info(sysm), res['cpu_info'])

    def test_provider_inventory(self):
        # Cores and memory whole: ratio 1.0 whatever nova.conf says, what
        # the VIOSes, the management partition and the hypervisor use
        # reserved on top of nova's reserved_host_* options.
        self.useFixture(fixtures.MockPatchObject(CONF, 'reserved_host_cpus',
                                                 2))
        self.useFixture(fixtures.MockPatchObject(
            CONF, 'reserved_host_memory_mb', 512))
        self.useFixture(fixtures.MockPatchObject(
            CONF, 'cpu_allocation_ratio', 4.0))
        tree = mock.Mock()
        self.drv.update_provider_tree(tree, 'sys-a')
        sysm = self.drv.host_wrapper
        cap = host_info.Capacity(sysm, [])
        [(node, inv), _kw] = tree.update_inventory.call_args
        self.assertEqual('sys-a', node)
        self.assertEqual({orc.VCPU, orc.MEMORY_MB}, set(inv))
        self.assertEqual(1.0, inv[orc.VCPU]['allocation_ratio'])
        self.assertEqual(1.0, inv[orc.MEMORY_MB]['allocation_ratio'])
        self.assertEqual(cap.total_vcpus, inv[orc.VCPU]['total'])
        self.assertEqual(cap.total_mb, inv[orc.MEMORY_MB]['total'])
        self.assertEqual(cap.reserved_vcpus + 2, inv[orc.VCPU]['reserved'])
        self.assertEqual(cap.reserved_mb + 512,
                         inv[orc.MEMORY_MB]['reserved'])
        self.assertGreater(cap.reserved_mb, 0)


class TestInstances(DriverTestCase):

    def test_listed_without_management_staging_and_foreign_partitions(self):
        mine = self.model.add_lpar('sys-a', vm.lpar_name(self.inst),
                                   uuid=self.lpar_uuid)
        self.model.add_lpar('sys-a', 'other')
        self.model.add_lpar('sys-b', 'elsewhere')
        self.assertEqual([mine.name], self.drv.list_instances())
        self.assertEqual([INSTANCE_UUID.lower()],
                         self.drv.list_instance_uuids())

    def test_named_staging_partition_is_not_an_instance(self):
        self.model.add_lpar('sys-a', 'stage')
        mine = self.model.add_lpar('sys-a', vm.lpar_name(self.inst),
                                   uuid=self.lpar_uuid)
        drv = self.load(staging_partition='stage')
        self.assertEqual([mine.name], drv.list_instances())

    def test_exists_and_info(self):
        self.assertFalse(self.drv.instance_exists(self.inst))
        err = self.assertRaises(nova_exc.InstanceNotFound,
                                self.drv.get_info, self.inst)
        self.assertIn(INSTANCE_UUID, err.format_message())
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.assertTrue(self.drv.instance_exists(self.inst))
        info = self.drv.get_info(self.inst)
        self.assertIsInstance(info, hardware.InstanceInfo)
        self.assertEqual(vm.to_power_state('running'), info.state)

    def test_diagnostics_of_the_instance_lpar(self):
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid)
        seen = []
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.host_info.legacy_diagnostics',
            side_effect=lambda lpar_w, vols: seen.append(
                (lpar_w.uuid, vols)) or 'legacy'))
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.host_info.instance_diagnostics',
            side_effect=lambda lpar_w, vols: seen.append(
                (lpar_w.uuid, vols)) or 'new'))
        self.useFixture(fixtures.MockPatchObject(
            self.drv, '_volume_ids', return_value=['vol-0']))
        self.assertEqual('legacy', self.drv.get_diagnostics(self.inst))
        self.assertEqual('new', self.drv.get_instance_diagnostics(self.inst))
        self.assertEqual([(self.lpar_uuid, ['vol-0'])] * 2, seen)
        self.assertEqual([mock.call(self.inst)] * 2,
                         self.drv._volume_ids.call_args_list)

    def test_volume_ids_of_volume_bdms_only(self):
        bdms = [mock.Mock(is_volume=True, volume_id='v1'),
                mock.Mock(is_volume=False, volume_id=None),
                mock.Mock(is_volume=True, volume_id='v2')]
        with mock.patch('nova.objects.BlockDeviceMappingList.'
                        'get_by_instance_uuid', return_value=bdms) as get:
            self.assertEqual(['v1', 'v2'], self.drv._volume_ids(self.inst))
        self.assertEqual(INSTANCE_UUID, get.call_args.args[1])
        self.assertTrue(get.call_args.args[0].is_admin)


class TestSpawnDestroy(DriverTestCase):

    def test_spawn_boots_the_lpar_with_its_mappings(self):
        self.spawn(volumes=2)
        lpar = self.lpar()
        self.assertEqual(('running', 'sys-a'), (lpar.state, lpar.system))
        self.assertEqual((4096, 2), (lpar.memory_mb, lpar.vcpus))
        self.assertEqual({'A', 'B'}, {m.fabric for m in self.own_maps()})
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.INST_MAPPED,
                             fabric_meta.get_fabric(self.inst, fabric).state)

    def test_spawn_shapes_the_lpar_once(self):
        """The flavor check's wrapper is the one created: the LPAR builder
        (a few ms of CPU per spawn) runs once, not twice."""
        with mock.patch.object(vm, 'build', wraps=vm.build) as build:
            self.spawn()
        self.assertEqual(1, build.call_count)
        self.assertEqual(vm.lpar_uuid(self.inst).upper(),
                         self.lpar().uuid.upper())

    def test_spawn_without_power_on(self):
        self.spawn(power_on=False)
        self.assertEqual('not activated', self.lpar().state)
        self.assertTrue(self.own_maps())

    def test_spawn_without_a_boot_volume_is_aborted(self):
        bdi = self.bdi(2)
        for bdm in bdi['block_device_mapping']:
            bdm['boot_index'] = bdm['boot_index'] + 1
        err = self.assertRaises(
            nova_exc.BuildAbortException, self.drv.spawn, self.ctxt,
            self.inst, None, [], None, {}, block_device_info=bdi)
        self.assertIn('boot', err.format_message().lower())
        self.assertIsNone(self.lpar())

    def test_bad_volume_is_refused_before_anything_is_created(self):
        bdi = self.bdi(2)
        del bdi['block_device_mapping'][1]['connection_info']['data'][
            'target_wwn']
        before = self.model.lpars()
        self.assertRaises(exception.InvalidConnectionInfo, self.drv.spawn,
                          self.ctxt, self.inst, None, [], None, {},
                          block_device_info=bdi)
        self.assertEqual(before, self.model.lpars())

    def test_empty_connection_info_is_bad_input(self):
        bdi = self.bdi(1)
        bdi['block_device_mapping'][0]['connection_info'] = {}
        err = self.assertRaises(exception.InvalidConnectionInfo,
                                self.drv.spawn, self.ctxt, self.inst, None,
                                [], None, {}, block_device_info=bdi)
        self.assertIn('no volume is described', err.format_message())
        self.assertIsNone(self.lpar())

    def test_failed_power_on_undoes_the_spawn(self):
        self.sim.fail_job('PowerOn')
        self.assertRaises(exception.JobFailed, self.spawn)
        self.assertIsNone(self.lpar())
        self.assertEqual([], self.own_maps())

    def test_destroy_removes_lpar_and_mappings(self):
        self.spawn()
        self.model.open_vterm('sys-a', self.lpar_uuid)
        jobs = self.spy_jobs()
        self.drv.destroy(self.ctxt, self.inst, None,
                         {'block_device_mapping': self.bdms})
        self.assertIsNone(self.lpar())
        self.assertEqual([], self.own_maps())
        self.assertEqual(['PowerOff', 'CloseVterm'], [j[0] for j in jobs])
        self.assertEqual('true', jobs[0][1].get('immediate'))
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.UNMAPPED,
                             fabric_meta.get_fabric(self.inst, fabric).state)

    def test_destroy_without_lpar(self):
        self.drv.get_volume_connector(self.inst)
        self.drv.destroy(self.ctxt, self.inst, None, None)
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.UNMAPPED,
                             fabric_meta.get_fabric(self.inst, fabric).state)

    def test_destroy_after_evacuation_leaves_the_metadata(self):
        self.spawn()
        meta = dict(self.inst.system_metadata)
        self.inst.host = 'host-b'
        self.drv.destroy(self.ctxt, self.inst, None, None)
        self.assertIsNone(self.lpar())
        self.assertEqual([], self.own_maps())
        self.assertEqual(meta, dict(self.inst.system_metadata))

    def test_cleanup_after_live_migration_leaves_the_metadata(self):
        self.spawn()
        meta = dict(self.inst.system_metadata)
        self.drv.cleanup(self.ctxt, self.inst, None, migrate_data=object())
        self.assertIsNone(self.lpar())
        self.assertEqual(meta, dict(self.inst.system_metadata))

    def test_cleanup_of_our_instance_clears_the_metadata(self):
        self.spawn()
        self.drv.cleanup(self.ctxt, self.inst, None)
        self.assertIsNone(self.lpar())
        self.assertEqual(fabric_meta.UNMAPPED,
                         fabric_meta.get_fabric(self.inst, 'A').state)

    def test_destroy_refused_for_unidentifiable_staging(self):
        self.spawn()
        err = exception.CorruptFabricMetadata(instance=INSTANCE_UUID,
                                              key='k', reason='r')
        with mock.patch('nova_npiv.volume.npiv.NPIVVolumeDriver.'
                        'unidentifiable_staging', return_value=[err]):
            self.assertIs(err, self.assertRaises(
                exception.CorruptFabricMetadata, self.drv.destroy,
                self.ctxt, self.inst, None, None))
        self.assertEqual('running', self.lpar().state)
        self.assertTrue(self.own_maps())


class TestPower(DriverTestCase):

    def setUp(self):
        super().setUp()
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.jobs = self.spy_jobs()

    def test_power_off_hard_without_timeout_soft_with(self):
        self.drv.power_off(self.inst)
        self.assertEqual('true', self.jobs[-1][1].get('immediate'))
        self.drv.power_on(self.ctxt, self.inst, None)
        self.assertEqual(('PowerOn', 'running'),
                         (self.jobs[-1][0], self.lpar().state))
        self.drv.power_off(self.inst, timeout=30, retry_interval=5)
        self.assertNotEqual('true', self.jobs[-1][1].get('immediate'))
        self.assertEqual('not activated', self.lpar().state)

    def test_reboot_hard_and_soft(self):
        self.drv.reboot(self.ctxt, self.inst, None, 'HARD')
        self.drv.reboot(self.ctxt, self.inst, None, 'SOFT')
        self.assertEqual([('PowerOff', 'true', 'true'),
                          ('PowerOff', 'true', None)],
                         [(op, p.get('restart'), p.get('immediate'))
                          for op, p in self.jobs])
        self.assertEqual('running', self.lpar().state)

    def test_reboot_of_a_stopped_lpar_starts_it(self):
        self.model.set_lpar_state('sys-a', self.lpar_uuid, 'not activated')
        self.drv.reboot(self.ctxt, self.inst, None, 'HARD')
        self.assertEqual(['PowerOn'], [j[0] for j in self.jobs])
        self.assertEqual('running', self.lpar().state)

    def test_power_of_a_missing_lpar(self):
        self.model.set_lpar_state('sys-a', self.lpar_uuid, 'not activated')
        self.model.delete_lpar('sys-a', self.lpar_uuid)
        for call in (lambda: self.drv.power_off(self.inst),
                     lambda: self.drv.power_on(self.ctxt, self.inst, None),
                     lambda: self.drv.reboot(self.ctxt, self.inst, None,
                                             'SOFT')):
            self.assertRaises(nova_exc.InstanceNotFound, call)


class TestVolumes(DriverTestCase):

    def test_connector_names_the_instance_wwpns(self):
        conn = self.drv.get_volume_connector(self.inst)
        self.assertEqual(sorted(fabric_meta.active_wwpns(
            self.inst, self.drv.settings.fabrics)), sorted(conn['wwpns']))
        self.assertEqual(fabric_meta.host_name(self.inst), conn['host'])

    def test_attach_and_detach(self):
        self.spawn()
        before = self.own_maps()
        info = self.cinder.connection_info(
            'vol-9', self.drv.get_volume_connector(self.inst))
        self.drv.attach_volume(self.ctxt, info, self.inst, '/dev/sdb')
        self.drv.detach_volume(self.ctxt, info, self.inst, '/dev/sdb')
        self.assertEqual(len(before), len(self.own_maps()))

    def test_detach_with_unusable_connection_info_succeeds(self):
        self.spawn()
        for info in ({}, {'driver_volume_type': 'fibre_channel',
                          'serial': 'vol-x', 'data': {}}):
            self.drv.detach_volume(self.ctxt, info, self.inst, '/dev/sdb')
        self.assertIn('Detaching a volume of instance %s whose stored '
                      'connection_info is unusable' % INSTANCE_UUID,
                      self.logs.output)
        self.assertTrue(self.own_maps())

    def test_attach_with_empty_connection_info_is_refused(self):
        self.assertRaises(exception.InvalidConnectionInfo,
                          self.drv.attach_volume, self.ctxt, None,
                          self.inst, '/dev/sdb')

    def test_extend_checks_the_volume(self):
        self.spawn()
        self.drv.extend_volume(self.ctxt, self.bdms[0]['connection_info'],
                               self.inst, 2 << 30)
        bad = {'driver_volume_type': 'fibre_channel', 'serial': 'v',
               'data': {}}
        self.assertRaises(exception.InvalidConnectionInfo,
                          self.drv.extend_volume, self.ctxt, bad,
                          self.inst, 2 << 30)


class TestLiveMigrationChecks(DriverTestCase):

    def test_destination_refuses_block_migration(self):
        err = self.assertRaises(
            nova_exc.MigrationPreCheckError,
            self.drv.check_can_live_migrate_destination, self.ctxt,
            self.inst, None, None, block_migration=True)
        self.assertIn('block migration', err.format_message())

    def test_destination_refuses_fabrics_it_has_not(self):
        self.spawn()
        drv = self.load(fabrics=['A'])
        err = self.assertRaises(exception.LiveMigrationDataError,
                                drv.check_can_live_migrate_destination,
                                self.ctxt, self.inst, None, None)
        self.assertIn('fabric(s) B not configured on the destination',
                      err.format_message())

    def test_destination_data(self):
        self.spawn()
        data = self.drv.check_can_live_migrate_destination(
            self.ctxt, self.inst, None, None)
        self.assertIsInstance(data, migrate_data_obj.LibvirtLiveMigrateData)
        self.assertEqual((False, True, True, True),
                         (data.block_migration, data.is_shared_block_storage,
                          data.is_shared_instance_path,
                          data.is_volume_backed))
        self.assertIsNone(
            self.drv.cleanup_live_migration_destination_check(self.ctxt,
                                                              data))

    def test_source_refuses_fabrics_not_mapped(self):
        self.drv.get_volume_connector(self.inst)
        err = self.assertRaises(exception.LiveMigrationDataError,
                                self.drv.check_can_live_migrate_source,
                                self.ctxt, self.inst, object())
        self.assertIn('fabric(s) A, B are not mapped to the instance',
                      err.format_message())

    def dest_check(self):
        dst = harness.load_driver(self.sim, 'host-b', 'sys-b')
        self.sim.track_session(dst.adapter)
        return dst.check_can_live_migrate_destination(self.ctxt, self.inst,
                                                      None, None)

    def test_source_passes_the_data_on(self):
        self.spawn()
        data = self.dest_check()
        system, targets = migration_data.take_offer(self.inst)
        self.assertEqual('sys-b', system)
        self.assertEqual({'A', 'B'}, set(targets))
        migration_data.put_offer(self.inst, system, targets)
        self.sim.reset_counters()
        self.assertIs(data, self.drv.check_can_live_migrate_source(
            self.ctxt, self.inst, data))
        self.assertEqual(1, self.sim.count('PUT', 'job:MigrateValidate'))
        self.assertNotIn(migration_data.OFFER_KEY, self.inst.system_metadata)
        # The offered targets are what the console validates.
        bad = {'A': ['vios-x/9//fcs0'], 'B': targets['B']}
        migration_data.put_offer(self.inst, system, bad)
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                self.drv.check_can_live_migrate_source,
                                self.ctxt, self.inst, data)
        self.assertIn('No VIOS vios-x on managed system sys-b',
                      err.format_message())

    def test_source_refused_without_rmc(self):
        self.spawn()
        data = self.dest_check()
        self.model.set_rmc_down(True)
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                self.drv.check_can_live_migrate_source,
                                self.ctxt, self.inst, data)
        self.assertIn('does not have an active RMC connection',
                      err.format_message())
        self.assertEqual(0, self.sim.count('PUT', 'job:MigrateValidate'))

    def test_source_refused_by_the_console(self):
        self.spawn()
        data = self.dest_check()
        self.sim.fail_job('MigrateValidate', message='HSCLA319 no way')
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                self.drv.check_can_live_migrate_source,
                                self.ctxt, self.inst, data)
        self.assertIn('refused to migrate instance %s to sys-b'
                      % self.inst.uuid, err.format_message())
        self.assertIn('HSCLA319 no way', err.format_message())

    def test_source_refused_while_a_migration_is_failed(self):
        self.spawn()
        data = self.dest_check()
        self.sim.fail_job('Migrate', midway=True)
        lpar_w = self.drv._lpar(self.inst)
        self.assertRaises(pvm_exc.JobRequestFailed,
                          pvm_mig.migrate_lpar, lpar_w, 'sys-b')
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                self.drv.check_can_live_migrate_source,
                                self.ctxt, self.inst, data)
        # pypowervm's can_lpm sees the partition is not running first.
        self.assertIn('LPAR is not in an active state', err.format_message())

    def test_rollback_at_source_forgets_the_targets(self):
        self.spawn()
        migration_data.set_targets(self.inst, {'A': ['vios-b1/1//fcs0']})
        self.drv.rollback_live_migration_at_source(self.ctxt, self.inst,
                                                   None)
        self.assertEqual({}, migration_data.get_targets(self.inst))
        # Not in our copy: the database's is read; a failure is logged.
        with mock.patch('nova.objects.Instance.get_by_uuid',
                        side_effect=RuntimeError('db down')):
            self.drv.rollback_live_migration_at_source(self.ctxt, self.inst,
                                                       None)
        self.assertIn('Could not forget the live-migration targets',
                      self.logs.output)

    def test_force_complete_is_not_implemented(self):
        err = self.assertRaises(NotImplementedError,
                                self.drv.live_migration_force_complete,
                                self.inst)
        self.assertIn('cannot be forced to complete', str(err))


def dest(*args):
    return migration_data.dest_system(*args)


class TestLiveMigrationSteps(DriverTestCase):

    def test_dest_system_from_the_migration(self):
        data = migrate_data_obj.LibvirtLiveMigrateData()
        data.migration = migration_obj.Migration(dest_node='sys-b')
        self.assertEqual('sys-b', dest(self.ctxt, 'host-b', data))

    def test_dest_system_from_the_compute_node(self):
        node = mock.Mock(hypervisor_hostname='sys-b')
        data = migrate_data_obj.LibvirtLiveMigrateData()
        with mock.patch('nova.objects.ComputeNode.'
                        'get_first_node_by_host_for_old_compat',
                        return_value=node) as get:
            self.assertEqual('sys-b', dest(self.ctxt, 'host-b', None))
            self.assertEqual('sys-b', dest(self.ctxt, 'host-b', data))
            data.migration = migration_obj.Migration(dest_node=None)
            self.assertEqual('sys-b', dest(self.ctxt, 'host-b', data))
            data.migration = migration_obj.Migration()
            self.assertEqual('sys-b', dest(self.ctxt, 'host-b', data))
        self.assertEqual([mock.call(self.ctxt, 'host-b')] * 4,
                         get.call_args_list)

    @staticmethod
    def flags(**kw):
        for name, value in kw.items():
            CONF.set_override(name, value, group='powervm')

    def settle(self, error):
        return lpm_platform.settle(self.drv.adapter, self.inst,
                                   self.drv.system_uuid, error)

    def test_settle_decides_from_the_partition(self):
        self.flags(lpm_settle_timeout=0, lpm_settle_interval=0.01)
        failed = exception.JobFailed(operation='Migrate', target='x',
                                     reason='y')
        # Gone from this console: it went to another.
        self.assertEqual(lpm_platform.MOVED, self.settle(failed))
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.assertEqual(lpm_platform.STAYED, self.settle(failed))
        self.model.delete_lpar('sys-a', self.lpar_uuid)
        self.model.add_lpar('sys-b', 'mine', uuid=self.lpar_uuid)
        self.assertEqual(lpm_platform.MOVED, self.settle(failed))
        # Unreadable until the deadline: unsettled, never "stayed".
        with mock.patch.object(vm, 'locate',
                               side_effect=pvm_exc.TimeoutError('x')):
            self.assertRaises(exception.LiveMigrationUnsettled, self.settle,
                              failed)

    def test_settle_recovers_a_failed_migration(self):
        self.flags(lpm_settle_timeout=5, lpm_settle_interval=0.01)
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.sim.fail_job('Migrate', midway=True)
        lpar_w = vm.locate(self.drv.adapter, self.inst)
        self.assertRaises(pvm_exc.JobRequestFailed, pvm_mig.migrate_lpar,
                          lpar_w, 'sys-b')
        self.assertEqual('Migration_Failed',
                         self.model.lpar(self.lpar_uuid).migration_state)
        # Even a lost reply: the partition says it failed.
        self.assertEqual(lpm_platform.STAYED,
                         self.settle(pvm_exc.ConnectionError('lost')))
        self.assertEqual(1, self.sim.count('PUT', 'job:MigrateRecover'))
        lp = self.model.lpar(self.lpar_uuid)
        self.assertEqual(('sys-a', 'running', 'Not_Migrating'),
                         (lp.system, lp.state, lp.migration_state))

    def test_settle_never_returns_while_migrating(self):
        self.flags(lpm_settle_timeout=1, lpm_settle_interval=0.01)
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid,
                            state='running')
        self.sim.job_seconds = 3600
        lpar_w = vm.locate(self.drv.adapter, self.inst)
        # A Migrate job under way whose reply we never saw: submitted by
        # a plain pypowervm adapter (the driver's waits for the job).
        adpt = self.sim.adapter()
        tmpl = pvm_job.Job.wrap(adpt.read(
            'LogicalPartition', root_id=self.lpar_uuid, suffix_type='do',
            suffix_parm='Migrate'))
        tmpl.add_job_parameters_to_existing(tmpl.create_job_parameter(
            'TargetManagedSystemName', 'sys-b'))
        adpt.create_job(tmpl.entry.element, 'LogicalPartition', lpar_w.uuid)
        err = self.assertRaises(exception.LiveMigrationUnsettled, self.settle,
                                pvm_exc.ConnectionError('lost'))
        self.assertIn('migrating running, MigrationState Migration_Starting',
                      err.format_message())
        self.assertEqual(0, self.sim.count('PUT', 'job:MigrateRecover'))
        # Timed out: the migration is aborted, then it has stayed.
        self.assertEqual(lpm_platform.STAYED, self.settle(
            exception.JobTimedOut(operation='Migrate', target='x',
                                  seconds=1)))
        self.assertEqual(1, self.sim.count('PUT', 'job:MigrateAbort'))

    def test_adopt_at_destination_retries_console_errors(self):
        self.useFixture(fixtures.MockPatchObject(migration_data, 'time'))
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid)
        calls = []

        def adopt(npiv_self):
            calls.append(npiv_self)
            if len(calls) < migration_data.ADOPT_TRIES:
                raise pvm_exc.TimeoutError('hiccup')

        with mock.patch.object(migration_data.NPIVMigration, 'adopt', adopt):
            self.drv.post_live_migration_at_destination(self.ctxt,
                                                        self.inst, None)
        self.assertEqual(3, migration_data.ADOPT_TRIES)
        self.assertEqual(migration_data.ADOPT_TRIES, len(calls))
        self.assertEqual([mock.call(1.0), mock.call(2.0)],
                         migration_data.time.sleep.call_args_list)
        self.assertIn('trying again', self.logs.output)

    def test_adopt_at_destination_gives_up(self):
        self.useFixture(fixtures.MockPatchObject(migration_data, 'time'))
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid)
        err = exception.ConsoleReplyRefused(method='GET', path='/x',
                                            reason='r')
        with mock.patch('nova_npiv.volume.migration.NPIVMigration.adopt',
                        side_effect=err) as adopt:
            self.assertIs(err, self.assertRaises(
                exception.ConsoleReplyRefused,
                self.drv.post_live_migration_at_destination, self.ctxt,
                self.inst, None))
        self.assertEqual(migration_data.ADOPT_TRIES, adopt.call_count)
        self.assertEqual(migration_data.ADOPT_TRIES - 1,
                         migration_data.time.sleep.call_count)

    def test_adopt_other_errors_are_not_retried(self):
        self.useFixture(fixtures.MockPatchObject(migration_data, 'time'))
        self.model.add_lpar('sys-a', 'mine', uuid=self.lpar_uuid)
        with mock.patch('nova_npiv.volume.migration.NPIVMigration.adopt',
                        side_effect=ValueError('bug')) as adopt:
            self.assertRaises(ValueError,
                              self.drv.post_live_migration_at_destination,
                              self.ctxt, self.inst, None)
        self.assertEqual(1, adopt.call_count)

    def test_pre_live_migration_records_the_targets(self):
        self.spawn()
        self.inst.save = mock.Mock()
        data = object()
        self.assertIs(data, self.drv.pre_live_migration(
            self.ctxt, self.inst, None, None, None, data))
        self.assertTrue(migration_data.get_targets(self.inst))
        self.inst.save.assert_called_once_with()

    def test_rollback_at_destination_clears_the_targets(self):
        self.spawn()
        self.drv.pre_live_migration(self.ctxt, self.inst, None, None, None,
                                    None)
        self.inst.save = mock.Mock()
        self.drv.rollback_live_migration_at_destination(
            self.ctxt, self.inst, None, None)
        self.assertEqual({}, migration_data.get_targets(self.inst) or {})
        self.inst.save.assert_called_once_with()
