"""The platform's side of a live migration: its checks, abort and recovery.

A partition migration is the console's job, not ours: the console refuses
it (``MigrateValidate``), stops it (``MigrateAbort``) and, when one stopped
part way, brings the partition back (``MigrateRecover``).  This module asks
for each at the moment nova needs it:

* before nova commits (``check_can_live_migrate_source``):
  :func:`precheck`, what pypowervm's ``LPAR.can_lpm`` checks (running, RMC
  active, DLPAR capable, not the management partition), the partition's
  MigrationState, then ``MigrateValidate`` with the mappings the Migrate
  job will be given; a refusal is nova's ``MigrationPreCheckError`` with
  the console's reason;
* after a Migrate job that failed, timed out or lost its reply:
  :func:`settle` decides from the partition itself, read at the root path
  (its managed system and MigrationState, never a 404 under a system),
  where it ended; a migration still going on is waited for (and aborted
  when our job timed out), one left ``Migration_Failed`` is recovered.
  Nova may roll back only when the partition is back on the source and not
  migrating.

pypowervm's job errors are turned into nova exceptions by
:func:`nova_npiv.jobs.reported`, every job bounded by ``job_timeout``.
"""

import time

from nova import exception as nova_exc
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm.tasks import migration as pvm_mig
from pypowervm.wrappers import base_partition as pvm_bp

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import jobs
from nova_npiv import vm

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

NOT_MIGRATING = 'Not_Migrating'
MIGRATION_FAILED = 'Migration_Failed'
_MIGRATING = (pvm_bp.LPARState.MIGRATING_RUNNING,
              pvm_bp.LPARState.MIGRATING_NOT_ACTIVE)

#: Where a failed Migrate job left the partition.
MOVED = 'moved'
STAYED = 'stayed'


def _target(lpar_w):
    return 'partition %s' % lpar_w.uuid


def run_migrate(lpar_w, system_name, mappings, validate_only=False,
                conf=CONF, **remote):
    """The Migrate (or MigrateValidate) job, bounded by ``job_timeout``.

    :param remote: ``tgt_mgmt_svr``/``tgt_mgmt_usr`` when the destination
                   system is on another console (:mod:`.remote_console`).
    """
    seconds = jobs.timeout(conf)
    op = 'MigrateValidate' if validate_only else 'Migrate'
    with jobs.reported(op, _target(lpar_w), seconds):
        pvm_mig.migrate_lpar(lpar_w, system_name,
                             virtual_fc_mappings=mappings or None,
                             validate_only=validate_only, timeout=seconds,
                             **remote)


def precheck(instance, lpar_w, system_name, mappings, validate=True,
             conf=CONF):
    """The platform's checks of a live migration, before nova commits.

    :param system_name: the destination managed system's name.
    :param mappings: the ``VirtualFCMappings`` to validate (None: the
                     console chooses, as it would for a Migrate without).
    :param validate: run the ``MigrateValidate`` job (False: the partition's
                     own readiness only).
    :raises MigrationPreCheckError: naming the platform's reason.
    """
    # host_w is only read for IBM i partitions, which nova-npiv never builds.
    ready, reason = lpar_w.can_lpm(None)
    if not ready:
        raise nova_exc.MigrationPreCheckError(
            reason='partition %s of instance %s cannot migrate: %s'
            % (lpar_w.name, instance.uuid, reason))
    if lpar_w.migration_state != NOT_MIGRATING:
        raise nova_exc.MigrationPreCheckError(
            reason='partition %s of instance %s has MigrationState %s'
            % (lpar_w.name, instance.uuid, lpar_w.migration_state))
    if not validate:
        return
    try:
        run_migrate(lpar_w, system_name, mappings, validate_only=True,
                    conf=conf)
    except exception.JobFailed as err:
        raise nova_exc.MigrationPreCheckError(
            reason='the management console refused to migrate instance %s '
            'to %s: %s' % (instance.uuid, system_name, err)) from err


def abort(lpar_w, conf=CONF):
    """``MigrateAbort``: stop the partition's migration under way."""
    seconds = jobs.timeout(conf)
    with jobs.reported('MigrateAbort', _target(lpar_w), seconds):
        pvm_mig.migrate_abort(lpar_w, timeout=seconds)


def recover(lpar_w, conf=CONF):
    """``MigrateRecover`` (forced, as nova-powervm did) of a failed one."""
    seconds = jobs.timeout(conf)
    with jobs.reported('MigrateRecover', _target(lpar_w), seconds):
        pvm_mig.migrate_recover(lpar_w, force=True, timeout=seconds)


def _describe(lpar_w):
    if lpar_w is None:
        return 'unreadable'
    return '%s, MigrationState %s' % (lpar_w.state, lpar_w.migration_state)


def settle(adapter, instance, system_uuid, error, conf=CONF):
    """Where the partition is once the platform stops migrating it.

    :param error: what the Migrate job raised.  A job the console ended
                  (:class:`~nova_npiv.exception.JobFailed`) is over: a
                  MigrationState other than Not_Migrating is recovered at
                  once.  A timed-out job is still running on the console
                  (a cancel does not stop a migration): it is aborted.  A
                  lost reply or another request error tells nothing: the
                  partition is watched.
    :returns: :data:`MOVED` (it is on another system, or no longer on this
              console) or :data:`STAYED` (on the source, not migrating:
              nova may roll back).
    :raises LiveMigrationUnsettled: still migrating, failed or unreadable
                                    after ``lpm_settle_timeout``.
    """
    opts = conf[npiv_conf.GROUP]
    ended = (isinstance(error, exception.JobFailed) and
             not isinstance(error, exception.JobTimedOut))
    deadline = time.monotonic() + opts.lpm_settle_timeout
    aborted = recovered = False
    lpar_w = None
    while True:
        try:
            lpar_w = vm.locate(adapter, instance)
        except Exception as err:
            LOG.warning('Reading the partition of %s after its failed '
                        'migration failed (%s); trying again', instance.uuid,
                        err)
            lpar_w = None
        else:
            if lpar_w is None or not vm.on_system(lpar_w, system_uuid):
                return MOVED
            state = lpar_w.migration_state
            if state == NOT_MIGRATING and lpar_w.state not in _MIGRATING:
                return STAYED
            if not aborted and isinstance(error, exception.JobTimedOut) \
                    and state != MIGRATION_FAILED:
                aborted = True
                _try('abort', abort, lpar_w, conf, instance)
                continue
            if not recovered and (state == MIGRATION_FAILED or ended):
                recovered = True
                _try('recover', recover, lpar_w, conf, instance)
                continue
        if time.monotonic() >= deadline:
            raise exception.LiveMigrationUnsettled(
                instance=instance.uuid, where=_describe(lpar_w),
                seconds=opts.lpm_settle_timeout, reason=error)
        time.sleep(opts.lpm_settle_interval)


def _try(what, func, lpar_w, conf, instance):
    LOG.warning('Live migration of %s: running the platform\'s migration '
                '%s (partition %s, MigrationState %s)', instance.uuid, what,
                lpar_w.state, lpar_w.migration_state)
    try:
        func(lpar_w, conf)
    except Exception:
        # Watching the partition decides; the deadline bounds it.
        LOG.exception('The migration %s of %s failed', what, instance.uuid)
