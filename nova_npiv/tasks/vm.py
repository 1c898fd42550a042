"""taskflow tasks for the instance's LPAR, each undone on a later failure."""

from oslo_log import log as logging
from taskflow import task

from nova_npiv import vm

LOG = logging.getLogger(__name__)


class Create(task.Task):
    """Create the LPAR; delete it again if a later step fails."""

    def __init__(self, adapter, host_uuid, instance):
        super().__init__('create_lpar_%s' % instance.uuid,
                         provides='lpar_wrap')
        self.adapter = adapter
        self.host_uuid = host_uuid
        self.instance = instance

    def execute(self):
        return vm.create(self.adapter, self.host_uuid, self.instance)

    def revert(self, result, flow_failures):
        lpar_uuid = getattr(result, 'uuid', None)
        try:
            if lpar_uuid is None:
                # The create failed, but what failed may be its reply (a
                # dropped connection): the LPAR can exist all the same.
                lpar_w = vm.get(self.adapter, self.host_uuid, self.instance)
                if lpar_w is None:
                    return
                lpar_uuid = lpar_w.uuid
            LOG.warning('Deleting LPAR of %s after a failed spawn',
                        self.instance.uuid)
            vm.delete(self.adapter, self.host_uuid, self.instance,
                      lpar_uuid=lpar_uuid)
        except Exception:
            # The spawn's own failure is what nova must see; nova destroys
            # the instance after a failed spawn, which retries this.
            LOG.exception('Could not delete the LPAR of %s after a failed '
                          'spawn', self.instance.uuid)


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

    def __init__(self, adapter, host_uuid, lpar_w):
        super().__init__('close_vterm_%s' % lpar_w.uuid)
        self.adapter = adapter
        self.host_uuid = host_uuid
        self.lpar_uuid = lpar_w.uuid

    def execute(self):
        vm.close_vterm(self.adapter, self.host_uuid, self.lpar_uuid)


class Delete(task.Task):
    """Delete the LPAR (destroy)."""

    def __init__(self, adapter, host_uuid, instance, lpar_uuid=None):
        super().__init__('delete_lpar_%s' % instance.uuid)
        self.adapter = adapter
        self.host_uuid = host_uuid
        self.instance = instance
        self.lpar_uuid = lpar_uuid

    def execute(self):
        vm.delete(self.adapter, self.host_uuid, self.instance,
                  lpar_uuid=self.lpar_uuid)
