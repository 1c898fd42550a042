"""Resize through nova's REST API, nova's services in-process.

On one compute host (``allow_resize_to_same_host``) the instance's LPAR is
reshaped offline; its WWPNs and vFC mappings never change.  Resize and
cold migration to another host: test_nova_cold_migration.
"""

from nova_npiv import fabric_meta
from tests.functional import nova_base
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids

#: The update of a partition (not a job, not a search).
LPAR_POST = r'LogicalPartition/[0-9A-Fa-f-]+$'


class ResizeTestBase(nova_base.NPIVServicesTestCase):

    def setUp(self):
        super().setUp()
        self.big_flavor_id = self._create_flavor(memory_mb=8192, vcpu=4,
                                                 disk=0, ephemeral=0)

    def lpar(self, server):
        lpars = self.lpars_of(server)
        self.assertEqual(1, len(lpars))
        return lpars[0]

    def shape(self, server):
        lpar = self.lpar(server)
        return lpar.memory_mb, lpar.vcpus

    def san_view(self, server):
        """What must not move: mappings, fabric records, active WWPNs."""
        maps = sorted((m.system, m.vios, m.fabric, m.port_wwpn,
                       tuple(norm(m.wwpns)))
                      for m in self.mappings_of(server))
        inst = self.instance(server)
        return (maps, self.fabric_records(server),
                norm(fabric_meta.active_wwpns(inst, ['A', 'B'])))

    def assert_cinder_sees_active_wwpns(self, server):
        active = norm(fabric_meta.active_wwpns(self.instance(server),
                                               ['A', 'B']))
        self.assertEqual(active,
                         norm(self.cinder.connectors[uuids.root_vol][-1]
                              ['wwpns']))


class TestResizeSameHost(ResizeTestBase):

    HOSTS = {'host-a': 'sys-a'}

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)

    def test_resize_and_confirm(self):
        server = self.boot_from_volumes([uuids.root_vol])
        self.assertEqual((4096, 2), self.shape(server))
        before = self.san_view(server)
        self.assertEqual(2, len(before[0]))

        server = self._resize_server(server, self.big_flavor_id)
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual((8192, 4), self.shape(server))
        self.assertEqual('running', self.lpar(server).state)
        self.assertEqual(before, self.san_view(server))
        self.assertEqual([], self.staging_mappings())

        server = self._confirm_resize(server)
        self.assertEqual((8192, 4), self.shape(server))
        self.assertEqual('running', self.lpar(server).state)
        self.assertEqual(before, self.san_view(server))
        self.assertEqual(8192, self.instance(server).flavor.memory_mb)
        # nova re-attached the volume with this host's connector: the same
        # WWPNs, no second set.
        self.assert_cinder_sees_active_wwpns(server)

    def test_resize_and_revert(self):
        server = self.boot_from_volumes([uuids.root_vol])
        before = self.san_view(server)

        server = self._resize_server(server, self.big_flavor_id)
        self.assertEqual((8192, 4), self.shape(server))

        # nova's revert_resize destroys "the guest on the destination":
        # here that is the one LPAR, which must be kept and reshaped back.
        server = self._revert_resize(server)
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual((4096, 2), self.shape(server))
        self.assertEqual('running', self.lpar(server).state)
        self.assertEqual(before, self.san_view(server))
        self.assertEqual(4096, self.instance(server).flavor.memory_mb)
        self.assert_cinder_sees_active_wwpns(server)
        self.assertEqual([], self.staging_mappings())

    def test_resize_of_a_stopped_server_stays_stopped(self):
        server = self.boot_from_volumes([uuids.root_vol])
        server = self._stop_server(server)
        server = self._resize_server(server, self.big_flavor_id)
        self.assertEqual((8192, 4), self.shape(server))
        self.assertEqual('not activated', self.lpar(server).state)
        server = self._confirm_resize_stopped(server)
        self.assertEqual('not activated', self.lpar(server).state)

    def _confirm_resize_stopped(self, server):
        self.api.post_server_action(server['id'], {'confirmResize': None})
        return self._wait_for_state_change(server, 'SHUTOFF')

    def test_failed_lpar_update_leaves_the_old_shape(self):
        server = self.boot_from_volumes([uuids.root_vol])
        before = self.san_view(server)
        self.sim.inject_fault(method='POST', path=LPAR_POST, kind='status',
                              status=500)
        self.api.post_server_action(
            server['id'], {'resize': {'flavorRef': self.big_flavor_id}})
        # finish_resize failed after the source stopped the LPAR: nova puts
        # the instance in ERROR (only InstanceFaultRollback or
        # NotImplementedError roll back to ACTIVE, and nova's manager
        # raises neither for a failed finish_migration) and gives it its
        # old flavor back.  The flow changed nothing: same shape, same
        # mappings, the LPAR stopped as the resize had left it.
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertEqual((4096, 2), self.shape(server))
        self.assertEqual('not activated', self.lpar(server).state)
        self.assertEqual(before, self.san_view(server))
        self.assertEqual(4096, self.instance(server).flavor.memory_mb)
        self.assertEqual([], self.staging_mappings())

        # nova's advice ("recover the instance by hard rebooting it")
        # works: the LPAR starts in its old shape.
        self._reboot_server(server, hard=True)
        self.assertEqual('running', self.lpar(server).state)
        self.assertEqual((4096, 2), self.shape(server))
        self.assertEqual(before, self.san_view(server))

    def test_failed_revert_leaves_the_resized_lpar_running(self):
        server = self.boot_from_volumes([uuids.root_vol])
        before = self.san_view(server)
        server = self._resize_server(server, self.big_flavor_id)
        self.sim.inject_fault(method='POST', path=LPAR_POST, kind='status',
                              status=500)
        self.api.post_server_action(server['id'], {'revertResize': None})
        # The flow stopped the LPAR, the update was refused, and the revert
        # of the stop started it again: it runs as before the revert, in
        # the new shape.  nova puts the instance in ERROR
        # (finish_revert_resize rolls back only on InstanceFaultRollback or
        # NotImplementedError) after it has restored the old flavor, so
        # the LPAR's shape and nova's flavor differ until the operator
        # resizes again; nothing of the SAN side moved.
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertEqual((8192, 4), self.shape(server))
        self.assertEqual('running', self.lpar(server).state)
        self.assertEqual(before, self.san_view(server))
        self.assertEqual(4096, self.instance(server).flavor.memory_mb)
