"""Connect (state-machine.rst rows 3 and 4)."""

from pypowervm.tasks import vfc_mapper

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
W = npiv_base.W
MGMT = npiv_base.MGMT
INST = npiv_base.INST
pair = npiv_base.pair


class TestConnectFromMgmtMapped(NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.fx.reset_counts()
        self.before = self.fx.other_maps(fx.STAGING_UUID,
                                         vm.lpar_uuid(self.inst))

    def test_staging_swapped_for_instance_mappings(self):
        self.connect()

        self.assertStates(INST)
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual(self.before, self.fx.other_maps(
            fx.STAGING_UUID, vm.lpar_uuid(self.inst)))

    def test_one_feedtask_one_post_per_touched_vios(self):
        self.connect()

        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))
        self.assertEqual([], self.fx.job.jobs)

    def test_swap_travels_in_each_vios_post(self):
        posted = {}

        def snapshot(vios_w):
            posted[vios_w.name] = (
                self.fx.staging_maps().get(vios_w.name, []),
                self.fx.instance_maps(self.inst).get(vios_w.name, []))

        self.fx.on_update(snapshot)
        self.connect()

        self.assertEqual(
            {fx.VIOS1: ([], [(fx.V1_FCS0, pair(0, 1))]),
             fx.VIOS2: ([], [(fx.V2_FCS1, pair(2, 3))])}, posted)

    def test_wwpns_kept(self):
        before = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        self.connect()
        self.assertEqual(before, fabric_meta.all_wwpns(self.inst, ['A', 'B']))

    def test_state_saved_after_the_posts(self):
        saves = self.inst.saves
        self.connect()
        self.assertEqual(saves + 1, self.inst.saves)
        self.assertEqual(INST, self.inst.db.read(self.inst.uuid)[
            'fabric_state_B'])

    def test_mapping_to_the_instance_partition(self):
        self.connect()
        for vios_w in self.fx.feed:
            for vmap in vfc_mapper.find_maps(
                    vios_w.vfc_mappings, vm.lpar_uuid(self.inst)):
                self.assertIn('/ManagedSystem/%s/LogicalPartition/%s'
                              % (fx.HOST_UUID, vm.lpar_uuid(self.inst)),
                              vmap.client_lpar_href)

    def test_initiator_map_may_name_partner_wwpns(self):
        drv = self.fx.npiv(self.inst, fx.connection_info([W(1), W(3)]))
        drv.connect_volume()
        self.assertStates(INST)

    def test_initiator_spelling_does_not_matter(self):
        spelled = [':'.join(W(0).upper()[i:i + 2] for i in range(0, 16, 2))]
        self.fx.npiv(self.inst, fx.connection_info(spelled)).connect_volume()
        self.assertStates(INST)

    def test_without_initiator_target_map(self):
        self.fx.npiv(self.inst, fx.connection_info()).connect_volume()
        self.assertStates(INST)


class TestConnectFromUnmapped(NPIVTestCase):

    staging = False

    def test_unmapped_to_inst_mapped(self):
        self.connector()
        self.fx.reset_counts()

        self.connect()

        self.assertStates(INST)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))

    def test_after_rollback_with_staging_configured_later(self):
        # Staging may have been turned on since: nothing to remove.
        self.connector()
        self.fx.staging = fx.Staging()
        self.connect()
        self.assertStates(INST)
        self.assertEqual({}, self.fx.staging_maps())

    def test_without_connector_call_first(self):
        drv = self.fx.npiv(self.inst, fx.connection_info())
        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.connect_volume)
        self.assertIn('A, B', str(err))
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


class TestLaterVolumes(NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.connector()
        self.connect('vol-1')
        self.fx.reset_counts()
        self.maps = self.fx.instance_maps(self.inst)
        self.saves = self.inst.saves

    def test_second_volume_zero_vios_updates_and_no_get(self):
        self.connect('vol-2')
        self.connect('vol-3')

        self.assertEqual(0, self.fx.gets)
        self.assertEqual(0, self.fx.updates)
        self.assertEqual(self.maps, self.fx.instance_maps(self.inst))
        self.assertEqual(self.saves, self.inst.saves)
        self.assertStates(INST)

    def test_on_a_shared_feedtask_nothing_is_queued(self):
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'attach')
        self.connect('vol-2', stg_ftsk=ftsk)
        ftsk.execute()

        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_extend(self):
        drv = self.fx.npiv(self.inst, fx.connection_info([W(0)], 'vol-1'))
        drv.extend_volume()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


class TestSpawnWithManyVolumes(NPIVTestCase):

    def test_one_get_one_post_per_vios_for_three_volumes(self):
        self.connector()
        self.fx.reset_counts()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'spawn',
                                   xags=npiv_vios.XAGS_PORTS)

        drvs = [self.connect('vol-%d' % i, stg_ftsk=ftsk) for i in range(3)]
        # Queued only: the driver runs the FeedTask in its flow.
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(MGMT)
        self.assertEqual([True, False, False],
                         [d._queued_here for d in drvs])

        ftsk.execute()

        self.assertEqual(1, self.fx.gets)
        self.assertEqual(sorted([fx.VIOS1, fx.VIOS2]),
                         sorted(self.fx.updated()))
        self.assertStates(INST)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())

    def test_two_instances_on_one_feedtask(self):
        other = self.fx.instance(uuid='5d1a9e4c-0b8f-4d6e-a1c3-7e2f9b0d4c68')
        self.connector()
        self.connector(other)
        self.fx.reset_counts()
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'batch')

        self.connect(stg_ftsk=ftsk)
        self.connect(instance=other, stg_ftsk=ftsk)
        ftsk.execute()

        self.assertEqual((1, 2), (self.fx.gets, self.fx.updates))
        self.assertStates(INST)
        self.assertStates(INST, other)
        self.assertEqual(2, len(self.fx.instance_maps(other)))
        self.assertEqual(2, len(self.fx.instance_maps(self.inst)))


class TestBadConnectionInfo(NPIVTestCase):
    """Validated before anything changes: no subtask, no metadata change."""

    def setUp(self):
        super().setUp()
        self.connector()
        self.fx.reset_counts()
        self.sysmeta = dict(self.inst.system_metadata)
        self.staged = self.fx.staging_maps()
        self.saves = self.inst.saves

    def _check(self, conn_info, field):
        ftsk = npiv_vios.feed_task(self.fx.adpt, fx.HOST_UUID, 'attach')
        drv = self.fx.npiv(self.inst, conn_info, stg_ftsk=ftsk)

        err = self.assertRaises(exception.InvalidConnectionInfo,
                                drv.connect_volume)

        self.assertIn('field %s ' % field, str(err))
        # Nothing was queued: executing the FeedTask is a no-op, no GET.
        ftsk.execute()
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertFalse(drv._queued_here)
        self.assertEqual(self.sysmeta, self.inst.system_metadata)
        self.assertEqual(self.saves, self.inst.saves)
        self.assertEqual(self.staged, self.fx.staging_maps())
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        return err

    def test_wrong_driver_volume_type(self):
        info = fx.connection_info([W(0)])
        info['driver_volume_type'] = 'iscsi'
        self._check(info, 'driver_volume_type')

    def test_no_target(self):
        info = fx.connection_info([W(0)])
        del info['data']['target_wwn']
        self._check(info, 'data.target_wwn')

    def test_bad_target_wwpn(self):
        self._check(fx.connection_info([W(0)], targets=['nothex']),
                    'data.target_wwn[0]')

    def test_bad_lun(self):
        self._check(fx.connection_info([W(0)], lun='1'), 'data.target_lun')

    def test_foreign_initiator(self):
        err = self._check(fx.connection_info(['c0507609ffff0000']),
                          "data.initiator_target_map['c0507609ffff0000']")
        self.assertIn('vol-1', str(err))

    def test_no_data(self):
        self._check({'driver_volume_type': 'fibre_channel', 'serial': 'v'},
                    'data')

    def test_own_feedtask_not_executed(self):
        info = fx.connection_info(['c0507609ffff0000'])
        drv = self.fx.npiv(self.inst, info)
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.connect_volume)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_detach_and_extend_validate_too(self):
        info = fx.connection_info([W(0)])
        info['data']['target_lun'] = -1
        drv = self.fx.npiv(self.inst, info)
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.disconnect_volume)
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.extend_volume)
        self.assertEqual(self.sysmeta, self.inst.system_metadata)
