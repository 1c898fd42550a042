"""Crash recovery: flows killed between two steps, then a restart.

A nova-compute that dies mid-operation runs no taskflow revert.  The crashes
here are real: a task of the driver's own flow raises a BaseException (as
SystemExit or a killed process would), which taskflow does not revert.  The
new nova-compute's start-up reconciliation (``init_host`` ->
``nova_npiv.recovery.reconcile``, fed with nova's view of the host) and
``nova-npiv audit --fix`` (with nova's records) must then bring the VIOSes
back in line without touching the mappings of healthy instances, and remove
nothing that nova's records do not prove nova's.

Every repair is judged on the whole console: partitions nova does not know
(with vFC mappings of their own) stand beside the instances, and after the
repair every partition, every virtual slot (staging partition included,
with or without WWPNs) and every port's NPIV capacity is exactly as before,
less precisely the slots the repair was meant to remove.
"""

import io
import json
from unittest import mock

from nova import objects
from oslo_config import cfg

from nova_npiv.cmd import main as cli
from nova_npiv import fabric_meta
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.tasks import vm as tf_vm
from nova_npiv.testing import harness
from nova_npiv.testing import invariants
from nova_npiv.testing import world as world_lib
from nova_npiv import vm
from tests.functional import base
from tests.functional import conffile

CONF = cfg.CONF


class Crash(BaseException):
    """nova-compute dies here: no exception handler, no taskflow revert."""


def _crash(*args, **kwargs):
    raise Crash()


def _uuid(n):
    return '3f0c0a38-6f3c-4b7e-9d46-0c6a1d0e9a%02x' % n


class CrashRecoveryTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world((('host-a', 'sys-a'), ('host-b', 'sys-b')),
                            bystanders=True)
        self.drv = self.w.drivers['host-a']
        self.ctxt = harness.admin_context()

    def instance(self, n, host='host-a', node='sys-a'):
        return harness.new_instance(n, _uuid(n), host, node=node)

    def connector(self, inst, drv=None):
        return (drv or self.drv).get_volume_connector(inst)

    def spawn(self, inst, volumes=2):
        conn = self.connector(inst)
        bdms = [self.w.cinder.bdm('vol-%s-%d' % (inst.uuid, i), i, conn)
                for i in range(volumes)]
        self.drv.spawn(self.ctxt, inst, None, [], None, {},
                       block_device_info={'block_device_mapping': bdms})

    def maps_of(self, inst):
        """Mappings carrying the instance's WWPNs or pointing at its LPAR."""
        pairs = set()
        for fabric in world_lib.FABRICS:
            rec = fabric_meta.get_fabric(inst, fabric)
            pairs.update(frozenset(p.split()) for _, p in rec.port_map)
        uuid = vm.lpar_uuid(inst).upper()
        return sorted(
            (m.system, m.vios, m.vfchost, m.client_lpar_id, m.wwpns)
            for m in self.w.sim.model.mappings()
            if (m.client_lpar_uuid or '').upper() == uuid or
            frozenset(m.wwpns) in pairs)

    def staging_maps(self, system='sys-a'):
        mgmt = {lp.id for lp in self.w.sim.model.lpars(system) if lp.is_mgmt}
        return [m for m in self.w.sim.model.mappings(system)
                if m.client_lpar_id in mgmt]

    def orphans(self):
        parts = {(lp.system, lp.id) for lp in self.w.sim.model.lpars()}
        parts.update((v.system, v.id) for v in self.w.sim.model.vioses())
        return [m for m in self.w.sim.model.mappings()
                if (m.system, m.client_lpar_id) not in parts]

    def consistent(self, *instances):
        """Problems of the whole console, ``instances`` being all that
        nova knows: nothing claimed that is not there, nothing on staging
        or of a missing partition that they do not claim."""
        return invariants.consistency_problems(self.w, instances=instances)

    def unexplained(self, instances):
        """Problems of :meth:`consistent` other than the orphans left
        behind nova's back: nothing proves those nova's, so the repair
        reports them and leaves them (checked apart, with orphans())."""
        return [p for p in self.consistent(*instances)
                if not p.startswith('orphan: ')]

    def console(self):
        return invariants.console(self.w.sim)

    def assert_removed_only(self, before, *slot_sets):
        """The console is ``before`` less exactly the slots of the
        mappings in ``slot_sets`` (Mapping snapshots)."""
        keys = {(m.system, m.vios, m.server_slot, m.vfchost)
                for slots in slot_sets for m in slots}
        expected = invariants.without(
            before, lambda s: (s.system, s.vios, s.server_slot,
                               s.vfchost) in keys)
        self.assertEqual(len(keys), len(before.mappings) -
                         len(expected.mappings))
        now = self.console()
        self.assertEqual(expected, now, '\n'.join(
            invariants.describe_diff(expected, now)))

    def model_maps(self, inst):
        """The Mapping snapshots of ``maps_of(inst)``."""
        keys = {(s, v, h) for s, v, h, _i, _w in self.maps_of(inst)}
        return [m for m in self.w.sim.model.mappings()
                if (m.system, m.vios, m.vfchost) in keys]

    def restart(self, instances, host='host-a', system='sys-a', deleted=()):
        """A new nova-compute: init_host runs the reconciliation with
        ``instances`` as what nova's database holds for ``host`` and
        ``deleted`` as its deleted instances."""
        self.w.sim.reset_counters()
        # init_host skips the reconciliation where nova's database is out
        # of reach; here the database is this list.
        CONF.set_override('connection', 'sqlite://', group='database')
        with mock.patch.object(objects.InstanceList, 'get_by_host',
                               return_value=instances) as get_by_host, \
                mock.patch.object(objects.InstanceList, 'get_by_filters',
                                  return_value=list(deleted)) as get_deleted:
            drv = self.w.load(host, system)
        get_deleted.assert_called_once_with(
            mock.ANY, {'host': host, 'deleted': True},
            expected_attrs=['system_metadata'])
        get_by_host.assert_called_once_with(
            mock.ANY, host, expected_attrs=['system_metadata'])
        return drv

    # -- the crashes -------------------------------------------------------

    def crash_connector_after_staging(self, inst):
        """Died after the staging POSTs landed, before the state was saved:
        the metadata says unmapped (WWPNs kept), the VIOSes stage them."""
        staged = len(self.staging_maps())
        with mock.patch.object(tf_stg.SaveFabricState, 'execute', _crash):
            self.assertRaises(Crash, self.connector, inst)
        self.assertEqual(staged + 2, len(self.staging_maps()))
        self.assertEqual(fabric_meta.UNMAPPED,
                         fabric_meta.get_fabric(inst, 'A').state)

    def crash_spawn_before_power_on(self, inst):
        """Died after the mappings landed and were recorded, before the
        LPAR was started: nothing to repair, nova sets the instance to
        ERROR and a delete cleans up."""
        with mock.patch.object(tf_vm.PowerOn, 'execute', _crash):
            self.assertRaises(Crash, self.spawn, inst)

    def delete_lpar_behind_our_back(self, inst):
        """The LPAR went (deleted on the HMC while nova-compute was down);
        its VIOS server adapters stay behind, as on a real system."""
        lpar = vm.lpar_uuid(inst)
        self.w.sim.model.set_lpar_state('sys-a', lpar, 'not activated')
        self.w.sim.model.delete_lpar('sys-a', lpar)

    # -- the tests -----------------------------------------------------------

    def test_start_up_reconciliation_repairs_only_what_crashed(self):
        healthy = self.instance(1)
        self.spawn(healthy)
        staged = self.instance(2)           # connector done, spawn pending
        self.connector(staged)
        crashed_conn = self.instance(3)
        self.crash_connector_after_staging(crashed_conn)
        crashed_spawn = self.instance(4)
        self.crash_spawn_before_power_on(crashed_spawn)
        gone = self.instance(5)
        self.spawn(gone)
        self.delete_lpar_behind_our_back(gone)
        deleted_staged = self.instance(6)   # deleted while compute was down
        self.connector(deleted_staged)

        keep = {i.uuid: self.maps_of(i)
                for i in (healthy, staged, crashed_spawn)}
        self.assertEqual(2, len(self.orphans()))
        self.assertEqual(6, len(self.staging_maps()))
        other_system = self.w.sim.model.mappings('sys-b')
        before = self.console()
        repair = (self.model_maps(crashed_conn),
                  self.model_maps(deleted_staged))
        nova_knows = [healthy, staged, crashed_conn, crashed_spawn]

        orphans = self.orphans()
        self.restart(nova_knows, deleted=[gone, deleted_staged])

        for inst in (healthy, staged, crashed_spawn):
            self.assertEqual(keep[inst.uuid], self.maps_of(inst))
        # Nothing but the orphans the test left behind nova's back (which
        # nothing proves nova's, see below) is inconsistent.
        self.assertEqual([], self.unexplained(nova_knows))
        # The crashed connector's staging (unmapped in nova's view) and the
        # deleted instance's staging went: their WWPNs are nova's.  Nothing
        # else on the console changed.
        self.assertEqual([], self.maps_of(crashed_conn))
        self.assertEqual([], self.maps_of(deleted_staged))
        self.assert_removed_only(before, *repair)
        self.assertEqual(2, len(self.staging_maps()))   # the staged one's
        self.assertEqual(other_system, self.w.sim.model.mappings('sys-b'))
        # The deleted LPAR's server adapters carry no client WWPNs any
        # more: nothing proves them nova's, so they are reported, not
        # removed.
        self.assertEqual(orphans, self.orphans())
        self.assertIn("Left no-partition mapping", self.logs.output)
        # One feed read for the view, one POST per VIOS with leftovers.
        self.assertEqual(2, self.w.sim.count('POST', 'VirtualIOServer'))
        self.assertIn('Removed staging-leftover mapping', self.logs.output)

        # The instances carry on: the crashed connector's instance spawns
        # with the WWPNs it kept, the crashed spawn is deleted cleanly.
        wwpns = fabric_meta.active_wwpns(crashed_conn, ['A', 'B'])
        drv = self.w.drivers['host-a']
        self.drv = drv
        self.spawn(crashed_conn)
        self.assertEqual(wwpns,
                         fabric_meta.active_wwpns(crashed_conn, ['A', 'B']))
        drv.destroy(self.ctxt, crashed_spawn, None, None)
        self.assertEqual([], self.maps_of(crashed_spawn))
        self.assertEqual([], self.unexplained(nova_knows))
        self.assertEqual(orphans, self.orphans())

    def test_reconciliation_survives_corrupt_metadata(self):
        healthy = self.instance(1)
        self.spawn(healthy)
        corrupt = self.instance(2)
        self.spawn(corrupt)
        corrupt.system_metadata['npiv_adpt_wwpns_A'] = 'c0507600ae37zz00'
        gone = self.instance(3)
        self.spawn(gone)
        self.delete_lpar_behind_our_back(gone)
        keep = self.maps_of(healthy)
        corrupt_maps = [m for m in self.w.sim.model.mappings()
                        if m.client_lpar_name == vm.lpar_name(corrupt)]
        before = self.console()

        orphans = self.orphans()
        self.restart([corrupt, healthy], deleted=[gone])

        self.assertIn('Instance %s has corrupt NPIV metadata in '
                      'system_metadata key npiv_adpt_wwpns_A' % corrupt.uuid,
                      self.logs.output)
        # Reconciliation went on, and changed nothing it cannot prove.
        self.assertEqual(orphans, self.orphans())
        self.assertIn("Left no-partition mapping", self.logs.output)
        self.assertEqual(keep, self.maps_of(healthy))
        self.assertEqual(corrupt_maps,
                         [m for m in self.w.sim.model.mappings()
                          if m.client_lpar_name == vm.lpar_name(corrupt)])
        self.assert_removed_only(before)
        self.assertEqual([], self.unexplained([healthy]))

    def test_reconciliation_failure_does_not_stop_the_service(self):
        healthy = self.instance(1)
        self.spawn(healthy)
        self.w.sim.inject_fault('GET', 'VirtualIOServer$', status=500,
                                nth=2)   # 1st: init_host's port check
        before = self.console()
        drv = self.restart([healthy])
        self.assertIsNotNone(drv.system_uuid)
        self.assertIn('Start-up reconciliation of vFC mappings failed; run '
                      'nova-npiv audit', self.logs.output)
        self.assertEqual([], self.consistent(healthy))
        self.assert_removed_only(before)

    def test_audit_fix_repairs_a_crashed_live_migration(self):
        """The destination died between staging the partner WWPNs and the
        Migrate job: the staging mapping on sys-b carries WWPNs that are
        mapped to the instance on sys-a.  ``audit --fix`` removes it (its
        WWPNs are in nova's metadata) and leaves the orphans of a deleted
        LPAR, which nothing proves nova's."""
        healthy = self.instance(1)
        self.spawn(healthy)
        staged = self.instance(2)
        self.connector(staged)
        migrating = self.instance(3)
        self.spawn(migrating)
        gone = self.instance(4)
        self.spawn(gone)
        self.delete_lpar_behind_our_back(gone)

        dst = self.w.drivers['host-b']
        dst.check_can_live_migrate_destination(self.ctxt, migrating, None,
                                               None)
        migrating.task_state = 'migrating'
        self.connector(migrating, drv=dst)    # ... and host-b dies here
        leftover = self.staging_maps('sys-b')
        if not leftover:
            self.skipTest('the destination does not stage partner WWPNs')
        keep = {i.uuid: self.maps_of(i) for i in (healthy, staged)}
        keep_migrating = [m for m in self.w.sim.model.mappings('sys-a')
                          if m.client_lpar_name == vm.lpar_name(migrating)]
        before = self.console()

        conf = self._config()
        orphans = self.orphans()
        self.addCleanup(mock.patch.stopall)
        mock.patch('nova_npiv.cmd.ops.nova_records', return_value=(
            [healthy, staged, migrating], [gone])).start()
        code, out = self._cli('--config-file', conf, 'audit', '--json')
        self.assertEqual(0, code)
        found = sorted((f['kind'], f['system'], f['owner'])
                       for f in json.loads(out)['findings'])
        self.assertEqual(
            sorted([('no-partition', 'sys-a', 'unproven')] * 2 +
                   [('staging-leftover', 'sys-b', 'nova')] * len(leftover)),
            found)

        code, out = self._cli('--config-file', conf, 'audit', '--fix')
        self.assertEqual(0, code)
        self.assertIn('Removed %d mapping(s).' % len(leftover), out)
        self.assertEqual([], self.staging_maps('sys-b'))
        self.assertEqual(orphans, self.orphans())
        for inst in (healthy, staged):
            self.assertEqual(keep[inst.uuid], self.maps_of(inst))
        self.assert_removed_only(before, leftover)
        self.assertEqual([], self.unexplained([healthy, staged, migrating]))
        self.assertEqual(keep_migrating,
                         [m for m in self.w.sim.model.mappings('sys-a')
                          if m.client_lpar_name == vm.lpar_name(migrating)])
        code, out = self._cli('--config-file', conf, 'audit', '--json')
        self.assertEqual(['no-partition'] * 2,
                         [f['kind'] for f in json.loads(out)['findings']])

    # -- CLI helpers -------------------------------------------------------

    def _config(self):
        """nova.conf for the whole console (no managed_system)."""
        return conffile.write(self, self.w.sim, 'sys-a', whole_console=True)

    def _cli(self, *argv):
        # The CLI reads its own nova.conf, not the drivers' overrides.
        harness.reset_conf()
        out = io.StringIO()
        with mock.patch('sys.stdout', out):
            code = cli.main(list(argv))
        return code, out.getvalue()
