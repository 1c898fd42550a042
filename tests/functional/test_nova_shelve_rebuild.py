"""Shelve-offload and unshelve on another system, and rebuild of a
volume-backed server (nova reimages the root volume), through nova's API.

Both go through nova's destroy and spawn: the destroy unmaps the LPAR and
keeps the WWPNs (fabrics ``unmapped``), the spawn maps the same WWPNs
again (on the new system's ports, after an unshelve elsewhere).
"""

from unittest import mock

from nova.volume import cinder as nova_cinder

from nova_npiv import fabric_meta
from nova_npiv import vm
from tests.functional import test_nova_cold_migration
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids


class TestShelveAndRebuild(test_nova_cold_migration.ColdMigrationTestBase):

    microversion = '2.93'   # unshelve to a host (2.91), volume reimage

    def test_shelve_offload_and_unshelve_on_the_other_system(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        self.assert_on(server, 'sys-a', 'sys-b')

        # nova offloads a volume-backed server at once (nothing to keep).
        self.api.post_server_action(server['id'], {'shelve': {}})
        server = self._wait_for_server_parameter(
            server, {'status': 'SHELVED_OFFLOADED',
                     'OS-EXT-SRV-ATTR:host': None})
        # Offloaded: no LPAR, no mapping anywhere; the WWPNs are kept.
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        self.assertEqual(wwpns, self.wwpn_set(server))
        inst = self.instance(server)
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.UNMAPPED,
                             fabric_meta.get_fabric(inst, fabric).state)

        self.api.post_server_action(server['id'],
                                    {'unshelve': {'host': 'host-b'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        lpar = self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(vm.lpar_uuid(self.instance(server)),
                         lpar.uuid.upper())
        self.assertEqual(wwpns, self.wwpn_set(server))

    def test_rebuild_reimages_the_root_volume_and_keeps_the_wwpns(self):
        root = self.cinder.IMAGE_BACKED_VOL
        server = self.boot_from_volumes([root], host='host-a')
        before = self.san_view(server)
        # An image for Power (the fixture's own images are x86_64, which
        # nova's ImagePropertiesFilter keeps off this host).
        image = uuids.power_image
        self.glance.create(None, {
            'id': image, 'name': 'power-image', 'status': 'active',
            'container_format': 'bare', 'disk_format': 'raw',
            'size': 1024 ** 3, 'properties': {'architecture': 'ppc64le'}})
        # nova waits for Cinder's volume-reimaged event, which the Cinder
        # fixture does not send (nova's own tests do the same).
        virtapi = self.computes['host-a'].manager.virtapi
        with mock.patch.object(virtapi, 'wait_for_instance_event'):
            self.api.post_server_action(server['id'], {'rebuild': {
                'imageRef': image}})
            server = self._wait_for_state_change(server, 'ACTIVE')
            self._wait_for_instance_action_event(
                server, 'rebuild', 'compute_rebuild_instance', 'success')
        # The Cinder fixture's stand-in for the reimage call.
        reimage = nova_cinder.API.reimage_volume
        self.assertEqual(1, reimage.call_count)
        self.assertIn(root, reimage.call_args[0])
        self.assertIn(image, reimage.call_args[0])
        # nova's default rebuild destroyed the LPAR and spawned it again:
        # same UUID, same WWPNs, same ports; Cinder was given them again.
        lpar = self.assert_on_with(server, 'sys-a', root)
        self.assertEqual(vm.lpar_uuid(self.instance(server)),
                         lpar.uuid.upper())
        self.assertEqual(before, self.san_view(server))

    def assert_on_with(self, server, system, volume_id):
        lpars = self.lpars_of(server)
        self.assertEqual([(system, 'running')],
                         [(lp.system, lp.state) for lp in lpars])
        self.assertEqual([], self.staging_mappings())
        active = norm(fabric_meta.active_wwpns(self.instance(server),
                                               ['A', 'B']))
        self.assertEqual(active,
                         norm(self.cinder.connectors[volume_id][-1]['wwpns']))
        return lpars[0]
