"""Read-only views of the simulated estate, as frozen snapshots.

Tests, the CLI, benchmarks and the deployment test's fabric lookup inspect
the estate through these; a snapshot never aliases the live state, so a
caller cannot corrupt it or race with request threads.  Mixed into
:class:`~nova_npiv.simulator.model.Model`, whose lock and indexes they use.
"""

import collections

from nova_npiv.simulator import pools
from nova_npiv.simulator import state as st
from nova_npiv.simulator.vocab import RUNNING


class SnapshotQueries(object):
    """Queries of :class:`~nova_npiv.simulator.model.Model`."""

    def _systems_for(self, system):
        if system is None:
            return list(self._systems.values())
        sysm = self.find_system(system)
        if sysm is None:
            raise KeyError('no managed system %r' % system)
        return [sysm]

    def systems(self):
        with self.lock:
            return [st.system_snapshot(s) for s in self._systems.values()]

    def system(self, key):
        with self.lock:
            return st.system_snapshot(self._systems_for(key)[0])

    def pools(self, system):
        """The system's configured shared processor pools (the default
        one included), each with the names of its partitions."""
        with self.lock:
            sysm = self._systems_for(system)[0]
            return [st.Pool(p.id, p.uuid, p.name, p.max_units,
                            tuple(m.name for m in pools.members(sysm, p)))
                    for _id, p in sorted(sysm.pools.items())
                    if p.configured]

    def vioses(self, system=None):
        with self.lock:
            return [st.Vios(s.name, v.name, v.id, v.uuid, v.state,
                               v.rmc_state, v.is_mgmt, v.max_slots)
                    for s in self._systems_for(system)
                    for v in s.vioses.values()]

    def lpars(self, system=None):
        with self.lock:
            return [st.lpar_snapshot(lp) for s in self._systems_for(system)
                    for lp in s.lpars.values()]

    def lpar(self, key, system=None):
        """An LPAR snapshot by name or UUID (None if absent)."""
        with self.lock:
            for s in self._systems_for(system):
                for lp in s.lpars.values():
                    if lp.name == key or lp.uuid.upper() == str(key).upper():
                        return st.lpar_snapshot(lp)
            return None

    def ports(self, system=None):
        with self.lock:
            return [st.Port(s.name, v.name, p.name, p.wwpn, p.fabric,
                               p.total, p.available, p.location)
                    for s in self._systems_for(system)
                    for v in s.vioses.values() for p in v.ports.values()]

    def mappings(self, system=None):
        with self.lock:
            out = []
            for s in self._systems_for(system):
                lpars = {lp.id: lp for lp in s.lpars.values()}
                for v in s.vioses.values():
                    for m in v.maps.values():
                        out.append(st.mapping_snapshot(s, v, m, lpars))
            return out

    def fabric_logins(self):
        """Per fabric, the client WWPNs its name server sees logged in.

        What a SAN switch would answer (the FC zone manager's lookup
        service asks it): an adapter logs in through the physical port it is
        mapped to while its partition runs, and the management partition's
        (staging) at once; an unmapped WWPN, one of a partition that is not
        activated or one behind a VIOS that is down never does.
        """
        running = {(v.system, v.name) for v in self.vioses()
                   if v.state == RUNNING}
        logins = collections.defaultdict(set)
        for m in self.mappings():
            if (m.logged_in and m.fabric is not None
                    and (m.system, m.vios) in running):
                logins[str(m.fabric)].add(m.logged_in.lower())
        return {fabric: sorted(wwpns) for fabric, wwpns in logins.items()}
