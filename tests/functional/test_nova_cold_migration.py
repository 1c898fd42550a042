"""Cold migration and resize to another managed system, through nova's API.

nova's services in-process; host-a drives sys-a, host-b drives sys-b, both
on one simulated console.  After each step: where the LPARs are (by UUID),
the vFC mappings on each system, the staging partitions, the fabric
records, and Cinder's view of the connector WWPNs against the instance's
active WWPNs.  The WWPN set never changes and is never mapped on two
systems at once.
"""

from nova_npiv import fabric_meta
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import topology
from nova_npiv.tasks import moves
from nova_npiv import vm
from tests.functional import test_nova_resize
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids


class ColdMigrationTestBase(test_nova_resize.ResizeTestBase):

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=False)

    def wwpn_set(self, server):
        inst = self.instance(server)
        return norm(w for f in ('A', 'B')
                    for phys, pair in fabric_meta.get_fabric(
                        inst, f).port_map for w in pair.split())

    def mapped_wwpns(self, server, system):
        return norm(w for m in self.mappings_of(server, system)
                    for w in m.wwpns)

    def assert_on(self, server, system, other, running=True):
        """The instance runs on ``system`` only, mapped there only."""
        inst = self.instance(server)
        lpars = self.lpars_of(server, system)
        self.assertEqual(1, len(lpars), lpars)
        self.assertEqual('running' if running else 'not activated',
                         lpars[0].state)
        self.assertEqual([], self.lpars_of(server, other))
        self.assertEqual([], self.mappings_of(server, other))
        maps = self.mappings_of(server, system)
        self.assertEqual(2, len(maps))
        self.assertEqual({lpars[0].uuid}, {m.client_lpar_uuid for m in maps})
        self.assertEqual(self.wwpn_set(server),
                         self.mapped_wwpns(server, system))
        ports = {(m.port_wwpn or '').lower()
                 for m in self.sim.model.mappings(system)
                 if m.client_lpar_uuid == lpars[0].uuid}
        for fabric in ('A', 'B'):
            rec = fabric_meta.get_fabric(inst, fabric)
            self.assertEqual(fabric_meta.INST_MAPPED, rec.state)
            # The records name the ports of the system the LPAR is on.
            self.assertLessEqual({p.lower() for p, _ in rec.port_map}, ports)
        self.assertEqual([], self.staging_mappings())
        self.assertIsNone(inst.system_metadata.get(moves.SOURCE_LPAR_KEY))
        self.assert_cinder_sees_active_wwpns(server)
        # The instance's LPAR identity proves this partition and no other.
        self.assertIn(lpars[0].uuid.upper(), vm.known_uuids(inst))
        return lpars[0]


class TestColdMigrateToAnotherSystem(ColdMigrationTestBase):

    def test_migrate_and_confirm(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        self.assert_on(server, 'sys-a', 'sys-b')

        server = self._migrate_server(server)
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        inst = self.instance(server)
        # Until confirm both LPARs live: the source, stopped and unmapped,
        # keeps the derived UUID; the destination has one of nova-npiv's
        # own (the source holds the derived one), recorded.
        src_uuid = inst.system_metadata[moves.SOURCE_LPAR_KEY]
        self.assertEqual(vm.lpar_uuid(inst), src_uuid)
        src = [lp for lp in self.sim.model.lpars('sys-a')
               if lp.uuid.upper() == src_uuid]
        self.assertEqual(['not activated'], [lp.state for lp in src])
        self.assertEqual([], [m for m in self.sim.model.mappings('sys-a')
                              if m.client_lpar_uuid == src_uuid])
        dest = self.lpars_of(server, 'sys-b')
        self.assertEqual(1, len(dest))
        self.assertNotEqual(src_uuid, dest[0].uuid.upper())
        self.assertEqual(dest[0].uuid.upper(), vm.recorded_uuid(inst))
        self.assertEqual('running', dest[0].state)
        self.assertEqual(wwpns, self.mapped_wwpns(server, 'sys-b'))
        self.assertEqual([], self.staging_mappings())
        self.assert_cinder_sees_active_wwpns(server)

        server = self._confirm_resize(server)
        self.assertEqual([], [lp for lp in self.sim.model.lpars('sys-a')
                              if lp.uuid.upper() == src_uuid])
        self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(wwpns, self.wwpn_set(server))

        # And back: the derived UUID is free again, the recorded one stays
        # the proof of the LPAR being left.
        server = self._migrate_server(server)
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        server = self._confirm_resize(server)
        lpar = self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(vm.lpar_uuid(self.instance(server)),
                         lpar.uuid.upper())
        self.assertIsNone(vm.recorded_uuid(self.instance(server)))
        self.assertEqual(wwpns, self.wwpn_set(server))

        # The instance is whole: delete leaves nothing anywhere.
        self._delete_server(server)
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.staging_mappings())

    def test_migrate_and_revert(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        lpar = self.assert_on(server, 'sys-a', 'sys-b')

        server = self._migrate_server(server)
        self.assertEqual(self.wwpn_set(server),
                         self.mapped_wwpns(server, 'sys-b'))
        server = self._revert_resize(server)
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        back = self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(lpar.uuid, back.uuid)
        self.assertIsNone(vm.recorded_uuid(self.instance(server)))
        # Same WWPNs, same ports, same records: where it was.
        self.assertEqual(before, self.san_view(server))

    def test_migrate_of_a_stopped_server(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        server = self._stop_server(server)
        server = self._migrate_server(server)
        self.assertEqual('not activated',
                         self.lpars_of(server, 'sys-b')[0].state)
        self.api.post_server_action(server['id'], {'confirmResize': None})
        server = self._wait_for_state_change(server, 'SHUTOFF')
        self.assert_on(server, 'sys-b', 'sys-a', running=False)
        server = self._start_server(server)
        self.assert_on(server, 'sys-b', 'sys-a')


class TestColdMigrateOnAnHMC(ColdMigrationTestBase):
    """No staging partition: the destination's connect chooses the ports."""

    TOPOLOGY = default_topology(console=topology.CONSOLE_HMC)

    def test_migrate_confirm_and_revert(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        wwpns = self.wwpn_set(server)
        server = self._migrate_server(server)
        server = self._revert_resize(server)
        self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(before, self.san_view(server))

        server = self._migrate_server(server)
        server = self._confirm_resize(server)
        self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(wwpns, self.wwpn_set(server))


class TestResizeToAnotherSystem(ColdMigrationTestBase):

    def test_resize_and_confirm(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        server = self._resize_server(server, self.big_flavor_id)
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        dest = self.lpars_of(server, 'sys-b')[0]
        self.assertEqual((8192, 4), (dest.memory_mb, dest.vcpus))
        server = self._confirm_resize(server)
        lpar = self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual((8192, 4), (lpar.memory_mb, lpar.vcpus))
        self.assertEqual(wwpns, self.wwpn_set(server))
        self.assertEqual(8192, self.instance(server).flavor.memory_mb)

    def test_resize_and_revert(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        server = self._resize_server(server, self.big_flavor_id)
        server = self._revert_resize(server)
        lpar = self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual((4096, 2), (lpar.memory_mb, lpar.vcpus))
        self.assertEqual(before, self.san_view(server))
        self.assertEqual(4096, self.instance(server).flavor.memory_mb)


class TestFailedColdMigration(ColdMigrationTestBase):

    def test_failed_unmap_on_the_source_leaves_it_active_there(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        # The second VIOS of sys-a refuses its update: the first one's
        # unmapping landed and is mapped back.
        vios = self.sim.model.vioses('sys-a')[1]
        fault = self.sim.inject_fault(
            method='POST', path=r'VirtualIOServer/%s$' % vios.uuid,
            kind='status', status=500, times=1)
        self.api.post_server_action(server['id'], {'migrate': None})
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(1, len(fault.hits))
        self.assertIsNone(server['OS-EXT-STS:task_state'])
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(before, self.san_view(server))

    def test_failed_create_on_the_destination_leaves_nothing_there(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        self.sim.inject_fault(method='PUT', path=r'LogicalPartition$',
                              kind='status', status=500)
        self.api.post_server_action(server['id'], {'migrate': None})
        server = self._wait_for_state_change(server, 'ERROR')
        # Nothing on the destination: no LPAR, no mapping, no staging; the
        # source LPAR stopped and unmapped, recorded; the WWPNs the same.
        self.assertEqual([], self.lpars_of(server, 'sys-b'))
        self.assertEqual([], self.mappings_of(server, 'sys-b'))
        self.assertEqual([], self.staging_mappings())
        inst = self.instance(server)
        src_uuid = inst.system_metadata[moves.SOURCE_LPAR_KEY]
        self.assertEqual(['not activated'],
                         [lp.state for lp in self.sim.model.lpars('sys-a')
                          if lp.uuid.upper() == src_uuid])
        self.assertEqual([], self.mappings_of(server, 'sys-a'))
        self.assertEqual(wwpns, self.wwpn_set(server))
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.UNMAPPED,
                             fabric_meta.get_fabric(inst, fabric).state)

        # Deleting the server in ERROR (nova asks host-b only) removes the
        # source LPAR too, found by its recorded UUID: nothing is left.
        self.sim.clear_faults()
        self._delete_server(server)
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if lp.uuid.upper() == src_uuid])
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())


class TestRecoveryOfAFailedFinish(ColdMigrationTestBase):
    """A failed ``finish_migration`` leaves the server ERROR on the
    destination with nothing there, the source LPAR stopped and unmapped
    and the WWPNs logged in nowhere; nova's advice, a hard reboot, brings
    it up on the destination with its WWPNs and volumes, and the source
    LPAR goes (nova_npiv/move_recovery.py)."""

    def _failed_migration(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        # The destination's create fails: finish_migration is undone.
        self.sim.inject_fault(method='PUT', path=r'LogicalPartition$',
                              kind='status', status=500)
        self.api.post_server_action(server['id'], {'migrate': None})
        # The migration's status first: the server's fault comes after it.
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ERROR')
        self.sim.clear_faults()
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        src_uuid = self.instance(server).system_metadata[
            moves.SOURCE_LPAR_KEY]
        # Logged in nowhere: no mapping anywhere, nothing staged.
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        return server, wwpns, src_uuid

    def _recovered(self, server, wwpns, src_uuid):
        self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(wwpns, self.wwpn_set(server))
        # The source LPAR, which no confirm will delete now, is gone.
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if lp.uuid.upper() == src_uuid])
        # The instance is whole: delete leaves nothing anywhere.
        self._delete_server(server)
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.staging_mappings())

    def test_hard_reboot_of_the_error_server_finishes_the_move(self):
        server, wwpns, src_uuid = self._failed_migration()
        self._reboot_server(server, hard=True)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        self._recovered(server, wwpns, src_uuid)

    def test_reset_state_active_then_hard_reboot(self):
        # What an operator may try first: reset-state --active changes the
        # database only (no LPAR yet); the hard reboot then recovers.
        server, wwpns, src_uuid = self._failed_migration()
        self.api.post_server_action(server['id'],
                                    {'os-resetState': {'state': 'active'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual([], self.lpars_of(server, 'sys-b'))
        self._reboot_server(server, hard=True)
        self._recovered(self.api.get_server(server['id']), wwpns, src_uuid)

    def test_a_failed_recovery_is_undone_and_can_be_retried(self):
        server, wwpns, src_uuid = self._failed_migration()
        self.sim.inject_fault(method='PUT', path=r'do/PowerOn$',
                              kind='status', status=500)
        self.api.post_server_action(server['id'], {'reboot': {
            'type': 'HARD'}})
        server = self._wait_for_server_parameter(
            server, {'status': 'ERROR', 'OS-EXT-STS:task_state': None})
        # Undone like finish_migration: nothing on sys-b, nothing mapped.
        self.assertEqual([], self.lpars_of(server, 'sys-b'))
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        self.assertEqual(['not activated'],
                         [lp.state for lp in self.sim.model.lpars('sys-a')
                          if lp.uuid.upper() == src_uuid])
        self.sim.clear_faults()
        self._reboot_server(server, hard=True)
        self._recovered(self.api.get_server(server['id']), wwpns, src_uuid)

    def test_hard_reboot_after_a_failed_revert_maps_the_source_first(self):
        # finish_revert_migration fails on host-a (the source LPAR's start):
        # its flow unmaps again, nova leaves the server ERROR on host-a.
        # The hard reboot used to start the LPAR without its adapters.
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        lpar = self.assert_on(server, 'sys-a', 'sys-b')
        server = self._migrate_server(server)
        self.sim.inject_fault(method='PUT', path=r'do/PowerOn$',
                              kind='status', status=500)
        self.api.post_server_action(server['id'], {'revertResize': None})
        # ERROR is set before the task state is cleared: a reboot is
        # accepted only after.
        server = self._wait_for_server_parameter(
            server, {'status': 'ERROR', 'OS-EXT-STS:task_state': None})
        self.sim.clear_faults()
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual(['not activated'],
                         [lp.state for lp in self.lpars_of(server)])
        self._reboot_server(server, hard=True)
        server = self.api.get_server(server['id'])
        back = self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(lpar.uuid, back.uuid)
        self.assertEqual(before, self.san_view(server))
