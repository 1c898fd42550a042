"""The driver's operations run through the one flow runner.

Every task of a spawn, a delete and the connector's staging is logged with
its outcome and the instance, by ``nova_npiv.tasks.base``, when the driver
runs on the simulator as nova-compute loads it.
"""

import ast
import logging
import os
import re

from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pypowervm import exceptions as pvm_exc
import testtools

from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv.tasks import base as tf_base
from nova_npiv.testing import fake_cinder
from nova_npiv.testing import harness

INSTANCE_UUID = '6d1f2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b'


class Records(logging.Handler):
    """``(level, message, instance uuid)`` of every runner record.

    Read when the record is emitted: formatters further up may replace the
    record's ``instance`` with its formatted text.
    """

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.seen = []

    def emit(self, record):
        self.seen.append((record.levelname, record.getMessage(),
                          getattr(getattr(record, 'instance', None), 'uuid',
                                  None)))

    def lines(self):
        return list(self.seen)


class TestDriverFlowsAreLogged(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(cfg.CONF))
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.drv = harness.load_driver(self.sim, 'host-a', 'sys-a')
        self.sim.track_session(self.drv.adapter)
        self.cinder = fake_cinder.FakeCinder()
        self.ctxt = harness.admin_context()
        self.log = Records()
        logger = logging.getLogger(tf_base.__name__)
        logger.addHandler(self.log)
        self.addCleanup(logger.removeHandler, self.log)
        old_level = logger.level
        logger.setLevel(logging.DEBUG)
        self.addCleanup(logger.setLevel, old_level)

    def _spawn(self, inst):
        conn = self.drv.get_volume_connector(inst)
        bdms = [self.cinder.bdm('vol-%d' % i, i, conn) for i in range(2)]
        self.drv.spawn(self.ctxt, inst, None, [], None, {},
                       block_device_info={'block_device_mapping': bdms})

    def _find(self, pattern):
        found = [line for line in self.log.lines()
                 if re.match(pattern, line[1])]
        self.assertEqual(1, len(found), 'not one record matches %r in %s'
                         % (pattern, self.log.lines()))
        return found[0]

    def test_connector_spawn_and_destroy_log_every_task(self):
        inst = harness.new_instance(1, INSTANCE_UUID, 'host-a', node='sys-a')
        self._spawn(inst)
        self.drv.destroy(self.ctxt, inst, None)

        u = INSTANCE_UUID
        for pattern in (
                # The connector's staging flow (volume/npiv.py)
                r'Task undo__unstage_now done', r'Task stage_%s done' % u,
                r'Flow stage_%s done' % u,
                # spawn
                r'Task create_lpar_%s done' % u,
                r'Task connect_vol_vol-0 done', r'Task connect_vol_vol-1 done',
                r'Task spawn_%s done' % u, r'Task power_on_%s done' % u,
                r'Flow spawn_%s done' % u,
                # destroy
                r'Task unmap_instance_%s done' % u,
                r'Task delete_lpar_%s done' % u,
                r'Flow destroy_%s done' % u):
            level, _msg, uuid = self._find(pattern + r' in \d+\.\d{3} s$')
            self.assertEqual(('INFO', INSTANCE_UUID), (level, uuid))

    def test_failed_spawn_logs_the_failure_and_the_undo(self):
        inst = harness.new_instance(2, INSTANCE_UUID, 'host-a', node='sys-a')
        self.drv.get_volume_connector(inst)
        # Both VIOS updates of the spawn fail; the rollback's go through.
        self.sim.inject_fault(method='POST', path='VirtualIOServer',
                              status=500, times=2)
        self.assertRaises(pvm_exc.Error, self._spawn, inst)

        u = INSTANCE_UUID
        level, msg, uuid = self._find(r'Task spawn_%s failed in' % u)
        self.assertEqual(('WARNING', INSTANCE_UUID), (level, uuid))
        self.assertRegex(msg, r'failed in \d+\.\d{3} s: .+')
        for pattern in (r'Task connect_vol_vol-0 undone',
                        r'Task create_lpar_%s undone' % u,
                        r'Flow spawn_%s undone' % u):
            level, _msg, uuid = self._find(pattern)
            self.assertEqual(('WARNING', INSTANCE_UUID), (level, uuid))
        self.assertFalse(any('power_on' in line[1]
                             for line in self.log.lines()))
        # The revert really ran: the LPAR is gone again.
        self.assertNotIn(inst.name,
                         [lp.name for lp in self.sim.model.lpars('sys-a')])


class TestNoFlowBypassesTheRunner(testtools.TestCase):

    def test_only_the_runner_loads_taskflow_engines(self):
        runner = os.path.abspath(tf_base.__file__)
        root = os.path.dirname(os.path.dirname(runner))
        offenders = []
        for folder, _dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                if not name.endswith('.py') or path == runner:
                    continue
                with open(path) as fh:
                    tree = ast.parse(fh.read(), path)
                for node in ast.walk(tree):
                    if isinstance(node, ast.ImportFrom) and (
                            node.module == 'taskflow.engines' or
                            node.module == 'taskflow' and any(
                                a.name == 'engines' for a in node.names)):
                        offenders.append(os.path.relpath(path, root))
                    elif isinstance(node, ast.Import) and any(
                            a.name.startswith('taskflow.engines')
                            for a in node.names):
                        offenders.append(os.path.relpath(path, root))
        self.assertEqual([], offenders)
