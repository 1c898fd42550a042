"""A live-migration destination stages the partner WWPNs on one read.

The feed ``stage_partners`` decides on is read under the system's VIOS
lock, so a VIOS the staging leaves unchanged needs no second look.
"""

from nova_npiv import fabric_meta
from tests.unit import fixtures as fx
from tests.unit.volume import test_mut4_migration_npiv as lm


class TestUnchangedVios(lm.DestinationTestCase):

    def test_a_vios_with_nothing_to_stage_is_not_read_again(self):
        # Fabric A (VIOS 1) has no adapters: only VIOS 2 gets a staging.
        fabric_meta.clear_fabric(self.inst, 'A')
        self.migration().stage_partners()
        self.assertEqual([fx.pair(3, 2)], self.staged())
        self.assertEqual(1, self.fx.gets)
        # Nor refreshed (``If-None-Match``): the read was under the lock.
        self.assertEqual(0, self.fx.ftfx.get_log().count('refresh'))
        self.assertEqual([fx.VIOS2], self.fx.updated())
