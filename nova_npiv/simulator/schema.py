"""The schema a console unmarshals a POSTed or PUT object against.

A console reads an update or create body with a schema-bound unmarshaller:
an element the schema does not know, or children out of the schema's
sequence, and the whole request is refused with ``REST0001 Failed to
unmarshal input payload`` and the validator's message, before anything is
looked at.  A lenient simulator would let a driver that builds or reorders
XML by hand pass CI and fail on hardware.

The only machine-readable form of that schema at hand is pypowervm's: its
wrappers declare the child order of each element they build
(``child_order`` of the ``pvm_type`` classes) and insert every element they
add in that order.  The orders here are read from those classes at first
use, so they are pypowervm 1.1.27's, not a copy that could drift.  Where
pypowervm declares no order (``DedicatedProcessorConfiguration``,
``PartitionIOConfiguration``, ``Port``...) the element is not checked, and
neither is anything below it: the check is at least as strict as pypowervm
needs and no stricter than the evidence.  The validator's message text is
assumed (Xerces' ``cvc-complex-type.2.4.a`` wording, which the HMC puts
after ``REST0001``); nothing may match on it.
"""

import functools

from lxml import etree

from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import SimulatorError

UNMARSHAL = 'REST0001 Failed to unmarshal input payload'


@functools.lru_cache(maxsize=1)
def orders():
    """``{path: child order}``; a path is a tuple of element names.

    A value of ``(member,)`` marked by :data:`LIST` is a container whose
    children are all ``member`` (after an optional Metadata).
    """
    from pypowervm.wrappers import base_partition as bp
    from pypowervm.wrappers import logical_partition as lpar
    from pypowervm.wrappers import storage as stor
    from pypowervm.wrappers import virtual_io_server as vios

    def of(cls):
        return tuple(cls._child_order)

    out = {}
    for kind, cls in ((vocab.LPAR_KIND, lpar.LPAR),
                      (vocab.VIOS_KIND, vios.VIOS)):
        out[(kind,)] = of(cls)
        out[(kind, 'PartitionCapabilities')] = of(bp.PartitionCapabilities)
        out[(kind, 'PartitionMemoryConfiguration')] = of(
            bp.PartitionMemoryConfiguration)
        out[(kind, 'PartitionProcessorConfiguration')] = of(
            bp.PartitionProcessorConfiguration)
        out[(kind, 'PartitionProcessorConfiguration',
             'SharedProcessorConfiguration')] = of(
            bp.SharedProcessorConfiguration)
    from pypowervm.wrappers import management_console as mc
    out[('ManagementConsole',)] = of(mc.ManagementConsole)
    out[('ManagementConsole', 'AuthorizedKeys')] = LIST + ('AuthorizedKey',)
    pvs = (vocab.VIOS_KIND, 'PhysicalVolumes')
    out[pvs] = LIST + ('PhysicalVolume',)
    out[pvs + ('PhysicalVolume',)] = of(stor.PV)
    mappings = (vocab.VIOS_KIND, 'VirtualFibreChannelMappings')
    out[mappings] = LIST + ('VirtualFibreChannelMapping',)
    mapping = mappings + ('VirtualFibreChannelMapping',)
    out[mapping] = of(vios.VFCMapping)
    out[mapping + ('ClientAdapter',)] = of(stor.VFCClientAdapterElement)
    out[mapping + ('ServerAdapter',)] = of(stor.VFCServerAdapterElement)
    return out


#: Marks a container order: ``LIST + (member,)``.
LIST = ('*list*',)


def _refuse(detail):
    raise SimulatorError(400, '%s: %s' % (UNMARSHAL, detail))


def _local(elem):
    return etree.QName(elem).localname


def problems(root):
    """The first schema violation below ``root`` as text, or None.

    Checks the paths :func:`orders` knows, recursively: every child named
    in the parent's order, and the children in that order (a name may
    repeat, as list members do).  A VIOS POST carries thousands of
    mappings: the walk uses precomputed positions and plain tag strings.
    """
    table = _positions()

    def walk(elem, path):
        order, positions = table.get(path, (None, None))
        if order is None:
            return None
        last = -1
        for child in elem:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = tag[tag.find('}') + 1:]
            index = positions.get(name)
            if index is None:
                return _invalid(child, order[max(last, 0):] or order)
            if index < last:
                return _invalid(child, order[last:])
            last = index
            if len(child):
                found = walk(child, path + (name,))
                if found:
                    return found
        return None

    return walk(root, (_local(root),))


@functools.lru_cache(maxsize=1)
def _positions():
    """``{path: (order, {name: position})}``; a container's members all
    share one position after Metadata."""
    out = {}
    for path, order in orders().items():
        if order[:1] == LIST:
            order = ('Metadata', order[1])
        out[path] = (order, {name: i for i, name in enumerate(order)})
    return out


def _invalid(child, expected):
    return ("cvc-complex-type.2.4.a: Invalid content was found starting "
            "with element '%s' (in %s). One of '{%s}' is expected."
            % (_local(child), _local(child.getparent()),
               ', '.join(expected[:6]) + (', ...' if len(expected) > 6
                                          else '')))


def check(root):
    """Refuse (400, REST0001) a body the console could not unmarshal."""
    found = problems(root)
    if found:
        _refuse(found)
