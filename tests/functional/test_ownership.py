"""Never act on what is not ours: LPAR identity, revert scope, audit scope.

Everything goes through nova's ComputeDriver API against the simulator.  A
foreign LPAR (another cloud's, another tool's) carries the name nova would
choose, or the instance's ``instance.name``: the driver must never power it
off, delete it, or report it as the instance's.
"""

import collections
import copy
import io
import json
import os
from unittest import mock

from lxml import etree
from nova.compute import task_states
from nova import exception as nova_exc
from nova import objects
from oslo_config import cfg
from pypowervm import const as pvm_const
from pypowervm import exceptions as pvm_exc
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv.cmd import main as cli
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv.testing import harness
from nova_npiv.testing import invariants
from nova_npiv.testing import scenarios
from nova_npiv.testing import world as world_lib
from nova_npiv import vm
from tests.functional import base
from tests.functional import conffile

CONF = cfg.CONF

OTHER_UUID = '9b2f6c1e-55aa-4d0e-8f7b-2e6a4c3d1b%02x'


class OwnershipTestCase(base.WorldTestCase):

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
        # Refused by name first; the driver finds its own LPAR and says so.
        self.assertRaises(nova_exc.InstanceExists, self.w.spawn)
        self.assertEqual('not activated',
                         self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual(maps, self.inst_maps())
        for fabric in world_lib.FABRICS:
            self.assertEqual(fabric_meta.INST_MAPPED,
                             fabric_meta.get_fabric(self.inst, fabric).state)
        self.assertEqual([], invariants.consistency_problems(self.w))

    def test_a_shape_the_system_cannot_take_sends_no_create(self):
        # The memory is not a multiple of the memory region size: pypowervm's
        # standardiser refuses it before any request, so no create is sent
        # and none with another UUID can follow.
        self.inst.flavor.memory_mb = 1000
        lpars = {lp.uuid for lp in self.w.sim.model.lpars('sys-a')}
        self.w.sim.reset_counters()
        err = self.assertRaises(exception.FlavorDoesNotFitHost, self.w.spawn)
        self.assertIn('logical memory block size (256)', str(err))
        self.assertNotIn('PUT LogicalPartition', self.w.sim.counters())
        self.assertEqual(lpars,
                         {lp.uuid for lp in self.w.sim.model.lpars('sys-a')})
        self.assertIsNone(vm.recorded_uuid(self.inst))
        self.assertEqual([], invariants.consistency_problems(self.w))

    def test_a_create_refused_for_its_shape_is_not_retried(self):
        # The console refuses the shape (a refusal the standardiser cannot
        # foresee): that is no UUID held elsewhere, so no second create
        # with another UUID may follow.
        self.w.sim.inject_fault('PUT', 'LogicalPartition$', status=400,
                                message='HSCL1313 The memory must be '
                                'multiples of the memory region size')
        lpars = {lp.uuid for lp in self.w.sim.model.lpars('sys-a')}
        err = self.assertRaises(pvm_exc.HttpError, self.w.spawn)
        self.assertIn('memory region size', str(err))
        self.assertEqual(lpars,
                         {lp.uuid for lp in self.w.sim.model.lpars('sys-a')})
        self.assertIsNone(vm.recorded_uuid(self.inst))
        self.assertEqual(1, self.logs.output.count('create_lpar_%s failed'
                                                   % self.inst.uuid))
        self.assertEqual([], invariants.consistency_problems(self.w))

    def test_the_refusal_text_decides_nothing(self):
        # A refusal worded like "UUID in use" while no partition of the
        # console holds the UUID: the console's state says the UUID is free,
        # so its refusal is returned as it is, with no second create.
        self.w.sim.inject_fault('PUT', 'LogicalPartition$', status=400,
                                message='Partition UUID %s is already in use'
                                % vm.lpar_uuid(self.inst))
        self.assertRaises(pvm_exc.HttpError, self.w.spawn)
        self.assertIsNone(vm.recorded_uuid(self.inst))
        self.assertEqual(1, self.logs.output.count('create_lpar_%s failed'
                                                   % self.inst.uuid))
        self.assertEqual([], invariants.consistency_problems(self.w))

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
        self.assertEqual([], invariants.consistency_problems(self.w))

    def test_lost_create_reply_removes_the_lpar_it_made(self):
        self.w.sim.inject_fault('PUT', 'LogicalPartition$',
                                kind='lost_reply')
        conn = self.w.connector()
        self.assertRaises(pvm_exc.Error, self.w.spawn, connector=conn)
        self.assertIsNone(self.lpar_state(vm.lpar_uuid(self.inst)))
        self.assertEqual([], invariants.consistency_problems(self.w))

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


    def test_uuid_in_use_on_this_system_creates_no_second_lpar(self):
        # A console that checks the UUID before the name: the derived UUID
        # is in use by the instance's own LPAR here, so the evacuation
        # fallback (the instance's own UUID here) must not run.
        self.w.spawn()
        self.drv.power_off(self.inst)
        lpars = self.w.sim.model.lpars()
        self.w.sim.inject_fault(
            'PUT', 'LogicalPartition$', status=400,
            message='Partition UUID %s is already in use'
            % vm.lpar_uuid(self.inst))
        self.w.sim.reset_counters()
        self.assertRaises(nova_exc.InstanceExists, self.w.spawn)
        self.assertEqual(1, self.w.sim.count('PUT', 'LogicalPartition'))
        self.assertEqual(lpars, self.w.sim.model.lpars())
        self.assertIsNone(vm.recorded_uuid(self.inst))


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
        self.assertEqual([], invariants.consistency_problems(self.w))

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
        # nova hears of the partition with our name shape by its own UUID
        # (its new-host check must still see it), never as the instance;
        # the one named instance.name is not a nova-npiv partition at all.
        with mock.patch.object(objects.InstanceList, 'get_by_host',
                               return_value=[]) as records:
            self.assertEqual([foreign.uuid.lower()],
                             self.drv.list_instance_uuids())
        records.assert_called_once_with(mock.ANY, 'host-a',
                                        expected_attrs=['system_metadata'])
        self.assertEqual([foreign.name], self.drv.list_instances())

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
    """The evacuation fallback: the derived UUID is held by the old LPAR on
    the failed system, so the new one gets the instance's own UUID on this
    system, recorded before the create (issue 15: the platform chose it
    before, which a lost reply left unprovable)."""

    def setUp(self):
        base.WorldTestCase.setUp(self)
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
        # Only the instance's record tells nova which instance it is.
        with mock.patch.object(objects.InstanceList, 'get_by_host',
                               return_value=[self.inst]):
            self.assertEqual([self.inst.uuid], drv_b.list_instance_uuids())
        with mock.patch.object(objects.InstanceList, 'get_by_host',
                               return_value=[]):
            self.assertEqual([chosen.lower()], drv_b.list_instance_uuids())
        self.assertEqual(chosen, self.w.sim.model.lpar(chosen).uuid)
        self.assertEqual('sys-b', self.w.sim.model.lpar(chosen).system)
        # Back on sys-a, the old LPAR is found by the derived UUID only.
        drv_a = self.w.drivers['host-a']
        drv_a.destroy(self.w.ctxt, self.inst, None, None)
        self.assertIsNone(self.w.sim.model.lpar(old))
        self.assertEqual('running', self.lpar_state(chosen))
        self.assertEqual(vm.own_uuid(self.inst, drv_b.system_uuid), chosen)

    def _evacuate(self):
        """host-a has failed with the instance running there; nova rebuilds
        it on host-b (REBUILD_SPAWNING, the instance still naming host-a):
        connector, then spawn with the instance's system_metadata."""
        self.inst.task_state = task_states.REBUILD_SPAWNING
        try:
            self.w.spawn(host='host-b')
        finally:
            self.inst.task_state = None
        self.inst.host, self.inst.node = 'host-b', 'sys-b'

    def _ours_on_sys_b(self):
        return [lp for lp in self.w.sim.model.lpars('sys-b')
                if lp.name == vm.lpar_name(self.inst)]

    def test_lost_create_reply_leaves_nothing_unprovable(self):
        self.w.spawn()
        old = self.w.sim.model.lpar(vm.lpar_uuid(self.inst))
        drv_b = self.w.drivers['host-b']
        own = vm.own_uuid(self.inst, drv_b.system_uuid)
        # The derived UUID's create is refused (held on sys-a); the reply
        # of the create with the instance's own UUID is lost.
        self.w.sim.inject_fault('PUT', 'LogicalPartition$', nth=2,
                                kind='lost_reply')
        self.assertRaises(pvm_exc.Error, self._evacuate)
        # The partition the lost reply made is proved by the record saved
        # before the create, so spawn's revert deleted it; nothing of the
        # instance is left on sys-b; the old LPAR on sys-a is untouched.
        self.assertEqual(own, vm.recorded_uuid(self.inst))
        self.assertEqual([], self._ours_on_sys_b())
        self.assertIn('Deleting LPAR %s' % own, self.logs.output)
        self.assertEqual(('sys-a', 'running'), (self.w.sim.model.lpar(
            old.uuid).system, self.lpar_state(old.uuid)))
        self.assertEqual([], [m for m in self.w.sim.model.mappings('sys-b')
                              if (m.client_lpar_uuid or '').upper() == own])
        # The operator evacuates again: the same UUID, the instance mapped.
        self._evacuate()
        self.assertEqual([own], [lp.uuid.upper()
                                 for lp in self._ours_on_sys_b()])
        self.assertEqual('running', self.lpar_state(own))
        self.assertEqual(2, len([m for m in self.w.sim.model.mappings('sys-b')
                                 if (m.client_lpar_uuid or '').upper() ==
                                 own]))
        # host-a comes back and removes what it had (nova's clean-up of
        # evacuated instances): then the console is exactly the instance
        # running on sys-b.
        self.w.destroy(host='host-a')
        self.assertIsNone(self.w.sim.model.lpar(old.uuid))
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-b'))
        self.assertEqual([], invariants.consistency_problems(self.w))

    def test_lost_create_reply_and_failed_revert_left_for_destroy(self):
        # The revert's own delete fails too: the partition stays, but its
        # UUID is the instance's record, so nova's delete finds it (a
        # platform-chosen one was known to nobody).
        self.w.spawn()
        drv_b = self.w.drivers['host-b']
        own = vm.own_uuid(self.inst, drv_b.system_uuid)
        self.w.sim.inject_fault('PUT', 'LogicalPartition$', nth=2,
                                kind='lost_reply')
        self.w.sim.inject_fault('DELETE', 'LogicalPartition/')
        self.assertRaises(pvm_exc.Error, self._evacuate)
        self.assertEqual([own], [lp.uuid.upper()
                                 for lp in self._ours_on_sys_b()])
        self.assertEqual(own, vm.recorded_uuid(self.inst))
        self.assertTrue(drv_b.instance_exists(self.inst))
        # nova deletes the server in ERROR on host-b.
        self.w.destroy(host='host-b')
        self.assertEqual([], self._ours_on_sys_b())
        self.assertEqual([], [m for m in self.w.sim.model.mappings('sys-b')
                              if (m.client_lpar_uuid or '').upper() == own])


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
            self.assertEqual([], invariants.gone(self.w))


# --------------------------------------------------------------------------
# Real captures: foreign mappings and LPARs survive everything nova does

_DATA = os.path.join(os.path.dirname(pvmhttp.__file__), os.pardir, 'data')
FEED = os.path.join(_DATA, 'fake_vios_feed.txt')
ENTRY = os.path.join(_DATA, 'fake_vios_mappings.txt')
#: Ports of the captured feed nova is configured with (one per fabric).
PORT_A, PORT_B = '10000090fa5371f2', '10000090fa53720a'
#: ... and of the captured single VIOS (the live-migration destination).
PORT_2A, PORT_2B = '10000090fa1b6898', '10000090fa109924'
_VFC = '{%s}VirtualFibreChannelMapping' % pvm_const.UOM_NS
_AVAIL = '{%s}AvailablePorts' % pvm_const.UOM_NS


def captured_topology():
    """Two systems seeded from pypowervm's captures, with partitions nova
    does not know: some are the clients of captured mappings, one is
    another cloud's instance-00000001."""
    foreign = [{'name': 'powervc-%d' % pid, 'id': pid, 'state': 'running'}
               for pid in (3, 4, 5)]
    foreign.append({'name': 'instance-00000001', 'id': 90,
                    'state': 'not activated'})
    return {'console': 'hmc', 'systems': [
        {'name': 'captured', 'vios_feed': FEED, 'lpars': foreign},
        {'name': 'captured-2', 'vios_feed': ENTRY,
         'lpars': [{'name': 'hand-made', 'id': 5, 'state': 'running'}]},
    ]}


class TestCapturedEstate(base.WorldTestCase):
    """pypowervm's captured VIOSes (mappings without client adapter, without
    port, to partitions that are gone) plus foreign LPARs: no driver
    operation (spawn, power, attach, detach, live migration, destroy),
    start-up or ``audit --fix`` removes or alters any of them."""

    def setUp(self):
        super().setUp()
        self.w = self.world(
            (('host-a', 'captured'),), topology=captured_topology(),
            fabrics=['A', 'B'], fabric_A_port_wwpns=[PORT_A],
            fabric_B_port_wwpns=[PORT_B])
        self.inst = self.w.inst
        self.reader = self.w.sim.adapter()
        self.foreign0 = self.foreign()
        self.assertEqual(58 + 56 + 31, sum(len(v) for v in
                                           self.foreign0[0].values()))

    def _mapping_bytes(self, system):
        """Each VIOS's mappings as served, serialised one by one.

        The count of free NPIV ports of the backing port is the port's,
        not the mapping's: nova's own mappings change it.
        """
        sys_uuid = self.w.sim.model.system(system).uuid
        resp = self.reader.read(
            pvm_ms.System.schema_type, root_id=sys_uuid,
            child_type=pvm_vios.VIOS.schema_type,
            xag=[pvm_const.XAG.VIO_FMAP, pvm_const.XAG.VIO_STOR])
        out = {}
        for entry in resp.feed.entries:
            elem = copy.deepcopy(entry.element.element)
            maps = []
            for vm_el in elem.iter(_VFC):
                for avail in list(vm_el.iter(_AVAIL)):
                    avail.getparent().remove(avail)
                maps.append(etree.tostring(vm_el))
            out[entry.uuid] = collections.Counter(maps)
        return out

    def ours(self):
        pairs = set()
        for fabric in world_lib.FABRICS:
            try:
                rec = fabric_meta.get_fabric(self.inst, fabric)
            except exception.CorruptFabricMetadata:
                continue
            pairs.update(tuple(p.split()) for _, p in rec.port_map)
        return {w.upper() for pair in pairs for w in pair} | {
            vm.lpar_uuid(self.inst)}

    def foreign(self):
        """(mapping bytes per VIOS, LPARs) that are not the instance's."""
        marks = [m.encode() for m in self.ours()]
        maps = {}
        for system in ('captured', 'captured-2'):
            for uuid, counter in self._mapping_bytes(system).items():
                maps[uuid] = collections.Counter({
                    b: n for b, n in counter.items()
                    if not any(mark in b.upper() for mark in marks)})
        lpars = sorted((lp for lp in self.w.sim.model.lpars()
                        if lp.uuid != vm.lpar_uuid(self.inst)), key=repr)
        return maps, lpars

    def assertForeignIntact(self, when):
        maps, lpars = self.foreign()
        self.assertEqual(self.foreign0[1], lpars, when)
        for uuid, counter in self.foreign0[0].items():
            self.assertEqual(counter, maps[uuid], '%s: VIOS %s' % (when,
                                                                   uuid))

    def restart(self, live, deleted=()):
        CONF.set_override('connection', 'sqlite://', group='database')
        with mock.patch.object(objects.InstanceList, 'get_by_host',
                               return_value=live), \
                mock.patch.object(objects.InstanceList, 'get_by_filters',
                                  return_value=list(deleted)):
            drv = self.w.load('host-a', 'captured', fabrics=['A', 'B'],
                              fabric_A_port_wwpns=[PORT_A],
                              fabric_B_port_wwpns=[PORT_B])
        CONF.clear_override('connection', group='database')
        return drv

    def audit(self, *args, records=None):
        harness.reset_conf()
        conf = conffile.write(self, self.w.sim, 'captured',
                              whole_console=True)
        out = io.StringIO()
        with mock.patch('sys.stdout', out), \
                mock.patch('nova_npiv.cmd.ops.nova_records',
                           return_value=records):
            code = cli.main(['--config-file', conf, 'audit'] + list(args))
        self.assertEqual(0, code, out.getvalue())
        return out.getvalue()

    def test_foreign_estate_survives_everything(self):
        self.restart([])
        self.assertForeignIntact('start-up with no instances')
        self.assertIn("Left no-partition mapping", self.logs.output)

        out = json.loads(self.audit('--json'))
        self.assertGreater(len(out['findings']), 20)
        self.assertEqual({'unproven'},
                         {f['owner'] for f in out['findings']})
        self.assertIn('Removed 0 mapping(s).', self.audit('--fix'))
        self.assertForeignIntact('audit --fix without nova records')

        self.w.spawn()
        # (The seeded ports carry no fabric name in the simulator, so the
        # instance's mappings are counted by port.)
        mine = [m for m in self.w.sim.model.mappings('captured')
                if m.client_lpar_uuid == vm.lpar_uuid(self.inst)]
        self.assertEqual({PORT_A, PORT_B},
                         {m.port_wwpn.lower() for m in mine})
        self.assertEqual('running', self.w.sim.model.lpar(
            vm.lpar_uuid(self.inst)).state)
        # The captured estate's own orphans are foreign: left, and checked
        # byte for byte by assertForeignIntact.
        self.assertEqual([], [p for p in
                              invariants.consistency_problems(self.w)
                              if not p.startswith('orphan: ')])
        self.assertForeignIntact('spawn')
        self.assertIn('Removed 0 mapping(s).',
                      self.audit('--fix', records=([self.inst], [])))
        self.assertForeignIntact('audit --fix with nova records')

        drv = self.restart([self.inst])
        self.assertForeignIntact('start-up with the instance')
        drv.power_off(self.inst)
        drv.power_on(self.w.ctxt, self.inst, None)
        self.assertForeignIntact('power off, power on')
        bdm = self.w.cinder.bdm('vol-third', 2, drv.get_volume_connector(
            self.inst))
        drv.attach_volume(self.w.ctxt, bdm['connection_info'], self.inst,
                          '/dev/sdc')
        drv.detach_volume(self.w.ctxt, bdm['connection_info'], self.inst,
                          '/dev/sdc')
        self.assertForeignIntact('attach, detach')

        self.w.load('host-b', 'captured-2', fabrics=['A', 'B'],
                    fabric_A_port_wwpns=[PORT_2A],
                    fabric_B_port_wwpns=[PORT_2B])
        self.w.systems['host-b'] = 'captured-2'
        self.w.live_migrate()
        self.assertEqual('host-b', self.inst.host)
        self.assertForeignIntact('live migration')

        self.w.destroy(host='host-b')
        self.assertEqual([], invariants.gone(self.w))
        self.assertForeignIntact('destroy')
        self.restart([], deleted=[self.inst])
        self.assertIn('Removed 0 mapping(s).',
                      self.audit('--fix', records=([], [self.inst])))
        self.assertForeignIntact('start-up and audit after the delete')


class TestStagingConfig(base.WorldTestCase):

    def test_staging_partition_naming_a_vios_is_refused(self):
        err = self.assertRaises(exception.NPIVConfigError, self.world,
                                staging_partition='vios-a1')
        self.assertIn('[powervm] staging_partition', str(err))
        self.assertIn('vios-a1 is a Virtual I/O Server', str(err))


class TestConnectionInfoInput(OwnershipTestCase):
    """Falsy and malformed connection_info from nova."""

    FALSY = ([], {}, None, '')

    def test_falsy_connection_info_is_named(self):
        self.w.spawn()
        before = invariants.snapshot(self.w)
        for value in self.FALSY:
            err = self.assertRaises(
                exception.InvalidConnectionInfo, self.drv.attach_volume,
                self.w.ctxt, value, self.inst, '/dev/sdc')
            self.assertIn('field connection_info is %r' % (value,),
                          str(err))
            err = self.assertRaises(
                exception.InvalidConnectionInfo, self.drv.extend_volume,
                self.w.ctxt, value, self.inst, 1)
            self.assertIn('field connection_info', str(err))
        self.assertEqual(before, invariants.snapshot(self.w))

    def test_spawn_with_falsy_connection_info_creates_nothing(self):
        conn = self.w.connector()
        staged = invariants.snapshot(self.w)
        for value in self.FALSY:
            bdms = [{'boot_index': 0, 'mount_device': '/dev/sda',
                     'connection_info': value}]
            err = self.assertRaises(
                exception.InvalidConnectionInfo, self.drv.spawn,
                self.w.ctxt, self.inst, None, [], None, {},
                block_device_info={'block_device_mapping': bdms})
            self.assertIn('field connection_info', str(err))
        self.assertEqual(staged, invariants.snapshot(self.w))
        self.w.spawn(connector=conn)

    def test_detach_with_malformed_connection_info_succeeds(self):
        self.w.spawn()
        before = invariants.snapshot(self.w)
        bad = self.FALSY + (
            'junk', {'driver_volume_type': 'fibre_channel'},
            {'driver_volume_type': 'fibre_channel', 'data': {}},
            {'driver_volume_type': 'iscsi', 'data': {}})
        for value in bad:
            self.drv.detach_volume(self.w.ctxt, value, self.inst,
                                   '/dev/sdb')
        self.assertIn('whose stored connection_info is unusable',
                      self.logs.output)
        self.assertEqual(before, invariants.snapshot(self.w))
        # A good one still validates and changes nothing either.
        self.drv.detach_volume(self.w.ctxt,
                               self.w.bdms[-1]['connection_info'],
                               self.inst, '/dev/sdb')
        self.assertEqual(before, invariants.snapshot(self.w))


class TestCorruptStagedDestroy(OwnershipTestCase):
    """Destroy of a staged instance never reports success over a leak."""

    def staging_maps(self):
        mgmt = {lp.id for lp in self.w.sim.model.lpars('sys-a') if lp.is_mgmt}
        return [m for m in self.w.sim.model.mappings('sys-a')
                if m.client_lpar_id in mgmt]

    def test_unreadable_staged_fabric_fails_naming_the_key(self):
        self.w.connector()
        self.assertEqual(2, len(self.staging_maps()))
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = 'zz'
        before = invariants.snapshot(self.w)
        err = self.assertRaises(exception.CorruptFabricMetadata,
                                self.w.destroy)
        self.assertIn('Instance %s' % self.inst.uuid, str(err))
        self.assertIn('key npiv_adpt_wwpns_A', str(err))
        self.assertEqual(before, invariants.snapshot(self.w))

    def test_readable_fabrics_are_still_unmapped(self):
        # Fabric A was unmapped (nothing staged there): its bad map hides
        # nothing, so destroy removes B's staging and succeeds.
        self.w.connector()
        rec = fabric_meta.get_fabric(self.inst, 'A')
        self.w.sim.model.remove_mappings(
            'sys-a', wwpn=rec.port_map[0][1].split()[0])
        fabric_meta.set_fabric(self.inst, 'A', fabric_meta.UNMAPPED,
                               rec.port_map)
        self.inst.system_metadata['npiv_adpt_wwpns_A'] = 'zz'
        self.w.destroy()
        self.assertEqual([], self.staging_maps())


class TestLenientHMC(base.WorldTestCase):
    """Where the LPAR is comes from its managed system, never a 404: this
    console serves a nested lookup for a partition of any system."""

    def setUp(self):
        super().setUp()
        self.sc = scenarios.scenario('live migration')
        self.w = self.world(self.sc.hosts)
        self.sc.prepare(self.w)
        self.w.sim.lenient_nested = True

    def test_lost_migrate_reply_completes(self):
        self.w.sim.inject_fault('PUT', 'do/Migrate$', kind='lost_reply')
        self.sc.operate(self.w)
        self.assertEqual('host-b', self.w.inst.host)
        self.assertEqual([], self.sc.done(self.w))
        self.assertIn('LPAR has left this system', self.logs.output)

    def test_failed_migrate_job_rolls_back(self):
        self.w.sim.fail_job('Migrate')
        err = self.assertRaises(world_lib.MigrationRolledBack,
                                self.sc.operate, self.w)
        self.assertEqual('failed', str(err))
        self.assertEqual('host-a', self.w.inst.host)
        self.assertEqual([], invariants.mapped_to_instance(self.w, 'sys-a'))

    def test_lookups_under_the_other_system_find_nothing(self):
        drv_b = self.w.drivers['host-b']
        self.assertFalse(drv_b.instance_exists(self.w.inst))
        self.assertRaises(nova_exc.InstanceNotFound, drv_b.get_info,
                          self.w.inst)
        self.assertTrue(self.w.drivers['host-a'].instance_exists(
            self.w.inst))
