"""Find vFC mappings that nothing should own, and remove what is nova's.

Four kinds, from the console alone:

* ``staging-leftover``: a mapping to the staging partition whose WWPNs are
  also mapped to a real client partition (the instance was connected but the
  staging mapping survived), or, when nova's view of the host is known, one
  that no instance in ``mgmt_mapped`` state explains;
* ``no-partition``: the client partition no longer exists;
* ``no-client-adapter``: the server adapter has no client adapter;
* ``no-port``: the mapping has no physical port behind it.

A finding is not yet a reason to change anything: real VIOSes carry such
mappings on purpose (administrators build NPIV in steps; PowerVC and
hand-made LPARs share systems).  Each finding therefore says whose it is
(:class:`Ownership`): ``nova`` only when nova's own records prove it — the
client partition is a nova instance's LPAR (by UUID), or the client WWPNs
are in a nova instance's fabric metadata — and ``unproven`` otherwise.
Automatic repair (start-up reconciliation, ``audit --fix``) removes only
``nova`` findings; the operator may name others explicitly
(:func:`select`).

Removal is one FeedTask per managed system: one POST per VIOS that holds
something to remove.
"""

import collections

from oslo_log import log as logging
from pypowervm.utils import transaction as pvm_tx

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import vm
from nova_npiv import wwpn as wwpn_util

LOG = logging.getLogger(__name__)

STAGING_LEFTOVER = 'staging-leftover'
NO_PARTITION = 'no-partition'
NO_CLIENT_ADAPTER = 'no-client-adapter'
NO_PORT = 'no-port'

NOVA = 'nova'
UNPROVEN = 'unproven'

Finding = collections.namedtuple('Finding', [
    'kind', 'system', 'vios', 'vios_uuid', 'vfchost', 'server_slot',
    'client_id', 'client_name', 'wwpns', 'detail', 'owner', 'proof'])


class Ownership(object):
    """What nova's records prove to be nova's.

    :param lpar_uuids: LPAR UUIDs of nova's (live) instances.
    :param pairs: frozenset WWPN pairs recorded in any nova instance's
        fabric metadata, deleted instances included (their staging
        leftovers and the adapters of their deleted partitions).
    :param staged_ok: pairs that may legitimately sit on a staging
        partition (instances between connector and spawn), or None when
        nova's view is not known.
    """

    def __init__(self, lpar_uuids=(), pairs=(), staged_ok=None):
        self.lpar_uuids = {str(u).upper() for u in lpar_uuids}
        self.pairs = set(pairs)
        self.staged_ok = staged_ok

    @classmethod
    def of_instances(cls, live, deleted=()):
        """From nova's instances; corrupt metadata is logged and skipped."""
        uuids, pairs, staged = set(), set(), set()
        for inst in live:
            uuids.update(vm.known_uuids(inst))
        for inst, alive in ([(i, True) for i in live] +
                            [(i, False) for i in deleted]):
            for fabric in fabric_meta.recorded_fabrics(inst):
                try:
                    rec = fabric_meta.get_fabric(inst, fabric)
                except exception.CorruptFabricMetadata as err:
                    LOG.error('%s', err.format_message())
                    continue
                for _phys, pair in rec.port_map:
                    key = frozenset(wwpn_util.normalize_list(pair.split()))
                    pairs.add(key)
                    if alive and rec.state == fabric_meta.MGMT_MAPPED:
                        staged.add(key)
        return cls(uuids, pairs, staged)

    def proof(self, mapping):
        """Why ``mapping`` is nova's, or None when nothing proves it."""
        if mapping.client_uuid and \
                mapping.client_uuid.upper() in self.lpar_uuids:
            return 'client partition is a nova instance'
        if mapping.wwpns and frozenset(mapping.wwpns) in self.pairs:
            return 'client WWPNs are in nova fabric metadata'
        return None


def _finding(kind, mapping, detail, ownership):
    proof = ownership.proof(mapping) if ownership is not None else None
    return Finding(kind, mapping.system, mapping.vios, mapping.vios_uuid,
                   mapping.vfchost, mapping.server_slot, mapping.client_id,
                   mapping.client_name, mapping.wwpns, detail,
                   NOVA if proof else UNPROVEN, proof or '')


def find(views, staging_ids, ownership=None):
    """Findings over ``views`` (inventory.SystemView list).

    :param staging_ids: {system name: staging partition id or None}
    :param ownership: :class:`Ownership` from nova's records, or None when
        they are not known: nothing is then nova's, and staging mappings
        are only reported when their WWPNs are mapped elsewhere too.
    """
    staged_ok = ownership.staged_ok if ownership is not None else None
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
                    % m.client_id, ownership))
            elif not m.wwpns:
                findings.append(_finding(
                    NO_CLIENT_ADAPTER, m, 'no client adapter on partition '
                    '%s' % (m.client_name or m.client_id), ownership))
            elif m.port_name is None:
                findings.append(_finding(
                    NO_PORT, m, 'no physical port behind the adapter',
                    ownership))
            elif staging is not None and m.client_id == staging:
                pair = frozenset(m.wwpns)
                if pair in client_pairs:
                    findings.append(_finding(
                        STAGING_LEFTOVER, m, 'WWPNs also mapped to a client '
                        'partition', ownership))
                elif staged_ok is not None and pair not in staged_ok:
                    findings.append(_finding(
                        STAGING_LEFTOVER, m, 'no instance of this host is '
                        'being staged with these WWPNs', ownership))
    return findings


def mapping_name(finding):
    return '%s/%s/%s' % (finding.system, finding.vios, finding.vfchost)


def select(findings, include_foreign=False, named=()):
    """The findings to remove: nova's, plus those the operator named.

    :param include_foreign: every finding, whoever owns it.
    :param named: ``[SYSTEM/]VIOS/VFCHOST`` names of findings to remove
        even though nothing proves them nova's.
    :raises NPIVConfigError: for a name that is not a finding.
    """
    wanted = set(named)
    chosen, matched = [], set()
    for f in findings:
        full = mapping_name(f)
        short = full.split('/', 1)[1]
        hit = wanted & {full, short}
        matched |= hit
        if f.owner == NOVA or include_foreign or hit:
            chosen.append(f)
    unknown = sorted(wanted - matched)
    if unknown:
        raise exception.NPIVConfigError(
            option='--mapping', reason='%s: not a finding of this audit'
            % ', '.join(unknown))
    return chosen


def _remove_matching(vios_w, targets, removed):
    """Take the ``targets`` (server slot, client id) off the VIOS.

    ``removed[VIOS UUID]``: the keys this run found, what the report may
    call removed.  A refused etag runs it again on the VIOS as it is now,
    which replaces what an earlier run found.
    """
    found = set()
    for vmap in list(vios_w.vfc_mappings):
        server = vmap.server_adapter
        if server is None:
            continue
        key = (server.vios_slot_num, server.lpar_id)
        if key in targets:
            vios_w.vfc_mappings.remove(vmap)
            found.add(key)
    removed[vios_w.uuid] = found
    return bool(found)


def fix(view, findings):
    """Remove ``findings`` of one system in one FeedTask; returns those
    removed.

    A mapping gone by the time the fix posts (another host's clean-up,
    an operator) is not reported as removed: the report and the count
    say what this fix did.
    """
    mine = [f for f in findings if f.system == view.name]
    if not mine:
        return []
    by_vios = collections.defaultdict(set)
    for f in mine:
        by_vios[f.vios_uuid].add((f.server_slot, f.client_id))
    removed = {}
    ftsk = pvm_tx.FeedTask('audit_fix_%s' % view.name, view.vios_wraps)
    for uuid, wtask in ftsk.wrapper_tasks.items():
        if uuid in by_vios:
            wtask.add_functor_subtask(_remove_matching, by_vios[uuid],
                                      removed)
    ftsk.execute()
    done = []
    for f in mine:
        if (f.server_slot, f.client_id) not in removed.get(f.vios_uuid, ()):
            LOG.info('%s mapping %s was gone when the fix was sent: '
                     'nothing removed', f.kind.capitalize(), mapping_name(f))
            continue
        LOG.warning('Removed %s mapping %s (%s; %s)', f.kind,
                    mapping_name(f), f.detail,
                    f.proof or 'named by the operator')
        done.append(f)
    return done


def report_unproven(findings):
    """Log the findings nothing proves nova's: left for the operator."""
    for f in findings:
        if f.owner != NOVA:
            LOG.warning('Left %s mapping %s (%s): nothing proves it is '
                        "nova's; nova-npiv audit lists it", f.kind,
                        mapping_name(f), f.detail)
