"""Which partition hosts an instance's vFC adapters before the LPAR exists.

Mapping new WWPNs to a running partition makes them log in on the fabric, so
Cinder and zone managers can see them while the instance is still being
scheduled.  On NovaLink that is the management partition; an operator may name
another client LPAR (never a VIOS: it cannot host vFC client adapters); a
plain HMC has neither, and staging is then skipped.
"""

import threading

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


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

    @property
    def uuid(self):
        self._resolve()
        return self._uuid

    @property
    def name(self):
        self._resolve()
        return self._name

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
