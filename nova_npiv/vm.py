"""The instance's LPAR: build, find, power and delete it.

The LPAR is created with a UUID derived from the instance's UUID, so it is
addressed directly, without a search.
"""

from nova.compute import power_state
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import power as pvm_power
from pypowervm.tasks import power_opts as pvm_popts
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv.volume import npiv

LOG = logging.getLogger(__name__)

_POWER_STATE = {
    pvm_bp.LPARState.RUNNING: power_state.RUNNING,
    pvm_bp.LPARState.STARTING: power_state.RUNNING,
    pvm_bp.LPARState.OPEN_FIRMWARE: power_state.RUNNING,
    pvm_bp.LPARState.MIGRATING_RUNNING: power_state.RUNNING,
    pvm_bp.LPARState.RESUMING: power_state.RUNNING,
    pvm_bp.LPARState.SHUTTING_DOWN: power_state.RUNNING,
    pvm_bp.LPARState.NOT_ACTIVATED: power_state.SHUTDOWN,
    pvm_bp.LPARState.MIGRATING_NOT_ACTIVE: power_state.SHUTDOWN,
    pvm_bp.LPARState.SUSPENDED: power_state.SUSPENDED,
    pvm_bp.LPARState.SUSPENDING: power_state.SUSPENDED,
    pvm_bp.LPARState.ERROR: power_state.CRASHED,
}


def to_power_state(lpar_state):
    return _POWER_STATE.get(lpar_state, power_state.NOSTATE)


def build(adapter, instance, derive_uuid=True):
    """An LPAR wrapper sized from the instance's flavor."""
    flavor = instance.flavor
    mem = pvm_bp.PartitionMemoryConfiguration.bld(
        adapter, flavor.memory_mb, min_mem=flavor.memory_mb,
        max_mem=flavor.memory_mb)
    proc = pvm_bp.PartitionProcessorConfiguration.bld_dedicated(
        adapter, flavor.vcpus, min_proc=flavor.vcpus, max_proc=flavor.vcpus)
    lpar_w = pvm_lpar.LPAR.bld(adapter, instance.name, mem, proc,
                               env=pvm_bp.LPARType.AIXLINUX)
    if derive_uuid:
        lpar_w.uuid = npiv.lpar_uuid(instance)
    return lpar_w


def create(adapter, host_uuid, instance):
    """Create the LPAR, with the UUID derived from the instance if possible.

    An HMC refuses a UUID that a partition of another managed system still
    holds, which is what an evacuated instance's old LPAR does while its
    system is down; the platform then chooses the UUID, and the LPAR is
    found by name (see :func:`get`).
    """
    lpar_w = build(adapter, instance)
    try:
        return lpar_w.create(parent_type=pvm_ms.System,
                             parent_uuid=host_uuid)
    except pvm_exc.HttpError as err:
        if err.response is None or err.response.status != 400 or \
                'already in use' not in str(err):
            raise
    LOG.warning('LPAR UUID %s of instance %s is in use elsewhere (an '
                'evacuated instance?): letting the platform choose one',
                lpar_w.uuid, instance.uuid)
    return build(adapter, instance, derive_uuid=False).create(
        parent_type=pvm_ms.System, parent_uuid=host_uuid)


def get(adapter, host_uuid, instance):
    """The instance's LPAR on our managed system, or None.

    Always asked under the managed system: an HMC answers a root-level
    lookup for a partition on any system it manages, e.g. the one an
    instance was just live-migrated to.  The derived UUID finds it in one
    GET; an LPAR whose UUID the platform chose is found by name.
    """
    try:
        return pvm_lpar.LPAR.get(adapter, uuid=npiv.lpar_uuid(instance),
                                 parent_type=pvm_ms.System,
                                 parent_uuid=host_uuid)
    except pvm_exc.HttpNotFound:
        pass
    found = pvm_lpar.LPAR.search(adapter, parent_type=pvm_ms.System,
                                 parent_uuid=host_uuid, name=instance.name)
    return found[0] if found else None


def delete(adapter, host_uuid, instance, lpar_uuid=None):
    try:
        adapter.delete(pvm_ms.System.schema_type, root_id=host_uuid,
                       child_type=pvm_lpar.LPAR.schema_type,
                       child_id=lpar_uuid or npiv.lpar_uuid(instance))
    except pvm_exc.HttpNotFound:
        LOG.info('LPAR of %s already gone', instance.uuid)


def close_vterm(adapter, host_uuid, lpar_uuid):
    """End any virtual terminal session open on the LPAR, before a delete.

    A console does not delete a partition that an operator has a console
    session open on; nova-powervm closed the terminal before every delete.
    Closing where none is open succeeds.  This is always the REST
    ``CloseVterm`` job, also where the API is local (file logon on
    NovaLink), where pypowervm's ``vterm.close_vterm`` would run the host's
    ``rmvterm`` command instead: the job is the console's own operation on
    both consoles, and the template is read under our managed system so
    only our partition is touched.
    """
    try:
        resp = adapter.read(pvm_ms.System.schema_type, root_id=host_uuid,
                            child_type=pvm_lpar.LPAR.schema_type,
                            child_id=lpar_uuid, suffix_type='do',
                            suffix_parm='CloseVterm')
    except pvm_exc.HttpNotFound:
        LOG.info('LPAR %s already gone: no terminal to close', lpar_uuid)
        return
    pvm_job.Job.wrap(resp.entry).run_job(lpar_uuid)


def power_on(lpar_w):
    pvm_power.PowerOp.start(lpar_w)


def power_off(lpar_w, hard=False, restart=False):
    """Power off (or restart); a partition already off is left alone."""
    if lpar_w.state == pvm_bp.LPARState.NOT_ACTIVATED and not restart:
        return
    opts = pvm_popts.PowerOffOpts()
    opts = opts.vsp_hard() if hard else opts.vsp_normal()
    if restart:
        opts = opts.restart()
    pvm_power.PowerOp.stop(lpar_w, opts=opts)
