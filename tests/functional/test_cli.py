"""The nova-npiv command line against the embedded simulator."""

import io
import json
import re
import signal
import subprocess
import sys
from unittest import mock

import fixtures
from oslo_config import cfg
import testtools

from nova_npiv.cmd import main as cli
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv import vm
from tests.functional import conffile

CONF = cfg.CONF


class CLITestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(CONF.reset)
        self.addCleanup(CONF.clear_override, 'compute_driver')
        for opt in ('host', 'port', 'protocol', 'username', 'password',
                    'managed_system', 'fabrics', 'fabric_A_port_wwpns',
                    'fabric_B_port_wwpns'):
            self.addCleanup(self._clear, opt)

    @staticmethod
    def _clear(opt):
        try:
            CONF.clear_override(opt, group='powervm')
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            pass

    def run_cli(self, *argv):
        out = io.StringIO()
        with mock.patch('sys.stdout', out):
            code = cli.main(list(argv))
        return code, out.getvalue()

    def config_for(self, sim, system):
        return conffile.write(self, sim, system)


class TestDemo(CLITestCase):

    def test_demo_runs_every_step(self):
        code, out = self.run_cli('demo')
        self.assertEqual(0, code, out)
        for step in ('connector', 'boot from two volumes',
                     'attach a third volume', 'detach the third volume',
                     'live-migrate to host-b',
                     'resize to host-a (bigger flavor), confirm', 'delete'):
            self.assertIn('%s ... ok' % step, out)
        self.assertIn('vfchost', out)
        self.assertIn('REST calls:', out)
        self.assertIn('All steps behaved as expected.', out)

    def test_demo_json(self):
        code, out = self.run_cli('demo', '--json')
        self.assertEqual(0, code)
        doc = json.loads(out)
        self.assertTrue(doc['ok'])
        self.assertEqual(7, len(doc['steps']))
        boot = doc['steps'][1]
        self.assertEqual('boot from two volumes', boot['step'])
        inst_maps = [m for m in boot['mappings']
                     if (m['client_lpar_name'] or '').startswith(
                         'instance-00000001-')]
        self.assertEqual(2, len(inst_maps))
        self.assertEqual({'A', 'B'}, {m['fabric'] for m in inst_maps})
        attach = doc['steps'][2]
        self.assertEqual(0, attach['rest_calls'].get('POST VirtualIOServer',
                                                     0))
        resize = doc['steps'][5]
        self.assertEqual({'sys-a'}, {m['system'] for m in resize['mappings']
                                     if (m['client_lpar_name'] or '')
                                     .startswith('instance-00000001-')})
        delete = doc['steps'][6]
        self.assertEqual([], delete['mappings'])

    def test_demo_fails_when_the_driver_misbehaves(self):
        # A driver that forgets to remove vFC mappings must be caught: the
        # resize to the other system is the first step that removes some.
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.volume.npiv.NPIVVolumeDriver.'
            'queue_instance_unmapping'))
        code, out = self.run_cli('demo')
        self.assertEqual(1, code)
        self.assertIn('resize to host-a (bigger flavor), confirm ... FAILED',
                      out)
        self.assertIn('The demo FAILED.', out)


class TestConsoleCommands(CLITestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.conf = self.config_for(self.sim, 'sys-a')

    def test_ports(self):
        code, out = self.run_cli('--config-file', self.conf, 'ports')
        self.assertEqual(0, code, out)
        for port in self.sim.model.ports('sys-a'):
            self.assertIn(port.wwpn.lower(), out)
        self.assertNotIn('!!', out)
        code, out = self.run_cli('--config-file', self.conf, 'ports',
                                 '--json')
        doc = json.loads(out)
        self.assertEqual(len(self.sim.model.ports('sys-a')),
                         len(doc['ports']))
        self.assertEqual({'A', 'B'}, {p['fabric'] for p in doc['ports']})

    def test_ports_flags_missing_configured_port(self):
        with open(self.conf, 'a') as f:
            f.write('fabric_A_port_wwpns = c0507600aaaa0001\n')
        code, out = self.run_cli('--config-file', self.conf, 'ports')
        self.assertEqual(1, code)
        self.assertIn('c0507600aaaa0001 is not on sys-a', out)

    def _plant(self):
        model = self.sim.model
        client = model.add_lpar('sys-a', 'healthy-vm', state='running')
        vios = [v.name for v in model.vioses('sys-a')]
        healthy = model.add_mapping('sys-a', vios[0], lpar=client.name)
        mgmt = [lp for lp in model.lpars('sys-a') if lp.is_mgmt][0]
        # Staging leftover: the same WWPNs are also mapped to the client.
        model.add_mapping('sys-a', vios[1], lpar=mgmt.name, port='fcs1',
                          wwpns=healthy.wwpns)
        model.add_mapping('sys-a', vios[1], client_lpar_id=77)
        gone = model.add_lpar('sys-a', 'portless-vm', state='running')
        model.add_mapping('sys-a', vios[0], lpar=gone.name, port=None)
        return healthy

    def test_audit_finds_and_fixes_orphans(self):
        healthy = self._plant()
        before = len(self.sim.model.mappings('sys-a'))
        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--json')
        self.assertEqual(0, code)
        kinds = sorted(f['kind'] for f in json.loads(out)['findings'])
        self.assertEqual(['no-partition', 'no-port', 'staging-leftover'],
                         kinds)
        # Read-only by default.
        self.assertEqual(before, len(self.sim.model.mappings('sys-a')))

        # Without nova's records nothing is provably nova's: --fix alone
        # removes nothing and says so.
        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--fix')
        self.assertEqual(0, code)
        self.assertIn('Removed 0 mapping(s).', out)
        self.assertIn("3 mapping(s) not provably nova's were left", out)
        self.assertEqual(before, len(self.sim.model.mappings('sys-a')))

        self.sim.reset_counters()
        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--fix', '--include-foreign')
        self.assertEqual(0, code)
        self.assertIn('Removed 3 mapping(s).', out)
        left = self.sim.model.mappings('sys-a')
        self.assertEqual(before - 3, len(left))
        self.assertIn(healthy.wwpns, [m.wwpns for m in left])
        # One POST per VIOS that held something to remove.
        self.assertEqual(2, self.sim.counters().get('POST VirtualIOServer'))

        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--json')
        self.assertEqual([], json.loads(out)['findings'])

    def test_audit_fix_removes_exactly_the_named_mapping(self):
        self._plant()
        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--json')
        doc = json.loads(out)
        self.assertFalse(doc['nova_records'])
        self.assertEqual({'unproven'}, {f['owner'] for f in doc['findings']})
        victim = [f for f in doc['findings']
                  if f['kind'] == 'no-partition'][0]
        name = '%s/%s' % (victim['vios'], victim['vfchost'])
        before = self.sim.model.mappings('sys-a')
        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--fix', '--mapping', name)
        self.assertEqual(0, code, out)
        self.assertIn('Removed 1 mapping(s).', out)
        self.assertEqual(
            [m for m in before if (m.vios, m.vfchost) !=
             (victim['vios'], victim['vfchost'])],
            self.sim.model.mappings('sys-a'))
        # A name that is not a finding is refused, nothing removed.
        before = self.sim.model.mappings('sys-a')
        code, out = self.run_cli('--config-file', self.conf, 'audit',
                                 '--fix', '--mapping', 'vios-a1/vfchost999')
        self.assertEqual(2, code)
        self.assertIn('vios-a1/vfchost999: not a finding', out)
        self.assertEqual(before, self.sim.model.mappings('sys-a'))

    def test_audit_table(self):
        self._plant()
        code, out = self.run_cli('--config-file', self.conf, 'audit')
        self.assertEqual(0, code)
        self.assertIn('staging-leftover', out)
        self.assertIn("3 finding(s) (0 nova's); run with --fix", out)


class TestSimCommand(testtools.TestCase):

    def test_sim_serves_on_loopback_and_prints_the_conf(self):
        proc = subprocess.Popen(
            [sys.executable, '-m', 'nova_npiv.cmd.main', 'sim'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        lines = []
        while len([ln for ln in lines if ln.startswith('[powervm]')]) < 2:
            line = proc.stdout.readline()
            if not line:
                self.fail('nova-npiv sim exited: %s' % proc.stderr.read())
            lines.append(line)
        while True:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith('fabric_B_port_wwpns'):
                break
        text = ''.join(lines)
        self.assertIn('managed_system = sys-a', text)
        self.assertIn('managed_system = sys-b', text)
        port = int(re.search(r'http://127\.0\.0\.1:(\d+)', text).group(1))
        self.assertIn('host = 127.0.0.1', text)

        from pypowervm import adapter as pvm_adpt
        from pypowervm.wrappers import virtual_io_server as pvm_vios
        session = pvm_adpt.Session(host='localhost', port=port,
                                   protocol='http', username='admin',
                                   password='s3cret-pass')
        vioses = pvm_vios.VIOS.get(pvm_adpt.Adapter(session))
        # Two NovaLinks by default: the first one sees its own system.
        self.assertEqual(['vios-a1', 'vios-a2'],
                         sorted(v.name for v in vioses))
        self.assertEqual(2, len(set(re.findall(r'http://127\.0\.0\.1:(\d+)',
                                               text))))
        session._logoff()

        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=30))


class TestShow(CLITestCase):

    def test_show_puts_metadata_next_to_the_vioses(self):
        from nova_npiv.testing import fake_cinder
        from nova_npiv.testing import harness
        with Simulator(co_managed_topology()) as sim:
            drv = harness.load_driver(sim, 'host-a', 'sys-a')
            sim.track_session(drv.adapter)
            inst = harness.new_instance(
                7, '5d1c9d0e-2f4f-4a53-9d0b-3c1a4e9b2c07', 'host-a')
            cinder = fake_cinder.FakeCinder()
            conn = drv.get_volume_connector(inst)
            drv.spawn(harness.admin_context(), inst, None, [], None, {},
                      block_device_info={'block_device_mapping': [
                          cinder.bdm('vol-1', 0, conn)]})
            conf = self.config_for(sim, 'sys-a')
            with mock.patch('nova.objects.Instance.get_by_uuid',
                            return_value=inst):
                code, out = self.run_cli('--config-file', conf, 'show',
                                         inst.uuid, '--json')
                self.assertEqual(0, code, out)
                doc = json.loads(out)
                self.assertEqual({'A', 'B'}, set(doc['fabrics']))
                self.assertEqual(2, len(doc['mappings']))
                self.assertEqual([], doc['problems'])

                # Someone removes a mapping behind nova's back.
                sim.model.remove_mappings('sys-a', client_lpar_id=[
                    lp.id for lp in sim.model.lpars('sys-a')
                    if lp.uuid == vm.lpar_uuid(inst)][0],
                    wwpn=conn['wwpns'][0])
                code, out = self.run_cli('--config-file', conf, 'show',
                                         inst.uuid)
                self.assertEqual(1, code)
                self.assertIn('are not mapped to the instance', out)
            drv.cleanup_host('host-a')
