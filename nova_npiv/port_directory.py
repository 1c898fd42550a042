"""The physical FC ports of a system's VIOSes, known without ViosStorage.

A VIOS's physical ports (their WWPNs, names and NPIV capacity) come with
the ``ViosStorage`` extended attribute group, as pypowervm's
``get_physical_wwpns`` and nova-powervm's NPIV driver (``min_xags``:
"Storage are so physical FC ports are available") read them.  That group
also carries every SAN LUN the VIOS sees: on a VIOS with hundreds of LUNs,
each read and each POST of the VIOS moves hundreds of KiB both ways.

What the mapping work needs of a port is fixed by the hardware (on which
VIOS it is, its WWPN and name, how many NPIV ports it has) except for the
capacity left, and that capacity is in ``ViosFCMapping`` too: each mapping
carries its backing ``Port`` with ``AvailablePorts`` (pypowervm's captured
``fake_vios_feed.txt``).  So one ``ViosStorage`` read is noted here as a
directory, and a VIOS read with the mappings alone is given its ports
from it (:func:`with_ports`):

* available NPIV ports: what a mapping on the port reports now; a port no
  mapping of its VIOS uses has them all (an NPIV port is taken by a
  mapping only: a port is on one VIOS, and only that VIOS's mappings log
  in through it); a mapping that does not report it leaves the value of
  the last ``ViosStorage`` read.
"""

from nova_npiv import exception
from nova_npiv import wwpn as wwpn_util


class Port(object):
    """A physical FC port, as pypowervm's ``vfc_mapper`` and the port
    checks read one (``PhysFCPort``): WWPN, name, NPIV capacity."""

    __slots__ = ('wwpn', 'name', 'npiv_total_ports', 'npiv_available_ports')

    def __init__(self, wwpn, name, total, available):
        self.wwpn = wwpn
        self.name = name
        self.npiv_total_ports = total
        self.npiv_available_ports = available

    def __repr__(self):
        return 'Port(%s %s %s/%s)' % (self.name, self.wwpn,
                                      self.npiv_available_ports,
                                      self.npiv_total_ports)


def note(vios_wraps):
    """``{VIOS UUID: (Port, ...)}`` of a feed read with ViosStorage."""
    return {vios_w.uuid: tuple(Port(p.wwpn, p.name, p.npiv_total_ports,
                                    p.npiv_available_ports)
                               for p in vios_w.pfc_ports)
            for vios_w in vios_wraps}


class WithPorts(object):
    """A VIOS wrapper read without ViosStorage, with its ports from the
    directory: what pypowervm's ``add_map``, ``derive_npiv_map`` and
    ``find_vios_for_wwpn`` read as ``pfc_ports``.  Everything else is the
    wrapper's own, so changes made through it are changes of the wrapper.
    """

    def __init__(self, wrapper, ports):
        object.__setattr__(self, '_wrapper', wrapper)
        object.__setattr__(self, 'pfc_ports', ports)

    def __getattr__(self, name):
        return getattr(self._wrapper, name)

    def __setattr__(self, name, value):
        setattr(self._wrapper, name, value)


def _reported(vios_w):
    """``{normalised port WWPN: available NPIV ports}`` the VIOS's
    mappings report (None where a mapping's Port does not say)."""
    seen = {}
    for vmap in vios_w.vfc_mappings:
        port = vmap.backing_port
        if port is None or not port.wwpn:
            continue
        key = wwpn_util.normalize(port.wwpn)
        available = port.npiv_available_ports
        if available is not None:
            seen[key] = available
        else:
            seen.setdefault(key, None)
    return seen


def with_ports(vios_w, directory):
    """``vios_w`` able to answer ``pfc_ports``.

    The wrapper itself when it carries its ports (read with ViosStorage);
    else a :class:`WithPorts` with the directory's ports of this VIOS, the
    capacity as the module says.  A VIOS the directory does not know (one
    that appeared since it was read) raises: without its ports, pypowervm's
    ``add_map`` would skip it without a word.
    """
    if isinstance(vios_w, WithPorts) or vios_w.pfc_ports:
        return vios_w
    if directory is None:
        return vios_w
    known = directory.get(vios_w.uuid)
    if known is None:
        raise exception.PortDirectoryStale(vios=vios_w.name,
                                           uuid=vios_w.uuid)
    reported = _reported(vios_w)
    ports = []
    for port in known:
        key = wwpn_util.normalize(port.wwpn)
        if key not in reported:
            available = port.npiv_total_ports
        else:
            available = reported[key]
            if available is None:
                available = port.npiv_available_ports
        ports.append(Port(port.wwpn, port.name, port.npiv_total_ports,
                          available))
    return WithPorts(vios_w, ports)
