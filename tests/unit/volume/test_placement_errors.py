"""What port choice tells the operator when ports or capacity are short.

These errors and the warning are the only hint an operator gets that
nova.conf names a port the VIOSes do not have, or that a fabric is full;
they must name the fabric, every port concerned and the numbers.
"""

import logging
from unittest import mock

import fixtures
from pypowervm.wrappers import iocard

from nova_npiv import exception
from nova_npiv import jobs
from nova_npiv.volume import placement
from tests.unit import fixtures as fx
from tests.unit.volume import test_placement

W = fx.WWPNJob.wwpn
ALSO_NOWHERE = '10000090fadeadbf'


class TestMissingPorts(test_placement.PlacementTestCase):

    def test_warning_names_every_missing_port(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.volume.placement', level=logging.WARNING))
        settings = self.settings(
            {'A': [fx.NOWHERE, fx.V2_FCS0, ALSO_NOWHERE]})
        self.assertEqual([fx.V2_FCS0], placement.usable_ports(
            settings, 'A', self.active, fx.HOST_UUID))
        self.assertEqual(
            'Fabric A: ports %s, %s are not on an active VIOS\n'
            % (fx.NOWHERE, ALSO_NOWHERE), logs.output)

    def test_no_warning_when_every_port_is_there(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.volume.placement', level=logging.WARNING))
        placement.usable_ports(self.settings(), 'A', self.active,
                               fx.HOST_UUID)
        self.assertEqual('', logs.output)

    def test_none_present_names_fabric_ports_and_system(self):
        settings = self.settings({'B': [fx.NOWHERE, ALSO_NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                placement.usable_ports, settings, 'B',
                                self.active, fx.HOST_UUID)
        self.assertEqual(
            'Fabric B: configured physical port(s) %s, %s are not on any '
            'active Virtual I/O Server of %s'
            % (fx.NOWHERE, ALSO_NOWHERE, fx.HOST_UUID), str(err))


class TestFullFabric(test_placement.PlacementTestCase):

    extra_vios = ('fake_vios.txt',)

    def test_no_capacity_names_fabric_and_wanted_ports(self):
        settings = self.settings({'B': [fx.V3_FCS1_FULL]})
        err = self.assertRaises(exception.NoFabricCapacity,
                                placement.usable_ports, settings, 'B',
                                self.active, fx.HOST_UUID)
        self.assertEqual(
            'Fabric B: needs 1 physical port(s) with free NPIV capacity, '
            'only 0 available', str(err))


class TestPlaceCapacity(test_placement.PlacementTestCase):

    def test_found_given_by_the_caller_is_reported(self):
        # A caller that already knows the fabric's capacity (e.g. the ports
        # found on the destination of a migration) reports that number,
        # not the length of the list it narrowed down.
        settings = self.settings({'A': [fx.V1_FCS0]})
        err = self.assertRaises(
            exception.NoFabricCapacity, placement.place, settings, 'A',
            self.active, [fx.NOWHERE], [(W(0), W(1))], found=5)
        self.assertEqual(
            'Fabric A: needs 1 physical port(s) with free NPIV capacity, '
            'only 5 available', str(err))

    def test_default_found_is_the_usable_ports(self):
        settings = self.settings({'A': [fx.V1_FCS0]})
        err = self.assertRaises(
            exception.NoFabricCapacity, placement.place, settings, 'A',
            self.active, [fx.NOWHERE, ALSO_NOWHERE], [(W(0), W(1))])
        self.assertEqual(
            'Fabric A: needs 1 physical port(s) with free NPIV capacity, '
            'only 2 available', str(err))


class TestAllocateRemainders(test_placement.PlacementTestCase):

    def test_one_pair_left_over_gets_a_job_of_its_own(self):
        pairs = placement.allocate_wwpns(self.fx.adpt, fx.HOST_UUID, 9)
        self.assertEqual([8, 1], self.fx.job.jobs)
        self.assertEqual([(W(2 * i), W(2 * i + 1)) for i in range(9)],
                         pairs)

    def test_single_pair(self):
        self.assertEqual([(W(0), W(1))], placement.allocate_wwpns(
            self.fx.adpt, fx.HOST_UUID, 1))
        self.assertEqual([1], self.fx.job.jobs)

    def test_no_pair_runs_no_job(self):
        self.assertEqual([], placement.allocate_wwpns(
            self.fx.adpt, fx.HOST_UUID, 0))
        self.assertEqual([], self.fx.job.jobs)


class TestLastFreeSlot(test_placement.PlacementTestCase):

    def test_a_port_with_one_free_slot_is_usable(self):
        with mock.patch.object(iocard.PhysFCPort, 'npiv_available_ports',
                               new_callable=mock.PropertyMock,
                               return_value=1):
            self.assertEqual(fx.FABRIC_A, placement.usable_ports(
                self.settings(), 'A', self.active, fx.HOST_UUID))


class TestTargetsErrors(test_placement.PlacementTestCase):

    def test_no_port_present_names_the_system(self):
        settings = self.settings({'A': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                placement.targets, settings, 'A',
                                self.active, 1, fx.HOST_UUID)
        self.assertIn('active Virtual I/O Server of %s' % fx.HOST_UUID,
                      str(err))


class TestAllocateOnThisSystem(test_placement.PlacementTestCase):

    def test_jobs_run_on_the_given_system_through_the_adapter(self):
        placement.allocate_wwpns(self.fx.adpt, fx.HOST_UUID, 9)
        self.assertEqual(
            [mock.call(self.fx.adpt, fx.HOST_UUID, 8),
             mock.call(self.fx.adpt, fx.HOST_UUID, 1)],
            jobs.wwpn_pairs.call_args_list)
