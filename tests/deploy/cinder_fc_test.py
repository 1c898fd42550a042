"""The test FC volume driver inside Cinder.

Run by ``tox -e deploy`` before the deployment (Cinder needs eventlet, which
the ``tests`` package forbids for nova's sake, so this file lives outside
it and outside stestr's discovery).
"""

import os

import fixtures
from oslo_config import fixture as config_fixture
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator

from cinder import objects as cinder_objects
cinder_objects.register_all()  # as cinder-volume does first
from cinder import exception as cinder_exc  # noqa: E402
from cinder.volume import configuration as cinder_config  # noqa: E402

from nova_npiv.testing import cinder_fc  # noqa: E402


T_A = '500507680b2155a0'
T_B = '500507680b2255a0'


class _Volume(object):
    def __init__(self, id, size=1):
        self.id = id
        self.size = size


class TestNPIVTestFCDriver(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(default_topology(systems=('sys-a',)))
        self.sim.start()
        self.addCleanup(self.sim.stop)
        path = self.useFixture(fixtures.TempDir()).path
        conf = self.useFixture(config_fixture.Config(cinder_fc.CONF))
        conf.config(zoning_mode='fabric')
        conf.config(group='fc-zone-manager',
                    zone_driver='nova_npiv.testing.cinder_fc.SimZoneDriver',
                    fc_san_lookup_service=(
                        'nova_npiv.testing.cinder_fc.SimLookupService'),
                    fc_fabric_names='A,B',
                    npiv_sim_url=self.sim.url,
                    npiv_fabric_targets=['A:%s' % T_A, 'B:%s' % T_B],
                    npiv_array_state=os.path.join(path, 'array.json'))
        self.drv = cinder_fc.NPIVTestFCDriver(
            configuration=cinder_config.Configuration(
                cinder_fc.driver.volume_opts, config_group='fc'))
        self.drv.do_setup(None)
        self.drv.check_for_setup_error()
        self.model = self.sim.model
        mgmt = next(lp for lp in self.model.lpars('sys-a') if lp.is_mgmt)
        self.staged = self.model.add_mapping('sys-a', 'vios-a1',
                                             lpar=mgmt.name, port='fcs0')
        self.model.add_lpar('sys-a', 'vm1')
        self.inst = self.model.add_mapping('sys-a', 'vios-a2', lpar='vm1',
                                           port='fcs1')

    def _connector(self, *wwpns):
        return {'wwpns': list(wwpns), 'host': 'host-a'}

    def test_zones_only_logged_in_initiators(self):
        vol = _Volume('v1')
        self.drv.create_volume(vol)
        info = self.drv.initialize_connection(
            vol, self._connector(self.staged.wwpns[0], self.inst.wwpns[0]))
        data = info['data']
        self.assertEqual('fibre_channel', info['driver_volume_type'])
        self.assertEqual(1, data['target_lun'])
        self.assertEqual({self.staged.wwpns[0]: [T_A]},
                         data['initiator_target_map'])
        state = cinder_fc._state()
        self.assertEqual({'A': [self.staged.wwpns[0]]}, state.zoned())

        self.drv.terminate_connection(
            vol, self._connector(self.staged.wwpns[0], self.inst.wwpns[0]))
        self.assertEqual({}, state.zoned())

    def test_nobody_logged_in_is_a_clear_error(self):
        vol = _Volume('v1')
        self.drv.create_volume(vol)
        err = self.assertRaises(
            cinder_exc.VolumeBackendAPIException,
            self.drv.initialize_connection, vol,
            self._connector(self.inst.wwpns[0]))
        self.assertIn('is logged in to a fabric', str(err))
        self.assertIn(self.inst.wwpns[0], str(err))

    def test_stats(self):
        self.drv.create_volume(_Volume('v1', 5))
        stats = self.drv.get_volume_stats(refresh=True)
        self.assertEqual('FC', stats['storage_protocol'])
        self.assertEqual(cinder_fc.CAPACITY_GB - 5,
                         stats['free_capacity_gb'])
