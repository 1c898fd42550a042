"""Start-up reconciliation: the VIOSes brought back in line after a crash.

A nova-compute that died mid-operation never ran its reverts: staging
mappings of instances that were connected meanwhile, or of instances that
are gone, are left behind, and a live migration may have moved an LPAR
without its mappings being recorded.  Only mappings that nova's records
prove nova's are removed (see :mod:`nova_npiv.audit`): the client partition
is an instance of this host, or the client WWPNs are in the fabric metadata
of an instance of this host, deleted ones included.  Anything else is
logged for the operator.
"""

from nova import context as nova_context
from nova import objects
from oslo_config import cfg
from oslo_log import log as logging

from nova_npiv import audit
from nova_npiv import inventory

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def reconcile(host, adapter, system_w, settings, staging, finish_migration):
    """Reconcile the vFC mappings of ``host``'s managed system ``system_w``.

    ``finish_migration(instance)`` records the mappings of a live migration
    whose last step failed (see :mod:`nova_npiv.volume.migration`).  Never
    fatal: the service must start even if this fails.
    """
    if (objects.base.NovaObject.indirection_api is None and
            not CONF.database.connection):
        LOG.info('No path to nova\'s database: skipping the start-up '
                 'reconciliation of vFC mappings')
        return
    try:
        ctxt = nova_context.get_admin_context()
        instances = objects.InstanceList.get_by_host(
            ctxt, host, expected_attrs=['system_metadata'])
        for inst in instances:
            finish_migration(inst)
        deleted = objects.InstanceList.get_by_filters(
            nova_context.get_admin_context(read_deleted='yes'),
            {'host': host, 'deleted': True},
            expected_attrs=['system_metadata'])
        ownership = audit.Ownership.of_instances(instances, deleted)
        view = inventory.read_system(adapter, system_w, settings)
        staging_uuid = staging.uuid
        staging_id = next((p.id for p in view.partitions.values()
                           if p.uuid == staging_uuid), None)
        findings = audit.find([view], {view.name: staging_id},
                              ownership=ownership)
        audit.report_unproven(findings)
        ours = audit.select(findings)
        if ours:
            audit.fix(view, ours)
    except Exception:
        # Any failure: the operator's tool does the same job on demand.
        LOG.exception('Start-up reconciliation of vFC mappings failed; '
                      'run nova-npiv audit')
