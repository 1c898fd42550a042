"""NPIV connect cases the fourth mutation round found unchecked (see
doc/mutation-survivors.md, fourth round)."""

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
