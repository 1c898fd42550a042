"""Port choice: which physical ports carry an instance's client adapters.

Pure decisions on an already-read VIOS feed, like pypowervm's
``vfc_mapper`` which does the matching: nothing here changes a VIOS or the
instance's metadata.  The one REST call is the allocation of new WWPN
pairs (:func:`allocate_wwpns`).
"""

import contextlib

from oslo_log import log as logging
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import vfc_mapper

from nova_npiv import exception
from nova_npiv import fabric_records
from nova_npiv import jobs
from nova_npiv import wwpn as wwpn_util

LOG = logging.getLogger(__name__)

#: WWPN pairs the platform hands out per GetNextWWPNs job.
MAX_PAIRS_PER_JOB = 8


def rotate(items, offset):
    """``items`` starting at ``offset`` (modulo their number)."""
    if not items:
        return items
    offset %= len(items)
    return items[offset:] + items[:offset]


def vios_order(settings, fabric, active):
    """The active VIOSes in the order in which ``fabric`` uses them.

    Each fabric starts on a different VIOS so that losing one VIOS never
    takes every fabric of the instance with it.
    """
    return rotate(active, settings.fabrics.index(fabric))


def present_ports(active):
    """``{normalised WWPN: port}`` of the physical ports of ``active``."""
    return {wwpn_util.normalize(port.wwpn): port
            for vios_w in active for port in vios_w.pfc_ports}


@contextlib.contextmanager
def capacity_error(fabric, wanted, found):
    """pypowervm's "no port map" as the NoFabricCapacity nova reports."""
    try:
        yield
    except pvm_exc.UnableToFindFCPortMap:
        raise exception.NoFabricCapacity(fabric=fabric, wanted=wanted,
                                         found=found)


def usable_ports(settings, fabric, active, system, present=None):
    """Configured ports of ``fabric`` on ``active`` VIOSes with capacity.

    ``system`` names the managed system in the error when none is there.
    ``present``: :func:`present_ports` of them (or the port summary of
    :meth:`.vios._FeedCache.ports`), when the caller has it.
    """
    wanted = settings.ports[fabric]
    if present is None:
        present = present_ports(active)
    missing = [p for p in wanted if p not in present]
    if len(missing) == len(wanted):
        raise exception.FabricPortsNotFound(
            fabric=fabric, ports=', '.join(missing), host=system)
    if missing:
        LOG.warning('Fabric %s: ports %s are not on an active VIOS',
                    fabric, ', '.join(missing))
    usable = [p for p in wanted
              if p in present and present[p].npiv_available_ports > 0]
    if not usable:
        raise exception.NoFabricCapacity(
            fabric=fabric, wanted=settings.ports_per_fabric, found=0)
    return usable


def place(settings, fabric, active, usable, pairs, found=None):
    """Entries putting the client WWPN ``pairs`` on ``usable`` ports.

    ``found``: the capacity the error reports, default the usable ports.
    """
    wwpns = [w for active_w, partner in pairs for w in (active_w, partner)]
    with capacity_error(fabric, len(pairs),
                        len(usable) if found is None else found):
        derived = vfc_mapper.derive_npiv_map(
            vios_order(settings, fabric, active), usable, wwpns)
    return fabric_records.from_pvm(derived)


def targets(settings, fabric, active, count, system):
    """``'<vios name>/<vios id>//<port name>'`` for ``count`` adapters.

    Chosen like for a new instance: spread over VIOSes, most free NPIV
    capacity first.
    """
    ports = usable_ports(settings, fabric, active, system)
    order = vios_order(settings, fabric, active)
    with capacity_error(fabric, count, len(ports)):
        basic = vfc_mapper.derive_base_npiv_map(order, ports, count)
    result = []
    for phys_wwpn, _ in basic:
        vios_w, port = vfc_mapper.find_vios_for_wwpn(order, phys_wwpn)
        result.append('%s/%s//%s' % (vios_w.name, vios_w.id, port.name))
    return result


def allocate_wwpns(adapter, system_uuid, pairs):
    """``pairs`` new client WWPN pairs from the platform, normalised."""
    wwpns = []
    while pairs > 0:
        count = min(pairs, MAX_PAIRS_PER_JOB)
        wwpns.extend(jobs.wwpn_pairs(adapter, system_uuid, count))
        pairs -= count
    wwpns = wwpn_util.normalize_list(wwpns)
    return list(zip(wwpns[::2], wwpns[1::2]))
