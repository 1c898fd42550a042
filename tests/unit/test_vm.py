"""The LPAR wrapper built from a flavor, power states, delete addressing."""

from unittest import mock

from nova.compute import power_state
from pypowervm import exceptions as pvm_exc
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv import vm
from tests.unit import fixtures as fx


class _Flavor(object):
    memory_mb = 8192
    vcpus = 3


class _Instance(object):
    uuid = fx.INSTANCE_UUID
    name = 'instance-00000007'
    flavor = _Flavor()


def host_wrapper():
    """pypowervm's sample managed system: memory region size 256 MB."""
    resp = pvmhttp.load_pvm_resp('fake_managedsystem.txt',
                                 adapter=mock.Mock()).get_response()
    return pvm_ms.System.wrap(resp)[0]


class TestBuild(testtools.TestCase):

    def test_sized_exactly_from_the_flavor(self):
        lpar_w = vm.build(mock.Mock(), _Instance(), host_w=host_wrapper())
        mem = lpar_w.mem_config
        self.assertEqual((8192, 8192, 8192),
                         (mem.desired, mem.min, mem.max))
        proc = lpar_w.proc_config.dedicated_proc_cfg
        self.assertEqual((3, 3, 3), (proc.desired, proc.min, proc.max))
        self.assertEqual(pvm_bp.LPARType.AIXLINUX, lpar_w.env)
        self.assertEqual(vm.lpar_name(_Instance()), lpar_w.name)
        self.assertTrue(lpar_w.name.startswith('instance-00000007-'))
        self.assertEqual(vm.lpar_uuid(_Instance()), lpar_w.uuid)

    def test_platform_chosen_uuid(self):
        lpar_w = vm.build(mock.Mock(), _Instance(), host_w=host_wrapper(),
                          derive_uuid=False)
        self.assertNotEqual(vm.lpar_uuid(_Instance()), lpar_w.uuid)


class TestPowerState(testtools.TestCase):

    def test_states(self):
        self.assertEqual(power_state.RUNNING, vm.to_power_state('running'))
        self.assertEqual(power_state.SHUTDOWN,
                         vm.to_power_state('not activated'))
        self.assertEqual(power_state.NOSTATE, vm.to_power_state('unknown'))
        self.assertEqual(power_state.NOSTATE, vm.to_power_state(None))


class TestDelete(testtools.TestCase):

    def test_derived_or_given_uuid(self):
        adapter = mock.Mock()
        adapter.delete.return_value = mock.Mock(status=204)
        vm.delete(adapter, 'HOST', _Instance())
        vm.delete(adapter, 'HOST', _Instance(), lpar_uuid='CHOSEN-UUID')
        self.assertEqual(
            [vm.lpar_uuid(_Instance()), 'CHOSEN-UUID'],
            [c.kwargs['child_id'] for c in adapter.delete.call_args_list])
        self.assertEqual({'HOST'}, {c.kwargs['root_id']
                                    for c in adapter.delete.call_args_list})

    def test_already_gone_is_fine(self):
        adapter = mock.Mock()
        adapter.delete.side_effect = pvm_exc.HttpNotFound(mock.Mock())
        vm.delete(adapter, 'HOST', _Instance())
        adapter.delete.assert_called_once()
