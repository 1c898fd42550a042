"""Driver behaviours that reach the platform or nova, checked on the console.

Power operations are judged by the PowerOff/PowerOn job parameters the
simulated console received, resources by comparing with the simulated
managed system, the audit and the live-migration pre-checks by what they
refuse or report.
"""

import fixtures
from nova import exception as nova_exc

from nova_npiv import audit
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import inventory
from nova_npiv.testing import harness
from nova_npiv.volume import migration as migration_data
from tests.functional import base


class PowerJobsTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world()
        self.drv = self.w.drivers['host-a']
        self.w.spawn(volumes=1)
        self.jobs = []
        run_job = self.w.sim.model.run_job

        def spy(kind, uuid, operation, params, *args, **kwargs):
            if uuid.upper() == self.w.lpar_uuid:
                self.jobs.append((operation, dict(params)))
            return run_job(kind, uuid, operation, params, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(self.w.sim.model, 'run_job',
                                                 spy))

    def state(self):
        return self.w.sim.model.lpar(self.w.lpar_uuid).state

    def test_power_off_without_timeout_is_immediate(self):
        # nova passes timeout=0 for a forced stop (no clean shutdown).
        self.drv.power_off(self.w.inst, timeout=0)
        [(op, params)] = self.jobs
        self.assertEqual('PowerOff', op)
        self.assertEqual('shutdown', params['operation'])
        self.assertEqual('true', params.get('immediate'))
        self.assertNotEqual('true', params.get('restart'))
        self.assertEqual('not activated', self.state())

    def test_power_off_with_timeout_is_not_immediate(self):
        self.drv.power_off(self.w.inst, timeout=60, retry_interval=10)
        [(op, params)] = self.jobs
        self.assertEqual('PowerOff', op)
        self.assertEqual('shutdown', params['operation'])
        self.assertNotEqual('true', params.get('immediate'))
        self.assertNotEqual('true', params.get('restart'))
        self.assertEqual('not activated', self.state())

    def test_power_off_of_a_stopped_partition_sends_nothing(self):
        self.drv.power_off(self.w.inst, timeout=0)
        del self.jobs[:]
        self.drv.power_off(self.w.inst, timeout=0)
        self.assertEqual([], self.jobs)

    def test_hard_reboot_is_an_immediate_restart(self):
        self.drv.reboot(None, self.w.inst, None, 'HARD')
        [(op, params)] = self.jobs
        self.assertEqual('PowerOff', op)
        self.assertEqual('true', params.get('restart'))
        self.assertEqual('true', params.get('immediate'))
        self.assertEqual('running', self.state())

    def test_soft_reboot_is_a_normal_restart(self):
        self.drv.reboot(None, self.w.inst, None, 'SOFT')
        [(op, params)] = self.jobs
        self.assertEqual('PowerOff', op)
        self.assertEqual('true', params.get('restart'))
        self.assertNotEqual('true', params.get('immediate'))
        self.assertEqual('running', self.state())

    def test_reboot_of_a_stopped_partition_powers_it_on(self):
        self.drv.power_off(self.w.inst, timeout=0)
        del self.jobs[:]
        self.drv.reboot(None, self.w.inst, None, 'HARD')
        self.assertEqual(['PowerOn'], [op for op, _ in self.jobs])
        self.assertEqual('running', self.state())

    def test_resume_on_host_boot_starts_a_stopped_partition(self):
        self.drv.power_off(self.w.inst, timeout=0)
        del self.jobs[:]
        self.drv.resume_state_on_host_boot(None, self.w.inst, None, None)
        self.assertEqual(['PowerOn'], [op for op, _ in self.jobs])
        self.assertEqual('running', self.state())

    def test_resume_on_host_boot_leaves_a_running_partition(self):
        self.drv.resume_state_on_host_boot(None, self.w.inst, None, None)
        self.assertEqual([], self.jobs)
        self.assertEqual('running', self.state())

    def test_a_stuck_reboot_is_finished_hard(self):
        # The first instance has no LPAR: the others are still rebooted.
        gone = harness.new_instance(9, '0f3e2d1c-0b0a-4998-8776-655443322110',
                                    'host-a', node='sys-a')
        self.drv.poll_rebooting_instances(120, [gone, self.w.inst])
        [(op, params)] = self.jobs
        self.assertEqual('PowerOff', op)
        self.assertEqual('true', params.get('restart'))
        self.assertEqual('true', params.get('immediate'))
        self.assertEqual('running', self.state())
        self.assertIn('No LPAR to reboot', self.logs.output)


class ResourcesTestCase(base.WorldTestCase):

    def test_used_memory_and_processors_follow_the_running_partitions(self):
        w = self.world()
        drv = w.drivers['host-a']
        system = w.sim.model.system('sys-a')
        before = drv.get_available_resource('sys-a')
        self.assertEqual(system.memory_mb, before['memory_mb'])
        self.assertEqual(int(system.proc_units), before['vcpus'])
        # Used is what is not free (the hypervisor and the VIOSes).
        self.assertEqual(system.memory_mb - system.memory_free_mb,
                         before['memory_mb_used'])
        self.assertGreater(before['memory_mb_used'], 0)
        self.assertLess(before['memory_mb_used'], before['memory_mb'])
        self.assertGreater(before['vcpus_used'], 0)
        self.assertLess(before['vcpus_used'], before['vcpus'])
        self.assertEqual(drv.node_uuid, before['uuid'])

        # The instance's flavor: 4096 MB, 2 vCPUs, running after spawn.
        w.spawn(volumes=1)
        running = drv.get_available_resource('sys-a')
        self.assertEqual(before['memory_mb_used'] + 4096,
                         running['memory_mb_used'])
        self.assertEqual(before['vcpus_used'] + 2, running['vcpus_used'])
        self.assertEqual(before['memory_mb'], running['memory_mb'])
        self.assertEqual(before['vcpus'], running['vcpus'])

        drv.power_off(w.inst)
        stopped = drv.get_available_resource('sys-a')
        self.assertEqual(before['memory_mb_used'], stopped['memory_mb_used'])
        self.assertEqual(before['vcpus_used'], stopped['vcpus_used'])


class AuditTestCase(base.WorldTestCase):

    def test_mapping_without_client_adapter_is_reported_and_removed(self):
        w = self.world()
        w.spawn(volumes=1)
        model = w.sim.model
        vios = model.vioses('sys-a')[1].name
        gone = model.add_mapping('sys-a', vios, lpar=w.lpar_uuid,
                                 port='fcs1', client_adapter=False)
        healthy = model.mappings('sys-a')
        adapter = w.drivers['host-a'].adapter

        [view] = inventory.read_console(adapter, only='sys-a')
        findings = audit.find([view], {'sys-a': None})
        self.assertEqual([audit.NO_CLIENT_ADAPTER],
                         [f.kind for f in findings])
        [found] = findings
        self.assertEqual((vios, gone.vfchost, gone.server_slot, ()),
                         (found.vios, found.vfchost, found.server_slot,
                          found.wwpns))
        self.assertIn(w.inst.name, found.detail)

        audit.fix(view, findings)
        # The operator's record of what was removed.
        self.assertIn('WARNING nova_npiv.audit Removed no-client-adapter '
                      'mapping sys-a/%s/%s (%s' % (vios, gone.vfchost,
                                                   found.detail),
                      self.logs.output)
        left = model.mappings('sys-a')
        self.assertEqual(len(healthy) - 1, len(left))
        self.assertNotIn((vios, gone.server_slot),
                         [(m.vios, m.server_slot) for m in left])
        # The instance's own mappings are untouched.
        self.assertEqual(sorted(m.wwpns for m in healthy if m.wwpns),
                         sorted(m.wwpns for m in left if m.wwpns))
        [view] = inventory.read_console(adapter, only='sys-a')
        self.assertEqual([], audit.find([view], {'sys-a': None}))


class LiveMigrationPreChecksTestCase(base.WorldTestCase):

    HOSTS = (('host-a', 'sys-a'), ('host-b', 'sys-b'))

    def test_destination_refuses_fabrics_it_has_not_configured(self):
        w = self.world(self.HOSTS)
        w.spawn()
        dst_a_only = w.load('host-b', 'sys-b', fabrics=['A'])
        err = self.assertRaises(
            exception.LiveMigrationDataError,
            dst_a_only.check_can_live_migrate_destination, w.ctxt, w.inst,
            None, None)
        msg = err.format_message()
        self.assertIn('fabric(s) B not configured on the destination', msg)
        self.assertIn(w.inst.uuid, msg)

        # The same instance to a destination with both fabrics passes.
        dst = w.load('host-b', 'sys-b')
        data = dst.check_can_live_migrate_destination(w.ctxt, w.inst, None,
                                                      None)
        self.assertTrue(data.is_shared_block_storage)
        self.assertFalse(data.block_migration)

    def test_destination_refuses_block_migration(self):
        w = self.world(self.HOSTS)
        w.spawn()
        self.assertRaises(
            nova_exc.MigrationPreCheckError,
            w.drivers['host-b'].check_can_live_migrate_destination, w.ctxt,
            w.inst, None, None, block_migration=True)

    def test_source_refuses_fabrics_not_mapped_to_the_instance(self):
        # Booted with fabric A only; fabric B configured afterwards has no
        # adapters on the instance yet (valid metadata, not corrupt).
        w = self.world(self.HOSTS, fabrics=['A'])
        w.spawn(volumes=1)
        src = w.load('host-a', 'sys-a', fabrics=['A', 'B'])
        self.assertEqual(fabric_meta.UNMAPPED,
                         fabric_meta.get_fabric(w.inst, 'B').state)
        data = object()
        err = self.assertRaises(
            exception.LiveMigrationDataError,
            src.check_can_live_migrate_source, w.ctxt, w.inst, data)
        self.assertIn('fabric(s) B are not mapped to the instance',
                      err.format_message())

        # Connected but not spawned is not mapped either.
        w2 = self.world(self.HOSTS)
        w2.connector()
        self.assertEqual(fabric_meta.MGMT_MAPPED,
                         fabric_meta.get_fabric(w2.inst, 'A').state)
        err = self.assertRaises(
            exception.LiveMigrationDataError,
            w2.drivers['host-a'].check_can_live_migrate_source, w2.ctxt,
            w2.inst, data)
        self.assertIn('fabric(s) A, B are not mapped', err.format_message())

        # Fully mapped: the destination's data is passed on unchanged, its
        # offer taken off the instance once the platform validated it.
        w3 = self.world(self.HOSTS)
        w3.spawn()
        dst_data = w3.drivers['host-b'].check_can_live_migrate_destination(
            w3.ctxt, w3.inst, None, None)
        self.assertIn(migration_data.OFFER_KEY, w3.inst.system_metadata)
        w3.sim.reset_counters()
        self.assertIs(dst_data,
                      w3.drivers['host-a'].check_can_live_migrate_source(
                          w3.ctxt, w3.inst, dst_data))
        self.assertEqual(1, w3.sim.count('PUT', 'job:MigrateValidate'))
        self.assertNotIn(migration_data.OFFER_KEY, w3.inst.system_metadata)

        # Without the destination's offer there is nothing to validate.
        err = self.assertRaises(
            exception.LiveMigrationDataError,
            w3.drivers['host-a'].check_can_live_migrate_source, w3.ctxt,
            w3.inst, dst_data)
        self.assertIn('the destination made no offer', err.format_message())
