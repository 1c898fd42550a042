"""The NPIV volume driver on pypowervm's sample VIOS feed (no network).

Every test of tests/unit/volume runs the driver against ``fake_vios_feed.txt``
served by pypowervm's ``FeedTaskFx`` (see :mod:`tests.unit.fixtures`), and
checks the fabric state machine (doc/source/design/state-machine.rst) on
three levels: the instance's ``system_metadata``, the vFC mappings on each
VIOS wrapper after the FeedTask's subtasks ran, and the REST calls made (feed
GETs, VIOS POSTs, WWPN allocation jobs).
"""

import testtools

from nova_npiv import fabric_meta
from tests.unit import fixtures as fx

W = fx.WWPNJob.wwpn
UNMAPPED = fabric_meta.UNMAPPED
MGMT = fabric_meta.MGMT_MAPPED
INST = fabric_meta.INST_MAPPED
pair = fx.pair


class NPIVTestCase(testtools.TestCase):
    """Two fabrics over the two VIOSes of the sample feed, staging on."""

    fabrics = None
    ports_per_fabric = 1
    staging = True
    extra_vios = ()

    def setUp(self):
        super().setUp()
        self.fx = self.useFixture(fx.NPIVFixture(
            fabrics=self.fabrics, ports_per_fabric=self.ports_per_fabric,
            staging=self.staging, extra_vios=self.extra_vios))
        self.inst = self.fx.instance()

    def connector(self, instance=None):
        """What get_volume_connector does: a new adapter, wwpns()."""
        return self.fx.npiv(instance or self.inst).wwpns()

    def connect(self, volume_id='vol-1', instance=None, stg_ftsk=None):
        instance = instance or self.inst
        wwpns = fabric_meta.all_wwpns(instance, ['A', 'B'])
        drv = self.fx.npiv(instance, fx.connection_info(wwpns, volume_id),
                           stg_ftsk=stg_ftsk)
        drv.connect_volume()
        return drv

    def states(self, instance=None, fabrics=('A', 'B')):
        instance = instance or self.inst
        return {f: fx.state(instance, f) for f in fabrics}

    def assertStates(self, expected, instance=None, fabrics=('A', 'B')):
        self.assertEqual({f: expected for f in fabrics},
                         self.states(instance, fabrics))
