"""host_info: what nova's API shows about the host."""

import os
from unittest import mock

import fixtures
from oslo_serialization import jsonutils
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv import host_info
from nova_npiv import vm


class TestCpuInfo(testtools.TestCase):

    def test_from_pypowervms_captured_managed_system(self):
        resp = pvmhttp.load_pvm_resp('fake_managedsystem.txt').get_response()
        host_w = pvm_ms.System.wrap(resp.feed.entries[0])
        info = jsonutils.loads(host_info.cpu_info(host_w))
        self.assertEqual('POWER8', info['model'])
        self.assertEqual(['default', 'POWER6', 'POWER6_Plus', 'POWER7',
                          'POWER8'], info['compatibility_modes'])
        self.assertEqual('8247', info['machine_type'])
        self.assertEqual('21L', info['machine_model'])
        self.assertEqual('ppc64le', info['arch'])


class TestHostUptime(testtools.TestCase):

    def _proc(self, uptime, load='0.52 0.58 0.59 1/467 12345'):
        path = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(path, 'uptime'), 'w') as f:
            f.write('%s 1234.56\n' % uptime)
        with open(os.path.join(path, 'loadavg'), 'w') as f:
            f.write(load + '\n')
        return path

    def test_formats_like_uptime(self):
        line = host_info.host_uptime(self._proc('273600.10'))
        self.assertRegex(line, r'^ \d\d:\d\d:\d\d up 3 days, 4:00,  '
                               r'load average: 0.52, 0.58, 0.59$')

    def test_minutes_and_one_day(self):
        self.assertIn(' up 5 min, ',
                      host_info.host_uptime(self._proc('300.9')))
        self.assertIn(' up 1 day, 1 min, ',
                      host_info.host_uptime(self._proc('86460')))


class TestCapacity(testtools.TestCase):
    """Reserved = the system's used figure minus running instance LPARs."""

    INSTANCE = '6c1f3bf4-a3e0-4d61-9c8e-3b8e0f2bd6b9'

    def _lpar(self, name, uuid, state='running', dedicated=True, procs=2,
              units=0.2, mem=4096):
        lpar = mock.Mock(state=state, uuid=uuid, mem_config=mock.Mock(
            desired=mem))
        lpar.name = name
        lpar.proc_config.has_dedicated = dedicated
        lpar.proc_config.dedicated_proc_cfg.desired = procs
        lpar.proc_config.shared_proc_cfg.desired_units = units
        return lpar

    def _instance_lpar(self, uuid=INSTANCE, **kwargs):
        inst = mock.Mock(uuid=uuid)
        inst.name = 'instance-00000001'
        return self._lpar(vm.lpar_name(inst), vm.lpar_uuid_of(uuid),
                          **kwargs)

    def test_instances_are_not_reserved_everything_else_is(self):
        host_w = mock.Mock(proc_units_configurable=12.0, proc_units_avail=3.5,
                           memory_configurable=40960, memory_free=11264)
        lpars = [
            self._instance_lpar(procs=2, mem=4096),
            self._instance_lpar(uuid='1c1f3bf4-a3e0-4d61-9c8e-3b8e0f2bd6b9',
                                dedicated=False, units=0.5, mem=2048),
            # Stopped: uses nothing, so nothing to take off.
            self._instance_lpar(uuid='2c1f3bf4-a3e0-4d61-9c8e-3b8e0f2bd6b9',
                                state='not activated', mem=8192),
            # Named like an instance, UUID not derived from it: reserved.
            self._lpar('instance-00000009-6c1f3bf4a3e0', 'ABCD', mem=1024),
        ]
        cap = host_info.Capacity(host_w, lpars)
        self.assertEqual(12, cap.total_vcpus)
        # used 8.5 units, instances 2.5: 6 units, 6 cores.
        self.assertAlmostEqual(6.0, cap.reserved_units)
        self.assertEqual(6, cap.reserved_vcpus)
        # used 29696 MB, instances 6144 MB.
        self.assertEqual(23552, cap.reserved_mb)

    def test_a_partial_core_reserves_the_whole_core(self):
        host_w = mock.Mock(proc_units_configurable=8.0, proc_units_avail=6.9,
                           memory_configurable=8192, memory_free=8192)
        cap = host_info.Capacity(host_w, [])
        self.assertEqual(2, cap.reserved_vcpus)
        self.assertEqual(0, cap.reserved_mb)
