"""The flow runner: every task's duration and outcome, named by instance."""

import logging
import re
from unittest import mock

import fixtures
from nova import objects
from oslo_config import cfg
from oslo_log import formatters
from oslo_log import log as oslo_logging
from oslo_utils import timeutils
from taskflow.patterns import linear_flow as tf_lf
from taskflow import task as tf_task
import testtools

from nova_npiv.tasks import base as tf_base

INSTANCE_UUID = '3f2c1b0a-9d8e-4f7a-8b6c-5d4e3f2a1b0c'


class Boom(Exception):
    pass


class Step(tf_task.Task):
    """A step that records its revert, as the driver's tasks undo theirs."""

    def __init__(self, name, fail=False, provides=None):
        super().__init__(name, provides=provides)
        self.fail = fail
        self.reverted = False

    def execute(self):
        if self.fail:
            raise Boom('the console said no')
        return 'made by %s' % self.name

    def revert(self, *args, **kwargs):
        self.reverted = True


class Capture(logging.Handler):
    """Records of the runner's logger, formatted as nova-compute does."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        conf = cfg.ConfigOpts()
        oslo_logging.register_options(conf)
        conf([], project='nova')
        self.setFormatter(formatters.ContextFormatter(config=conf))
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def lines(self):
        return [self.format(r) for r in self.records]


class TestRun(testtools.TestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.instance = objects.Instance(uuid=INSTANCE_UUID)
        self.log = Capture()
        logger = logging.getLogger(tf_base.__name__)
        logger.addHandler(self.log)
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.setLevel, old_level)
        self.addCleanup(logger.removeHandler, self.log)

    def _line(self, pattern):
        found = [line for line in self.log.lines() if re.search(pattern,
                                                                  line)]
        self.assertEqual(1, len(found), 'no single line matches %r in %s'
                         % (pattern, self.log.lines()))
        return found[0]

    def test_success_logs_duration_of_each_task_and_the_flow(self):
        flow = tf_lf.Flow('spawn_x')
        flow.add(Step('create', provides='lpar'), Step('power_on'))
        results = tf_base.run(flow, instance=self.instance)

        # The named results come back, as taskflow's own run() returns them.
        self.assertEqual({'lpar': 'made by create'}, results)
        for name in ('Task create', 'Task power_on', 'Flow spawn_x'):
            line = self._line(r'%s done in \d+\.\d{3} s$' % name)
            self.assertIn('[instance: %s]' % INSTANCE_UUID, line)
        self.assertEqual({logging.INFO},
                         {r.levelno for r in self.log.records})

    def test_duration_is_the_stopwatch_figure(self):
        # The figure logged is the one taskflow's DurationListener measured
        # (and stored); a fixed stopwatch makes it exact without sleeping.
        flow = tf_lf.Flow('f')
        flow.add(Step('slow'))
        with mock.patch.object(timeutils.StopWatch, 'elapsed',
                               return_value=1.25):
            tf_base.run(flow)
        self._line(r'Task slow done in 1\.250 s$')
        self._line(r'Flow f done in 1\.250 s$')

    def test_failure_names_the_task_and_its_reason_and_reverts(self):
        first = Step('create')
        failing = Step('connect', fail=True)
        never = Step('power_on')
        flow = tf_lf.Flow('spawn_x')
        flow.add(first, failing, never)

        self.assertRaises(Boom, tf_base.run, flow, instance=self.instance)

        # The revert still happens: the runner only listens.
        self.assertTrue(first.reverted)
        self.assertTrue(failing.reverted)
        self.assertFalse(never.reverted)
        failed = self._line(r'Task connect failed in \d+\.\d{3} s: '
                            r'the console said no')
        self.assertIn('[instance: %s]' % INSTANCE_UUID, failed)
        self._line(r'Task create done in')
        self._line(r'Task create undone in')
        self._line(r'Task connect undone in')
        self._line(r'Flow spawn_x undone in')
        self.assertNotIn('power_on', '\n'.join(self.log.lines()))
        bad = [r for r in self.log.records if r.levelno == logging.WARNING]
        self.assertEqual(4, len(bad))
        for record in bad:
            self.assertIn('[instance: %s]' % INSTANCE_UUID,
                          self.log.format(record))

    def test_without_instance_the_lines_carry_no_instance(self):
        flow = tf_lf.Flow('audit_fix')
        flow.add(Step('unmap'))
        tf_base.run(flow)
        self.assertNotIn('[instance:', self._line('Task unmap done'))

    def test_a_revert_that_raises_is_logged_with_the_flow(self):
        # Our reverts never raise; a foreign task's may.  The operator
        # still gets every line, the flow's included.
        class BadUndo(Step):
            def revert(self, *args, **kwargs):
                raise Boom('undo refused')

        flow = tf_lf.Flow('destroy_x')
        flow.add(BadUndo('unmap'), Step('delete', fail=True))
        self.assertRaises(Boom, tf_base.run, flow, instance=self.instance)
        self._line(r'Task delete failed in \d+\.\d{3} s: the console said '
                   r'no$')
        self._line(r'Task unmap could not be undone in \d+\.\d{3} s')
        self._line(r'Flow destroy_x failed in \d+\.\d{3} s$')


class Recorder(tf_task.Task):
    """Reverts with the result its execute returned, as Create does."""

    def __init__(self, name, seen):
        super().__init__(name, provides='made')
        self.seen = seen

    def execute(self):
        return 'lpar-1'

    def revert(self, result, flow_failures, **kwargs):
        self.seen.append((result, sorted(flow_failures)))


class TestPersistence(testtools.TestCase):
    """Flows are never resumed: no detail is copied into a backend."""

    def test_nothing_is_written_to_taskflow_in_memory_backend(self):
        from taskflow.persistence.backends import impl_memory
        with mock.patch.object(impl_memory.MemoryBackend, 'get_connection',
                               side_effect=AssertionError('kept')) as conn:
            flow = tf_lf.Flow('f')
            flow.add(Step('a', provides='x'))
            self.assertEqual({'x': 'made by a'}, tf_base.run(flow))
        conn.assert_not_called()

    def test_no_warning_for_the_logbook_nothing_keeps(self):
        # Without a book of its own every flow logged "No logbook provided
        # for flow ..., creating one." at WARNING in nova-compute's log.
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        flow = tf_lf.Flow('f')
        flow.add(Step('a', provides='x'))
        self.assertEqual({'x': 'made by a'}, tf_base.run(flow))
        self.assertNotIn('logbook', logs.output)

    def test_a_revert_still_gets_the_result_and_the_failure(self):
        seen = []
        flow = tf_lf.Flow('f')
        flow.add(Recorder('create', seen), Step('connect', fail=True))
        self.assertRaises(Boom, tf_base.run, flow)
        self.assertEqual([('lpar-1', ['connect'])], seen)
