"""Which partition hosts an instance's vFC adapters before the LPAR exists.

Mapping new WWPNs to a running partition makes them log in on the fabric, so
Cinder and zone managers can see them while the instance is still being
scheduled.  On NovaLink that is the management partition; an operator may name
another client LPAR (never a VIOS: it cannot host vFC client adapters); a
plain HMC has neither, and staging is then skipped.

Every staged WWPN pair is a vFC client adapter on the staging partition,
added while it runs (DLPAR), in one of its virtual slots; a partition has
at most ``MaximumVirtualIOSlots`` of them.  :meth:`StagingPartition.
require_slots` checks there is room before anything is staged, from the
partition as resolved and the VIOS feed the staging decision is made on (no
request of its own), so that running out is a clear error rather than a
console refusal half-way through a staging.
"""

import threading

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm.tasks import vfc_mapper
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: Virtual slots of the staging partition that the VIOS feed cannot show
#: but that are taken: 0 and 1 hold the virtual serial adapters, and a
#: partition that talks to its console has at least one virtual network
#: adapter (slot 2 by convention).  Other adapters (more network adapters,
#: vSCSI) are not visible either; the console then refuses the slot and the
#: staging is undone like any failed VIOS update.
RESERVED_SLOTS = 3


class StagingPartition(object):
    """Resolves (once) and remembers the staging partition of a system.

    The answer only changes when the operator reconfigures or the system is
    rebuilt, both of which restart nova-compute, so one lookup per process is
    enough and keeps connector calls cheap.
    """

    def __init__(self, adapter, system_uuid, choice=None, conf=CONF):
        self.adapter = adapter
        self.system_uuid = system_uuid
        self._choice = choice or conf[npiv_conf.GROUP].staging_partition
        self._lock = threading.Lock()
        self._resolved = False
        self._uuid = None
        self._name = None
        self._max_slots = None

    @property
    def uuid(self):
        self._resolve()
        return self._uuid

    @property
    def name(self):
        self._resolve()
        return self._name

    @property
    def max_slots(self):
        """The staging partition's MaximumVirtualIOSlots (None: none)."""
        self._resolve()
        return self._max_slots

    def _staged(self, vios_wraps):
        """(client slots, WWPN pairs as frozensets) of the staging
        partition's vFC client adapters."""
        slots, pairs = set(), set()
        for vios_w in vios_wraps:
            for vmap in vfc_mapper.find_maps(vios_w.vfc_mappings,
                                             self.uuid):
                adapter = vmap.client_adapter
                if adapter is not None:
                    # Not yet numbered (built here, not read back): a
                    # slot of its own all the same.
                    slot = adapter.lpar_slot_num
                    slots.add(slot if slot is not None else id(adapter))
                    pairs.add(frozenset(w.lower() for w in adapter.wwpns))
        return slots, pairs

    def require_slots(self, vios_wraps, instance, entries=(), new_pairs=0):
        """Raise StagingSlotsExhausted unless staging fits.

        Staging adds one client adapter per entry (a PortMapEntry) not yet
        staged, plus ``new_pairs`` for WWPNs still to be drawn.

        :param vios_wraps: the VIOS feed (with ViosFCMapping) the staging
                           is decided on.
        """
        if self.uuid is None or not self.max_slots:
            return
        slots, pairs = self._staged(vios_wraps)
        needed = new_pairs + sum(1 for e in entries if e.key not in pairs)
        free = max(0, self.max_slots - RESERVED_SLOTS - len(slots))
        if needed > free:
            raise exception.StagingSlotsExhausted(
                name=self.name, uuid=self.uuid, free=free,
                maximum=self.max_slots, used=len(slots),
                reserved=RESERVED_SLOTS, instance=instance.uuid,
                needed=needed)

    def _resolve(self):
        with self._lock:
            if self._resolved:
                return
            choice = self._choice
            wrapper = None
            if choice.lower() == npiv_conf.STAGING_AUTO:
                wrapper = self._find_mgmt_partition()
            elif choice.lower() != npiv_conf.STAGING_NONE:
                wrapper = self._find_named(choice)
            if wrapper is not None:
                self._uuid, self._name = wrapper.uuid, wrapper.name
                # Changing the maximum needs a profile change and a restart
                # of the partition: read with the partition, once.
                self._max_slots = wrapper.io_config.max_virtual_slots
                LOG.info('vFC staging partition: %s (%s)', self._name,
                         self._uuid)
            else:
                LOG.info('No vFC staging partition: WWPNs are stored but '
                         'log in only when the instance starts.')
            self._resolved = True

    def _partitions(self, wrapper_cls):
        return wrapper_cls.get(self.adapter, parent_type=pvm_ms.System,
                               parent_uuid=self.system_uuid)

    def _find_mgmt_partition(self):
        # A management VIOS (NovaLink installed on a VIOS) cannot stage:
        # a VIOS hosts server adapters, never vFC client adapters.
        mgmt = [p for p in self._partitions(pvm_lpar.LPAR)
                if p.is_mgmt_partition]
        return mgmt[0] if mgmt else None

    def _find_named(self, name):
        for part in self._partitions(pvm_lpar.LPAR):
            if part.name == name:
                return part
        if any(v.name == name for v in self._partitions(pvm_vios.VIOS)):
            raise exception.NPIVConfigError(
                option='[%s] staging_partition' % npiv_conf.GROUP,
                reason='%s is a Virtual I/O Server; a VIOS cannot host '
                       'virtual FC client adapters, name a client LPAR, '
                       "'auto' or 'none'" % name)
        raise exception.StagingPartitionNotFound(name=name,
                                                 host=self.system_uuid)
