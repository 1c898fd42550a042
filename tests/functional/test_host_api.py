"""What an operator sees of the host through nova: node identity across
restarts, hypervisor details, uptime and instance diagnostics."""

import os
import re

from nova import exception as nova_exc
from oslo_serialization import jsonutils

from nova_npiv.simulator import default_topology
from tests.functional import nova_base

TRACEBACK = 'Traceback (most recent call last)'


class TestNodeIdentity(nova_base.NPIVServicesTestCase):

    def _nodes(self):
        return {h['hypervisor_hostname']: h for h in
                self.api.api_get('/os-hypervisors/detail').body[
                    'hypervisors']}

    def test_restart_keeps_the_node_and_the_instance(self):
        server = self.boot_from_volumes([nova_base.uuids.vol1])
        before = self._nodes()
        node_a = before['sys-a']['id']
        # nova wrote each service's identity into its own state_path.
        with open(os.path.join(self.state_paths['host-a'],
                               'compute_id')) as f:
            self.assertEqual(node_a, f.read().strip())
        self.assertNotEqual(node_a, before['sys-b']['id'])
        mappings = self.mappings_of(server)

        self.restart_compute('host-a')
        self.restart_compute('host-a')

        self.assertEqual(before.keys(), self._nodes().keys())
        self.assertEqual(node_a, self._nodes()['sys-a']['id'])
        self.assertEqual(mappings, self.mappings_of(server))
        self.assertEqual('ACTIVE', self.api.get_server(server['id'])['status'])
        self.assertEqual('up', self.api.get_services(
            host='host-a', binary='nova-compute')[0]['state'])

    def test_lost_identity_refuses_to_start(self):
        os.unlink(os.path.join(self.state_paths['host-a'], 'compute_id'))
        err = self.assertRaises(nova_exc.InvalidConfiguration,
                                self.restart_compute, 'host-a')
        self.assertIn('No local node identity found', str(err))

    def test_moved_to_another_host_name_refuses_to_start(self):
        # Same state_path (same machine), new host name: nova's rename check.
        self.state_paths['host-c'] = self.state_paths['host-a']
        self.computes['host-a'].stop()
        self.configure_for('sys-a')
        self.use_state_path('host-c')
        err = self.assertRaises(nova_exc.InvalidConfiguration,
                                self._start_compute, 'host-c')
        self.assertIn('Possible rename detected', str(err))


class TestHypervisorAPI(nova_base.NPIVServicesTestCase):

    def test_detail_and_show_at_every_cpu_info_microversion(self):
        for version in ('2.27', '2.28', '2.53', '2.87', '2.88', 'latest'):
            self.api.microversion = version
            hyps = self.api.api_get('/os-hypervisors/detail').body[
                'hypervisors']
            self.assertEqual({'sys-a', 'sys-b'},
                             {h['hypervisor_hostname'] for h in hyps})
            for hyp in hyps:
                shown = self.api.api_get(
                    '/os-hypervisors/%s' % hyp['id']).body['hypervisor']
                if version == '2.27':
                    # Before 2.28 nova shows the raw JSON string.
                    self.assertEqual(hyp['cpu_info'], shown['cpu_info'])
                    info = jsonutils.loads(shown['cpu_info'])
                elif version in ('2.28', '2.53', '2.87'):
                    info = shown['cpu_info']
                else:
                    self.assertNotIn('cpu_info', shown)
                    self.assertIn(' up ', shown['uptime'])
                    continue
                self.assertEqual('ppc64le', info['arch'])
                self.assertEqual('POWER9', info['model'])
                self.assertIn('POWER8', info['compatibility_modes'])

    def test_uptime_api_before_2_88(self):
        self.api.microversion = '2.87'
        hyp = self.api.api_get('/os-hypervisors/detail').body[
            'hypervisors'][0]
        up = self.api.api_get('/os-hypervisors/%s/uptime' % hyp['id']).body
        self.assertRegex(up['hypervisor']['uptime'],
                         r'^ \d\d:\d\d:\d\d up .*load average: ')

    def test_instance_diagnostics(self):
        server = self.boot_from_volumes([nova_base.uuids.vol1,
                                         nova_base.uuids.vol2])
        # nova's response schema names only in-tree drivers: with its
        # default (warn) nova-api logs a warning and answers null.
        self.flags(response_validation='warn', group='api')
        self.api.microversion = '2.48'
        diags = self.api.api_get(
            '/servers/%s/diagnostics' % server['id']).body
        self.assertEqual('running', diags['state'])
        self.assertEqual('phyp', diags['hypervisor'])
        self.assertIsNone(diags['driver'])
        self.assertEqual(2, diags['num_cpus'])
        self.assertEqual(2, diags['num_disks'])
        self.assertEqual(0, diags['num_nics'])
        self.assertEqual(4096, diags['memory_details']['maximum'])

        self.api.microversion = '2.47'
        legacy = self.api.api_get(
            '/servers/%s/diagnostics' % server['id']).body
        self.assertEqual(4096, legacy['memory_mb'])
        self.assertEqual(sorted([nova_base.uuids.vol1, nova_base.uuids.vol2]),
                         sorted(legacy['volumes']))


class TestNoTracebacks(nova_base.NPIVServicesTestCase):
    """API calls on a volume-backed server that the driver does not support
    answer as nova expects (501/409), without a traceback in the log."""

    def test_unsupported_calls_leave_no_traceback(self):
        server = self.boot_from_volumes([nova_base.uuids.vol1])
        base = '/servers/%s/action' % server['id']
        for body in ({'os-getConsoleOutput': {'length': 10}},
                     {'os-getVNCConsole': {'type': 'novnc'}},
                     {'os-getSerialConsole': {'type': 'serial'}}):
            self.api.microversion = '2.5'
            resp = self.api.api_post(base, body, check_response_status=False)
            self.assertIn(resp.status, (400, 409, 501), body)
        self.api.microversion = 'latest'
        # A cast: nova records the failed action, the compute service
        # treats NotImplementedError as expected.
        self.api.api_post(base, {'trigger_crash_dump': None})
        self._wait_for_instance_action_event(
            server, 'trigger_crash_dump', 'compute_trigger_crash_dump',
            'Error')
        self.api.api_get('/os-hypervisors/detail')
        log = self.stdlog.logger.output
        self.assertNotIn(TRACEBACK, log)
        self.assertIsNone(re.search(r'ERROR .*nova_npiv', log))


def _hmc_with_staging_lpars():
    spec = default_topology(console='hmc')
    for system in spec['systems']:
        # An HMC's systems run partitions nova never made: they are no
        # "existing instances" for nova's first-start check.
        system['lpars'] = [{'name': 'npiv-staging', 'state': 'running'},
                           {'name': 'aix-batch', 'state': 'running'},
                           {'name': 'db-prod', 'state': 'not activated'}]
    return spec


class TestHMCNamedStaging(nova_base.NPIVServicesTestCase):
    """On an HMC the staging partition is an ordinary running LPAR: nova's
    first-start check for "existing instances" must not count it."""

    TOPOLOGY = _hmc_with_staging_lpars()

    def configure_for(self, system):
        super().configure_for(system)
        self.flags(staging_partition='npiv-staging', group='powervm')

    def test_first_start_and_boot(self):
        for host in self.HOSTS:
            self.assertEqual([], self.drivers[host].list_instance_uuids())
            self.assertEqual([], self.drivers[host].list_instances())
        server = self.boot_from_volumes([nova_base.uuids.vol1])
        self.assertEqual(2, len(self.mappings_of(server)))
        drivers = [self.drivers[host] for host in self.HOSTS]
        self.assertEqual([server['id']], sum(
            (d.list_instance_uuids() for d in drivers), []))
        self.restart_compute('host-a')
        self.assertEqual(2, len(self.mappings_of(server)))
