"""Detach, extend, delete and rollback (state-machine.rst rows 5 and 6)."""

from nova.compute import task_states

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
W = npiv_base.W
UNMAPPED = npiv_base.UNMAPPED
MGMT = npiv_base.MGMT
INST = npiv_base.INST
pair = npiv_base.pair


class TestPlainDetach(NPIVTestCase):

    def _detach_changes_nothing(self):
        sysmeta = dict(self.inst.system_metadata)
        staged = self.fx.staging_maps()
        mapped = self.fx.instance_maps(self.inst)
        saves = self.inst.saves
        self.fx.reset_counts()

        wwpns = fabric_meta.active_wwpns(self.inst, ['A', 'B'])
        drv = self.fx.npiv(self.inst, fx.connection_info(wwpns[:1]))
        drv.disconnect_volume()

        self.assertEqual(sysmeta, self.inst.system_metadata)
        self.assertEqual(saves, self.inst.saves)
        self.assertEqual(staged, self.fx.staging_maps())
        self.assertEqual(mapped, self.fx.instance_maps(self.inst))
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_inst_mapped(self):
        self.connector()
        self.connect()
        self._detach_changes_nothing()
        self.assertStates(INST)
        self.assertEqual(2, len(self.fx.instance_maps(self.inst)))

    def test_mgmt_mapped(self):
        self.connector()
        self._detach_changes_nothing()
        self.assertStates(MGMT)

    def test_unmapped(self):
        self._detach_changes_nothing()
        self.assertEqual({}, self.inst.system_metadata)


class TestExtend(NPIVTestCase):

    def test_not_mapped_to_the_instance(self):
        self.connector()
        drv = self.fx.npiv(self.inst, fx.connection_info([W(0)]))
        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.extend_volume)
        self.assertIn('vol-1', str(err))


class TestRemoveInstanceMappings(NPIVTestCase):

    def _remove(self, update_metadata=True):
        self.before_wwpns = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        self.others = self.fx.other_maps(fx.STAGING_UUID,
                                         vm.lpar_uuid(self.inst))
        self.fx.reset_counts()
        self.fx.npiv(self.inst).remove_instance_mappings(
            update_metadata=update_metadata)

    def _assert_all_gone(self):
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(self.others, self.fx.other_maps(
            fx.STAGING_UUID, vm.lpar_uuid(self.inst)))
        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))

    def test_delete_inst_mapped(self):
        self.connector()
        self.connect()
        self._remove()

        self._assert_all_gone()
        self.assertStates(UNMAPPED)
        self.assertEqual(self.before_wwpns,
                         fabric_meta.all_wwpns(self.inst, ['A', 'B']))
        self.assertEqual(UNMAPPED, self.inst.db.read(self.inst.uuid)[
            'fabric_state_A'])

    def test_delete_before_spawn_removes_staging(self):
        self.connector()
        self._remove()

        self._assert_all_gone()
        self.assertStates(UNMAPPED)
        self.assertEqual(self.before_wwpns,
                         fabric_meta.all_wwpns(self.inst, ['A', 'B']))

    def test_without_metadata_update(self):
        # Evacuate clean-up on the old host: the metadata is the new host's.
        self.connector()
        self.connect()
        sysmeta = dict(self.inst.system_metadata)
        saves = self.inst.saves

        self._remove(update_metadata=False)

        self._assert_all_gone()
        self.assertEqual(sysmeta, self.inst.system_metadata)
        self.assertEqual(saves, self.inst.saves)

    def test_nothing_mapped_no_post(self):
        self.connector()
        self._remove()
        self.fx.reset_counts()
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))

    def test_same_wwpns_are_restaged_without_a_job(self):
        first = self.connector()
        self.connect()
        self._remove()
        self.fx.reset_counts()

        self.assertEqual(first, self.connector())
        self.assertEqual([], self.fx.job.jobs)
        self.assertStates(MGMT)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())

    def test_queued_on_a_shared_feedtask(self):
        self.connector()
        self.connect()
        self.fx.reset_counts()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'destroy')

        self.fx.npiv(self.inst, stg_ftsk=ftsk).queue_instance_unmapping()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(INST)

        ftsk.execute()
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertStates(UNMAPPED)

    def test_mappings_as_the_console_spells_them(self):
        # The console reports partition UUIDs in upper case: the instance's
        # mappings must be found in what it returns.
        inst = self.fx.instance(uuid=fx.REST_LPAR_UUID.lower())
        for fabric, (_vios, port, wwpns, _slot) in zip(
                ('A', 'B'), fx.REST_LPAR_MAPS):
            fabric_meta.set_fabric(inst, fabric, INST,
                                   [(port, ' '.join(wwpns))])
        others = self.fx.other_maps(fx.REST_LPAR_UUID)

        self.fx.npiv(inst).remove_instance_mappings()

        self.assertEqual({}, self.fx.maps(fx.REST_LPAR_UUID))
        self.assertEqual(others, self.fx.other_maps(fx.REST_LPAR_UUID))
        self.assertEqual(2, self.fx.updates)
        self.assertStates(UNMAPPED, inst)


class TestConnectorDuringDelete(NPIVTestCase):
    """nova asks for the connector after ``destroy`` (legacy attachments).

    ``_shutdown_instance`` calls ``driver.destroy`` and then, for volumes
    attached without a Cinder attachment id, ``get_volume_connector`` to
    terminate the connections: the instance is unmapped by then and must
    not be staged again, or the staging mappings outlive the instance.
    """

    def test_no_restaging_while_deleting(self):
        first = self.connector()
        self.connect()
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.inst.task_state = task_states.DELETING
        self.fx.reset_counts()

        self.assertEqual(first, self.connector())

        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(UNMAPPED)
        self.assertEqual((0, 0, []),
                         (self.fx.gets, self.fx.updates, self.fx.job.jobs))


class TestRollbackConnect(NPIVTestCase):

    def test_rollback_after_connect(self):
        first = self.connector()
        drv = self.connect()
        self.fx.reset_counts()

        drv.rollback_connect()

        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(UNMAPPED)
        self.assertEqual(first, fabric_meta.active_wwpns(self.inst,
                                                         ['A', 'B']))
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_rollback_twice_runs_once(self):
        self.connector()
        drv = self.connect()
        drv.rollback_connect()
        self.fx.reset_counts()
        drv.rollback_connect()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_nothing_queued_nothing_undone(self):
        self.connector()
        self.connect('vol-1')
        drv = self.connect('vol-2')   # inst_mapped already: queued nothing
        self.fx.reset_counts()

        drv.rollback_connect()

        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(INST)

    def test_rollback_before_the_feedtask_ran_removes_staging(self):
        self.connector()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'spawn')
        drv = self.connect(stg_ftsk=ftsk)

        drv.rollback_connect()

        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(UNMAPPED)


class TestReschedule(NPIVTestCase):
    """Spawn rolled back here, retried on another managed system.

    The instance keeps its WWPNs (the SAN zoning stays valid) but the
    physical ports recorded are this system's: the other host must choose
    its own ports, not map through ports it does not have.
    """

    def setUp(self):
        super().setUp()
        self.wwpns = self.connector()
        self.connect()
        # Spawn failed later: rolled back here, WWPNs kept.
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.assertStates(UNMAPPED)

    def test_connector_on_the_other_host_restages_on_its_ports(self):
        self.fx.other_host()

        self.assertEqual(self.wwpns, self.connector())

        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual([(fx.OTHER_FCS2, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.OTHER_FCS4, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))
        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.staging_maps())
        self.assertStates(MGMT)
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_spawn_on_the_other_host_maps_the_instance(self):
        self.fx.other_host()
        self.connector()
        self.fx.reset_counts()

        self.connect()

        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(INST)
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_without_staging_connect_chooses_the_ports(self):
        self.fx.staging = None
        self.fx.other_host()
        self.assertEqual(self.wwpns, self.connector())
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

        self.connect()

        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertStates(INST)
        self.assertEqual(fx.OTHER_FCS2, fx.port_map(self.inst, 'A')[0][0])
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_no_configured_port_on_the_other_host(self):
        self.fx.other_host(fabrics={'A': [fx.OTHER_FCS2],
                                    'B': [fx.NOWHERE]})
        err = self.assertRaises(exception.FabricPortsNotFound,
                                self.connector)
        self.assertIn('Fabric B', str(err))
        self.assertEqual({}, self.fx.staging_maps())

    def test_same_host_ports_are_kept(self):
        before = {f: fx.port_map(self.inst, f) for f in ('A', 'B')}
        self.connector()
        self.assertEqual(before, {f: fx.port_map(self.inst, f)
                                  for f in ('A', 'B')})

    def test_port_on_a_vios_that_went_down_is_replaced(self):
        # Fabric A was on VIOS1 (fcs0); VIOS1 is now down.
        self.fx.vios(fx.VIOS1).set_parm_value('PartitionState',
                                              'not activated')
        self.fx.reset_counts()
        self.connector()
        self.assertEqual([(fx.V2_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))


class TestEvacuate(NPIVTestCase):
    """The old system is down; the instance is rebuilt on another one.

    Its metadata still says inst_mapped, through the old system's ports;
    the old host cleans up later without touching the metadata.
    """

    def setUp(self):
        super().setUp()
        self.wwpns = self.connector()
        self.connect()
        self.assertStates(INST)

    def test_connector_and_spawn_map_on_the_new_system(self):
        self.fx.other_host()

        self.assertEqual(self.wwpns, self.connector())
        self.assertStates(MGMT)
        self.assertEqual([(fx.OTHER_FCS2, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.fx.reset_counts()

        self.connect()

        self.assertEqual(
            {fx.OTHER_VIOS: [(fx.OTHER_FCS2, pair(0, 1)),
                             (fx.OTHER_FCS4, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertStates(INST)
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual((1, 1), (self.fx.gets, self.fx.updates))

    def test_without_staging(self):
        self.fx.staging = None
        self.fx.other_host()
        self.assertEqual(self.wwpns, self.connector())
        self.assertStates(UNMAPPED)

        self.connect()

        self.assertEqual(2, len(self.fx.instance_maps(self.inst)[
            fx.OTHER_VIOS]))
        self.assertStates(INST)

    def test_mapped_on_this_system_is_trusted(self):
        self.fx.reset_counts()
        self.assertEqual(self.wwpns, self.connector())
        self.assertStates(INST)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_metadata_of_an_instance_owned_elsewhere_untouched(self):
        self.fx.other_host()
        self.inst.host = 'new-owner'
        before = dict(self.inst.system_metadata)
        self.connector()
        self.assertEqual(before, self.inst.system_metadata)
