"""Live migration through nova when the platform says no, fails part way,
loses its reply or is aborted (issue 14, live migration bullets 2-4).

nova's API, conductor, scheduler and two compute services run in-process
(:mod:`tests.functional.nova_base`), each compute on its own simulated
managed system; the simulator runs the Migrate job as a console does.
"""

import time

from nova_npiv.simulator import novalink_pair
from tests.functional import nova_base
from tests.functional.nova_base import uuids


class LiveMigrationFailuresTestCase(nova_base.NPIVServicesTestCase):

    def setUp(self):
        super().setUp()
        self.flags(lpm_settle_interval=0.1, lpm_settle_timeout=15,
                   group='powervm')
        self.server = self.boot_from_volumes([uuids.root_vol,
                                              uuids.data_vol])
        self.assertEqual(2, len(self.mappings_of(self.server, 'sys-a')))
        self.before = self.console_state()

    def console_state(self):
        """The server's LPARs and mappings, and every port's capacity."""
        lpars = [(lp.system, lp.state, lp.migration_state)
                 for lp in self.lpars_of(self.server)]
        maps = sorted((m.system, m.vios, m.port_name, tuple(m.wwpns))
                      for m in self.mappings_of(self.server))
        return lpars, maps, self.capacity(), self.staging_mappings()

    def migration(self, statuses, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for mig in self.api.api_get('/os-migrations').body['migrations']:
                if (mig['instance_uuid'] == self.server['id'] and
                        mig['status'] in statuses):
                    return mig
            if time.monotonic() > deadline:
                self.fail('no migration of %s in %s'
                          % (self.server['id'], statuses))
            time.sleep(0.1)

    def live_migrate(self):
        self.api.post_server_action(
            self.server['id'],
            {'os-migrateLive': {'host': 'host-b', 'block_migration': 'auto'}})

    def assert_still_on_source(self):
        server = self._wait_for_state_change(self.server, 'ACTIVE')
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(self.before, self.console_state())
        self.assertEqual([], self.mappings_of(self.server, 'sys-b'))
        self.assertEqual([], self.staging_mappings('sys-b'))
        inst = self.instance(self.server)
        self.assertEqual([], [k for k in inst.system_metadata
                              if k.startswith('npiv_lpm_')])

    def source_model(self):
        return self.sim.model

    def test_platform_refusal_at_the_pre_check(self):
        self.source_model().set_rmc_down(True)
        self.before = self.console_state()
        self.live_migrate()
        self.migration(['error'])
        self.assert_still_on_source()
        self.assertIn('does not have an active RMC connection',
                      self.stdlog.logger.output)
        self.assertEqual(0, self.sim.count('PUT', 'job:Migrate'))

    def test_console_refusal_at_the_pre_check(self):
        self.sim.fail_job('MigrateValidate',
                          message='HSCLA319 no adapter can be hosted')
        self.live_migrate()
        self.migration(['error'])
        self.assert_still_on_source()
        self.assertIn('HSCLA319 no adapter can be hosted',
                      self.stdlog.logger.output)
        self.assertEqual(0, self.sim.count('PUT', 'job:Migrate'))

    def test_failure_part_way_is_recovered_and_rolled_back(self):
        self.sim.fail_job('Migrate', midway=True)
        self.live_migrate()
        self.migration(['failed'])
        self.assert_still_on_source()
        self.assertEqual(1, self.sim.count('PUT', 'job:MigrateRecover'))
        # Nothing is in the way of the next try.
        self.live_migrate()
        self.migration(['completed'])
        server = self._wait_for_state_change(self.server, 'ACTIVE')
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(2, len(self.mappings_of(self.server, 'sys-b')))

    def test_lost_reply_is_settled_from_the_partition(self):
        self.sim.job_seconds = {'Migrate': 1.0}
        self.sim.inject_fault('PUT', 'do/Migrate$', kind='lost_reply')
        self.live_migrate()
        self.migration(['completed'])
        server = self._wait_for_state_change(self.server, 'ACTIVE')
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.mappings_of(self.server, 'sys-a'))
        self.assertEqual(2, len(self.mappings_of(self.server, 'sys-b')))
        self.assertEqual([('sys-b', 'running', 'Not_Migrating')],
                         self.console_state()[0])

    def test_abort(self):
        self.sim.job_seconds = {'Migrate': 3600}
        self.live_migrate()
        mig = self.migration(['running'])
        deadline = time.monotonic() + 60
        while self.console_state()[0][0][1] != 'migrating running':
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        self.api.delete_migration(self.server['id'], mig['id'])
        self.migration(['cancelled'])
        self.assert_still_on_source()
        self.assertEqual(1, self.sim.count('PUT', 'job:MigrateAbort'))


class LiveMigrationFailuresBetweenConsolesTestCase(
        LiveMigrationFailuresTestCase):
    """The same failures between two NovaLinks: the source's console hands
    the partition to another console, after the destination's console
    trusts the source's key."""

    TOPOLOGY = novalink_pair()

    def source_model(self):
        return self.sim.console_for('sys-a').model

    def test_console_refusal_at_the_pre_check(self):
        # Towards another console no MigrateValidate runs before nova
        # commits (the trust it needs exists from pre_live_migration on):
        # the console refuses the Migrate job itself, and nova rolls back.
        self.sim.fail_job('Migrate', message='HSCLA319 no adapter can be '
                          'hosted')
        self.live_migrate()
        self.migration(['failed'])
        self.assert_still_on_source()
        self.assertIn('HSCLA319 no adapter can be hosted',
                      self.stdlog.logger.output)
        self.assertEqual(0, self.sim.count('PUT', 'job:MigrateValidate'))
