"""Never act on what is not ours: LPAR identity, revert scope, audit scope.

Everything goes through nova's ComputeDriver API against the simulator.  A
foreign LPAR (another cloud's, another tool's) carries the name nova would
choose, or the instance's ``instance.name``: the driver must never power it
off, delete it, or report it as the instance's.
"""

import collections

from nova import exception as nova_exc
from pypowervm import exceptions as pvm_exc

from nova_npiv.cmd import harness
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import vm
from tests.functional import faultlib

OTHER_UUID = '9b2f6c1e-55aa-4d0e-8f7b-2e6a4c3d1b%02x'


class OwnershipTestCase(faultlib.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world()
        self.drv = self.w.drivers['host-a']
        self.inst = self.w.inst

    def foreign_lpar(self, name, state='not activated', system='sys-a'):
        return self.w.sim.model.add_lpar(system, name, state=state)

    def lpar_state(self, uuid):
        lpar = self.w.sim.model.lpar(uuid)
        return lpar.state if lpar is not None else None

    def inst_maps(self, inst=None):
        uuid = vm.lpar_uuid(inst or self.inst)
        return sorted((m.vios, m.vfchost, m.wwpns)
                      for m in self.w.sim.model.mappings()
                      if (m.client_lpar_uuid or '').upper() == uuid)


class TestCreateRevert(OwnershipTestCase):
    """tasks/vm.py Create.revert deletes only what its execute created."""

    def test_second_spawn_keeps_the_instances_stopped_lpar(self):
        # Repro A: the create is refused (the LPAR exists); nothing was
        # created, so nothing may be deleted.
        self.w.spawn()
        self.drv.power_off(self.inst)
        maps = self.inst_maps()
        self.assertEqual(2, len(maps))
        self.assertRaises(pvm_exc.Error, self.w.spawn)
        self.assertEqual('not activated',
                         self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual(maps, self.inst_maps())
        for fabric in faultlib.FABRICS:
            self.assertEqual(fabric_meta.INST_MAPPED,
                             fabric_meta.get_fabric(self.inst, fabric).state)
        self.assertEqual([], faultlib.consistency_problems(self.w))

    def test_foreign_lpar_named_like_the_instance_survives_spawn(self):
        # Repro B: another cloud's instance-00000001 on the same system.
        foreign = self.foreign_lpar(self.inst.name)
        self.w.spawn()
        self.assertEqual('not activated', self.lpar_state(foreign.uuid))
        self.assertEqual('running', self.lpar_state(vm.lpar_uuid(self.inst)))

    def test_foreign_lpar_with_our_lpar_name_survives_failed_spawn(self):
        foreign = self.foreign_lpar(vm.lpar_name(self.inst))
        self.assertRaises(pvm_exc.HttpError, self.w.spawn)
        self.assertEqual('not activated', self.lpar_state(foreign.uuid))
        self.assertIsNone(self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual([], faultlib.consistency_problems(self.w))

    def test_lost_create_reply_removes_the_lpar_it_made(self):
        self.w.sim.inject_fault('PUT', 'LogicalPartition$',
                                kind='lost_reply')
        conn = self.w.connector()
        self.assertRaises(pvm_exc.Error, self.w.spawn, connector=conn)
        self.assertIsNone(self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual([], faultlib.consistency_problems(self.w))

    def test_lost_reply_to_a_refused_create_keeps_the_old_lpar(self):
        # The instance's own LPAR exists (mapped); a create whose answer
        # was lost cannot have made it.
        self.w.spawn()
        self.drv.power_off(self.inst)
        maps = self.inst_maps()
        self.w.sim.inject_fault('PUT', 'LogicalPartition$',
                                kind='lost_reply')
        self.assertRaises(pvm_exc.Error, self.w.spawn)
        self.assertEqual('not activated',
                         self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual(maps, self.inst_maps())


class TestIdentity(OwnershipTestCase):
    """vm.get never matches by name; every action needs proven identity."""

    def test_destroy_without_lpar_leaves_lpars_of_that_name(self):
        # Build aborted after the connector call; an LPAR carries the name.
        self.w.connector()
        by_inst_name = self.foreign_lpar(self.inst.name, state='running')
        by_our_name = self.foreign_lpar(vm.lpar_name(self.inst),
                                        state='running')
        self.w.destroy()
        self.assertEqual('running', self.lpar_state(by_inst_name.uuid))
        self.assertEqual('running', self.lpar_state(by_our_name.uuid))
        self.assertEqual([], faultlib.consistency_problems(self.w))

    def test_nothing_acts_on_a_name_match(self):
        foreign = self.foreign_lpar(vm.lpar_name(self.inst), state='running')
        self.foreign_lpar(self.inst.name, state='running')
        self.assertFalse(self.drv.instance_exists(self.inst))
        self.assertRaises(nova_exc.InstanceNotFound, self.drv.get_info,
                          self.inst)
        self.assertRaises(nova_exc.InstanceNotFound, self.drv.power_off,
                          self.inst)
        self.assertRaises(nova_exc.InstanceNotFound, self.drv.reboot,
                          self.w.ctxt, self.inst, None, 'HARD')
        self.assertEqual('running', self.lpar_state(foreign.uuid))
        self.assertNotIn(self.inst.uuid, self.drv.list_instance_uuids())

    def test_two_clouds_same_instance_name(self):
        twin = harness.new_instance(1, OTHER_UUID % 1, 'host-a', node='sys-a')
        self.assertEqual(self.inst.name, twin.name)
        self.w.spawn()
        conn = self.drv.get_volume_connector(twin)
        bdms = [self.w.cinder.bdm('twin-vol', 0, conn)]
        self.drv.spawn(self.w.ctxt, twin, None, [], None, {},
                       block_device_info={'block_device_mapping': bdms})
        self.assertNotEqual(vm.lpar_name(self.inst), vm.lpar_name(twin))
        self.assertEqual('running', self.lpar_state(vm.lpar_uuid(twin)))
        self.drv.destroy(self.w.ctxt, twin, None,
                         {'block_device_mapping': bdms})
        self.assertIsNone(self.lpar_state(vm.lpar_uuid(twin)))
        self.assertEqual('running', self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual(2, len(self.inst_maps()))

    def test_lpar_names_keep_the_consoles_rules(self):
        for name in ('instance-00000007', 'a' * 60, 'bad(name)*$&?|[]\'"`',
                     None):
            got = vm.lpar_name(_Named(name, OTHER_UUID % 7))
            self.assertLessEqual(len(got), 31)
            self.assertTrue(got.endswith('-9b2f6c1e55aa'), got)
            for char in '()\\<>*$&?|[]\'"`':
                self.assertNotIn(char, got)


_Named = collections.namedtuple('_Named', 'name uuid')


class TestPlatformChosenUUID(OwnershipTestCase):
    """The evacuation fallback: the UUID the platform chose is recorded."""

    def setUp(self):
        faultlib.WorldTestCase.setUp(self)
        self.w = self.world((('host-a', 'sys-a'), ('host-b', 'sys-b')))
        self.inst = self.w.inst

    def test_recorded_uuid_is_the_identity(self):
        self.w.spawn()
        old = vm.lpar_uuid(self.inst)
        # sys-a is "down"; the instance is rebuilt on sys-b.
        self.inst.host, self.inst.node = 'host-b', 'sys-b'
        self.w.spawn(host='host-b')
        chosen = vm.recorded_uuid(self.inst)
        self.assertIsNotNone(chosen)
        self.assertNotEqual(old, chosen)
        drv_b = self.w.drivers['host-b']
        self.assertTrue(drv_b.instance_exists(self.inst))
        self.assertEqual(chosen, self.w.sim.model.lpar(chosen).uuid)
        self.assertEqual('sys-b', self.w.sim.model.lpar(chosen).system)
        # Back on sys-a, the old LPAR is found by the derived UUID only.
        drv_a = self.w.drivers['host-a']
        drv_a.destroy(self.w.ctxt, self.inst, None, None)
        self.assertIsNone(self.w.sim.model.lpar(old))
        self.assertEqual('running', self.lpar_state(chosen))


class TestDeleteVerified(OwnershipTestCase):
    """A delete answered with anything but 204 is checked by re-reading."""

    BODIES = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>',
              b'<feed xmlns="http://www.w3.org/2005/Atom"/>')

    def test_200_with_a_body_and_the_lpar_still_there(self):
        for body in self.BODIES:
            self.w.spawn()
            self.w.sim.inject_fault('DELETE', 'LogicalPartition/',
                                    kind='body', status=200, body=body)
            err = self.assertRaises(exception.LparNotDeleted, self.w.destroy)
            self.assertIn(vm.lpar_uuid(self.inst), str(err))
            self.assertIn(self.inst.uuid, str(err))
            self.assertEqual('not activated',
                             self.lpar_state(vm.lpar_uuid(self.inst)))
            # nova retries the delete: it completes.
            self.w.destroy()
            self.assertEqual([], faultlib.gone(self.w))
