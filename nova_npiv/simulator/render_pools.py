"""XML out for the SharedProcessorPool objects of a managed system.

Children and attributes as in pypowervm's captured feed
(``shrprocpool.txt``): the default pool carries no maximum nor reserved
units; a configured pool does.  The assigned partitions are links to the
partitions of the pool, VIOSes included, and absent from an empty pool.
"""

import zlib

from nova_npiv.simulator import pools
from nova_npiv.simulator import render
from nova_npiv.simulator import vocab

_el = render._el


def _pool(sysm, pool, base):
    root = render._root(pools.KIND, schemaVersion='V1_2_0')
    render._metadata(root, pool.uuid)
    members = pools.members(sysm, pool)
    # An empty pool has no AssignedPartitions (the capture's SharedPool01).
    assigned = _el(root, 'AssignedPartitions', kb='CUD',
                   kxe='false') if members else None
    for part in members:
        _el(assigned, 'link', rel='related',
            href='%s/rest/api/uom/ManagedSystem/%s/%s/%s'
            % (base, sysm.uuid, part.kind, part.uuid))
    reserved = pools.reserved_units(sysm, pool)
    if pool.id == pools.DEFAULT_ID:
        available = sysm.proc_units_free()
    else:
        _el(root, 'CurrentReservedProcessingUnits', '%.2f' % reserved,
            kb='ROR', kxe='false')
        _el(root, 'MaximumProcessingUnits', '%.2f' % pool.max_units,
            kb='CUD', kxe='false')
        _el(root, 'PendingReservedProcessingUnits', '%.2f' % reserved,
            kxe='false', kb='CUD')
        available = max(0.0, pool.max_units - reserved)
    _el(root, 'PoolID', pool.id, kxe='false', kb='ROR')
    _el(root, 'AvailableProcUnits', '%.2f' % available, kb='CUD',
        kxe='false')
    _el(root, 'PoolName', pool.name, kb='CUR', kxe='false')
    return root


def href(sysm, base, pool=None):
    out = '%s/rest/api/uom/ManagedSystem/%s/%s' % (base, sysm.uuid,
                                                   pools.KIND)
    return out if pool is None else '%s/%s' % (out, pool.uuid)


def entry(sysm, pool, base):
    # The etag follows the content (members, units), which changes with
    # the partitions rather than with any one object the model touches.
    content = _pool(sysm, pool, base)
    etag = str(zlib.crc32(render.tostring(content)))
    return render.entry(pool.uuid, pools.KIND, href(sysm, base, pool),
                        content, vocab.UOM_TYPE % pools.KIND, etag=etag)


def feed(sysm, base):
    return render.feed(href(sysm, base), [
        entry(sysm, pool, base) for _id, pool in sorted(sysm.pools.items())])
