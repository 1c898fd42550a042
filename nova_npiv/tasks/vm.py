"""taskflow tasks for the instance's LPAR, each undone on a later failure."""

from nova import exception as nova_exc
from oslo_log import log as logging
from pypowervm.wrappers import base_partition as pvm_bp
from taskflow import task

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import vm

LOG = logging.getLogger(__name__)


class Create(task.Task):
    """Create the LPAR; delete it again if a later step fails.

    The revert deletes only what this execute created: the LPAR it got
    back, or, when the create's reply never came (the request may have
    been carried out), the partition with the UUID it asked for, if that
    partition is fresh: not activated, and the instance's metadata maps no
    fabric to it (a fresh LPAR has no mapping before the create returns).
    A create the console refused (a 400: the name, or the instance's own
    LPAR, exists) created nothing, and nothing is deleted.
    """

    def __init__(self, adapter, system_uuid, instance, fabrics=(),
                 host_w=None, uuid_from_flow=False, built=None):
        # ``uuid_from_flow``: the UUID to ask for is an earlier task's
        # ``lpar_uuid`` (None: the derived one).  ``built``: the wrapper
        # vm.build gave the caller for ``host_w``, used by the first
        # execute only (it is sent, and the create may change its UUID).
        super().__init__('create_lpar_%s' % instance.uuid,
                         provides='lpar_wrap',
                         requires=('lpar_uuid',) if uuid_from_flow else ())
        self.adapter = adapter
        self.host_w = host_w
        self.system_uuid = system_uuid
        self.instance = instance
        self.fabrics = list(fabrics)
        self.attempt = vm.CreateAttempt()
        self._built = built

    def execute(self, lpar_uuid=None):
        self.attempt = vm.CreateAttempt()
        built, self._built = self._built, None
        return vm.create(self.adapter, self.system_uuid, self.instance,
                         attempt=self.attempt, host_w=self.host_w,
                         uuid=lpar_uuid, built=built)

    def revert(self, result, flow_failures, **kwargs):
        lpar_uuid = getattr(result, 'uuid', None)
        try:
            if lpar_uuid is None:
                lpar_uuid = self._created_unseen()
                if lpar_uuid is None:
                    return
            LOG.warning('Deleting LPAR %s of %s after a failed spawn',
                        lpar_uuid, self.instance.uuid)
            vm.delete(self.adapter, self.system_uuid, self.instance,
                      lpar_uuid=lpar_uuid)
        except Exception:
            # The spawn's own failure is what nova must see; nova destroys
            # the instance after a failed spawn, which retries this.
            LOG.exception('Could not delete the LPAR of %s after a failed '
                          'spawn', self.instance.uuid)

    def _created_unseen(self):
        """UUID of an LPAR the failed create made after all, or None."""
        attempt = self.attempt
        # Every create asks for a UUID of the instance's (vm.create): the
        # one asked for proves what a lost reply was about.
        if not attempt.unanswered or attempt.asked_uuid is None:
            return None
        lpar_w = vm.get_by_uuid(self.adapter, self.system_uuid,
                                attempt.asked_uuid)
        if lpar_w is None:
            return None
        if lpar_w.state != pvm_bp.LPARState.NOT_ACTIVATED or \
                self._mapped_fabrics():
            LOG.warning('LPAR %s of %s predates the failed spawn (state %s, '
                        'fabrics %s mapped): left alone', lpar_w.uuid,
                        self.instance.uuid, lpar_w.state,
                        ', '.join(self._mapped_fabrics()) or 'none')
            return None
        return lpar_w.uuid

    def _mapped_fabrics(self):
        mapped = []
        for fabric in self.fabrics:
            try:
                rec = fabric_meta.get_fabric(self.instance, fabric)
            except exception.CorruptFabricMetadata:
                # Cannot tell: take it as mapped, which keeps the LPAR.
                mapped.append(fabric)
                continue
            if rec.state == fabric_meta.INST_MAPPED:
                mapped.append(fabric)
        return mapped


class PowerOn(task.Task):
    """Start the LPAR; stop it again if a later step fails."""

    def __init__(self, instance):
        super().__init__('power_on_%s' % instance.uuid, requires='lpar_wrap')
        self.instance = instance

    def execute(self, lpar_wrap):
        vm.power_on(lpar_wrap)

    def revert(self, lpar_wrap, result, flow_failures):
        try:
            vm.power_off(lpar_wrap.refresh(), hard=True)
        except Exception:
            # Raising would stop taskflow from undoing the mappings and the
            # LPAR; nova destroys the instance after a failed spawn anyway.
            LOG.exception('Could not power off the LPAR of %s after a '
                          'failed spawn', self.instance.uuid)


class PowerOff(task.Task):
    """Stop the LPAR (destroy); nothing to undo: it stays stopped."""

    def __init__(self, lpar_w, hard=True):
        super().__init__('power_off_%s' % lpar_w.uuid)
        self.lpar_w = lpar_w
        self.hard = hard

    def execute(self):
        vm.power_off(self.lpar_w, hard=self.hard)


class CloseVterm(task.Task):
    """Close the LPAR's virtual terminal so the delete can go through.

    Nothing to undo: an operator's session is not ours to reopen.
    """

    def __init__(self, adapter, system_uuid, lpar_w):
        super().__init__('close_vterm_%s' % lpar_w.uuid)
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.lpar_uuid = lpar_w.uuid

    def execute(self):
        vm.close_vterm(self.adapter, self.system_uuid, self.lpar_uuid)


class Delete(task.Task):
    """Delete the LPAR (destroy)."""

    def __init__(self, adapter, system_uuid, instance, lpar_uuid=None):
        super().__init__('delete_lpar_%s' % instance.uuid)
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.lpar_uuid = lpar_uuid

    def execute(self):
        vm.delete(self.adapter, self.system_uuid, self.instance,
                  lpar_uuid=self.lpar_uuid)


class StopForReshape(task.Task):
    """Stop the LPAR before its shape changes; start it again on failure.

    A console changes a running partition's minimum and maximum only in
    its profile, so the LPAR is reshaped stopped.  The revert starts it
    again only if this task stopped it: the instance goes back to running
    in the shape it had, which is where it was before the operation.
    """

    def __init__(self, adapter, system_uuid, instance):
        super().__init__('stop_for_reshape_%s' % instance.uuid,
                         provides='stopped_lpar')
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.stopped = False

    def execute(self):
        lpar_w = _lpar_of(self.adapter, self.system_uuid, self.instance)
        self.stopped = lpar_w.state != pvm_bp.LPARState.NOT_ACTIVATED
        if self.stopped:
            vm.power_off(lpar_w)
            lpar_w = lpar_w.refresh()
        return lpar_w

    def revert(self, result, flow_failures):
        if not self.stopped:
            return
        try:
            vm.power_on(_lpar_of(self.adapter, self.system_uuid,
                                 self.instance))
        except Exception:
            # The operation's own failure is what nova must see.
            LOG.exception('Could not start the LPAR of %s again after a '
                          'failed reshape', self.instance.uuid)


class Reshape(task.Task):
    """Give the stopped LPAR the instance's flavor; put the old shape back
    on a later failure.

    The target shape is what :func:`vm.build` makes of ``instance.flavor``
    (the new flavor in finish_migration, the old one again in
    finish_revert_migration), so a resized LPAR has exactly the shape a
    spawn with that flavor would have.  A failed update changed nothing
    (the console refused it, or the etag did not match): then there is
    nothing to put back.  An update whose reply was lost may have been
    carried out: the old shape is put back then too (a no-op if not).
    """

    def __init__(self, adapter, host_w, instance):
        super().__init__('reshape_%s' % instance.uuid,
                         requires='stopped_lpar', provides='lpar_wrap')
        self.adapter = adapter
        self.host_w = host_w
        self.system_uuid = host_w.uuid
        self.instance = instance
        self.old = None
        self.unanswered = False

    def execute(self, stopped_lpar):
        self.old = vm.Shape(stopped_lpar)
        self.unanswered = False
        new = vm.flavor_shape(self.adapter, self.instance,
                             host_w=self.host_w)
        LOG.info('Reshaping LPAR %s from %s to %s', stopped_lpar.uuid,
                 self.old.describe(), new.describe(), instance=self.instance)
        try:
            return vm.reshape(stopped_lpar, new)
        except Exception as err:
            # A refusal changed nothing; a reply that never came may hide
            # an update that was carried out.
            self.unanswered = not vm.answered(err)
            raise

    def revert(self, stopped_lpar, result, flow_failures):
        if self.old is None:
            return
        if not hasattr(result, 'uuid') and not self.unanswered:
            return
        try:
            lpar_w = _lpar_of(self.adapter, self.system_uuid, self.instance)
            if lpar_w.state != pvm_bp.LPARState.NOT_ACTIVATED:
                # A later task's revert stops the LPAR before this one
                # runs; a running partition is not reshaped behind it.
                LOG.warning('LPAR %s of %s is %s: its shape (%s before) is '
                            'left as it is', lpar_w.uuid, self.instance.uuid,
                            lpar_w.state, self.old.describe())
                return
            vm.reshape(lpar_w, self.old)
            LOG.warning('LPAR %s of %s has its shape of before again (%s)',
                        lpar_w.uuid, self.instance.uuid, self.old.describe())
        except Exception:
            LOG.exception('Could not give the LPAR of %s its shape of before '
                          '(%s)', self.instance.uuid, self.old.describe())


def _lpar_of(adapter, system_uuid, instance):
    """The instance's LPAR on the system, proved by UUID (vm.get)."""
    lpar_w = vm.get(adapter, system_uuid, instance)
    if lpar_w is None:
        raise nova_exc.InstanceNotFound(instance_id=instance.uuid)
    return lpar_w
