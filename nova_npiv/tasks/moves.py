"""taskflow tasks of a resize or cold migration to another managed system.

Each undoes itself when a later step of its flow fails; an undo logs and
never raises, and tells the :class:`Ledger` of its flow whether it worked,
so that the caller can tell nova whether the instance is back where it was
(see :mod:`nova_npiv.cold_migration`).
"""

from nova import exception as nova_exc
from oslo_log import log as logging
from pypowervm.wrappers import base_partition as pvm_bp
from taskflow import task

from nova_npiv import fabric_meta
from nova_npiv import fabric_records
from nova_npiv.tasks import storage as tf_stg
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import vfc_ops

LOG = logging.getLogger(__name__)

#: system_metadata key of the UUID of the instance's LPAR on the source
#: system, from the source's power-off until confirm or revert.  Both LPARs
#: live meanwhile and a console refuses a UUID that another partition holds,
#: so the destination's LPAR has an identity of its own (``vm.LPAR_UUID_KEY``
#: when it is not the derived one) and the source's is kept here.
SOURCE_LPAR_KEY = 'npiv_resize_source_lpar'


def source_lpar_uuid(instance):
    value = (instance.system_metadata or {}).get(SOURCE_LPAR_KEY)
    return value.upper() if value else None


class Ledger(object):
    """What the undos of one flow could not do (task names)."""

    def __init__(self):
        self.failed = []

    def undo(self, what, func, *args, **kwargs):
        try:
            tf_stg.retried(what, func, *args, **kwargs)
        except Exception:
            # The operation's own failure is what nova must see.
            LOG.exception('%s failed', what)
            self.failed.append(what)


def _set_key(instance, key, value):
    sysmeta = instance.system_metadata
    if value is None:
        sysmeta.pop(key, None)
    else:
        sysmeta[key] = value
    instance.save()


class SetKey(task.Task):
    """Write one identity key of the instance; the old value back on undo."""

    def __init__(self, instance, key, value, ledger, name):
        super().__init__('%s_%s' % (name, instance.uuid))
        self.instance = instance
        self.key = key
        self.value = value
        self.ledger = ledger
        self.old = None

    def execute(self):
        self.old = (self.instance.system_metadata or {}).get(self.key)
        _set_key(self.instance, self.key, self.value)

    def revert(self, *args, **kwargs):
        self.ledger.undo('Putting back %s of %s' % (self.key,
                                                     self.instance.uuid),
                         _set_key, self.instance, self.key, self.old)


class ChooseIdentity(task.Task):
    """The UUID the destination LPAR is created with, recorded first.

    The derived UUID when the console has no partition holding it (a
    console of its own, a second move); otherwise one of our own
    (:func:`vm.fresh_uuid`), recorded in ``vm.LPAR_UUID_KEY`` and saved
    before the create, so that even a create whose reply is lost leaves a
    partition provably the instance's.  Undo: the key of before.
    """

    def __init__(self, adapter, system_uuid, instance, ledger):
        super().__init__('choose_identity_%s' % instance.uuid,
                         provides='lpar_uuid')
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.ledger = ledger
        self.old = None
        self.chosen = None

    def execute(self):
        self.old = (self.instance.system_metadata or {}).get(
            vm.LPAR_UUID_KEY)
        self.chosen = vm.fresh_uuid(self.adapter, self.system_uuid,
                                    self.instance)
        if self.chosen:
            LOG.info('The derived LPAR UUID is held by the source LPAR: '
                     'creating this one as %s', self.chosen,
                     instance=self.instance)
            _set_key(self.instance, vm.LPAR_UUID_KEY, self.chosen)
        return self.chosen

    def revert(self, *args, **kwargs):
        if self.chosen is None:
            return
        self.ledger.undo('Putting back %s of %s' % (vm.LPAR_UUID_KEY,
                                                     self.instance.uuid),
                         _set_key, self.instance, vm.LPAR_UUID_KEY, self.old)


class FindLpar(task.Task):
    """The LPAR ``lpar_uuid`` of the system, proved by its UUID.

    ``lpar_w``: that LPAR as the caller just read it (no second GET).
    """

    def __init__(self, adapter, system_uuid, instance, lpar_uuid,
                 lpar_w=None):
        super().__init__('find_lpar_%s' % instance.uuid, provides='lpar_wrap')
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.lpar_uuid = lpar_uuid
        self.lpar_w = lpar_w

    def execute(self):
        if self.lpar_w is not None:
            return self.lpar_w
        lpar_w = vm.get_by_uuid(self.adapter, self.system_uuid,
                                self.lpar_uuid)
        if lpar_w is None:
            raise nova_exc.InstanceNotFound(instance_id=self.instance.uuid)
        return lpar_w


class Stop(task.Task):
    """Stop the LPAR; start it again on undo if this task stopped it."""

    def __init__(self, instance, ledger, hard=False):
        super().__init__('stop_%s' % instance.uuid, requires='lpar_wrap')
        self.instance = instance
        self.ledger = ledger
        self.hard = hard
        self.stopped = False

    def execute(self, lpar_wrap):
        self.stopped = lpar_wrap.state != pvm_bp.LPARState.NOT_ACTIVATED
        vm.power_off(lpar_wrap, hard=self.hard)

    def revert(self, lpar_wrap, *args, **kwargs):
        if self.stopped:
            self.ledger.undo('Starting the LPAR of %s again'
                             % self.instance.uuid,
                             lambda: vm.power_on(lpar_wrap.refresh()))


class UnmapSource(task.Task):
    """Remove the instance's vFC mappings (and any staging) on the source.

    The same client WWPNs are mapped on the destination afterwards; one
    WWPN is never logged in twice, so they must be gone here first.  The
    fabric records become ``unmapped``, WWPNs and ports kept.  Undo: map
    every adapter the records had back to the LPAR, and record them
    ``inst_mapped`` again.
    """

    def __init__(self, npiv, ledger):
        super().__init__('unmap_source_%s' % npiv.instance.uuid)
        self.npiv = npiv
        self.ledger = ledger
        self.entries = None

    def execute(self):
        self.entries = self.npiv.records.entries()
        self.npiv.remove_instance_mappings(update_metadata=True)

    def revert(self, *args, **kwargs):
        if self.entries is None:
            return
        self.ledger.undo('Mapping the vFC adapters of %s back on the source'
                         % self.npiv.instance.uuid, self._map_back)

    def _map_back(self):
        npiv = self.npiv
        vfc_ops.restore(npiv.adapter, npiv.system_uuid, npiv.instance,
                        npiv.lpar_uuid, None, self.entries, [])
        for fabric in npiv.fabrics:
            npiv.records.set(fabric, fabric_meta.INST_MAPPED)
        npiv.records.save(always=True)


class UnstageOnFailure(task.Task):
    """Nothing now; remove the staging of the WWPNs if a later step fails.

    nova's connector call before ``finish_migration`` (and before
    ``finish_revert_migration``) staged the WWPNs on this system; nova
    destroys nothing after those fail, so a failure before the connect
    (which swaps staging for instance mappings, and undoes both) would
    leave them logged in here.  The fabrics become ``unmapped``, WWPNs and
    ports kept.
    """

    def __init__(self, npiv, ledger):
        super().__init__('unstage_on_failure_%s' % npiv.instance.uuid)
        self.npiv = npiv
        self.ledger = ledger

    def execute(self):
        pass

    def revert(self, *args, **kwargs):
        self.ledger.undo('Unstaging the WWPNs of %s' % self.npiv.instance.uuid,
                         self._unstage)

    def _unstage(self):
        npiv = self.npiv
        staged = npiv.records.fabrics_where(
            lambda rec: rec.state == fabric_meta.MGMT_MAPPED)
        if not staged or npiv.staging_uuid is None:
            return
        vfc_ops.unstage(npiv.adapter, npiv.system_uuid, npiv.instance,
                        npiv.staging_uuid, npiv.records.entries(staged))
        for fabric in staged:
            npiv.records.set(fabric, fabric_meta.UNMAPPED)
        npiv.records.save()


class RemoveLeftovers(task.Task):
    """Remove any vFC mapping still pointing at the source LPAR (confirm).

    Found by the partition only: the fabric records are the destination's
    now and are not touched.  Nothing to undo: the LPAR is being deleted.
    """

    def __init__(self, adapter, system_uuid, instance, lpar_uuid):
        super().__init__('remove_leftovers_%s' % instance.uuid)
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.lpar_uuid = lpar_uuid

    def execute(self):
        ftsk = npiv_vios.feed_task(self.adapter, self.system_uuid,
                                   'leftovers_%s' % self.instance.uuid)
        ftsk.add_functor_subtask(vfc_ops.unmap_instance, self.lpar_uuid,
                                 None, fabric_records.pvm([]))
        ftsk.execute()
