"""vm.py behaviours the fourth mutation round found unchecked.

Each test fails with a surviving mutant of ``nova_npiv/vm.py`` (named in
doc/mutation-survivors.md) and passes on the real code.
"""

from unittest import mock

import fixtures
from nova import exception as nova_exc
from nova import objects
from pypowervm import exceptions as pvm_exc
import testtools

from nova_npiv import exception
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv import vm
from tests.unit import fixtures as fx
from tests.unit.test_vm import _SimInstance
from tests.unit.test_vm import host_wrapper
from tests.unit.test_vm import SimTestCase


def _sim(test, systems):
    sim = Simulator(co_managed_topology(systems=systems))
    sim.start()
    test.addCleanup(sim.stop)
    return sim


class TestBuildWithoutSystem(testtools.TestCase):
    """``build`` without ``host_w`` reads the console's one system."""

    def test_the_one_system_shapes_the_lpar(self):
        sim = _sim(self, ('sys-a',))
        lpar_w = vm.build(sim.adapter(), _SimInstance())
        self.assertEqual(vm.lpar_uuid(_SimInstance()), lpar_w.uuid)
        self.assertEqual(8192, lpar_w.mem_config.desired)

    def test_several_systems_are_refused_by_name(self):
        sim = _sim(self, ('sys-a', 'sys-b'))
        err = self.assertRaises(exception.ManagedSystemNotFound, vm.build,
                                sim.adapter(), _SimInstance())
        self.assertEqual(
            'Managed system (not named: the console manages 2 systems) is '
            'not known to the management console (it has: sys-a, sys-b)',
            str(err))


class TestFlavorDoesNotFit(testtools.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()

    def test_refusal_names_the_flavor_the_instance_and_the_system(self):
        flavor = objects.Flavor(name='odd-flavor', memory_mb=1000, vcpus=1,
                                root_gb=0, extra_specs={})
        inst = objects.Instance(id=7, uuid=fx.INSTANCE_UUID, flavor=flavor,
                                system_metadata={})
        host_w = host_wrapper()
        err = self.assertRaises(exception.FlavorDoesNotFitHost, vm.build,
                                mock.Mock(), inst, host_w=host_w)
        msg = str(err)
        self.assertIn('Flavor odd-flavor of instance %s' % fx.INSTANCE_UUID,
                      msg)
        self.assertIn('(extra specs none)', msg)
        self.assertIn('on managed system %s:' % host_w.system_name, msg)

    def test_refusal_lists_every_extra_spec_involved(self):
        flavor = objects.Flavor(
            name='f2', memory_mb=4096, vcpus=1, root_gb=0,
            extra_specs={'powervm:min_mem': '8192',
                         'powervm:max_mem': '16384'})
        inst = objects.Instance(id=7, uuid=fx.INSTANCE_UUID, flavor=flavor,
                                system_metadata={})
        err = self.assertRaises(exception.FlavorDoesNotFitHost, vm.build,
                                mock.Mock(), inst, host_w=host_wrapper())
        self.assertIn('(extra specs powervm:max_mem, powervm:min_mem)',
                      str(err))


class TestPoolRefusal(testtools.TestCase):
    """A flavor naming a pool the system does not have, refused in full."""

    def setUp(self):
        super().setUp()
        objects.register_all()
        flavor = objects.Flavor(
            name='pooled', memory_mb=4096, vcpus=1, root_gb=0,
            extra_specs={'powervm:shared_proc_pool_name': 'prod'})
        self.inst = objects.Instance(id=7, uuid=fx.INSTANCE_UUID,
                                     flavor=flavor, system_metadata={})

    def _refusal(self, **search):
        with mock.patch('pypowervm.wrappers.shared_proc_pool.SharedProcPool.'
                        'search', **search):
            return self.assertRaises(exception.InvalidFlavorExtraSpec,
                                     vm.build, mock.Mock(), self.inst,
                                     host_w=host_wrapper())

    def test_no_pool_of_that_name(self):
        err = self._refusal(return_value=[])
        self.assertEqual(
            "Flavor pooled of instance %s: extra spec "
            "powervm:shared_proc_pool_name='prod' names 0 shared processor "
            "pools of managed system %s, not one"
            % (fx.INSTANCE_UUID, host_wrapper().system_name), str(err))

    def test_search_not_found_is_no_pool(self):
        # A console may answer a search that matches nothing with a 404.
        err = self._refusal(side_effect=pvm_exc.HttpNotFound(mock.Mock()))
        self.assertIn("names 0 shared processor pools", str(err))

    def test_two_pools_of_that_name(self):
        err = self._refusal(return_value=[mock.Mock(id=1), mock.Mock(id=2)])
        self.assertIn("names 2 shared processor pools", str(err))


class TestShapeKeptApart(testtools.TestCase):
    """A kept Shape is not changed by later changes of any LPAR wrapper."""

    def setUp(self):
        super().setUp()
        self.lpar_w = vm.build(mock.Mock(), _SimInstance(),
                               host_w=host_wrapper())

    def test_shape_survives_changes_of_its_source(self):
        shape = vm.Shape(self.lpar_w)
        self.lpar_w.mem_config.desired = 1024
        self.lpar_w.proc_config.dedicated_proc_cfg.desired = 1
        self.assertEqual('8192 MB, 3 processors', shape.describe())

    def test_shape_survives_changes_of_the_lpar_it_was_given_to(self):
        shape = vm.Shape(self.lpar_w)
        other = vm.build(mock.Mock(), _SimInstance(), host_w=host_wrapper())
        other.update = mock.Mock(return_value=other)
        self.assertIs(other, vm.reshape(other, shape))
        other.mem_config.desired = 1024
        other.proc_config.dedicated_proc_cfg.desired = 1
        self.assertEqual('8192 MB, 3 processors', shape.describe())
        # Given again, to another wrapper: the first keeps its own.
        third = vm.build(mock.Mock(), _SimInstance(), host_w=host_wrapper())
        third.update = mock.Mock(return_value=third)
        vm.reshape(third, shape)
        self.assertEqual(1024, other.mem_config.desired)
        self.assertEqual(8192, third.mem_config.desired)


class TestFlavorShape(testtools.TestCase):

    def test_without_system_reads_the_one_system(self):
        sim = _sim(self, ('sys-a',))
        shape = vm.flavor_shape(sim.adapter(), _SimInstance())
        self.assertEqual('8192 MB, 3 processors', shape.describe())


class TestCreateWithUuid(SimTestCase):

    def test_the_uuid_asked_for_is_the_lpars(self):
        # fresh_uuid's answer, already recorded by the caller.
        own = vm.own_uuid(self.inst, self.host)
        attempt = vm.CreateAttempt()
        lpar_w = vm.create(self.adpt, self.host, self.inst, attempt=attempt,
                           uuid=own)
        self.assertEqual(own, lpar_w.uuid)
        self.assertEqual('sys-a', self.lpar(own).system)
        self.assertIsNone(self.lpar(self.derived))
        self.assertEqual(own, attempt.asked_uuid)

    def test_own_uuid_held_elsewhere_is_refused_at_once(self):
        # Our own UUID on this system held by another system's partition
        # (which nothing proves ours): no second create, nothing recorded.
        own = vm.own_uuid(self.inst, self.host)
        self.sim.model.add_lpar('sys-b', 'stranger', uuid=own)
        puts = []
        real_create = vm._create

        def create(*args):
            puts.append(args[3])
            return real_create(*args)

        self.useFixture(fixtures.MockPatchObject(vm, '_create', create))
        err = self.assertRaises(pvm_exc.HttpError, vm.create, self.adpt,
                                self.host, self.inst, uuid=own)
        self.assertEqual(400, err.response.status)
        self.assertEqual([own], puts)
        self.assertEqual([], self.inst.saved)
        self.assertIsNone(vm.recorded_uuid(self.inst))


class TestOwnUuidRecord(SimTestCase):

    def test_refused_create_forgets_a_record_there_was_not(self):
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        self.sim.inject_fault('PUT', 'LogicalPartition$', nth=2,
                              status=400, message='refused')
        self.assertRaises(pvm_exc.HttpError, vm.create, self.adpt,
                          self.host, self.inst)
        self.assertNotIn(vm.LPAR_UUID_KEY, self.inst.system_metadata)
        own = vm.own_uuid(self.inst, self.host)
        self.assertEqual([{vm.LPAR_UUID_KEY: own}, {}], self.inst.saved)

    def test_earlier_attempts_lpar_is_named(self):
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        own = vm.own_uuid(self.inst, self.host)
        self.sim.model.add_lpar('sys-a', 'earlier', uuid=own)
        err = self.assertRaises(nova_exc.InstanceExists, vm.create,
                                self.adpt, self.host, self.inst)
        self.assertIn(vm.lpar_name(self.inst), str(err))


class TestHolder(SimTestCase):

    def test_partition_of_any_system(self):
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        self.assertEqual(self.derived,
                         vm.holder(self.adpt, self.derived).uuid)
        self.assertIsNone(vm.holder(self.adpt,
                                    vm.own_uuid(self.inst, self.host)))


class TestPowerJobsNamed(SimTestCase):
    """Power jobs bounded by job_timeout; their failures name the job."""

    def setUp(self):
        super().setUp()
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived)
        self.useFixture(fixtures.MockPatch('nova_npiv.jobs.timeout',
                                           return_value=77))
        self.lpar_w = vm.get(self.adpt, self.host, self.inst)

    def _timed_out(self, method, operation, call, **kwargs):
        with mock.patch('pypowervm.tasks.power.PowerOp.%s' % method,
                        side_effect=pvm_exc.JobRequestTimedOut(
                            operation_name=operation, seconds=77)) as op:
            err = self.assertRaises(exception.JobTimedOut, call,
                                    self.lpar_w, **kwargs)
        self.assertEqual(77, op.call_args[1]['timeout'])
        self.assertEqual(
            "The management console's '%s' job on partition %s did not "
            "end within [powervm] job_timeout (77 s) and was cancelled"
            % (operation, self.lpar_w.name), str(err))
        return op

    def test_power_on(self):
        op = self._timed_out('start', 'PowerOn', vm.power_on)
        self.assertIs(self.lpar_w, op.call_args[0][0])

    def test_power_off(self):
        self.sim.model.set_lpar_state('sys-a', self.derived, 'running')
        self.lpar_w = vm.get(self.adpt, self.host, self.inst)
        op = self._timed_out('stop', 'PowerOff', vm.power_off, hard=True)
        self.assertIs(self.lpar_w, op.call_args[0][0])

    def test_failed_power_on_names_the_partition(self):
        self.sim.fail_job('PowerOn', message='HSCL0DB4 Not enough memory')
        err = self.assertRaises(exception.JobFailed, vm.power_on,
                                self.lpar_w)
        self.assertIn("'PowerOn' job on partition %s failed"
                      % self.lpar_w.name, str(err))

    def test_failed_close_vterm_names_the_partition(self):
        self.sim.fail_job('CloseVterm', message='HSCL1234 busy')
        err = self.assertRaises(exception.JobFailed, vm.close_vterm,
                                self.adpt, self.host, self.derived)
        self.assertIn("'CloseVterm' job on partition %s failed"
                      % self.derived, str(err))
