"""The operations the fault matrix breaks, each as nova runs it.

A :class:`Scenario` says how to reach an operation's starting point, how
to run it, how to run it again after a failure (nova's answer to a failed
operation is to run it again: reschedule, repeated delete, new migration)
and what a completed or rolled-back run must leave.  What "rolled back"
may mean differs per operation -- a destroy cannot be undone, a failed
spawn is followed by nova's destroy -- so each scenario states it next to
the reason, and the matrix (:mod:`nova_npiv.testing.matrix`) stays one
engine for all of them.  Every world has bystander partitions, so that a
run that touches what is not the instance's is caught.
"""

import abc

from nova import objects

from nova_npiv import fabric_meta
from nova_npiv.tasks import moves
from nova_npiv.testing import invariants
from nova_npiv.testing import world as world_lib


class Scenario(abc.ABC):
    """One operation: how to reach its start, run it and judge a failure."""

    name = None
    hosts = (('host-a', 'sys-a'),)
    #: Fabrics whose metadata must agree with the VIOSes.
    fabrics = world_lib.FABRICS

    def world(self):
        # A busy VIOS is retried after a short wait: the matrix tests that
        # it is retried, not how long the wait is.
        return world_lib.World(self.hosts, bystanders=True,
                               vios_busy_retry_delay=0.05)

    def prepare(self, world):  # noqa: B027 (a hook: most need none)
        """Bring the world to the operation's starting point."""

    @abc.abstractmethod
    def operate(self, world):
        """Run the operation under test once."""

    def retry(self, world):
        self.operate(world)

    def aimed(self, targets):
        """The request indexes the matrix aims at by default (None: all)."""
        return None

    def done(self, world):
        """Problems with the state a completed operation must leave."""
        return []

    def rolled_back(self, world, before):
        """Problems with the state after a failure, other than "as before".

        The default: only "exactly as before" is accepted.
        """
        return ['not as before']


class Spawn(Scenario):
    """Boot from two volumes on two fabrics: connector, then spawn.

    As nova's build does, a failed spawn is followed by destroy (nova's
    ``_shutdown_instance``); a failed connector is not.
    """

    name = 'spawn'

    def operate(self, world):
        conn = world.connector()
        staged = invariants.snapshot(world)
        try:
            world.spawn(connector=conn)
        except Exception:
            # What spawn's own reverts left: the state the connector made,
            # or the clean rollback.
            if world.double:
                # The revert itself met a fault: it cannot be clean, but
                # the VIOSes and the metadata must agree.
                problems = invariants.consistency_problems(world)
            elif invariants.snapshot(world) != staged:
                problems = (self.rolled_back(world, None) +
                            invariants.console_problems(
                                world, staged, invariants.snapshot(world)))
            else:
                problems = []
            if problems:
                world.notes.append('after spawn\'s revert: %s'
                                   % '; '.join(problems))
            world.destroy()
            raise

    def done(self, world):
        return invariants.mapped_to_instance(world, 'sys-a')

    def rolled_back(self, world, before):
        return invariants.gone(world) + invariants.unmapped_with_wwpns(world)


class Delete(Scenario):
    """Destroy a running instance booted from two volumes."""

    name = 'delete'

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        world.destroy()

    def done(self, world):
        return invariants.gone(world) + invariants.unmapped_with_wwpns(world)

    def rolled_back(self, world, before):
        # A destroy cannot be undone: the LPAR may be powered off, and its
        # mappings may be gone if the metadata says so.  A delete whose
        # last reply was lost did complete.
        if not self.done(world):
            return []
        lpars = invariants.instance_lpars(world)
        if [(lp.system, lp.state) for lp in lpars] != \
                [('sys-a', 'not activated')]:
            return ['instance LPAR is %s' % [(lp.system, lp.state)
                                             for lp in lpars]]
        uuid = world.lpar_uuid.upper()
        stopped = before._replace(partitions=tuple(sorted(
            (p._replace(state='not activated') if p.uuid == uuid else p
             for p in before.partitions), key=repr)))
        if invariants.snapshot(world) == stopped:
            return []
        problems = invariants.unmapped_with_wwpns(world)
        if [m for m in world.sim.model.mappings()
                if (m.client_lpar_uuid or '').upper() == uuid]:
            problems.append('instance mappings left')
        if world_lib.capacity(world.sim) != world.capacity0:
            problems.append('NPIV capacity changed')
        return problems


class DeleteStaged(Scenario):
    """Destroy an instance whose connector ran but whose spawn never did."""

    name = 'delete before spawn'

    def prepare(self, world):
        world.connector()

    def operate(self, world):
        world.destroy()

    def done(self, world):
        return invariants.gone(world) + invariants.unmapped_with_wwpns(world)

    def rolled_back(self, world, before):
        return invariants.gone(world) + invariants.unmapped_with_wwpns(world)


class Attach(Scenario):
    """Attach a third volume to a running instance (nothing to map)."""

    name = 'attach'

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        bdm = world.cinder.bdm('vol-third', 2, world.connector())
        world.drivers['host-a'].attach_volume(
            world.ctxt, bdm['connection_info'], world.inst, '/dev/sdc')
        world.bdms.append(bdm)

    def done(self, world):
        return invariants.mapped_to_instance(world, 'sys-a')


class Detach(Scenario):
    """Detach the second volume of a running instance."""

    name = 'detach'

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        bdm = world.bdms[-1]
        world.drivers['host-a'].detach_volume(
            world.ctxt, bdm['connection_info'], world.inst, '/dev/sdb')

    def done(self, world):
        return invariants.mapped_to_instance(world, 'sys-a')


class AttachNewFabric(Scenario):
    """Attach to an instance booted before fabric B was configured.

    The connector allocates and stages fabric B's WWPNs, the attach maps
    them to the instance; fabric A carries the boot volume throughout.
    """

    name = 'attach (new fabric)'

    def prepare(self, world):
        world.load('host-a', 'sys-a', fabrics=['A'])
        world.spawn(volumes=1)
        world.load('host-a', 'sys-a')

    def operate(self, world):
        bdm = world.cinder.bdm('vol-new', 1, world.connector())
        world.drivers['host-a'].attach_volume(
            world.ctxt, bdm['connection_info'], world.inst, '/dev/sdb')

    def done(self, world):
        return invariants.mapped_to_instance(world, 'sys-a')

    def rolled_back(self, world, before):
        # Fabric A untouched; fabric B unmapped with its WWPNs, or staged
        # (the connector ran, the attach failed before mapping anything).
        problems = invariants.mapped_to_instance(world, 'sys-a', fabrics=['A'])
        if fabric_meta.get_fabric(world.inst, 'B').state != \
                fabric_meta.MGMT_MAPPED:
            problems += invariants.unmapped_with_wwpns(world, fabrics=['B'])
        return problems


class LiveMigrate(Scenario):
    """Live-migrate a running instance from sys-a (host-a) to sys-b."""

    name = 'live migration'
    hosts = (('host-a', 'sys-a'), ('host-b', 'sys-b'))

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        world.live_migrate()

    def retry(self, world):
        if world.inst.host == 'host-a':
            world.live_migrate()

    def done(self, world):
        return invariants.mapped_to_instance(world, 'sys-b')


class Resize(Scenario):
    """finish_migration of a resize on the same system: the LPAR, stopped
    by migrate_disk_and_power_off, is reshaped to a bigger flavor and
    started.  A failure leaves it exactly as it was: stopped, old shape,
    same mappings (nova then puts the instance in ERROR)."""

    name = 'resize'
    new_flavor = dict(memory_mb=8192, vcpus=4, root_gb=0)

    def prepare(self, world):
        world.spawn()
        # What migrate_disk_and_power_off does once nova's migration
        # record names this host (the harness has no database to hold it).
        world.drivers['host-a'].power_off(world.inst, timeout=60)

    def operate(self, world):
        world.inst.flavor = objects.Flavor(**self.new_flavor)
        world.drivers['host-a'].finish_migration(
            world.ctxt, None, world.inst, '[]', None, None, False, {},
            block_device_info={'block_device_mapping': world.bdms})

    def done(self, world):
        return (invariants.mapped_to_instance(world, 'sys-a') +
                _shape_problems(world, self.new_flavor, 'running'))


class ResizeRevert(Resize):
    """finish_revert_migration after a same-system resize: the running,
    resized LPAR is stopped, reshaped back and started.  A failure leaves
    it as it was: running in the new shape."""

    name = 'resize revert'
    old_flavor = dict(memory_mb=4096, vcpus=2, root_gb=0)

    def prepare(self, world):
        super().prepare(world)
        super().operate(world)

    def operate(self, world):
        world.inst.flavor = objects.Flavor(**self.old_flavor)
        world.drivers['host-a'].finish_revert_migration(
            world.ctxt, world.inst, None, None,
            block_device_info={'block_device_mapping': world.bdms})

    def done(self, world):
        return (invariants.mapped_to_instance(world, 'sys-a') +
                _shape_problems(world, self.old_flavor, 'running'))


class ColdMigrate(Scenario):
    """Cold migration of a running instance from sys-a (host-a) to sys-b:
    the source stops and unmaps its LPAR, the destination maps the same
    WWPNs to a new one (nova's connector call, then finish_migration).

    A failure on the source leaves everything as before.  A failure on
    the destination leaves nothing there: the source LPAR stopped and
    unmapped, the fabrics unmapped with their WWPNs (nova puts the server
    in ERROR).  The retry runs what failed again."""

    name = 'cold migration'
    hosts = (('host-a', 'sys-a'), ('host-b', 'sys-b'))

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        world.cold_migrate_source()
        world.cold_migrate_destination()

    def retry(self, world):
        if world.inst.host == 'host-a':
            world.cold_migrate_source()
        world.cold_migrate_destination()

    def done(self, world):
        return (invariants.mapped_to_instance(world, 'sys-b') +
                _left_source(world))

    def rolled_back(self, world, before):
        if world.inst.host == 'host-a':
            return ['not as before']   # the source's failure: undone
        problems = _left_source(world)
        if [lp for lp in invariants.instance_lpars(world)
                if lp.system == 'sys-b']:
            problems.append('an LPAR of the instance is left on sys-b')
        return problems + invariants.unmapped_with_wwpns(world)


class ColdMigrateRevert(ColdMigrate):
    """Revert of that cold migration: the destination's destroy, then the
    source LPAR mapped again (nova's connector call on the source, then
    finish_revert_migration) and started.

    A failure leaves the source LPAR on sys-a stopped (never deleted), and
    at most the destination's LPAR on sys-b, as the metadata says: the
    destroy cannot be undone, a failed map-back is unmapped again.  The
    retry runs the revert again."""

    name = 'cold migration revert'

    def prepare(self, world):
        super().prepare(world)
        super().operate(world)

    def operate(self, world):
        world.revert_cold_migration()

    def retry(self, world):
        world.revert_cold_migration()

    def done(self, world):
        problems = invariants.mapped_to_instance(world, 'sys-a')
        if world.inst.system_metadata.get(moves.SOURCE_LPAR_KEY):
            problems.append('the source LPAR is still recorded')
        return problems

    def rolled_back(self, world, before):
        problems = _left_source(world)
        if len([lp for lp in invariants.instance_lpars(world)
                if lp.system == 'sys-b']) > 1:
            problems.append('more than one LPAR of the instance on sys-b')
        return problems


class ColdMigrateConfirm(ColdMigrate):
    """Confirm of that cold migration: the source LPAR is deleted.

    A delete cannot be undone: a failure leaves the instance running on
    sys-b as the migration left it, and the source LPAR (stopped,
    unmapped, still recorded) or not.  The retry confirms again."""

    name = 'cold migration confirm'

    def prepare(self, world):
        super().prepare(world)
        super().operate(world)

    def operate(self, world):
        world.confirm_cold_migration()

    def retry(self, world):
        world.confirm_cold_migration()

    def done(self, world):
        problems = invariants.mapped_to_instance(world, 'sys-b')
        if invariants.source_lpars(world) or \
                world.inst.system_metadata.get(moves.SOURCE_LPAR_KEY):
            problems.append('the source LPAR is still there or recorded')
        return problems

    def rolled_back(self, world, before):
        problems = invariants.mapped_to_instance(world, 'sys-b')
        if invariants.source_lpars(world):
            problems += _left_source(world)
        return problems


class ColdMigrateRecovery(ColdMigrate):
    """Hard reboot of the server a failed finish_migration left in ERROR on
    sys-b (nova_npiv.move_recovery): the move is finished there (connector
    flow, create, map, start), then the stopped source LPAR on sys-a is
    deleted.

    A failure of the arrival is undone like finish_migration: nothing on
    sys-b, the source LPAR stopped and unmapped, as before.  A failure
    deleting the source once the instance runs on sys-b is logged and the
    source left recorded (deleting the server removes it): the reboot
    completes, yet not as a clean run, so the matrix is aimed at the
    arrival's requests only (:meth:`aimed`; the deletion's failure is
    test_fault_matrix's plain test).  The retry reboots again."""

    name = 'cold migration recovery'

    def aimed(self, targets):
        # The arrival, up to the PowerOn job's run.  Not its DELETE: a
        # console outage starting there lasts into the source's deletion.
        started = [t.index for t in targets if t.job == ('PowerOn', 1)]
        return range(started[0] + 1) if started else None

    def prepare(self, world):
        world.spawn()
        world.failed_cold_migration()

    def operate(self, world):
        world.hard_reboot('host-b')

    def retry(self, world):
        world.hard_reboot('host-b')

    def done(self, world):
        problems = invariants.mapped_to_instance(world, 'sys-b')
        if invariants.source_lpars(world) or \
                world.inst.system_metadata.get(moves.SOURCE_LPAR_KEY):
            problems.append('the source LPAR is still there or recorded')
        return problems


class CrossCellResize(Scenario):
    """Resize to a host of another cell (nova's snapshot-based resize) of
    a running instance from sys-a (host-a) to sys-b: the source's
    power_off and destroy, then on the destination's copy of the row the
    connector and spawn.

    A failure on the source is its destroy's: the LPAR stopped, mapped as
    its records say (a failed unmapping is mapped back), or gone.  A
    failure on the destination leaves nothing there, and the source's
    row unmapped with its WWPNs (nova puts the server in ERROR).  The
    retry runs the step that failed again."""

    name = 'cross-cell resize'
    hosts = (('host-a', 'sys-a'), ('host-b', 'sys-b'))

    def prepare(self, world):
        world.spawn()

    def operate(self, world):
        world.cross_cell_source()
        world.cross_cell_destination()

    def retry(self, world):
        if [lp for lp in invariants.instance_lpars(world)
                if lp.system == 'sys-a']:
            world.cross_cell_source()
        world.cross_cell_destination()

    def done(self, world):
        problems = invariants.mapped_to_instance(world, 'sys-b')
        if [lp for lp in invariants.instance_lpars(world)
                if lp.system == 'sys-a']:
            problems.append('an LPAR of the instance is left on sys-a')
        return problems

    def rolled_back(self, world, before):
        lpars = invariants.instance_lpars(world)
        if [lp for lp in lpars if lp.system == 'sys-b']:
            return ['an LPAR of the instance is left on sys-b']
        if lpars:
            # The source's destroy failed: its LPAR is there, stopped or
            # as it was, and (judged by the matrix) mapped as recorded.
            return []
        return invariants.unmapped_with_wwpns(world, allow_absent=False)


class CrossCellRevert(CrossCellResize):
    """Revert of that resize: the destination's destroy, then on the
    source's row the connector and finish_revert_migration, which builds
    the LPAR again on sys-a.

    A failure leaves at most the destination's LPAR, as its records say
    (the destroy cannot be undone), and nothing on sys-a: no LPAR, no
    staging, the WWPNs recorded unmapped.  The retry reverts again."""

    name = 'cross-cell revert'

    def prepare(self, world):
        super().prepare(world)
        super().operate(world)

    def operate(self, world):
        world.revert_cross_cell()

    def retry(self, world):
        world.revert_cross_cell()

    def done(self, world):
        problems = invariants.mapped_to_instance(world, 'sys-a')
        if [lp for lp in invariants.instance_lpars(world)
                if lp.system == 'sys-b']:
            problems.append('an LPAR of the instance is left on sys-b')
        return problems

    def rolled_back(self, world, before):
        lpars = invariants.instance_lpars(world)
        if [lp for lp in lpars if lp.system == 'sys-a']:
            return ['an LPAR of the instance is left on sys-a']
        if world.inst is world.target_row:
            return []   # the destination's destroy failed: judged as such
        return invariants.unmapped_with_wwpns(world, allow_absent=False)


class CrossCellConfirm(CrossCellResize):
    """Confirm of that resize: the source's clean-up (its LPAR is gone
    already).  Nothing of the instance may change on either system."""

    name = 'cross-cell confirm'

    def prepare(self, world):
        super().prepare(world)
        super().operate(world)

    def operate(self, world):
        world.confirm_cross_cell()

    def retry(self, world):
        world.confirm_cross_cell()

    def done(self, world):
        return CrossCellResize.done(self, world)

    def rolled_back(self, world, before):
        return CrossCellResize.done(self, world)


def _left_source(world):
    """Problems unless the source LPAR is on sys-a, stopped, unmapped."""
    lpars = invariants.source_lpars(world)
    if [(lp.system, lp.state) for lp in lpars] != \
            [('sys-a', 'not activated')]:
        return ['source LPAR is %s, expected stopped on sys-a'
                % [(lp.system, lp.state) for lp in lpars]]
    uuid = lpars[0].uuid.upper()
    if [m for m in world.sim.model.mappings()
            if (m.client_lpar_uuid or '').upper() == uuid]:
        return ['the source LPAR is still mapped']
    return []


def _shape_problems(world, flavor, state):
    lpars = invariants.instance_lpars(world)
    got = [(lp.memory_mb, lp.vcpus, lp.state) for lp in lpars]
    want = [(flavor['memory_mb'], flavor['vcpus'], state)]
    return [] if got == want else ['instance LPAR is %s, not %s'
                                   % (got, want)]


SCENARIOS = (Spawn(), Attach(), AttachNewFabric(), Detach(), Delete(),
             DeleteStaged(), LiveMigrate(), Resize(), ResizeRevert(),
             ColdMigrate(), ColdMigrateRevert(), ColdMigrateConfirm(),
             ColdMigrateRecovery(), CrossCellResize(), CrossCellRevert(),
             CrossCellConfirm())


def scenario(name):
    for sc in SCENARIOS:
        if sc.name == name:
            return sc
    raise KeyError(name)
