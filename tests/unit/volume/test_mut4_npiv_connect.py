"""NPIV connect cases the fourth mutation round found unchecked (see
doc/mutation-survivors.md, fourth round)."""

import threading

from nova_npiv import exception
from nova_npiv import fabric_meta
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

pair = npiv_base.pair


class TestConnectWithoutWWPNs(npiv_base.NPIVTestCase):

    def test_refusal_names_the_instance_and_the_fabrics(self):
        # Fabric A has WWPNs, B none: nova never asked for the connector
        # after B was configured.  Refused in full, nothing changed.
        fabric_meta.set_fabric(self.inst, 'A', npiv_base.MGMT,
                               [(fx.V1_FCS0, pair(0, 1))])
        self.inst.save()
        drv = self.fx.npiv(self.inst, fx.connection_info(
            [npiv_base.W(0), npiv_base.W(1)], 'vol-7'))

        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.connect_volume)

        self.assertEqual(
            'Virtual FC mapping of instance %s failed: fabric(s) B have no '
            'WWPNs: the volume connector was never asked for'
            % self.inst.uuid, str(err))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_every_fabric_named(self):
        drv = self.fx.npiv(self.inst, fx.connection_info())

        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.connect_volume)

        self.assertIn(': fabric(s) A, B have no WWPNs:', str(err))


class TestConnectorLockPerInstance(npiv_base.NPIVTestCase):

    def test_another_instances_connector_does_not_wait(self):
        # The connector is serialised per instance: while one instance's
        # WWPN job runs, another instance's connector call goes through.
        other = self.fx.instance(uuid='aaaaaaaa-0000-4000-8000-000000000002')
        done = {}

        def second():
            done['wwpns'] = self.fx.npiv(other).wwpns()

        thread = threading.Thread(target=second, name='second')

        def during_first_job():
            if (threading.current_thread() is not thread and
                    not thread.is_alive() and 'wwpns' not in done):
                thread.start()
                thread.join(10)
                done['while_first_ran'] = 'wwpns' in done

        self.fx.job.before_return = during_first_job
        first = self.connector()
        thread.join(10)

        self.assertTrue(done['while_first_ran'])
        self.assertEqual(2, len(done['wwpns']))
        self.assertNotEqual(set(first), set(done['wwpns']))
