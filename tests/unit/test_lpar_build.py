"""The LPAR built from a flavor's ``powervm:*`` extra specs."""

from unittest import mock

from nova import exception as nova_exc
from nova import objects
from oslo_config import fixture as config_fixture
from pypowervm.wrappers import base_partition as pvm_bp
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import vm
from tests.unit import fixtures as fx
from tests.unit.test_vm import host_wrapper


def instance(memory_mb=4096, vcpus=4, **specs):
    flavor = objects.Flavor(name='f1', memory_mb=memory_mb, vcpus=vcpus,
                            root_gb=0, extra_specs=specs)
    return objects.Instance(id=7, uuid=fx.INSTANCE_UUID, display_name='vm',
                            flavor=flavor, system_metadata={})


def build(inst, host_w=None, adapter=None):
    return vm.build(adapter or mock.Mock(), inst,
                    host_w=host_w or host_wrapper())


def spec(**kwargs):
    return {'powervm:%s' % k: v for k, v in kwargs.items()}


class TestDefault(testtools.TestCase):

    def test_dedicated_min_desired_max_from_the_flavor(self):
        lpar_w = build(instance())
        proc = lpar_w.proc_config
        self.assertTrue(proc.has_dedicated)
        ded = proc.dedicated_proc_cfg
        self.assertEqual((4, 4, 4), (ded.min, ded.desired, ded.max))
        mem = lpar_w.mem_config
        self.assertEqual((4096, 4096, 4096), (mem.min, mem.desired, mem.max))
        self.assertEqual(vm.lpar_uuid(instance()), lpar_w.uuid)
        self.assertEqual(vm.lpar_name(instance()), lpar_w.name)
        self.assertEqual(pvm_bp.LPARType.AIXLINUX, lpar_w.env)
        # The standardiser's defaults.
        self.assertEqual(64, lpar_w.io_config.max_virtual_slots)
        self.assertEqual(127, lpar_w.avail_priority)
        self.assertEqual('default', lpar_w.pending_proc_compat_mode)

    def test_a_flavor_object_without_extra_specs_loaded(self):
        flavor = objects.Flavor(memory_mb=512, vcpus=1, root_gb=0)
        inst = objects.Instance(id=7, uuid=fx.INSTANCE_UUID, flavor=flavor,
                                system_metadata={})
        self.assertTrue(build(inst).proc_config.has_dedicated)

    def test_other_namespaces_are_not_ours(self):
        lpar_w = build(instance(**{'hw:cpu_policy': 'dedicated',
                                   'quota:cpu_shares': '5'}))
        self.assertTrue(lpar_w.proc_config.has_dedicated)


class TestShared(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config())
        npiv_conf.register_opts(self.conf.conf)

    def test_dedicated_proc_false_uses_the_factor(self):
        lpar_w = build(instance(**spec(dedicated_proc='false')))
        shr = lpar_w.proc_config.shared_proc_cfg
        self.assertFalse(lpar_w.proc_config.has_dedicated)
        self.assertEqual((4, 4, 4), (shr.min_virtual, shr.desired_virtual,
                                     shr.max_virtual))
        self.assertAlmostEqual(0.4, shr.desired_units)
        self.assertAlmostEqual(0.4, shr.min_units)
        self.assertAlmostEqual(0.4, shr.max_units)
        self.assertEqual(pvm_bp.SharingMode.UNCAPPED,
                         lpar_w.proc_config.sharing_mode)
        self.assertEqual(64, shr.uncapped_weight)
        self.assertEqual(0, shr.pool_id)

    def test_factor_from_config(self):
        self.conf.config(proc_units_factor=0.5, group='powervm')
        lpar_w = build(instance(**spec(dedicated_proc='false')))
        self.assertAlmostEqual(
            2.0, lpar_w.proc_config.shared_proc_cfg.desired_units)

    def test_a_shared_key_chooses_shared(self):
        lpar_w = build(instance(**spec(proc_units='1.5', min_proc_units='1',
                                       max_proc_units='2', shared_weight=10,
                                       min_vcpu=2, max_vcpu=6)))
        shr = lpar_w.proc_config.shared_proc_cfg
        self.assertEqual((1.0, 1.5, 2.0), (shr.min_units, shr.desired_units,
                                           shr.max_units))
        self.assertEqual((2, 4, 6), (shr.min_virtual, shr.desired_virtual,
                                     shr.max_virtual))
        self.assertEqual(10, shr.uncapped_weight)

    def test_capped(self):
        lpar_w = build(instance(**spec(uncapped='no')))
        self.assertFalse(lpar_w.proc_config.has_dedicated)
        self.assertEqual(pvm_bp.SharingMode.CAPPED,
                         lpar_w.proc_config.sharing_mode)

    def test_default_pool_needs_no_request(self):
        adapter = mock.Mock()
        lpar_w = build(instance(**spec(shared_proc_pool_name='DefaultPool')),
                       adapter=adapter)
        self.assertEqual(0, lpar_w.proc_config.shared_proc_cfg.pool_id)
        adapter.read.assert_not_called()

    def test_named_pool_is_looked_up(self):
        pool = mock.Mock(id=3)
        with mock.patch('pypowervm.wrappers.shared_proc_pool.SharedProcPool.'
                        'search', return_value=[pool]) as search:
            lpar_w = build(instance(**spec(shared_proc_pool_name='prod')))
        self.assertEqual('prod', search.call_args[1]['name'])
        self.assertEqual(3, lpar_w.proc_config.shared_proc_cfg.pool_id)

    def test_unknown_pool(self):
        with mock.patch('pypowervm.wrappers.shared_proc_pool.SharedProcPool.'
                        'search', return_value=[]):
            err = self.assertRaises(
                exception.InvalidFlavorExtraSpec, build,
                instance(**spec(shared_proc_pool_name='prod')))
        self.assertIn('powervm:shared_proc_pool_name', str(err))


class TestGeneral(testtools.TestCase):

    def test_memory_range_vcpu_range_and_settings(self):
        lpar_w = build(instance(**spec(
            min_mem=1024, max_mem=8192, min_vcpu=1, max_vcpu=8,
            availability_priority=200, processor_compatibility='POWER6+',
            dedicated_sharing_mode='keep_idle_procs')))
        mem = lpar_w.mem_config
        self.assertEqual((1024, 4096, 8192), (mem.min, mem.desired, mem.max))
        ded = lpar_w.proc_config.dedicated_proc_cfg
        self.assertEqual((1, 4, 8), (ded.min, ded.desired, ded.max))
        self.assertEqual(200, lpar_w.avail_priority)
        self.assertEqual('POWER6_Plus', lpar_w.pending_proc_compat_mode)
        self.assertEqual(pvm_bp.DedicatedSharingMode.KEEP_IDLE_PROCS,
                         lpar_w.proc_config.sharing_mode)

    def test_srr_only_where_the_system_can(self):
        host_w = host_wrapper()
        self.assertNotIn(b'SimplifiedRemoteRestartCapable', build(
            instance(**spec(srr_capability='true')),
            host_w=host_w).toxmlstring())
        caps = {'simplified_remote_restart_capable': True}
        with mock.patch.object(type(host_w), 'get_capability',
                               side_effect=lambda k: caps.get(k, False)):
            self.assertTrue(build(instance(**spec(srr_capability='true')),
                                  host_w=host_w).srr_enabled)
            self.assertFalse(build(instance(), host_w=host_w).srr_enabled)


class TestRefused(testtools.TestCase):
    """Each bad extra spec is an InstanceUnacceptable naming its key."""

    def assertRefused(self, key, inst, exc=exception.InvalidFlavorExtraSpec):
        err = self.assertRaises(exc, build, inst)
        self.assertIsInstance(err, nova_exc.InstanceUnacceptable)
        self.assertIn(key, str(err))
        self.assertIn(fx.INSTANCE_UUID, str(err))
        return err

    def test_unknown_key(self):
        err = self.assertRefused('powervm:proc_unit',
                                 instance(**spec(proc_unit='1')))
        self.assertIn('powervm:proc_units', str(err))  # the known keys

    def test_bad_boolean(self):
        self.assertRefused('powervm:dedicated_proc',
                           instance(**spec(dedicated_proc='maybe')))

    def test_bad_number(self):
        self.assertRefused('powervm:proc_units',
                           instance(**spec(proc_units='lots')))

    def test_out_of_range(self):
        self.assertRefused('powervm:shared_weight',
                           instance(**spec(shared_weight='300')))
        self.assertRefused('powervm:availability_priority',
                           instance(**spec(availability_priority='-1')))
        self.assertRefused('powervm:proc_units',
                           instance(**spec(proc_units='0.01')))

    def test_units_beyond_the_vcpus(self):
        self.assertRefused('powervm:proc_units',
                           instance(vcpus=2, **spec(proc_units='3')))
        self.assertRefused('powervm:max_proc_units', instance(
            vcpus=2, **spec(max_vcpu=4, max_proc_units='5')))
        self.assertRefused('powervm:proc_units', instance(
            vcpus=4, **spec(proc_units='0.1')))

    def test_bad_choice(self):
        self.assertRefused('powervm:processor_compatibility',
                           instance(**spec(processor_compatibility='z15')))
        self.assertRefused('powervm:dedicated_sharing_mode',
                           instance(**spec(dedicated_sharing_mode='all')))

    def test_shared_key_on_dedicated_processors(self):
        self.assertRefused('powervm:proc_units', instance(
            **spec(dedicated_proc='true', proc_units='1')))

    def test_dedicated_key_on_shared_processors(self):
        self.assertRefused('powervm:dedicated_sharing_mode', instance(
            **spec(dedicated_proc='false',
                   dedicated_sharing_mode='keep_idle_procs')))

    def test_weight_of_capped_processors(self):
        self.assertRefused('powervm:shared_weight', instance(
            **spec(uncapped='false', shared_weight='10')))

    def test_minimum_above_desired(self):
        # Only the standardiser sees the combination: the keys are named.
        err = self.assertRefused('powervm:min_mem', instance(
            **spec(min_mem=8192)), exc=exception.FlavorDoesNotFitHost)
        self.assertIn('Minimum Memory', str(err))

    def test_memory_off_the_memory_region_size(self):
        err = self.assertRaises(exception.FlavorDoesNotFitHost, build,
                                instance(memory_mb=1000))
        self.assertIn('256', str(err))
