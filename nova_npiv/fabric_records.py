"""The owner of one instance's fabric state while an operation runs.

:mod:`nova_npiv.fabric_meta` is the codec of the ``system_metadata`` keys;
this is what the volume driver, the migration steps and the storage tasks
hold instead of decoding those keys again at every step.  A
:class:`FabricRecords` decodes the configured fabrics once, hands out typed
:class:`PortMapEntry` values, writes changes back through the codec and
saves the instance once per change set.

The instance object is shared: nova refreshes it, and a FeedTask's
post-execute step (:class:`~nova_npiv.tasks.storage.SaveFabricState`) or
another volume of the same operation writes the same keys.  So the decoded
view is kept only while the stored values it was decoded from are unchanged;
comparing them costs a dict scan, decoding again only happens after someone
else wrote.

In memory the port map is a list of :class:`PortMapEntry`; pypowervm's
``(phys, 'V1 V2')`` string pair exists only at the pypowervm boundary
(:attr:`PortMapEntry.pvm`, :func:`pvm`).
"""

import collections

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import wwpn as wwpn_util


class PortMapEntry(collections.namedtuple(
        'PortMapEntry', ['phys', 'active', 'partner'])):
    """One client adapter: its physical port and its two WWPNs.

    ``active`` is the WWPN logged in on the fabric, ``partner`` the one the
    adapter logs in with after a live migration.  All normalised.
    """

    __slots__ = ()

    @classmethod
    def from_pvm(cls, entry):
        """From pypowervm's ``(phys, 'V1 V2')``, normalising every WWPN."""
        phys, pair = entry
        active, partner = wwpn_util.normalize_list(pair.split())
        return cls(wwpn_util.normalize(phys), active, partner)

    @property
    def pvm(self):
        """pypowervm's ``(phys, 'V1 V2')``, for ``vfc_mapper``."""
        return (self.phys, '%s %s' % (self.active, self.partner))

    @property
    def pair(self):
        return (self.active, self.partner)

    @property
    def key(self):
        """The pair as the VIOS reports it: in no particular order."""
        return frozenset(self.pair)

    def flipped(self):
        """The same adapter with the live-migration partner logged in."""
        return self._replace(active=self.partner, partner=self.active)

    def on(self, phys):
        """The same adapter through another physical port."""
        return self._replace(phys=wwpn_util.normalize(phys))


def pvm(entries):
    """pypowervm's port map for ``entries``."""
    return [e.pvm for e in entries]


def from_pvm(port_map):
    return [PortMapEntry.from_pvm(e) for e in port_map]


class Record(collections.namedtuple('Record', ['fabric', 'state',
                                               'entries'])):
    """One fabric's state and its client adapters, in port map order."""

    __slots__ = ()

    @property
    def mapped(self):
        return self.state in fabric_meta.MAPPED_STATES

    @property
    def phys_ports(self):
        return [e.phys for e in self.entries]


class FabricRecords(object):
    """The fabric records of ``instance`` for the fabrics ``fabrics``.

    Reading a fabric whose keys are corrupt raises its
    :class:`~nova_npiv.exception.CorruptFabricMetadata` (the first in fabric
    order when several are asked for); :meth:`readable` and :meth:`errors`
    serve the callers that must go on despite them (delete, audit).
    """

    def __init__(self, instance, fabrics):
        self.instance = instance
        self.fabrics = list(fabrics)
        self._stamp = None
        self._decoded = {}
        self._changed = False

    # -- reading -----------------------------------------------------------

    def _ours(self):
        sysmeta = self.instance.system_metadata or {}
        return {k: v for k, v in sysmeta.items()
                if isinstance(k, str) and
                (k.startswith(fabric_meta.STATE_PREFIX) or
                 k.startswith(fabric_meta.MAP_PREFIX))}

    def _view(self):
        stamp = self._ours()
        if stamp != self._stamp:
            decoded = {}
            for fabric in self.fabrics:
                try:
                    rec = fabric_meta.get_fabric(self.instance, fabric)
                except exception.CorruptFabricMetadata as err:
                    decoded[fabric] = err
                else:
                    # The codec has normalised every WWPN already.
                    decoded[fabric] = Record(fabric, rec.state, [
                        PortMapEntry(phys, *pair.split())
                        for phys, pair in rec.port_map])
            self._stamp, self._decoded = stamp, decoded
        return self._decoded

    def __getitem__(self, fabric):
        found = self._view()[fabric]
        if isinstance(found, exception.CorruptFabricMetadata):
            raise found
        return found

    def __iter__(self):
        """Every fabric's record, in configured order; corrupt ones raise."""
        return iter([self[f] for f in self.fabrics])

    def items(self):
        return [(rec.fabric, rec) for rec in self]

    def readable(self):
        """Records of the fabrics whose keys decode, in fabric order."""
        return [found for found in self._view().values()
                if isinstance(found, Record)]

    def errors(self):
        """``{fabric: CorruptFabricMetadata}`` of the unreadable fabrics."""
        return {f: found for f, found in self._view().items()
                if isinstance(found, exception.CorruptFabricMetadata)}

    def fabrics_where(self, predicate):
        return [rec.fabric for rec in self if predicate(rec)]

    def entries(self, fabrics=None):
        """Client adapters of ``fabrics`` (default all), fabric order."""
        wanted = self.fabrics if fabrics is None else fabrics
        return [e for f in wanted for e in self[f].entries]

    def active_wwpns(self):
        """WWPNs logged in on the fabrics (what the connector reports)."""
        return [e.active for e in self.entries()]

    def partner_wwpns(self):
        """Live-migration partner WWPNs (what the destination reports)."""
        return [e.partner for e in self.entries()]

    def all_wwpns(self):
        """Both WWPNs of every pair, pairs kept together, fabric order."""
        return [w for e in self.entries() for w in e.pair]

    # -- writing -----------------------------------------------------------

    def set(self, fabric, state, entries=None):
        """Record ``fabric`` as ``state``; ``entries`` default: as they are.

        Validated by the codec before anything is written (ValueError).
        Written to the instance now, saved by :meth:`save`.
        """
        if entries is None:
            entries = self[fabric].entries
        fabric_meta.set_fabric(self.instance, fabric, state, pvm(entries))
        self._changed = True

    def save(self, always=False):
        """Save the instance if anything was set since the last save."""
        if not (self._changed or always):
            return False
        self.instance.save()
        self._changed = False
        return True
