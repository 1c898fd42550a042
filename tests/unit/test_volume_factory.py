"""Volume adapter factory and what every volume adapter shares."""

from unittest import mock

import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import vios as npiv_vios
from nova_npiv import volume
from nova_npiv.volume import base
from nova_npiv.volume import fc
from nova_npiv.volume import npiv
from tests.unit import fixtures as fx


class TestFactory(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture())
        self.inst = self.fx.instance()

    def test_fibre_channel_is_npiv(self):
        info = fx.connection_info()
        self.assertIs(npiv.NPIVVolumeDriver, volume.driver_class(info))

    def test_build_passes_everything_on(self):
        info = fx.connection_info(volume_id='vol-9')
        ftsk = mock.Mock()
        staging = fx.Staging()

        drv = volume.build(self.fx.adpt, fx.HOST_UUID, self.inst, info,
                           stg_ftsk=ftsk, staging=staging, conf=self.fx.conf)

        self.assertIsInstance(drv, npiv.NPIVVolumeDriver)
        self.assertIsInstance(drv, fc.FibreChannelVolumeDriver)
        self.assertIs(self.fx.adpt, drv.adapter)
        self.assertEqual(fx.HOST_UUID, drv.system_uuid)
        self.assertIs(self.inst, drv.instance)
        self.assertIs(info, drv.connection_info)
        self.assertIs(ftsk, drv.stg_ftsk)
        self.assertIs(staging, drv.staging)
        self.assertEqual(['A', 'B'], drv.fabrics)
        self.assertEqual('vol-9', drv.volume_id)

    def test_build_with_settings(self):
        settings = npiv_conf.load_settings(self.fx.conf, host='other')
        drv = volume.build(self.fx.adpt, fx.HOST_UUID, self.inst,
                           fx.connection_info(), settings=settings)
        self.assertIs(settings, drv.settings)
        self.assertEqual('other', drv.settings.host)

    def _not_found(self, info, named):
        err = self.assertRaises(exception.VolumeDriverNotFound,
                                volume.build, self.fx.adpt, fx.HOST_UUID,
                                self.inst, info)
        self.assertIn('driver_volume_type %s' % named, str(err))

    def test_iscsi(self):
        info = fx.connection_info()
        info['driver_volume_type'] = 'iscsi'
        self._not_found(info, 'iscsi')

    def test_rbd(self):
        self._not_found({'driver_volume_type': 'rbd', 'data': {}}, 'rbd')

    def test_vscsi_style_name(self):
        self._not_found({'driver_volume_type': 'FIBRE_CHANNEL'},
                        'FIBRE_CHANNEL')

    def test_missing_type(self):
        self._not_found({'data': {}}, 'None')

    def test_no_connection_info(self):
        for bad in (None, 'fibre_channel', ['fibre_channel']):
            err = self.assertRaises(exception.InvalidConnectionInfo,
                                    volume.driver_class, bad)
            # No volume can be named: the message says so, not None.
            self.assertEqual('Invalid Fibre Channel connection_info for '
                             'volume unknown: field connection_info is %s, '
                             'not a dict' % type(bad).__name__, str(err))

    def test_unhashable_type(self):
        self._not_found({'driver_volume_type': ['fibre_channel']},
                        "['fibre_channel']")

    def test_nothing_touched_on_refusal(self):
        self.assertRaises(exception.VolumeDriverNotFound, volume.build,
                          self.fx.adpt, fx.HOST_UUID, self.inst,
                          {'driver_volume_type': 'iscsi'})
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))


class _Recorder(base.VolumeDriver):
    """A minimal adapter recording what the base class asks of it."""

    def __init__(self, *args, queue=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.queue = queue
        self.calls = []

    def _connect_volume(self):
        self.calls.append('connect')
        if self.queue:
            self.stg_ftsk.add_functor_subtask(lambda vios_w: False)

    def _disconnect_volume(self):
        self.calls.append('disconnect')
        if self.queue:
            self.stg_ftsk.add_functor_subtask(lambda vios_w: False)

    def extend_volume(self):
        self.calls.append('extend')

    def rollback_connect(self):
        self.calls.append('rollback')


class TestBaseAdapter(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture())
        self.inst = self.fx.instance()

    def adapter(self, info=None, **kwargs):
        return _Recorder(self.fx.adpt, fx.HOST_UUID, self.inst,
                         info if info is not None else fx.connection_info(),
                         **kwargs)

    def test_volume_id(self):
        self.assertEqual('vol-1', self.adapter().volume_id)
        self.assertEqual('v2', self.adapter(
            {'data': {'volume_id': 'v2'}}).volume_id)
        self.assertEqual('unknown', self.adapter({}).volume_id)
        self.assertEqual('unknown', self.adapter({'data': 'x'}).volume_id)

    def test_none_connection_info(self):
        drv = _Recorder(self.fx.adpt, fx.HOST_UUID, self.inst, None)
        self.assertEqual({}, drv.connection_info)
        self.assertEqual('unknown', drv.volume_id)

    def test_own_feedtask_created_lazily(self):
        drv = self.adapter()
        self.assertIsNone(drv._stg_ftsk)
        ftsk = drv.stg_ftsk
        self.assertIs(ftsk, drv.stg_ftsk)
        self.assertEqual('volume_%s' % self.inst.uuid, ftsk.name)
        self.assertEqual(0, self.fx.gets)

    def test_own_feedtask_requests_the_adapters_xags(self):
        with mock.patch.object(npiv_vios, 'getter',
                               wraps=npiv_vios.getter) as getter:
            ftsk = self.fx.npiv(self.inst).stg_ftsk
        self.assertEqual('volume_%s' % self.inst.uuid, ftsk.name)
        getter.assert_called_once_with(self.fx.adpt, fx.HOST_UUID,
                                       npiv_vios.XAGS_PORTS)

    def test_own_feedtask_executed_by_connect(self):
        drv = self.adapter()
        drv.connect_volume()
        self.assertEqual(['connect'], drv.calls)
        self.assertEqual(1, self.fx.gets)
        self.assertEqual(0, self.fx.updates)  # subtask reported no change
        # Used up: a second operation builds a new FeedTask.
        self.assertIsNone(drv._stg_ftsk)

    def test_own_feedtask_executed_by_disconnect(self):
        drv = self.adapter()
        drv.disconnect_volume()
        self.assertEqual(['disconnect'], drv.calls)
        self.assertEqual(1, self.fx.gets)

    def test_nothing_queued_nothing_read(self):
        drv = self.adapter(queue=False)
        drv.connect_volume()
        self.assertEqual(0, self.fx.gets)

    def test_shared_feedtask_left_to_the_caller(self):
        ftsk = mock.Mock()
        drv = self.adapter(stg_ftsk=ftsk)
        drv.connect_volume()
        drv.disconnect_volume()
        ftsk.execute.assert_not_called()
        self.assertEqual(2, ftsk.add_functor_subtask.call_count)
        self.assertIs(ftsk, drv.stg_ftsk)

    def test_reset_to_an_own_feedtask(self):
        shared = mock.Mock()
        drv = self.adapter(stg_ftsk=shared)
        drv.reset_stg_ftsk()
        drv.connect_volume()
        shared.add_functor_subtask.assert_not_called()
        self.assertEqual(1, self.fx.gets)

    def test_reset_to_another_shared_feedtask(self):
        drv = self.adapter()
        other = mock.Mock()
        drv.reset_stg_ftsk(other)
        drv.connect_volume()
        other.execute.assert_not_called()
        other.add_functor_subtask.assert_called_once()

    def test_abstract(self):
        self.assertRaises(TypeError, base.VolumeDriver, self.fx.adpt,
                          fx.HOST_UUID, self.inst, {})
        self.assertRaises(TypeError, fc.FibreChannelVolumeDriver,
                          self.fx.adpt, fx.HOST_UUID, self.inst, {})


class TestFibreChannelAdapter(testtools.TestCase):

    class _FC(fc.FibreChannelVolumeDriver):
        def __init__(self, wwpns, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._wwpns = wwpns
            self.asked = 0

        def wwpns(self):
            self.asked += 1
            return self._wwpns

        def host_name(self):
            return 'h'

        def _connect_volume(self):
            pass

        def _disconnect_volume(self):
            pass

        def extend_volume(self):
            pass

        def rollback_connect(self):
            pass

    def test_initiators_default_to_the_connector_wwpns(self):
        drv = self._FC(['C0507609A1B20000'], None, fx.HOST_UUID,
                       fx.FakeInstance(),
                       fx.connection_info(['c0:50:76:09:a1:b2:00:00']))
        target = drv.validated_target()
        self.assertEqual([fx.TARGET], target.target_wwpns)
        self.assertEqual([1], target.target_luns)
        self.assertEqual({'c0507609a1b20000': [fx.TARGET]},
                         target.initiator_target_map)
        self.assertEqual(1, drv.asked)

    def test_foreign_initiator(self):
        drv = self._FC(['c0507609a1b20000'], None, fx.HOST_UUID,
                       fx.FakeInstance(),
                       fx.connection_info(['c0507609a1b20001']))
        self.assertRaises(exception.InvalidConnectionInfo,
                          drv.validated_target)

    def test_npiv_initiators_do_not_allocate(self):
        # NPIV validates against the stored WWPNs: no allocation job, no
        # feed read, even for an instance that has none yet.
        npiv_fx = self.useFixture(fx.NPIVFixture())
        inst = npiv_fx.instance()
        drv = npiv_fx.npiv(inst, fx.connection_info())
        self.assertEqual([], drv.initiator_wwpns())
        drv.validated_target()
        self.assertEqual(([], 0), (npiv_fx.job.jobs, npiv_fx.gets))
