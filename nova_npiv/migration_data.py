"""NPIV live-migration data, carried in the instance's system_metadata.

The destination chooses the VIOS ports the instance's vFC adapters move to;
the source needs them for the Migrate job.  nova's conductor relays the
migrate_data object between the two, and it cannot deserialise a versioned
object it does not know: nova no longer has a PowerVM one.  The choice is
therefore written to ``system_metadata``, which every nova service reads and
writes as plain strings, and the source re-reads it from the database.
"""

import json

from nova_npiv import exception

KEY_PREFIX = 'npiv_lpm_targets_'
_MAX_VALUE = 255


def _keys(sysmeta, fabric):
    base = KEY_PREFIX + fabric
    return sorted((k for k in sysmeta
                   if k == base or k.startswith(base + '#')),
                  key=lambda k: int(k.split('#')[1]) if '#' in k else 0)


def set_targets(instance, targets):
    """Record ``{fabric: ['<vios name>/<vios id>//<port>', ...]}``."""
    clear_targets(instance)
    for fabric, entries in targets.items():
        text = json.dumps(entries, separators=(',', ':'))
        chunks = [text[i:i + _MAX_VALUE]
                  for i in range(0, len(text), _MAX_VALUE)] or ['[]']
        for index, chunk in enumerate(chunks):
            key = KEY_PREFIX + fabric + ('#%d' % index if index else '')
            instance.system_metadata[key] = chunk


def get_targets(instance):
    sysmeta = instance.system_metadata
    fabrics = {k[len(KEY_PREFIX):].split('#')[0] for k in sysmeta
               if k.startswith(KEY_PREFIX)}
    targets = {}
    for fabric in sorted(fabrics):
        keys = _keys(sysmeta, fabric)
        try:
            entries = json.loads(''.join(sysmeta[k] for k in keys))
        except ValueError as err:
            raise exception.LiveMigrationDataError(
                instance=instance.uuid,
                reason='%s is not valid JSON: %s' % (keys[0], err))
        if not (isinstance(entries, list) and
                all(isinstance(e, str) and e.count('/') == 3
                    for e in entries)):
            raise exception.LiveMigrationDataError(
                instance=instance.uuid,
                reason='%s does not list <vios>/<id>//<port> targets'
                % keys[0])
        targets[fabric] = entries
    return targets


def clear_targets(instance):
    for key in [k for k in instance.system_metadata
                if k.startswith(KEY_PREFIX)]:
        del instance.system_metadata[key]
