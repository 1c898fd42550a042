"""Cross-cell resize through nova's API: nova's snapshot-based resize.

Two cells, as nova's own ``test_cross_cell_migrate.py`` sets them up: host-a
in cell1 drives sys-a, host-b in cell2 drives sys-b; cross-cell resize is
allowed to admins by policy (nova's default allows nobody).  The source's
``destroy`` and the destination's ``spawn`` keep the instance's WWPNs; a
revert builds the source LPAR again.  After each step: the LPARs (by
UUID), the vFC mappings on each system, the staging partitions, both cells'
copies of the fabric records, and Cinder's view of the connector WWPNs
against the instance's active WWPNs.
"""

import time

import fixtures

from nova import context as nova_context
from nova import objects
from nova.policies import base as base_policies
from nova.policies import servers as servers_policies

from nova_npiv import fabric_meta
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import novalink_pair
from nova_npiv import vm
from tests.functional import test_nova_cold_migration
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids


class CrossCellTestBase(test_nova_cold_migration.ColdMigrationTestBase):

    NUMBER_OF_CELLS = 2
    CELLS = {'host-a': 'cell1', 'host-b': 'cell2'}
    #: Each cell's compute host on a system of its own console (two
    #: NovaLinks): the deployment cells are made for.
    TOPOLOGY = novalink_pair()

    def _start_compute(self, host, cell_name=None):
        return super()._start_compute(host,
                                      cell_name=cell_name or self.CELLS[host])

    def setUp(self):
        super().setUp()
        self.policy.set_rules({servers_policies.CROSS_CELL_RESIZE:
                               base_policies.RULE_ADMIN_API},
                              overwrite=False)

    # -- the instance's rows, one per cell during the resize -------------

    def copy_in(self, server, cell, read_deleted='no'):
        """The instance's row in ``cell``, or None."""
        ctxt = nova_context.get_admin_context(read_deleted=read_deleted)
        with nova_context.target_cell(ctxt,
                                      self.cell_mappings[cell]) as cctxt:
            try:
                return objects.Instance.get_by_uuid(
                    cctxt, server['id'], expected_attrs=['system_metadata'])
            except Exception:
                return None

    def mapped_cell(self, server):
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            nova_context.get_admin_context(), server['id'])
        return mapping.cell_mapping.name

    def instance(self, server):
        """The row the instance mapping points at (what the API shows)."""
        return self.copy_in(server, self.mapped_cell(server))

    def lpars_of(self, server, system=None):
        uuids_ = {vm.lpar_uuid_of(server['id'])}
        for cell in self.CELLS.values():
            inst = self.copy_in(server, cell, read_deleted='yes')
            if inst is not None:
                uuids_.update(vm.known_uuids(inst))
        return [lp for lp in self.sim.model.lpars(system)
                if lp.uuid.upper() in uuids_]

    def migration(self, server, cell):
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(ctxt,
                                      self.cell_mappings[cell]) as cctxt:
            migs = objects.MigrationList.get_by_filters(
                cctxt, {'instance_uuid': server['id']})
        return sorted(migs, key=lambda m: m.id)[-1]

    def records_in(self, inst):
        return {f: fabric_meta.get_fabric(inst, f) for f in ('A', 'B')}

    # -- what the SAN sees -----------------------------------------------

    def watch_connector(self, server, host, other):
        """At each connector call on ``host``, the instance's WWPNs still
        mapped on ``other``, staging included (must be none: one WWPN is
        never logged in twice)."""
        drv = self.drivers[host]
        real = drv.get_volume_connector
        wwpns = set(self.wwpn_set(server))
        seen = []

        def spy(instance):
            seen.append(sorted(
                w for m in self.sim.model.mappings(other)
                for w in norm(m.wwpns) if w in wwpns))
            return real(instance)

        self.useFixture(fixtures.MockPatchObject(
            drv, 'get_volume_connector', side_effect=spy))
        return seen

    def assert_source_copy_kept_wwpns(self, server, wwpns, cell='cell1'):
        """The source cell's row after the source's destroy: unmapped, the
        same WWPNs (nothing released)."""
        src = self.copy_in(server, cell)
        self.assertIsNotNone(src)
        self.assertTrue(src.hidden)
        self.assertEqual(wwpns, norm(
            w for rec in self.records_in(src).values()
            for _phys, pair in rec.port_map for w in pair.split()))
        for rec in self.records_in(src).values():
            self.assertEqual(fabric_meta.UNMAPPED, rec.state)


class TestCrossCellResize(CrossCellTestBase):

    def test_resize_and_confirm(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        self.assertEqual('cell1', self.mapped_cell(server))
        wwpns = self.wwpn_set(server)
        src_lpar = self.assert_on(server, 'sys-a', 'sys-b')
        seen = self.watch_connector(server, 'host-b', 'sys-a')

        server = self._resize_server(server, self.big_flavor_id)
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('cell2', self.mapped_cell(server))
        self.assertTrue(self.migration(server, 'cell2').cross_cell_move)
        # The destination asked for its connector only once the source's
        # mappings were gone, and reported the same WWPNs.
        self.assertTrue(seen)
        self.assertEqual([[]] * len(seen), seen)
        # The source LPAR was destroyed (nova's snapshot-based resize
        # keeps nothing on the source); the destination runs in the new
        # flavor with the same WWPNs, mapped through sys-b's ports.
        self.assertEqual([], self.lpars_of(server, 'sys-a'))
        self.assertNotIn(src_lpar.uuid,
                         [lp.uuid for lp in self.sim.model.lpars('sys-a')])
        lpar = self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual((8192, 4), (lpar.memory_mb, lpar.vcpus))
        self.assertEqual(vm.lpar_uuid_of(server['id']), lpar.uuid.upper())
        self.assertEqual(wwpns, self.wwpn_set(server))
        self.assert_source_copy_kept_wwpns(server, wwpns)

        server = self._confirm_resize(server, cross_cell=True)
        self.assertIsNone(self.copy_in(server, 'cell1'))
        lpar = self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual((8192, 4), (lpar.memory_mb, lpar.vcpus))
        self.assertEqual(wwpns, self.wwpn_set(server))
        self.assertEqual(8192, self.instance(server).flavor.memory_mb)

        # The instance is whole in its new cell: delete leaves nothing.
        self._delete_server(server)
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.staging_mappings())

    def test_resize_and_revert(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        wwpns = self.wwpn_set(server)
        src_lpar = self.assert_on(server, 'sys-a', 'sys-b')

        server = self._resize_server(server, self.big_flavor_id)
        self.assert_on(server, 'sys-b', 'sys-a')
        seen = self.watch_connector(server, 'host-a', 'sys-b')

        server = self._revert_resize(server)
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('cell1', self.mapped_cell(server))
        self.assertIsNone(self.copy_in(server, 'cell2'))
        # The source asked for its connector once the destination's
        # mappings were gone.
        self.assertTrue(seen)
        self.assertEqual([[]] * len(seen), seen)
        # Built again: the derived UUID, the old flavor, the same WWPNs on
        # the same ports, the same records: where it was.
        lpar = self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(src_lpar.uuid, lpar.uuid)
        self.assertEqual((4096, 2), (lpar.memory_mb, lpar.vcpus))
        self.assertIsNone(vm.recorded_uuid(self.instance(server)))
        self.assertEqual(before, self.san_view(server))
        self.assertEqual(4096, self.instance(server).flavor.memory_mb)
        self.assertFalse(self.instance(server).hidden)

        # And again, confirmed this time: the WWPN set never changed.
        server = self._resize_server(server, self.big_flavor_id)
        server = self._confirm_resize(server, cross_cell=True)
        self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(wwpns, self.wwpn_set(server))

    def test_migrate_of_a_stopped_server_and_revert(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        server = self._stop_server(server)
        server = self._migrate_server(server)
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        self.assert_on(server, 'sys-b', 'sys-a', running=False)

        self.api.post_server_action(server['id'], {'revertResize': None})
        # The source cell's row shows SHUTOFF as soon as the instance is
        # mapped back to it: the revert has ended with its notification.
        self.notifier.wait_for_versioned_notifications(
            'instance.resize_revert.end')
        server = self._wait_for_state_change(server, 'SHUTOFF')
        self.assertIsNone(server['OS-EXT-STS:task_state'])
        self.assertEqual('cell1', self.mapped_cell(server))
        self.assert_on(server, 'sys-a', 'sys-b', running=False)
        self.assertEqual(before[0], self.san_view(server)[0])
        server = self._start_server(server)
        self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(before, self.san_view(server))


class TestCrossCellOnOneHMC(CrossCellTestBase):
    """Both cells' systems on one HMC (co-managed, staging on each
    system's NovaLink partition): the console sees both LPARs' UUIDs."""

    TOPOLOGY = co_managed_topology()

    def test_resize_revert_then_confirm(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        before = self.san_view(server)
        wwpns = self.wwpn_set(server)
        server = self._resize_server(server, self.big_flavor_id)
        # The source LPAR is gone before the destination's is created: the
        # derived UUID is free, nothing of nova-npiv's own is recorded.
        lpar = self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(vm.lpar_uuid_of(server['id']), lpar.uuid.upper())
        self.assertIsNone(vm.recorded_uuid(self.instance(server)))
        server = self._revert_resize(server)
        self.assert_on(server, 'sys-a', 'sys-b')
        self.assertEqual(before, self.san_view(server))

        server = self._migrate_server(server)
        server = self._confirm_resize(server, cross_cell=True)
        self.assert_on(server, 'sys-b', 'sys-a')
        self.assertEqual(wwpns, self.wwpn_set(server))


class TestFailedCrossCellResize(CrossCellTestBase):

    def assert_nowhere(self, server, wwpns):
        """No LPAR, mapping or staging of the instance on any system; its
        WWPNs recorded, unmapped, in the row it is mapped to."""
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        inst = self.instance(server)
        self.assertEqual(wwpns, self.wwpn_set(server))
        for rec in self.records_in(inst).values():
            self.assertEqual(fabric_meta.UNMAPPED, rec.state)

    def test_failed_create_on_the_destination_leaves_nothing_there(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        self.sim.inject_fault(method='PUT', path=r'LogicalPartition$',
                              kind='status', status=500, system='sys-b')
        self.api.post_server_action(
            server['id'], {'resize': {'flavorRef': self.big_flavor_id}})
        # The source's destroy had run: nova's conductor has no way back
        # and puts the server in ERROR in the source cell.
        server = self._wait_for_state_change(server, 'ERROR',
                                             max_retries=60)
        self.assertEqual('cell1', self.mapped_cell(server))
        # The conductor's rollback deletes the target cell's row.
        for _try in range(60):
            if self.copy_in(server, 'cell2') is None:
                break
            time.sleep(0.5)
        self.assertIsNone(self.copy_in(server, 'cell2'))
        # The destination's flow undid its staging: the WWPNs are logged in
        # nowhere, recorded, the same.
        self.assert_nowhere(server, wwpns)

    def test_failed_create_on_revert_leaves_nothing_there(self):
        server = self.boot_from_volumes([uuids.root_vol], host='host-a')
        wwpns = self.wwpn_set(server)
        server = self._resize_server(server, self.big_flavor_id)
        self.sim.inject_fault(method='PUT', path=r'LogicalPartition$',
                              kind='status', status=500, system='sys-a')
        self.api.post_server_action(server['id'], {'revertResize': None})
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ERROR',
                                             max_retries=60)
        self.assertEqual('cell1', self.mapped_cell(server))
        self.assert_nowhere(server, wwpns)
