"""host_info: what nova's API shows about the host."""

import os

import fixtures
from oslo_serialization import jsonutils
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv import host_info


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
