"""``ports``, ``show`` and ``audit``: operator views of the VIOSes.

They work against the console configured in nova.conf, or against the
embedded simulator with ``--sim``.
"""

import contextlib
import json

from oslo_config import cfg

from nova_npiv import audit
from nova_npiv.cmd import tables
from nova_npiv import conf as npiv_conf
from nova_npiv import console
from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import inventory
from nova_npiv import staging as npiv_staging
from nova_npiv import vm

CONF = cfg.CONF


@contextlib.contextmanager
def console_adapter(use_sim):
    """A logged-on adapter: to nova.conf's console or a fresh simulator."""
    if not use_sim:
        adapter = console.build_adapter(CONF)
        try:
            yield adapter
        finally:
            adapter.session._logoff()
        return
    from nova_npiv.simulator import co_managed_topology
    from nova_npiv.simulator import Simulator
    with Simulator(co_managed_topology()) as sim:
        for key, value in sim.powervm_conf('sys-a').items():
            if key != 'managed_system':
                CONF.set_override(key, value, group='powervm')
        adapter = console.build_adapter(CONF)
        try:
            yield adapter
        finally:
            adapter.session._logoff()


def _settings():
    try:
        return npiv_conf.load_settings(CONF)
    except exception.NPIVConfigError:
        # Without fabric options the views still work, without fabric names.
        return None


def _views(adapter, settings):
    return inventory.read_console(adapter, settings,
                                  only=CONF.powervm.managed_system)


def _staging_ids(adapter, views):
    ids = {}
    for view in views:
        staging = npiv_staging.StagingPartition(adapter, view.uuid)
        uuid = staging.uuid
        ids[view.name] = next((p.id for p in view.partitions.values()
                               if p.uuid == uuid), None) if uuid else None
    return ids


def ports(out, use_sim=False, as_json=False):
    settings = _settings()
    with console_adapter(use_sim) as adapter:
        views = _views(adapter, settings)
    rows, records, problems = [], [], []
    for view in views:
        for p in sorted(view.ports, key=lambda p: (p.fabric or '~', p.vios,
                                                   p.name)):
            used = p.total - p.available
            rows.append([p.system, p.fabric, p.vios, p.name, p.wwpn,
                         'active' if p.vios_active else 'INACTIVE',
                         used, p.available, p.total])
            records.append(dict(p._asdict(), used=used))
        if settings is not None and len(views) == 1:
            present = {p.wwpn: p for p in view.ports}
            for fabric, wanted in settings.ports.items():
                for wwpn in wanted:
                    port = present.get(wwpn)
                    if port is None:
                        problems.append('fabric %s: configured port %s is '
                                        'not on %s' % (fabric, wwpn,
                                                       view.name))
                    elif not port.vios_active:
                        problems.append('fabric %s: port %s is on inactive '
                                        'VIOS %s' % (fabric, wwpn,
                                                     port.vios))
    if as_json:
        out.write(json.dumps({'ports': records, 'problems': problems},
                             indent=2) + '\n')
    else:
        out.write(tables.render(
            ['system', 'fabric', 'vios', 'port', 'wwpn', 'vios state',
             'npiv used', 'npiv left', 'npiv total'], rows) + '\n')
        for problem in problems:
            out.write('!! %s\n' % problem)
    return 1 if problems else 0


def _finding_rows(findings):
    return [[f.kind, f.owner, f.system, f.vios, f.vfchost,
             f.client_name or f.client_id, ' '.join(f.wwpns) or '-',
             f.detail] for f in findings]


def nova_records():
    """(live, deleted) instances from nova's database, or None.

    None when nova.conf names no database: then nothing can be proved
    nova's, and ``--fix`` removes only what the operator names.
    """
    from nova import context as nova_context
    import nova.conf  # noqa: F401 - registers [database]
    from nova import objects
    if not CONF.database.connection:
        return None
    objects.register_all()
    ctxt = nova_context.get_admin_context(read_deleted='yes')
    instances = objects.InstanceList.get_by_filters(
        ctxt, {}, expected_attrs=['system_metadata'])
    return ([i for i in instances if not i.deleted],
            [i for i in instances if i.deleted])


def run_audit(out, use_sim=False, do_fix=False, as_json=False,
              include_foreign=False, named=()):
    """Findings, and with ``do_fix`` removal of the provable or named ones.

    Without nova's database nothing is provably nova's; ``named``
    (``[SYSTEM/]VIOS/VFCHOST``) and ``include_foreign`` are the operator's
    explicit choice to remove findings nothing proves nova's.
    """
    settings = _settings()
    records = nova_records()
    ownership = (audit.Ownership.of_instances(*records)
                 if records is not None else None)
    with console_adapter(use_sim) as adapter:
        views = _views(adapter, settings)
        findings = audit.find(views, _staging_ids(adapter, views),
                              ownership=ownership)
        removed = []
        if do_fix:
            try:
                chosen = audit.select(findings,
                                      include_foreign=include_foreign,
                                      named=named)
            except exception.NPIVConfigError as err:
                out.write('%s\n' % err.format_message())
                return 2
            for view in views:
                removed.extend(audit.fix(view, chosen))
    kept = [f for f in findings if f not in removed]
    if as_json:
        out.write(json.dumps({
            'findings': [f._asdict() for f in findings],
            'removed': [f._asdict() for f in removed],
            'nova_records': records is not None}, indent=2) + '\n')
        return 0
    headers = ['kind', 'owner', 'system', 'vios', 'vfchost', 'client',
               'wwpns', 'why']
    out.write(tables.render(headers, _finding_rows(findings)) + '\n')
    if records is None:
        out.write("\nnova's database is not configured: no finding can be "
                  "proved nova's.\n")
    unproven = [f for f in kept if f.owner != audit.NOVA]
    if do_fix:
        out.write('\nRemoved %d mapping(s).\n' % len(removed))
        if unproven:
            out.write("%d mapping(s) not provably nova's were left; name "
                      'them with --mapping SYSTEM/VIOS/VFCHOST, or use '
                      '--include-foreign.\n' % len(unproven))
    elif findings:
        out.write('\n%d finding(s) (%d nova\'s); run with --fix to remove '
                  "nova's.\n" % (len(findings), len(findings) -
                                  len(unproven)))
    return 0


def show(out, instance_uuid, use_sim=False, as_json=False):
    """An instance's fabric metadata next to what the VIOSes have."""
    from nova import context as nova_context
    from nova import objects
    objects.register_all()
    inst = objects.Instance.get_by_uuid(
        nova_context.get_admin_context(), instance_uuid,
        expected_attrs=['system_metadata'])
    settings = _settings()
    fabrics = (settings.fabrics if settings is not None
               else fabric_meta.recorded_fabrics(inst))
    problems = fabric_meta.check_instance(inst, fabrics)
    records = {}
    for fabric in fabrics:
        try:
            records[fabric] = fabric_meta.get_fabric(inst, fabric)
        except exception.CorruptFabricMetadata:
            pass
    with console_adapter(use_sim) as adapter:
        views = _views(adapter, settings)
    uuid = vm.lpar_uuid(inst)
    pairs = {frozenset(p.split()): (f, phys) for f, rec in records.items()
             for phys, p in rec.port_map}
    seen = [m for v in views for m in v.mappings
            if m.client_uuid == uuid or frozenset(m.wwpns) in pairs]
    for fabric, rec in records.items():
        for _phys, pair in rec.port_map:
            found = [m for m in seen if frozenset(m.wwpns) ==
                     frozenset(pair.split())]
            if rec.state == fabric_meta.INST_MAPPED and not any(
                    m.client_uuid == uuid for m in found):
                problems.append('fabric %s: WWPNs %s are not mapped to the '
                                'instance' % (fabric, pair))
    if as_json:
        out.write(json.dumps({
            'instance': instance_uuid,
            'fabrics': {f: {'state': r.state, 'port_map': r.port_map}
                        for f, r in records.items()},
            'mappings': [m._asdict() for m in seen],
            'problems': problems}, indent=2) + '\n')
    else:
        out.write(tables.render(
            ['fabric', 'state', 'physical port', 'wwpns (active first)'],
            [[f, r.state, phys, pair] for f, r in records.items()
             for phys, pair in (r.port_map or [('-', '-')])]) + '\n\n')
        out.write(tables.render(
            ['system', 'vios', 'vfchost', 'port', 'client', 'wwpns'],
            [[m.system, m.vios, m.vfchost, m.port_name,
              m.client_name or m.client_id, ' '.join(m.wwpns)]
             for m in seen]) + '\n')
        for problem in problems:
            out.write('!! %s\n' % problem)
    return 1 if problems else 0
