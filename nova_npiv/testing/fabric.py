"""A SAN fabric and a storage array, as a test FC backend sees them.

The fabric's name server is the simulator's read-only ``/fabric/logins``
(which client WWPNs are logged in, per fabric); the array's state -- LUNs,
which initiators each volume is presented to, and the zones -- is one JSON
file, so that the deployment test can compare it with nova and the VIOSes.
"""

import contextlib
import fcntl
import json
import os

import requests

from nova_npiv import wwpn as wwpn_util


def norm(wwpn):
    return wwpn_util.normalize(wwpn)


def parse_targets(spec):
    """``{'A': ['5005...'], ...}`` from ``A:t1|t2,B:t3`` (cinder.conf)."""
    out = {}
    for item in spec or ():
        if isinstance(spec, dict):
            fabric, targets = item, spec[item]
        else:
            fabric, _sep, targets = item.partition(':')
        out[fabric.strip()] = [norm(t) for t in targets.split('|') if t]
    if not out or not all(out.values()):
        raise ValueError('fabric targets must name at least one target WWPN '
                         'per fabric (FABRIC:WWPN|WWPN,...), got %r' % spec)
    return out


class NameServer(object):
    """The fabrics' name servers: who is logged in where."""

    def __init__(self, url, timeout=10.0):
        self.url = url.rstrip('/') + '/fabric/logins'
        self.timeout = timeout

    def logins(self):
        resp = requests.get(self.url, timeout=self.timeout)
        resp.raise_for_status()
        return {fabric: {norm(w) for w in wwpns}
                for fabric, wwpns in resp.json().items()}


def device_map(initiators, targets_by_fabric, logins):
    """Cinder's lookup-service answer: per fabric, the initiators logged in
    and the array's targets on it (fabrics with no initiator are left out).
    """
    wanted = {norm(w) for w in initiators}
    out = {}
    for fabric, targets in sorted(targets_by_fabric.items()):
        seen = sorted(wanted & logins.get(fabric, set()))
        if seen:
            out[fabric] = {'initiator_port_wwn_list': seen,
                           'target_port_wwn_list': list(targets)}
    return out


def initiator_target_map(dev_map):
    return {i: list(entry['target_port_wwn_list'])
            for entry in dev_map.values()
            for i in entry['initiator_port_wwn_list']}


class ArrayState(object):
    """The array's LUNs, presentations and the fabrics' zones, in a file.

    Every change is read-modify-write under an exclusive lock, because
    cinder-volume serves requests concurrently.
    """

    def __init__(self, path):
        self.path = path

    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)),
                    exist_ok=True)
        with open(self.path + '.lock', 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._load()
                yield state
                tmp = self.path + '.tmp'
                with open(tmp, 'w') as f:
                    json.dump(state, f, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self):
        try:
            with open(self.path) as f:
                state = json.load(f)
        except FileNotFoundError:
            state = {}
        state.setdefault('luns', {})
        state.setdefault('presented', {})
        state.setdefault('zones', {})
        return state

    def read(self):
        return self._load()

    # -- LUNs ------------------------------------------------------------

    def create_lun(self, volume_id, size_gb):
        with self._locked() as state:
            used = {lun['lun'] for lun in state['luns'].values()}
            lun = next(n for n in range(1, len(used) + 2) if n not in used)
            state['luns'][volume_id] = {'lun': lun, 'size_gb': size_gb}
            return lun

    def lun(self, volume_id):
        entry = self._load()['luns'].get(volume_id)
        if entry is None:
            raise KeyError('volume %s has no LUN on this array' % volume_id)
        return entry['lun']

    def resize_lun(self, volume_id, size_gb):
        with self._locked() as state:
            state['luns'][volume_id]['size_gb'] = size_gb

    def delete_lun(self, volume_id):
        with self._locked() as state:
            state['luns'].pop(volume_id, None)
            state['presented'].pop(volume_id, None)

    def used_gb(self):
        return sum(lun['size_gb'] for lun in self._load()['luns'].values())

    # -- presentations (LUN masking) ---------------------------------------

    def present(self, volume_id, initiators):
        with self._locked() as state:
            have = set(state['presented'].get(volume_id, []))
            state['presented'][volume_id] = sorted(have | set(initiators))

    def unpresent(self, volume_id, initiators):
        """Remove the presentation; return the initiators no volume uses.

        Those are the ones whose zones can go (as real FC drivers do, the
        zone stays while another volume is presented to the initiator).
        """
        with self._locked() as state:
            left = set(state['presented'].get(volume_id, [])) - set(
                initiators)
            if left:
                state['presented'][volume_id] = sorted(left)
            else:
                state['presented'].pop(volume_id, None)
            still = {i for ws in state['presented'].values() for i in ws}
            return sorted(set(initiators) - still)

    # -- zones -------------------------------------------------------------

    def add_zones(self, fabric, i_t_map):
        with self._locked() as state:
            zones = state['zones'].setdefault(fabric, {})
            for initiator, targets in i_t_map.items():
                have = set(zones.get(norm(initiator), []))
                zones[norm(initiator)] = sorted(
                    have | {norm(t) for t in targets})

    def delete_zones(self, fabric, i_t_map):
        with self._locked() as state:
            zones = state['zones'].get(fabric, {})
            for initiator in i_t_map:
                zones.pop(norm(initiator), None)
            if not zones:
                state['zones'].pop(fabric, None)

    def zoned(self):
        """{fabric: [initiator WWPN, ...]} of every zone."""
        return {f: sorted(z) for f, z in self._load()['zones'].items()}
