"""Issue 13, R5: a client adapter added to or removed from an active
partition is DLPAR -- it takes time, needs RMC, can fail leaving the adapter
as it was -- and a partition has at most MaximumVirtualIOSlots slots,
the staging (management) partition included; over HTTP with pypowervm's
vfc_mapper, as the driver sends it."""

import time

from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import vfc_mapper
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import dlpar
from nova_npiv.simulator import faults
from nova_npiv.simulator import Simulator


class DlparTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sim = Simulator(self.topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.sys_uuid = self.sim.model.system('sys-a').uuid
        self.pairs = iter(self.sim.model.next_wwpns('sys-a', 8)[i:i + 2]
                          for i in range(0, 16, 2))

    def topology(self):
        # Each system runs a NovaLink partition: the running staging one.
        return co_managed_topology()

    def vios_w(self, name='vios-a1'):
        vios = [v for v in self.sim.model.vioses() if v.name == name][0]
        return pvm_vios.VIOS.get(self.adpt, uuid=vios.uuid,
                                 xag=['ViosFCMapping', 'ViosStorage'])

    def port_map(self):
        return ('10000090FA000000', ' '.join(next(self.pairs)))

    def map_to(self, lpar_uuid, port_map=None, vios_name='vios-a1'):
        port_map = port_map or self.port_map()
        vios = self.vios_w(vios_name)
        port = vios.pfc_ports[0].wwpn
        port_map = (port, port_map[1])
        self.assertIsNotNone(vfc_mapper.add_map(
            vios, self.sys_uuid, lpar_uuid, port_map))
        vios.update()
        return port_map

    def unmap(self, lpar_uuid, port_map, vios_name='vios-a1'):
        vios = self.vios_w(vios_name)
        self.assertNotEqual([], vfc_mapper.remove_maps(
            vios, lpar_uuid, port_map=port_map))
        vios.update()

    def client_wwpns(self, lpar_name):
        return sorted(tuple(m.wwpns) for m in self.sim.model.mappings('sys-a')
                      if m.client_lpar_name == lpar_name and m.wwpns)

    def mgmt(self):
        return self.sim.model.lpar('novalink-sys-a')

    def last_post(self):
        return [r for r in self.sim.request_log if r.method == 'POST'][-1]

    def assertHttp(self, status, func, *args):
        exc = self.assertRaises(pvm_exc.HttpError, func, *args)
        self.assertEqual(status, exc.response.status)
        return exc.response.body


class TestDlparTime(DlparTestCase):

    def test_adding_to_the_running_staging_partition_takes_time(self):
        self.sim.dlpar_seconds = 0.3
        started = time.monotonic()
        self.map_to(self.mgmt().uuid)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(1, self.last_post().dlpar)

    def test_a_stopped_partition_is_changed_without_dlpar(self):
        self.sim.dlpar_seconds = 5
        lpar = self.sim.model.add_lpar('sys-a', 'stopped')
        started = time.monotonic()
        self.map_to(lpar.uuid)
        self.assertLess(time.monotonic() - started, 4)
        self.assertEqual(0, self.last_post().dlpar)

    def test_removal_from_a_running_partition_is_dlpar_too(self):
        pmap = self.map_to(self.mgmt().uuid)
        self.sim.dlpar_seconds = 0.2
        started = time.monotonic()
        self.unmap(self.mgmt().uuid, pmap)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertEqual(1, self.last_post().dlpar)
        self.assertEqual([], self.client_wwpns('novalink-sys-a'))

    def test_slow_dlpar_fault_delays_only_a_dlpar_update(self):
        lpar = self.sim.model.add_lpar('sys-a', 'stopped')
        fault = self.sim.inject_fault('POST', 'VirtualIOServer/', times=2,
                                      kind=faults.KIND_SLOW_DLPAR, delay=0.3)
        self.map_to(lpar.uuid)               # no DLPAR: counted, no hit
        self.assertEqual([], fault.hits)
        started = time.monotonic()
        self.map_to(self.mgmt().uuid)
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(1, len(fault.hits))
        self.assertEqual(faults.KIND_SLOW_DLPAR, self.last_post().fault)

    def test_the_console_answers_others_during_a_dlpar(self):
        # The DLPAR time passes outside the model's lock.
        import threading
        self.sim.dlpar_seconds = 1.0
        thread = threading.Thread(target=self.map_to,
                                  args=(self.mgmt().uuid,))
        thread.start()
        time.sleep(0.2)
        started = time.monotonic()
        self.vios_w('vios-a2')
        self.assertLess(time.monotonic() - started, 0.8)
        thread.join()


class TestDlparFailure(DlparTestCase):

    def test_failed_addition_adds_nothing(self):
        fault = self.sim.inject_fault('POST', 'VirtualIOServer/',
                                      kind=faults.KIND_DLPAR_FAIL)
        before = self.sim.model.mappings()
        body = self.assertHttp(500, self.map_to, self.mgmt().uuid)
        self.assertIn(dlpar.FAILED_CODE, body)
        self.assertIn('adding virtual fibre channel client adapter', body)
        self.assertIn('novalink-sys-a', body)
        self.assertEqual(before, self.sim.model.mappings())
        self.assertEqual(1, len(fault.hits))
        # Nothing is left armed: the same update now goes through.
        self.map_to(self.mgmt().uuid)

    def test_failed_removal_leaves_the_adapter_in_place(self):
        pmap = self.map_to(self.mgmt().uuid)
        staged = self.client_wwpns('novalink-sys-a')
        self.sim.inject_fault('POST', 'VirtualIOServer/',
                              kind=faults.KIND_DLPAR_FAIL)
        body = self.assertHttp(500, self.unmap, self.mgmt().uuid, pmap)
        self.assertIn('removing virtual fibre channel client adapter', body)
        self.assertEqual(staged, self.client_wwpns('novalink-sys-a'))

    def test_dlpar_fault_on_an_update_without_dlpar_does_nothing(self):
        lpar = self.sim.model.add_lpar('sys-a', 'stopped')
        fault = self.sim.inject_fault('POST', 'VirtualIOServer/',
                                      kind=faults.KIND_DLPAR_FAIL)
        self.map_to(lpar.uuid)
        self.assertEqual([], fault.hits)
        self.assertEqual(1, len(self.client_wwpns('stopped')))
        self.assertIsNone(self.last_post().fault)


class TestDlparNeedsRmc(DlparTestCase):

    def test_running_client_without_rmc_is_refused(self):
        lpar = self.sim.model.add_lpar('sys-a', 'vm1', state='running')
        self.sim.model.set_lpar_state('sys-a', 'vm1', 'running')
        self.map_to(lpar.uuid)          # RMC active: fine
        with self.sim.model.lock:
            self.sim.model.find_partition(None, lpar.uuid).rmc_state = \
                'inactive'
        before = self.sim.model.mappings()
        body = self.assertHttp(500, self.map_to, lpar.uuid)
        self.assertIn(dlpar.RMC_CODE, body)
        self.assertIn('RMC connection is inactive', body)
        self.assertEqual(before, self.sim.model.mappings())

    def test_the_management_partition_needs_no_rmc(self):
        # As pypowervm's can_modify_io: the management partition is changed
        # through the hypervisor whatever its RMC says.
        with self.sim.model.lock:
            self.sim.model.find_partition(None, self.mgmt().uuid).rmc_state \
                = 'inactive'
        self.map_to(self.mgmt().uuid)
        self.assertEqual(1, len(self.client_wwpns('novalink-sys-a')))


class TestMaximumSlots(DlparTestCase):

    def topology(self):
        spec = co_managed_topology()
        spec['systems'][0]['lpars'] = [
            {'name': 'small', 'state': 'running', 'max_virtual_slots': 5}]
        return spec

    def test_adding_beyond_the_maximum_is_refused(self):
        # Slots 0-2 are taken (serial adapters, first network adapter):
        # a partition with 5 has room for two vFC client adapters.
        small = self.sim.model.lpar('small').uuid
        self.map_to(small)
        self.map_to(small, vios_name='vios-a2')
        before = self.sim.model.mappings()
        body = self.assertHttp(400, self.map_to, small)
        self.assertIn(dlpar.SLOTS_CODE, body)
        self.assertIn('Partition small', body)
        self.assertIn('all 5 slots', body)
        self.assertEqual(before, self.sim.model.mappings())
