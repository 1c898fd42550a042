"""Port choice on pypowervm's sample VIOS feed: pure, no VIOS change."""

import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import fabric_records
from nova_npiv import vios as npiv_vios
from nova_npiv.volume import placement
from tests.unit import fixtures as fx

W = fx.WWPNJob.wwpn


class PlacementTestCase(testtools.TestCase):

    extra_vios = ()

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture(extra_vios=self.extra_vios))
        self.active = npiv_vios.active(self.fx.feed)

    def settings(self, fabrics=None, ports_per_fabric=1):
        if fabrics is not None:
            self.fx.configure(fabrics, ports_per_fabric)
        return npiv_conf.load_settings(self.fx.conf)


class TestOrder(PlacementTestCase):

    def test_rotate(self):
        self.assertEqual([], placement.rotate([], 3))
        self.assertEqual([2, 3, 1], placement.rotate([1, 2, 3], 1))
        self.assertEqual([2, 3, 1], placement.rotate([1, 2, 3], 4))

    def test_each_fabric_starts_on_another_vios(self):
        settings = self.settings()
        first = [placement.vios_order(settings, f, self.active)[0].name
                 for f in settings.fabrics]
        self.assertEqual([fx.VIOS1, fx.VIOS2], first)


class TestUsablePorts(PlacementTestCase):

    def test_configured_ports_present_with_capacity(self):
        self.assertEqual(fx.FABRIC_A, placement.usable_ports(
            self.settings(), 'A', self.active, fx.HOST_UUID))

    def test_missing_ports_are_skipped(self):
        settings = self.settings({'A': [fx.NOWHERE, fx.V2_FCS0]})
        self.assertEqual([fx.V2_FCS0], placement.usable_ports(
            settings, 'A', self.active, fx.HOST_UUID))

    def test_no_port_present_names_the_system(self):
        settings = self.settings({'A': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                placement.usable_ports, settings, 'A',
                                self.active, fx.HOST_UUID)
        self.assertIn(fx.NOWHERE, str(err))
        self.assertIn(fx.HOST_UUID, str(err))


class TestFullPort(PlacementTestCase):
    """The extra VIOS of ``fake_vios.txt``: fcs1 has no free NPIV slot."""

    extra_vios = ('fake_vios.txt',)

    def test_full_port_is_not_usable(self):
        settings = self.settings({'A': [fx.V3_FCS1_FULL, fx.V3_FCS0]})
        self.assertEqual([fx.V3_FCS0], placement.usable_ports(
            settings, 'A', self.active, fx.HOST_UUID))
        settings = self.settings({'A': [fx.V3_FCS1_FULL]})
        err = self.assertRaises(exception.NoFabricCapacity,
                                placement.usable_ports, settings, 'A',
                                self.active, fx.HOST_UUID)
        self.assertIn('only 0 available', str(err))


class TestPlace(PlacementTestCase):

    def test_typed_and_normalised_entries(self):
        settings = self.settings({'A': [fx.V1_FCS0, fx.V1_FCS1]})
        entries = placement.place(settings, 'A', self.active,
                                  [fx.V1_FCS0, fx.V1_FCS1],
                                  [(W(0).upper(), W(1))])
        # fcs1 has more free NPIV slots than fcs0.
        self.assertEqual(
            [fabric_records.PortMapEntry(fx.V1_FCS1, W(0), W(1))], entries)

    def test_capacity_error_reports_pairs_and_ports(self):
        settings = self.settings({'A': [fx.V1_FCS0]})
        err = self.assertRaises(
            exception.NoFabricCapacity, placement.place, settings, 'A',
            self.active, [fx.NOWHERE], [(W(0), W(1)), (W(2), W(3))])
        self.assertIn('needs 2 physical port(s)', str(err))
        self.assertIn('only 1 available', str(err))

    def test_targets_name_vios_id_and_port(self):
        settings = self.settings({'A': fx.FABRIC_A}, 2)
        self.assertEqual(
            ['%s/1//fcs0' % fx.VIOS1, '%s/2//fcs0' % fx.VIOS2],
            placement.targets(settings, 'A', self.active, 2, fx.HOST_UUID))


class TestAllocateWWPNs(PlacementTestCase):

    def test_pairs_in_jobs_of_eight(self):
        pairs = placement.allocate_wwpns(self.fx.adpt, fx.HOST_UUID, 10)
        self.assertEqual([8, 2], self.fx.job.jobs)
        self.assertEqual([(W(2 * i), W(2 * i + 1)) for i in range(10)],
                         pairs)
