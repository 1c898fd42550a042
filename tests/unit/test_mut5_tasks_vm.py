"""The LPAR tasks of a resize and a move, on the simulated console.

A resize here is ``StopForReshape``, ``Reshape`` (and ``PowerOn``): each
undoes itself when a later step fails.  The LPAR goes back to the shape it
had when the update may have landed (it succeeded, or its reply was lost),
not when the console refused it; it is started again only if the flow
stopped it; a partition running again when the reshape's revert comes is
not reshaped behind whoever started it.  A move's ``Create`` asks for the
UUID an earlier task chose, and refuses to run without it.
"""

import logging

import fixtures
from nova import exception as nova_exc
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import managed_system as pvm_ms
from taskflow import engines as tf_engines
from taskflow import exceptions as tf_exc
from taskflow.patterns import linear_flow as tf_lf
from taskflow import task as tf_task
import testtools

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import resize
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv.tasks import vm as tf_vm
from nova_npiv import vm
from tests.unit import fixtures as fx

PAIR = 'c05076079cff0e42 c05076079cff0e43'
SMALL = '2048 MB, 1 processors'
BIG = '4096 MB, 2 processors'
#: The update of a partition (a POST to it; not a job, not a search).
LPAR_POST = r'LogicalPartition/[0-9A-Fa-f-]+$'


class _Flavor(object):

    def __init__(self, memory_mb=2048, vcpus=1, **specs):
        self.name = 'f-%d' % memory_mb
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.extra_specs = {'powervm:%s' % k: v for k, v in specs.items()}


class _Instance(object):

    def __init__(self):
        self.uuid = fx.INSTANCE_UUID
        self.name = 'instance-00000007'
        self.flavor = _Flavor()
        self.system_metadata = {}

    def save(self):
        pass


class Boom(Exception):
    pass


class _Fail(tf_task.Task):
    """The later step of the operation that fails."""

    def execute(self):
        raise Boom('later step failed')


class _ChooseUuid(tf_task.Task):
    """A move's earlier step that chose (and recorded) the LPAR's UUID."""

    def __init__(self, uuid):
        super().__init__('choose_uuid', provides='lpar_uuid')
        self.uuid = uuid

    def execute(self):
        return self.uuid


class _Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


class TasksTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.tasks.vm', level=logging.DEBUG))
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.host = self.sim.model.system('sys-a').uuid
        self.inst = _Instance()
        self.derived = vm.lpar_uuid(self.inst)

    def lines(self):
        return self.logs.output.splitlines()

    def lpar(self, uuid=None):
        return self.sim.model.lpar(uuid or self.derived)

    def jobs(self):
        jobs = []
        run_job = self.sim.model.run_job

        def spy(kind, uuid, operation, params, *args, **kwargs):
            jobs.append(operation)
            return run_job(kind, uuid, operation, params, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(self.sim.model, 'run_job',
                                                 spy))
        return jobs


class TestReshapeFlow(TasksTestCase):

    def setUp(self):
        super().setUp()
        tf_vm.Create(self.adpt, self.host, self.inst).execute()
        self.host_w = pvm_ms.System.get(self.adpt, uuid=self.host)
        self.inst.flavor = _Flavor(4096, 2)

    def shape(self):
        return self.lpar().memory_mb, self.lpar().vcpus

    def running(self):
        self.sim.model.set_lpar_state('sys-a', self.derived, 'running')

    def flow(self, power_on=False, fail=True):
        flow = resize.reshape_flow(self.adpt, self.host_w, self.inst,
                                   'resize', power_on)
        if fail:
            flow.add(_Fail('fail'))
        return flow

    def resize_that_fails(self, power_on=False):
        self.assertRaises(Boom, tf_engines.run, self.flow(power_on))

    def test_names(self):
        self.assertEqual(
            'stop_for_reshape_%s' % fx.INSTANCE_UUID,
            tf_vm.StopForReshape(self.adpt, self.host, self.inst).name)
        self.assertEqual('reshape_%s' % fx.INSTANCE_UUID,
                         tf_vm.Reshape(self.adpt, self.host_w, self.inst).name)

    def test_a_stopped_lpar_is_reshaped_and_started(self):
        tf_engines.run(self.flow(power_on=True, fail=False))
        self.assertEqual(((4096, 2), 'running'),
                         (self.shape(), self.lpar().state))
        self.assertIn('Reshaping LPAR %s from %s to %s'
                      % (self.derived, SMALL, BIG), self.lines())

    def test_the_reshaping_line_is_the_instances(self):
        records = _Records()
        log = logging.getLogger('nova_npiv.tasks.vm')
        log.addHandler(records)
        self.addCleanup(log.removeHandler, records)
        tf_engines.run(self.flow(fail=False))
        [line] = [r for r in records.records
                  if r.getMessage().startswith('Reshaping LPAR')]
        self.assertIs(self.inst, line.instance)

    def test_a_running_lpar_is_stopped_first(self):
        self.running()
        jobs = self.jobs()
        tf_engines.run(self.flow(fail=False))
        self.assertEqual(['PowerOff'], jobs)
        self.assertEqual(((4096, 2), 'not activated'),
                         (self.shape(), self.lpar().state))

    def test_failure_after_a_running_lpar_was_reshaped(self):
        # Back to its shape, then started again: where it was before.
        self.running()
        jobs = self.jobs()
        self.resize_that_fails()
        self.assertEqual(((2048, 1), 'running'),
                         (self.shape(), self.lpar().state))
        self.assertEqual(['PowerOff', 'PowerOn'], jobs)
        self.assertIn('LPAR %s of %s has its shape of before again (%s)'
                      % (self.derived, fx.INSTANCE_UUID, SMALL),
                      self.lines())

    def test_failure_after_a_stopped_lpar_was_reshaped(self):
        jobs = self.jobs()
        self.resize_that_fails()
        self.assertEqual(((2048, 1), 'not activated'),
                         (self.shape(), self.lpar().state))
        self.assertEqual([], jobs)

    def test_a_failed_read_of_the_lpar_starts_nothing(self):
        # The stop's own read fails: the revert must not start a
        # partition this flow never stopped.
        self.sim.inject_fault('GET', r'LogicalPartition/%s$' % self.derived,
                              status=500)
        jobs = self.jobs()
        self.assertRaises(pvm_exc.HttpError, tf_engines.run, self.flow())
        self.assertEqual([], jobs)
        self.assertEqual('not activated', self.lpar().state)

    def test_a_failed_start_in_the_revert_is_logged(self):
        self.running()
        self.sim.fail_job('PowerOn')
        self.resize_that_fails()
        self.assertEqual(((2048, 1), 'not activated'),
                         (self.shape(), self.lpar().state))
        self.assertIn('Could not start the LPAR of %s again after a failed '
                      'reshape' % fx.INSTANCE_UUID, self.lines())

    def test_a_refused_update_is_not_put_back(self):
        self.sim.inject_fault('POST', LPAR_POST, status=500)
        self.sim.reset_counters()
        self.assertRaises(pvm_exc.HttpError, tf_engines.run, self.flow())
        self.assertEqual(1, self.sim.count('POST'))
        self.assertEqual((2048, 1), self.shape())
        self.assertNotIn('shape of before', self.logs.output)

    def test_a_lost_update_reply_is_put_back(self):
        self.sim.inject_fault('POST', LPAR_POST, kind='lost_reply')
        self.assertRaises(pvm_exc.ConnectionError, tf_engines.run,
                          self.flow())
        self.assertEqual((2048, 1), self.shape())
        self.assertIn('LPAR %s of %s has its shape of before again (%s)'
                      % (self.derived, fx.INSTANCE_UUID, SMALL),
                      self.lines())

    def test_a_flavor_refused_before_the_update_sends_nothing(self):
        # The flavor names a shared processor pool the system lacks (asked
        # of the task's console): refused before anything is sent.
        self.inst.flavor = _Flavor(4096, 2, shared_proc_pool_name='prod')
        search = self.useFixture(fixtures.MockPatch(
            'pypowervm.wrappers.shared_proc_pool.SharedProcPool.search',
            return_value=[])).mock
        self.sim.reset_counters()
        err = self.assertRaises(exception.InvalidFlavorExtraSpec,
                                tf_engines.run, self.flow())
        self.assertIn('powervm:shared_proc_pool_name', str(err))
        self.assertIs(self.adpt, search.call_args[0][0])
        self.assertEqual(0, self.sim.count('POST'))
        self.assertEqual((2048, 1), self.shape())
        self.assertNotIn('shape of before', self.logs.output)

    def reshaped(self):
        stopped = tf_vm.StopForReshape(self.adpt, self.host,
                                       self.inst).execute()
        task = tf_vm.Reshape(self.adpt, self.host_w, self.inst)
        return task, stopped, task.execute(stopped)

    def test_a_running_lpar_is_not_reshaped_behind_a_later_revert(self):
        task, stopped, result = self.reshaped()
        self.running()
        self.sim.reset_counters()
        task.revert(stopped_lpar=stopped, result=result, flow_failures={})
        self.assertEqual((4096, 2), self.shape())
        self.assertEqual(0, self.sim.count('POST'))
        self.assertIn('LPAR %s of %s is running: its shape (%s before) is '
                      'left as it is' % (self.derived, fx.INSTANCE_UUID,
                                         SMALL), self.lines())

    def test_a_failed_revert_is_logged_not_raised(self):
        task, stopped, result = self.reshaped()
        vm.delete(self.adpt, self.host, self.inst)
        task.revert(stopped_lpar=stopped, result=result, flow_failures={})
        self.assertIn('Could not give the LPAR of %s its shape of before '
                      '(%s)' % (fx.INSTANCE_UUID, SMALL), self.lines())

    def test_a_missing_lpar_is_instance_not_found(self):
        vm.delete(self.adpt, self.host, self.inst)
        err = self.assertRaises(
            nova_exc.InstanceNotFound,
            tf_vm.StopForReshape(self.adpt, self.host, self.inst).execute)
        self.assertIn(fx.INSTANCE_UUID, str(err))


class TestCreateInAMove(TasksTestCase):

    def own(self):
        return vm.own_uuid(self.inst, self.host)

    def test_the_uuid_the_flow_chose_is_asked_for(self):
        flow = tf_lf.Flow('move')
        flow.add(_ChooseUuid(self.own()),
                 tf_vm.Create(self.adpt, self.host, self.inst,
                              uuid_from_flow=True))
        tf_engines.run(flow)
        self.assertEqual('sys-a', self.lpar(self.own()).system)
        self.assertIsNone(self.lpar())

    def test_a_flow_without_the_uuid_is_refused_before_it_runs(self):
        flow = tf_lf.Flow('move')
        flow.add(tf_vm.Create(self.adpt, self.host, self.inst,
                              uuid_from_flow=True))
        self.sim.reset_counters()
        err = self.assertRaises(tf_exc.MissingDependencies, tf_engines.run,
                                flow)
        self.assertIn('lpar_uuid', str(err))
        self.assertEqual(0, self.sim.count())
        self.assertIsNone(self.lpar())


class TestCreateRevert(TasksTestCase):

    def test_an_lpar_already_gone_is_no_failure(self):
        task = tf_vm.Create(self.adpt, self.host, self.inst)
        result = task.execute()
        vm.delete(self.adpt, self.host, self.inst)
        task.revert(result=result, flow_failures={})
        self.assertIn('Deleting LPAR %s of %s after a failed spawn'
                      % (self.derived, fx.INSTANCE_UUID), self.lines())
        self.assertNotIn('Could not delete', self.logs.output)

    def test_unreadable_fabric_and_mapped_one_both_named(self):
        # A lost create reply; fabric A's records cannot be read, B is
        # mapped: the LPAR is kept, and the line names both.
        self.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        fabric_meta.set_fabric(self.inst, 'B', fabric_meta.INST_MAPPED,
                               [(fx.V1_FCS1, PAIR)])
        self.sim.inject_fault('PUT', 'LogicalPartition', kind='lost_reply')
        task = tf_vm.Create(self.adpt, self.host, self.inst,
                            fabrics=('A', 'B'))
        self.assertRaises(pvm_exc.ConnectionError, task.execute)
        task.revert(result=None, flow_failures={})
        self.assertIsNotNone(self.lpar())
        self.assertIn('LPAR %s of %s predates the failed spawn (state not '
                      'activated, fabrics A, B mapped): left alone'
                      % (self.derived, fx.INSTANCE_UUID), self.lines())
        self.assertNotIn('Could not delete', self.logs.output)

