"""NPIVDriver start-up and spawn behaviours the fourth mutation round found
unchecked (survivors of ``nova_npiv/driver.py``, see
doc/mutation-survivors.md)."""

from unittest import mock

import fixtures
from nova.compute import task_states
from nova import exception as nova_exc

from nova_npiv import cross_cell
from nova_npiv import exception
from nova_npiv import recovery
from nova_npiv import vios as npiv_vios
from tests.unit import test_driver


class TestInitHost(test_driver.DriverTestCase):

    def test_the_reconciliation_gets_what_init_host_found(self):
        with mock.patch.object(recovery, 'reconcile') as reconcile:
            self.drv.init_host('host-a')
        self.sim.track_session(self.drv.adapter)
        (host, adapter, system_w, settings, staging,
         finish), kwargs = reconcile.call_args
        self.assertEqual({}, kwargs)
        self.assertEqual('host-a', host)
        self.assertIs(self.drv.adapter, adapter)
        self.assertIs(self.drv.host_wrapper, system_w)
        self.assertEqual('sys-a', system_w.system_name)
        self.assertIs(self.drv.settings, settings)
        self.assertIs(self.drv.staging, staging)
        # The finisher finishes the given instance's interrupted live
        # migration through its own volume driver.
        with mock.patch.object(self.drv, '_npiv') as npiv:
            finish(self.inst)
        npiv.assert_called_once_with(self.inst)
        npiv.return_value.migration.finish_after_restart.\
            assert_called_once_with()


class TestSpawnNamed(test_driver.DriverTestCase):

    def test_abort_without_a_boot_volume_names_the_instance(self):
        bdi = self.bdi(1)
        bdi['block_device_mapping'][0]['boot_index'] = 1
        err = self.assertRaises(
            nova_exc.BuildAbortException, self.drv.spawn, self.ctxt,
            self.inst, None, [], None, {}, block_device_info=bdi)
        self.assertEqual(
            'Build of instance %(u)s aborted: nova-npiv boots from Cinder '
            'Fibre Channel volumes only; instance %(u)s asks for an '
            'image-backed root disk' % {'u': self.inst.uuid},
            err.format_message())
        self.assertEqual(self.inst.uuid, err.kwargs['instance_uuid'])

    def test_flow_and_feed_task_are_named_for_the_instance(self):
        # The names every line of the spawn's log carries.
        self.spawn()
        self.assertIn('Flow spawn_%s done in' % self.inst.uuid,
                      self.logs.output)
        self.assertIn('Task spawn_%s done in' % self.inst.uuid,
                      self.logs.output)

    def test_a_named_pool_is_looked_up_through_the_driver(self):
        self.inst.flavor.extra_specs = {
            'powervm:shared_proc_pool_name': 'nosuchpool'}
        bdi = self.bdi(1)
        start = len(self.sim.request_log)
        self.assertRaises(exception.InvalidFlavorExtraSpec,
                          self.drv.spawn, self.ctxt, self.inst, None,
                          [], None, {}, block_device_info=bdi)
        self.assertEqual(
            [('GET', '/rest/api/uom/ManagedSystem/%s/SharedProcessorPool'
              % self.drv.system_uuid)],
            [(r.method, r.path) for r in self.sim.request_log[start:]
             if 'SharedProcessorPool' in r.path])
        self.assertIsNone(self.lpar())


    def test_every_volume_joins_the_one_feed_task(self):
        # One POST per touched VIOS for all the volumes (module docstring),
        # after the LPAR's create; the feed read at start-up serves.
        bdi = self.bdi(2)
        before = len(self.sim.request_log)
        self.drv.spawn(self.ctxt, self.inst, None, [], None, {},
                       block_device_info=bdi, power_on=False)
        self.assertEqual([('PUT', 'LogicalPartition'),
                          ('POST', 'VirtualIOServer'),
                          ('POST', 'VirtualIOServer')],
                         [(r.method, r.kind)
                          for r in self.sim.request_log[before:]])
        self.assertEqual({'A', 'B'}, {m.fabric for m in self.own_maps()})

class TestSpawnCrossCell(test_driver.DriverTestCase):
    """A cross-cell resize's spawn is the arrival, nothing else."""

    def setUp(self):
        super().setUp()
        self.arrive = self.useFixture(fixtures.MockPatchObject(
            cross_cell, 'arrive')).mock
        self.inst.task_state = task_states.RESIZE_FINISH

    def test_arriving_from_another_host(self):
        self.inst.host = 'host-b'
        bdi = self.bdi(1)
        self.drv.spawn(self.ctxt, self.inst, None, [], None, {},
                       block_device_info=bdi, power_on=False)
        self.arrive.assert_called_once_with(self.drv, self.inst, bdi, False)
        self.assertIsNone(self.lpar())

    def test_power_on_is_passed_on(self):
        self.inst.host = 'host-b'
        bdi = self.bdi(1)
        self.drv.spawn(self.ctxt, self.inst, None, [], None, {},
                       block_device_info=bdi)
        self.arrive.assert_called_once_with(self.drv, self.inst, bdi, True)

    def test_already_on_this_host_is_a_spawn_here(self):
        self.spawn()
        self.arrive.assert_not_called()
        self.assertEqual('running', self.lpar().state)


class TestFabricPortsChecked(test_driver.DriverTestCase):

    def test_every_missing_port_of_the_fabric_is_named(self):
        err = self.assertRaises(
            exception.FabricPortsNotFound, self.load,
            fabric_B_port_wwpns=['10000090FA9E5001', 'C05076000000AA01',
                                 'C05076000000AA02'])
        self.assertEqual(
            'fabric b: configured physical port(s) c05076000000aa01, '
            'c05076000000aa02 are not on any active virtual i/o server of '
            'sys-a', err.format_message().lower())

    def test_no_vios_at_all_is_every_port_missing(self):
        with mock.patch.object(npiv_vios, 'read_feed', return_value=[]):
            err = self.assertRaises(exception.FabricPortsNotFound,
                                    self.load)
        self.assertIn('Fabric A: configured physical port(s) '
                      '10000090FA9E5000, 10000090FA9E5002 are not on any '
                      'active Virtual I/O Server of sys-a'.lower(),
                      err.format_message().lower())

    def test_the_start_up_read_serves_as_the_port_directory(self):
        # The ports read at start-up (with the storage group) are the
        # system's port directory: the first connector reads the VIOSes'
        # mappings only.
        before = len(self.sim.request_log)
        self.drv.get_volume_connector(self.inst)
        reads = [r.query for r in self.sim.request_log[before:]
                 if r.method == 'GET' and r.kind == 'VirtualIOServer']
        self.assertEqual(['group=ViosFCMapping'], reads)


class TestConnectorStages(test_driver.DriverTestCase):

    def test_the_wwpns_wait_on_the_staging_partition(self):
        # Cinder zones the WWPNs before the LPAR exists: they are logged
        # in through the staging partition found at start-up.
        conn = self.drv.get_volume_connector(self.inst)
        staging = self.drv.staging.uuid.upper()
        staged = [m for m in self.model.mappings('sys-a')
                  if (m.client_lpar_uuid or '').upper() == staging]
        self.assertEqual({'A', 'B'}, {m.fabric for m in staged})
        staged_wwpns = {w.lower() for m in staged for w in m.wwpns}
        # Each staged adapter carries a WWPN the connector gave Cinder.
        for m in staged:
            self.assertTrue({w.lower() for w in m.wwpns} &
                            {w.lower() for w in conn['wwpns']}, m)
        self.assertTrue(staged_wwpns)
