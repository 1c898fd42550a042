"""The instance's LPAR: build, find, power and delete it.

Identity.  An LPAR is the instance's only when its UUID proves it: the UUID
derived from the instance's UUID (:func:`lpar_uuid`), with which the LPAR is
created, or, when the platform had to choose one (an evacuated instance
whose old LPAR still holds the derived UUID, see :func:`create`), the UUID
the platform reported at create time, recorded in system_metadata under
:data:`LPAR_UUID_KEY`.  An LPAR found under the managed system is on it only
if its ``AssociatedManagedSystem`` says so: a lenient HMC answers a nested
lookup for a partition of any system it manages.  A name is never evidence.

Names.  The LPAR is named ``<instance.name, cut to 18>-<12 hex digits of the
instance UUID>`` (31 characters at most, sanitised with pypowervm's
``sanitize_partition_name_for_api``).  ``instance.name`` is unique only
within one cloud (``instance-00000001`` exists in every cloud), and two
clouds, or a rebuilt test cloud, may share a console: the UUID part keeps
their names apart, the name part keeps them readable for operators.
"""

import copy
import re
import uuid as uuid_lib

from nova.compute import power_state
from nova import exception as nova_exc
from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import power as pvm_power
from pypowervm.tasks import power_opts as pvm_popts
from pypowervm import util as pvm_util
from pypowervm.utils import lpar_builder as lpb
from pypowervm.utils import uuid as pvm_uuid
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import shared_proc_pool as pvm_spp

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import flavor_specs
from nova_npiv import jobs

LOG = logging.getLogger(__name__)

#: system_metadata key of the LPAR's UUID when it is not the derived one:
#: the instance's own UUID on a system where another system's partition
#: holds the derived one (evacuation, a move), recorded before the create.
LPAR_UUID_KEY = 'npiv_lpar_uuid'

_NAME_HEX = 12
_NAME_MAX = 31
_NAME_TAIL = re.compile(r'-([0-9a-f]{%d})$' % _NAME_HEX, re.IGNORECASE)

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


# -- identity ----------------------------------------------------------------

def lpar_uuid(instance):
    return lpar_uuid_of(instance.uuid)


def lpar_uuid_of(instance_uuid):
    """The PowerVM UUID of the LPAR of the instance ``instance_uuid``.

    The LPAR is created with this UUID, so it can be derived instead of
    looked up: no REST call is needed to address the instance's partition.
    Upper case, as the platform reports partition UUIDs: pypowervm matches
    mappings to partitions by comparing UUID strings case-sensitively.
    """
    return pvm_uuid.convert_uuid_to_pvm(instance_uuid).upper()


def recorded_uuid(instance):
    """The LPAR UUID recorded before the create (not derived), or None."""
    value = (instance.system_metadata or {}).get(LPAR_UUID_KEY)
    return value.upper() if value else None


def known_uuids(instance):
    """Every LPAR UUID that proves a partition to be the instance's."""
    uuids = [lpar_uuid(instance)]
    recorded = recorded_uuid(instance)
    if recorded and recorded not in uuids:
        uuids.append(recorded)
    return uuids


def lpar_name(instance):
    """The LPAR's name: see the module docstring."""
    hex_id = str(instance.uuid).replace('-', '').lower()[:_NAME_HEX]
    head = str(instance.name or 'instance')[:_NAME_MAX - _NAME_HEX - 1]
    return pvm_util.sanitize_partition_name_for_api(
        '%s-%s' % (head, hex_id))


def named_as_ours(lpar_w):
    """Whether the LPAR carries the name shape :func:`lpar_name` gives.

    Only used to leave other partitions out of what nova is told are its
    instances (a managed system usually runs partitions nova never made,
    and nova refuses a first start on a hypervisor with "existing
    instances"); it never makes a partition ours to act on.
    """
    return bool(_NAME_TAIL.search(lpar_w.name or ''))


def instance_uuid_from(lpar_w):
    """The instance UUID the LPAR's own UUID and name prove, or None.

    A partition created with the derived UUID (:func:`lpar_uuid`) lost only
    the top bit of the instance UUID; its name keeps the first 12 hex
    digits, top bit included, and so picks the one instance UUID of the
    two the partition UUID could stand for.  None when the name is not
    ours or the UUID was chosen by the platform (then only the instance's
    recorded :data:`LPAR_UUID_KEY` can tell).
    """
    match = _NAME_TAIL.search(lpar_w.name or '')
    if not match:
        return None
    low = lpar_w.uuid.lower()
    for candidate in (low, '%x%s' % (int(low[0], 16) | 8, low[1:])):
        if (candidate.replace('-', '')[:_NAME_HEX] == match.group(1).lower()
                and lpar_uuid_of(candidate) == lpar_w.uuid.upper()):
            return candidate
    return None


def on_system(lpar_w, system_uuid):
    """Whether ``lpar_w`` is a partition of the managed system ``system_uuid``.

    Decided by the partition's own AssociatedManagedSystem link, never by
    the path it was found under.  A reply without the link (no console
    omits it) is taken at the nested path's word.
    """
    assoc = lpar_w.assoc_sys_uuid
    return assoc is None or assoc.lower() == str(system_uuid).lower()


# -- build and create ---------------------------------------------------------

def build(adapter, instance, host_w=None, derive_uuid=True):
    """An LPAR wrapper for the instance's current flavor.

    Shaped by pypowervm's ``LPARBuilder`` and ``DefaultStandardize`` from
    the flavor's memory and vCPUs and its ``powervm:*`` extra specs (see
    :mod:`nova_npiv.flavor_specs`), against ``host_w``, the managed system
    (its memory region size, processor compatibility modes and
    capabilities); None reads the console's one managed system.  Nothing
    is sent to the console, except a read of the shared processor pools
    when the flavor names one.  Bad extra specs, or a flavor the system
    cannot shape (memory off its memory region size), raise a nova
    exception naming them.
    """
    host_w = host_w if host_w is not None else _only_system(adapter)
    parsed = flavor_specs.parse(instance)
    attrs = dict(parsed.attrs)
    if parsed.pool_name:
        attrs[lpb.SPP] = _pool_id(adapter, host_w, parsed.pool_name,
                                  instance)
    attrs[lpb.NAME] = lpar_name(instance)
    attrs[lpb.ENV] = pvm_bp.LPARType.AIXLINUX
    attrs[lpb.MEM] = instance.flavor.memory_mb
    attrs[lpb.VCPU] = instance.flavor.vcpus
    if derive_uuid:
        attrs[lpb.UUID] = lpar_uuid(instance)
    try:
        stdz = lpb.DefaultStandardize(
            host_w, proc_units_factor=npiv_conf.proc_units_factor())
        lpar_w = lpb.LPARBuilder(adapter, attrs, stdz).build()
    except (lpb.LPARBuilderException, ValueError, TypeError) as err:
        raise exception.FlavorDoesNotFitHost(
            flavor=flavor_specs.flavor_name(instance.flavor),
            instance=instance.uuid, keys=', '.join(parsed.keys) or 'none',
            host=host_w.system_name, reason=err)
    return lpar_w


def _only_system(adapter):
    systems = pvm_ms.System.get(adapter)
    if len(systems) != 1:
        raise exception.ManagedSystemNotFound(
            name='(not named: the console manages %d systems)'
            % len(systems),
            known=', '.join(s.system_name for s in systems))
    return systems[0]


def _pool_id(adapter, host_w, name, instance):
    """The ID of the shared processor pool ``name`` of the managed system."""
    try:
        pools = pvm_spp.SharedProcPool.search(adapter, name=name,
                                              parent=host_w)
    except pvm_exc.HttpNotFound:
        pools = []
    if len(pools) != 1:
        raise exception.InvalidFlavorExtraSpec(
            flavor=flavor_specs.flavor_name(instance.flavor),
            instance=instance.uuid, key='powervm:shared_proc_pool_name',
            value=name, reason='names %d shared processor pools of managed '
            'system %s, not one' % (len(pools), host_w.system_name))
    return pools[0].id


class Shape(object):
    """An LPAR's memory and processor configuration, kept apart from it.

    Deep copies: the LPAR wrapper the configuration came from is updated
    (and its elements replaced) while the shape is kept to be put back.
    """

    def __init__(self, lpar_w):
        self.mem_config = copy.deepcopy(lpar_w.mem_config)
        self.proc_config = copy.deepcopy(lpar_w.proc_config)

    def describe(self):
        return '%s MB, %s processors' % (self.mem_config.desired,
                                         self.proc_config_desired())

    def proc_config_desired(self):
        proc = self.proc_config
        if proc.has_dedicated:
            return proc.dedicated_proc_cfg.desired
        return proc.shared_proc_cfg.desired_virtual


def reshape(lpar_w, shape):
    """Give the LPAR ``shape`` (a :class:`Shape`): one update, with etag.

    The partition must be stopped: a console changes a running
    partition's minimum and maximum only in its profile, not at once.
    pypowervm sends the wrapper's etag, so a partition changed since it
    was read is refused (412), not overwritten.  Returns the updated
    wrapper.
    """
    lpar_w.mem_config = copy.deepcopy(shape.mem_config)
    lpar_w.proc_config = copy.deepcopy(shape.proc_config)
    return lpar_w.update()


def flavor_shape(adapter, instance, host_w=None):
    """The :class:`Shape` :func:`build` gives the instance's flavor now."""
    return Shape(build(adapter, instance, host_w=host_w))


def answered(err):
    """Whether the console answered a request that raised ``err``.

    An HTTP error reply means the request was refused and nothing was done;
    anything else (no reply, a reply that could not be read, a timeout) may
    hide a request that was carried out.
    """
    return (isinstance(err, pvm_exc.HttpError) and
            err.response is not None and
            getattr(err.response, 'status', 0) >= 400)


class CreateAttempt(object):
    """What :func:`create` asked the console for, for a revert to judge.

    ``asked_uuid`` is the UUID of the create that failed (None when the
    platform was to choose it); ``unanswered`` says whether that create may
    have been carried out all the same.
    """

    def __init__(self):
        self.asked_uuid = None
        self.unanswered = False


def _create(lpar_w, system_uuid, attempt, asked_uuid):
    attempt.asked_uuid = asked_uuid
    try:
        return lpar_w.create(parent_type=pvm_ms.System,
                             parent_uuid=system_uuid)
    except Exception as err:
        attempt.unanswered = not answered(err)
        raise


def create(adapter, system_uuid, instance, attempt=None, host_w=None,
           uuid=None, built=None):
    """Create the LPAR, with the UUID derived from the instance if possible.

    An HMC refuses a UUID that a partition of another managed system still
    holds, which is what an evacuated instance's old LPAR does while its
    system is down; the LPAR is then created with a UUID of the instance's
    own on this system (:func:`own_uuid`), recorded in the instance's
    system_metadata (saved) *before* the create as its proof of identity.
    A derived UUID held on this very system is the instance's own LPAR:
    then nothing is created and InstanceExists is raised.

    ``host_w``: the managed system's wrapper (read when None), which
    shapes the LPAR (:func:`build`).  ``uuid``: the UUID to ask for instead
    of the derived one, already recorded by the caller (see
    :func:`fresh_uuid`).  ``built``: what :func:`build` gave the caller
    for this instance and ``host_w`` (a spawn validates the flavor with it
    before anything is created): sent as it is, not built again.
    """
    attempt = attempt if attempt is not None else CreateAttempt()
    if host_w is None:
        host_w = pvm_ms.System.get(adapter, uuid=system_uuid)
    lpar_w = built if built is not None else build(adapter, instance,
                                                   host_w=host_w)
    if uuid:
        lpar_w.uuid = uuid
    try:
        return _create(lpar_w, system_uuid, attempt, lpar_w.uuid)
    except pvm_exc.HttpError as err:
        if err.response is None or err.response.status != 400:
            raise
        refusal = err
    # Why the console refused is read from its state, not from the text of
    # its message (which no capture documents and consoles word apart).
    if get_by_uuid(adapter, system_uuid, lpar_w.uuid) is not None:
        raise nova_exc.InstanceExists(name=lpar_w.name)
    if _holder(adapter, lpar_w.uuid) is None:
        raise refusal
    return _create_as_own(adapter, system_uuid, instance, attempt, host_w,
                          lpar_w.uuid, refusal)


def _record(instance, uuid):
    """Record (None: forget) the instance's LPAR UUID, saved at once."""
    if uuid:
        instance.system_metadata[LPAR_UUID_KEY] = uuid.upper()
    else:
        instance.system_metadata.pop(LPAR_UUID_KEY, None)
    instance.save()


def _create_as_own(adapter, system_uuid, instance, attempt, host_w, held,
                   refusal):
    """Create the LPAR with :func:`own_uuid`, recorded before the create.

    The derived UUID ``held`` is a partition's of another system: an
    evacuated instance's old LPAR while its system is down (or the source
    LPAR of a move).  A UUID the platform chose would be known only from
    the create's reply: a lost reply would leave a partition nothing
    proves to be the instance's.  This one is recorded (and saved) first,
    so the create's revert, or nova's destroy, finds whatever the create
    made; derived, so a retry asks for the same one.  A create refused
    for it puts back the record of before, unless a partition of this
    system holds it: an earlier attempt's, which is the instance's
    (InstanceExists, the record kept for the destroy to find it).
    """
    own = own_uuid(instance, system_uuid)
    if own == held:
        raise refusal
    LOG.warning('LPAR UUID %s of instance %s is in use elsewhere (an '
                'evacuated instance?): creating its LPAR as %s, recorded '
                'first', held, instance.uuid, own)
    before = recorded_uuid(instance)
    _record(instance, own)
    lpar_w = build(adapter, instance, host_w=host_w)
    lpar_w.uuid = own
    try:
        return _create(lpar_w, system_uuid, attempt, own)
    except pvm_exc.HttpError as err:
        if not answered(err):
            raise
        if get_by_uuid(adapter, system_uuid, own) is not None:
            raise nova_exc.InstanceExists(name=lpar_w.name) from err
        _record(instance, before)
        raise


def own_uuid(instance, system_uuid):
    """The instance's LPAR UUID of its own on the system ``system_uuid``:
    derived from both UUIDs, the same at every retry, nobody else's."""
    return lpar_uuid_of(str(uuid_lib.uuid5(
        uuid_lib.UUID(str(instance.uuid)), str(system_uuid).lower())))


def fresh_uuid(adapter, system_uuid, instance):
    """A UUID of our own for the LPAR, if the derived one is taken, or None.

    None when no partition of the console holds the derived UUID, or one of
    this system does (then :func:`create` finds the instance's own LPAR).
    Otherwise (the source LPAR of a move to this system still holds it) a
    UUID of the instance on this system, derived from both UUIDs, which
    the caller records *before* the create: a create whose reply is lost
    then leaves a partition its UUID proves to be the instance's, which
    the revert can delete, where a UUID the platform chose would leave one
    nothing proves.  Derived, not random, so that a retry asks for the
    same one.
    """
    holder = _holder(adapter, lpar_uuid(instance))
    if holder is None or on_system(holder, system_uuid):
        return None
    return own_uuid(instance, system_uuid)


def holder(adapter, uuid):
    """The partition of any system of this console with ``uuid``, or None."""
    return _holder(adapter, uuid)


def _holder(adapter, uuid):
    """The partition of any system of this console holding ``uuid``."""
    try:
        return pvm_lpar.LPAR.get(adapter, uuid=uuid)
    except pvm_exc.HttpNotFound:
        return None


# -- find ---------------------------------------------------------------------

def get_by_uuid(adapter, system_uuid, uuid):
    """The LPAR ``uuid`` if it is a partition of our system, else None."""
    try:
        lpar_w = pvm_lpar.LPAR.get(adapter, uuid=uuid,
                                   parent_type=pvm_ms.System,
                                   parent_uuid=system_uuid)
    except pvm_exc.HttpNotFound:
        return None
    if not on_system(lpar_w, system_uuid):
        LOG.debug('LPAR %s is on managed system %s, not %s', uuid,
                  lpar_w.assoc_sys_uuid, system_uuid)
        return None
    return lpar_w


def get(adapter, system_uuid, instance):
    """The instance's LPAR on our managed system, or None.

    Only a partition whose UUID proves it to be the instance's (see the
    module docstring) is returned: the derived UUID costs one GET; a
    recorded one (:data:`LPAR_UUID_KEY`), one more.
    """
    for uuid in known_uuids(instance):
        lpar_w = get_by_uuid(adapter, system_uuid, uuid)
        if lpar_w is not None:
            return lpar_w
    return None


def locate(adapter, instance):
    """The instance's LPAR wherever the console has it, or None.

    Asked at the root path, which an HMC answers for a partition of any
    system it manages; where it is comes from its AssociatedManagedSystem
    (:func:`on_system`).  None: no system of this console has it.
    """
    for uuid in known_uuids(instance):
        try:
            return pvm_lpar.LPAR.get(adapter, uuid=uuid)
        except pvm_exc.HttpNotFound:
            continue
    return None


def is_instance_lpar(instance, partition_uuid):
    return str(partition_uuid).upper() in known_uuids(instance)


# -- delete and power ---------------------------------------------------------

def delete(adapter, system_uuid, instance, lpar_uuid=None):
    """Delete the LPAR and make sure it is gone.

    The platform answers a delete with 204 No Content.  Any other success
    reply (a 200 with a body) is checked by reading the partition again:
    an LPAR still there is an error naming it, not a silent success.
    """
    uuid = lpar_uuid or lpar_uuid_of(instance.uuid)
    try:
        resp = adapter.delete(pvm_ms.System.schema_type, root_id=system_uuid,
                              child_type=pvm_lpar.LPAR.schema_type,
                              child_id=uuid)
    except pvm_exc.HttpNotFound:
        LOG.info('LPAR of %s already gone', instance.uuid)
        return
    if getattr(resp, 'status', 204) == 204:
        return
    if get_by_uuid(adapter, system_uuid, uuid) is not None:
        raise exception.LparNotDeleted(
            instance=instance.uuid, lpar=uuid,
            reply=getattr(resp, 'status', '?'))


def close_vterm(adapter, system_uuid, lpar_uuid):
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
    # The template read is answered from the session's cache after the
    # first time (job_requests), so a partition that is gone shows as a
    # 404 either on the read or on the job's PUT.
    try:
        resp = adapter.read(pvm_ms.System.schema_type, root_id=system_uuid,
                            child_type=pvm_lpar.LPAR.schema_type,
                            child_id=lpar_uuid, suffix_type='do',
                            suffix_parm='CloseVterm')
        jobs.run(pvm_job.Job.wrap(resp.entry), lpar_uuid,
                 'partition %s' % lpar_uuid)
    except pvm_exc.HttpNotFound:
        LOG.info('LPAR %s already gone: no terminal to close', lpar_uuid)


def power_on(lpar_w):
    seconds = jobs.timeout()
    with jobs.reported('PowerOn', 'partition %s' % lpar_w.name, seconds):
        pvm_power.PowerOp.start(lpar_w, timeout=seconds)


def power_off(lpar_w, hard=False, restart=False):
    """Power off (or restart); a partition already off is left alone."""
    if lpar_w.state == pvm_bp.LPARState.NOT_ACTIVATED and not restart:
        return
    opts = pvm_popts.PowerOffOpts()
    opts = opts.vsp_hard() if hard else opts.vsp_normal()
    if restart:
        opts = opts.restart()
    seconds = jobs.timeout()
    with jobs.reported('PowerOff', 'partition %s' % lpar_w.name, seconds):
        pvm_power.PowerOp.stop(lpar_w, opts=opts, timeout=seconds)
