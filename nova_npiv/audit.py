"""Find vFC mappings that nothing should own, and remove them.

Four kinds, from the console alone:

* ``staging-leftover``: a mapping to the staging partition whose WWPNs are
  also mapped to a real client partition (the instance was connected but the
  staging mapping survived), or, when nova's view of the host is known, one
  that no instance in ``mgmt_mapped`` state explains;
* ``no-partition``: the client partition no longer exists;
* ``no-client-adapter``: the server adapter has no client adapter;
* ``no-port``: the mapping has no physical port behind it.

Removal is one FeedTask per managed system: one POST per VIOS that holds
something to remove.
"""

import collections

from oslo_log import log as logging
from pypowervm.utils import transaction as pvm_tx

LOG = logging.getLogger(__name__)

STAGING_LEFTOVER = 'staging-leftover'
NO_PARTITION = 'no-partition'
NO_CLIENT_ADAPTER = 'no-client-adapter'
NO_PORT = 'no-port'

Finding = collections.namedtuple('Finding', [
    'kind', 'system', 'vios', 'vios_uuid', 'vfchost', 'server_slot',
    'client_id', 'client_name', 'wwpns', 'detail'])


def _finding(kind, mapping, detail):
    return Finding(kind, mapping.system, mapping.vios, mapping.vios_uuid,
                   mapping.vfchost, mapping.server_slot, mapping.client_id,
                   mapping.client_name, mapping.wwpns, detail)


def find(views, staging_ids, staged_ok=None):
    """Findings over ``views`` (inventory.SystemView list).

    :param staging_ids: {system name: staging partition id or None}
    :param staged_ok: set of frozenset WWPN pairs that may legitimately sit
        on a staging partition (instances between connector and spawn), or
        None when nova's view is not known: staging mappings are then only
        reported when their WWPNs are mapped elsewhere too.
    """
    client_pairs = set()
    for view in views:
        staging = staging_ids.get(view.name)
        for m in view.mappings:
            if m.wwpns and m.client_id != staging and \
                    m.client_id in view.partitions:
                client_pairs.add(frozenset(m.wwpns))
    findings = []
    for view in views:
        staging = staging_ids.get(view.name)
        for m in view.mappings:
            if m.client_id not in view.partitions:
                findings.append(_finding(
                    NO_PARTITION, m, 'client partition id %s does not exist'
                    % m.client_id))
            elif not m.wwpns:
                findings.append(_finding(
                    NO_CLIENT_ADAPTER, m, 'no client adapter on partition '
                    '%s' % (m.client_name or m.client_id)))
            elif m.port_name is None:
                findings.append(_finding(
                    NO_PORT, m, 'no physical port behind the adapter'))
            elif staging is not None and m.client_id == staging:
                pair = frozenset(m.wwpns)
                if pair in client_pairs:
                    findings.append(_finding(
                        STAGING_LEFTOVER, m, 'WWPNs also mapped to a client '
                        'partition'))
                elif staged_ok is not None and pair not in staged_ok:
                    findings.append(_finding(
                        STAGING_LEFTOVER, m, 'no instance of this host is '
                        'being staged with these WWPNs'))
    return findings


def _remove_matching(vios_w, targets):
    removed = False
    for vmap in list(vios_w.vfc_mappings):
        server = vmap.server_adapter
        if server is None:
            continue
        key = (server.vios_slot_num, server.lpar_id)
        if key in targets:
            vios_w.vfc_mappings.remove(vmap)
            removed = True
    return removed


def fix(view, findings):
    """Remove ``findings`` of one system in one FeedTask; returns them."""
    mine = [f for f in findings if f.system == view.name]
    if not mine:
        return []
    by_vios = collections.defaultdict(set)
    for f in mine:
        by_vios[f.vios_uuid].add((f.server_slot, f.client_id))
    ftsk = pvm_tx.FeedTask('audit_fix_%s' % view.name, view.vios_wraps)
    for uuid, wtask in ftsk.wrapper_tasks.items():
        if uuid in by_vios:
            wtask.add_functor_subtask(_remove_matching, by_vios[uuid])
    ftsk.execute()
    for f in mine:
        LOG.warning('Removed %s mapping %s/%s (%s)', f.kind, f.vios,
                    f.vfchost, f.detail)
    return mine
