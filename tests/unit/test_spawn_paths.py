"""A spawn's less travelled paths, through the driver, on the simulator.

Each is a way the spawn's flow is wired together (which LPAR the mappings
point at, what the create's undo knows, which FeedTask carries the
mappings and what it reads) that the ordinary spawn cannot tell apart:
the mutation rounds found them unchecked (doc/mutation-survivors.md).
"""

from pypowervm import const as pvm_const
from pypowervm import exceptions as pvm_exc

from nova_npiv import fabric_meta
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from tests.unit import test_driver

STOR = pvm_const.XAG.VIO_STOR


class TestSpawnWithAnUUIDOfItsOwn(test_driver.DriverTestCase):
    """The derived UUID is held by a partition of the other system (an
    evacuated instance's old LPAR): the LPAR is created with the instance's
    own UUID on this system, and the mappings must point at that one."""

    def test_the_mappings_point_at_the_created_lpar(self):
        self.model.add_lpar('sys-b', 'old-home', uuid=self.lpar_uuid)
        self.spawn(volumes=2)
        own = vm.own_uuid(self.inst, self.drv.system_uuid)
        self.assertNotEqual(own, self.lpar_uuid)
        self.assertEqual('sys-a', self.model.lpar(own).system)
        mine = [m for m in self.model.mappings('sys-a')
                if (m.client_lpar_uuid or '').upper() == own]
        self.assertEqual({'A', 'B'}, {m.fabric for m in mine})
        # Nothing on this system points at the other system's partition.
        self.assertEqual([], self.own_maps())
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.INST_MAPPED,
                             fabric_meta.get_fabric(self.inst, fabric).state)


class TestSpawnUndoOfALostCreate(test_driver.DriverTestCase):
    """A create whose reply was lost is undone by deleting the partition
    it asked for only if that partition is fresh: one the instance's
    metadata already maps a fabric to predates the spawn."""

    def test_a_partition_the_metadata_maps_is_kept(self):
        self.spawn(power_on=False)
        before = sorted((m.vios, m.fabric, m.port_wwpn)
                        for m in self.own_maps())
        self.assertEqual(2, len(before))
        self.sim.inject_fault('PUT', 'LogicalPartition', kind='lost_reply')
        self.assertRaises(pvm_exc.ConnectionError, self.spawn,
                          power_on=False)
        self.assertIsNotNone(self.lpar())
        self.assertEqual(before, sorted((m.vios, m.fabric, m.port_wwpn)
                                        for m in self.own_maps()))
        self.assertIn('predates the failed spawn', self.logs.output)
        self.assertIn('fabrics A, B mapped', self.logs.output)

    def test_a_fresh_partition_is_deleted(self):
        self.sim.inject_fault('PUT', 'LogicalPartition', kind='lost_reply')
        self.assertRaises(pvm_exc.ConnectionError, self.spawn)
        self.assertIsNone(self.lpar())
        self.assertEqual([], self.own_maps())


class TestSpawnWithoutThePortDirectory(test_driver.DriverTestCase):
    """The port directory was dropped (a VIOS it did not know appeared):
    the spawn's FeedTask reads the VIOSes with their ports, and the
    mappings it carries land on the ports the connector chose."""

    def test_the_spawn_reads_the_ports_and_maps_through_them(self):
        bdi = self.bdi(2)
        chosen = {f: {phys.lower() for phys, _ in
                      fabric_meta.get_fabric(self.inst, f).port_map}
                  for f in ('A', 'B')}
        npiv_vios.FEEDS.drop_directory(self.drv.system_uuid)
        npiv_vios.FEEDS.forget(self.drv.system_uuid)
        start = len(self.sim.request_log)
        self.drv.spawn(self.ctxt, self.inst, None, [], None, {},
                       block_device_info=bdi)
        vios_gets = [r for r in list(self.sim.request_log)[start:]
                     if r.kind == 'VirtualIOServer' and r.method == 'GET']
        self.assertEqual(1, len(vios_gets))
        self.assertIn(STOR, vios_gets[0].query)
        mine = self.own_maps()
        self.assertEqual({'A', 'B'}, {m.fabric for m in mine})
        for m in mine:
            self.assertIn(m.port_wwpn.lower(), chosen[m.fabric])
        self.assertEqual('running', self.lpar().state)

