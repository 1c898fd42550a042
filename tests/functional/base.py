"""The base of the tests that run on simulator worlds.

The worlds (:mod:`nova_npiv.testing.world`) load drivers on nova's global
CONF and log through the real loggers; each test gets both back as it
found them.
"""

import logging

import fixtures
import testtools

from nova_npiv.testing import harness
from nova_npiv.testing import world as world_lib


NODE_UUID = '0c7e2d9a-5c3b-4e8f-9a7d-2b6f1e4c8d30'


class WorldTestCase(testtools.TestCase):
    """Tests on simulator worlds; logs captured, CONF restored."""

    log_level = logging.INFO

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=self.log_level,
            format='%(levelname)s %(name)s %(message)s'))
        self.addCleanup(harness.reset_conf)
        # The harness is no nova service: no parsed nova.conf to find the
        # node identity file in (nova's own tests replace it the same way).
        self.useFixture(fixtures.MockPatch(
            'nova.virt.node.get_local_node_uuid', return_value=NODE_UUID))

    def world(self, hosts=(('host-a', 'sys-a'),), topology=None,
              bystanders=False, **overrides):
        world = world_lib.World(hosts, topology=topology,
                                bystanders=bystanders, **overrides)
        self.addCleanup(world.close)
        return world
