"""Per-instance, per-fabric NPIV state kept in ``instance.system_metadata``.

Nova has no table for plugin state, and the WWPNs of an instance must survive
restarts of nova-compute, reschedules and live migration (system_metadata
travels with the instance record). So the fabric state machine
(doc/source/design/state-machine.rst) lives in two keys per fabric:

``fabric_state_<F>``
    ``unmapped``, ``mgmt_mapped`` or ``inst_mapped``.
``npiv_adpt_wwpns_<F>``
    ``P1,V1a,V1b,P2,V2a,V2b,...``: per physical port chosen on fabric F, its
    WWPN and the two WWPNs of the client adapter mapped through it.  ``V?a``
    is logged in on the fabric, ``V?b`` is its live-migration partner.

Nova stores every system_metadata value in a 255-character column; one token
costs 17 characters, so eight ports (24 tokens) do not fit in one value.  The
encoding is therefore cut at token boundaries into ``npiv_adpt_wwpns_<F>``,
``npiv_adpt_wwpns_<F>_2``, ``npiv_adpt_wwpns_<F>_3``... each at most 255
characters.  Because ``_<digits>`` is how spill keys are recognised, fabric
names that end in ``_<digits>`` are refused (their keys would be ambiguous).

In memory a port map is the pypowervm representation: a list of
``(phys_port_wwpn, 'V1 V2')`` tuples, WWPNs as 16 lower-case hex digits.

Metadata can be corrupted by hand edits, by older releases or by a truncating
database; readers raise :class:`~nova_npiv.exception.CorruptFabricMetadata`
naming the instance and the key, and :func:`check_instance` reports the same
problems as strings for periodic tasks and the audit command, which must
never crash on one bad instance.
"""

import collections
import re
import uuid as uuid_lib

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import wwpn as wwpn_util

UNMAPPED = 'unmapped'
MGMT_MAPPED = 'mgmt_mapped'
INST_MAPPED = 'inst_mapped'
STATES = (UNMAPPED, MGMT_MAPPED, INST_MAPPED)
#: States in which client adapters exist on the VIOSes, so their WWPNs must be
#: known: losing them would leak the mappings.
MAPPED_STATES = (MGMT_MAPPED, INST_MAPPED)

STATE_PREFIX = 'fabric_state_'
MAP_PREFIX = 'npiv_adpt_wwpns_'

#: Width of nova's ``instance_system_metadata.value`` column.
MAX_VALUE_LEN = 255

_SPILL_SUFFIX = re.compile(r'^_(\d+)$')
_ENDS_IN_SPILL_SUFFIX = re.compile(r'_\d+$')


class FabricRecord(collections.namedtuple(
        'FabricRecord', ['fabric', 'state', 'port_map'])):
    """One fabric's decoded state; ``port_map`` is normalised."""

    __slots__ = ()

    @property
    def mapped(self):
        return self.state in MAPPED_STATES


def state_key(fabric):
    _check_fabric_name(fabric)
    return STATE_PREFIX + fabric


def map_key(fabric, part=1):
    """Key of part ``part`` (1-based) of the fabric's port map encoding."""
    _check_fabric_name(fabric)
    if part == 1:
        return MAP_PREFIX + fabric
    return '%s%s_%d' % (MAP_PREFIX, fabric, part)


def _check_fabric_name(fabric):
    # The name comes from nova.conf, so a bad one is a configuration error
    # rather than a programming error.
    if not isinstance(fabric, str) or not fabric:
        raise exception.NPIVConfigError(
            option='[%s] fabrics' % npiv_conf.GROUP,
            reason='fabric name %r is empty or not a string' % (fabric,))
    if _ENDS_IN_SPILL_SUFFIX.search(fabric):
        raise exception.NPIVConfigError(
            option='[%s] fabrics' % npiv_conf.GROUP,
            reason='fabric name %r ends in _<digits>, which collides with '
                   'the numbered keys that long port maps spill into'
                   % fabric)


def _sysmeta(instance):
    sysmeta = instance.system_metadata
    return {} if sysmeta is None else sysmeta


def _spill_keys(sysmeta, fabric):
    """``{part number: key}`` of every spill key present for ``fabric``.

    Includes malformed numbers (``_0``, ``_1``, ``_02``) so that they are
    reported by the reader and removed by the writer.
    """
    base = MAP_PREFIX + fabric
    found = {}
    for key in list(sysmeta):
        if not isinstance(key, str) or not key.startswith(base):
            continue
        match = _SPILL_SUFFIX.match(key[len(base):])
        if match:
            found.setdefault(int(match.group(1)), []).append(key)
    return found


# --------------------------------------------------------------------------
# Port maps


def normalize_port_map(port_map):
    """Validate a pypowervm-style port map and return it normalised.

    Raises ValueError: a port map is produced by our own code from the
    platform's allocation job, so a bad one is a bug to stop before it is
    persisted, not corrupt metadata.
    """
    if isinstance(port_map, (str, bytes)) or not hasattr(port_map, '__iter__'):
        raise ValueError('port map %r is not a list of '
                         '(port WWPN, "V1 V2") pairs' % (port_map,))
    result = []
    seen = set()
    for index, entry in enumerate(port_map):
        try:
            phys, clients = entry
        except (TypeError, ValueError):
            raise ValueError('port map entry %d %r is not a (port WWPN, '
                             '"V1 V2") pair' % (index, entry))
        if not isinstance(clients, str) or len(clients.split()) != 2:
            raise ValueError('port map entry %d: client WWPNs %r are not two '
                             'WWPNs separated by a space' % (index, clients))
        try:
            phys = wwpn_util.normalize(phys)
            pair = [wwpn_util.normalize(c) for c in clients.split()]
        except ValueError as err:
            raise ValueError('port map entry %d: %s' % (index, err))
        for client in pair:
            if client in seen:
                raise ValueError('port map entry %d: client WWPN %s is used '
                                 'twice' % (index, client))
            seen.add(client)
        result.append((phys, ' '.join(pair)))
    return result


def flip(port_map):
    """Swap each client pair, so the live-migration partner logs in next."""
    return [(phys, ' '.join(reversed(pair.split())))
            for phys, pair in normalize_port_map(port_map)]


def port_map_wwpns(port_map, which='all'):
    """Client WWPNs of a port map: ``'active'``, ``'partner'`` or ``'all'``.

    ``'all'`` keeps each pair together (active, partner, next active...).
    """
    indexes = {'active': (0,), 'partner': (1,), 'all': (0, 1)}[which]
    result = []
    for _phys, pair in port_map:
        clients = pair.split()
        result.extend(clients[i] for i in indexes)
    return result


def encode_port_map(port_map):
    """Values to store for ``port_map``: part 1, part 2, ... (≤255 each)."""
    tokens = []
    for phys, pair in normalize_port_map(port_map):
        tokens.append(phys)
        tokens.extend(pair.split())
    parts = []
    current = []
    length = 0
    for token in tokens:
        extra = len(token) + (1 if current else 0)
        if current and length + extra > MAX_VALUE_LEN:
            parts.append(','.join(current))
            current, length = [], 0
            extra = len(token)
        current.append(token)
        length += extra
    if current:
        parts.append(','.join(current))
    return parts


# --------------------------------------------------------------------------
# Reading


def _corrupt(instance, key, reason):
    return exception.CorruptFabricMetadata(
        instance=getattr(instance, 'uuid', None), key=key, reason=reason)


def _read_map(instance, sysmeta, fabric):
    """Decode the port map keys of ``fabric``; [] when absent."""
    main = map_key(fabric)
    spills = _spill_keys(sysmeta, fabric)
    for number, keys in sorted(spills.items()):
        for key in keys:
            if number < 2 or key != map_key(fabric, number):
                raise _corrupt(instance, key,
                               'not a valid spill key of %s (parts are '
                               'numbered from 2 without leading zeros)'
                               % main)
    value = sysmeta.get(main)
    if value is None:
        if spills:
            raise _corrupt(instance, main,
                           'missing, but its continuation key(s) %s exist'
                           % ', '.join(map_key(fabric, n)
                                       for n in sorted(spills)))
        return []
    last = max(spills) if spills else 1
    values = [(main, value)]
    for number in range(2, last + 1):
        key = map_key(fabric, number)
        if sysmeta.get(key) is None:
            raise _corrupt(instance, key,
                           'missing, but later part %s exists: the port map '
                           'is incomplete' % map_key(fabric, last))
        values.append((key, sysmeta[key]))

    tokens = []
    for key, text in values:
        if not isinstance(text, str):
            raise _corrupt(instance, key, 'value %r is not a string'
                           % (text,))
        if not text.strip():
            if len(values) > 1:
                raise _corrupt(instance, key, 'empty part of a port map '
                               'that spans %d keys' % len(values))
            continue
        for position, token in enumerate(text.split(',')):
            try:
                tokens.append(wwpn_util.normalize(token))
            except ValueError:
                raise _corrupt(instance, key,
                               'token %d %r is not a WWPN (16 hex digits)'
                               % (position + 1, token))
    if len(tokens) % 3:
        raise _corrupt(instance, main,
                       '%d WWPNs is not a multiple of 3 (port, active, '
                       'partner)' % len(tokens))
    port_map = [(tokens[i], '%s %s' % (tokens[i + 1], tokens[i + 2]))
                for i in range(0, len(tokens), 3)]
    try:
        return normalize_port_map(port_map)
    except ValueError as err:
        raise _corrupt(instance, main, str(err))


def recorded_fabrics(instance):
    """Fabrics the instance has a recorded state for, whatever the config.

    A live-migration destination or an operator tool may not share the
    configuration of the host that wrote the metadata.  A state key no
    fabric could have written (a hand edit: ``fabric_state_``,
    ``fabric_state_A_1``) names no fabric: reading it as one would raise a
    configuration error in the audit; :func:`check_instance` reports the
    key instead.
    """
    names = (key[len(STATE_PREFIX):] for key in _sysmeta(instance)
             if isinstance(key, str) and key.startswith(STATE_PREFIX))
    return sorted(n for n in names
                  if n and not _ENDS_IN_SPILL_SUFFIX.search(n))


def get_fabric(instance, fabric):
    """Decoded state and port map of one fabric (absent: unmapped, [])."""
    sysmeta = _sysmeta(instance)
    skey = state_key(fabric)
    state = sysmeta.get(skey)
    if state is None:
        state = UNMAPPED
    elif state not in STATES:
        raise _corrupt(instance, skey, 'unknown state %r (expected one of %s)'
                       % (state, ', '.join(STATES)))
    port_map = _read_map(instance, sysmeta, fabric)
    if state in MAPPED_STATES and not port_map:
        raise _corrupt(instance, map_key(fabric),
                       'missing or empty although %s is %s: the mapped '
                       "client adapters' WWPNs are unknown" % (skey, state))
    return FabricRecord(fabric, state, port_map)


def get_fabrics(instance, fabrics):
    return [get_fabric(instance, f) for f in fabrics]


def active_wwpns(instance, fabrics):
    """WWPNs logged in on the fabrics (what the connector reports)."""
    return [w for rec in get_fabrics(instance, fabrics)
            for w in port_map_wwpns(rec.port_map, 'active')]


def partner_wwpns(instance, fabrics):
    """Live-migration partner WWPNs (what the destination reports)."""
    return [w for rec in get_fabrics(instance, fabrics)
            for w in port_map_wwpns(rec.port_map, 'partner')]


def all_wwpns(instance, fabrics):
    """Both WWPNs of every pair, pairs kept together, fabrics in order."""
    return [w for rec in get_fabrics(instance, fabrics)
            for w in port_map_wwpns(rec.port_map, 'all')]


# --------------------------------------------------------------------------
# Writing


def _remove_map_keys(sysmeta, fabric):
    sysmeta.pop(map_key(fabric), None)
    for keys in _spill_keys(sysmeta, fabric).values():
        for key in keys:
            sysmeta.pop(key, None)


def set_fabric(instance, fabric, state, port_map):
    """Record a fabric's state and port map; the caller saves the instance.

    Everything is validated before ``system_metadata`` is touched, so a
    refused record leaves the old one intact.  Raises ValueError for a bad
    state or port map (see :func:`normalize_port_map`).
    """
    skey = state_key(fabric)
    if state not in STATES:
        raise ValueError('instance %s key %s: unknown state %r'
                         % (instance.uuid, skey, state))
    try:
        port_map = normalize_port_map(port_map)
    except ValueError as err:
        raise ValueError('instance %s key %s: %s'
                         % (instance.uuid, map_key(fabric), err))
    if state in MAPPED_STATES and not port_map:
        raise ValueError('instance %s key %s: state %s needs a port map'
                         % (instance.uuid, skey, state))
    parts = encode_port_map(port_map)

    sysmeta = instance.system_metadata
    _remove_map_keys(sysmeta, fabric)
    for number, value in enumerate(parts, start=1):
        sysmeta[map_key(fabric, number)] = value
    sysmeta[skey] = state
    return FabricRecord(fabric, state, port_map)


def clear_fabric(instance, fabric):
    """Forget a fabric entirely (state and port map, spill keys included)."""
    sysmeta = instance.system_metadata
    sysmeta.pop(state_key(fabric), None)
    _remove_map_keys(sysmeta, fabric)


# --------------------------------------------------------------------------
# Audit


def check_instance(instance, fabrics):
    """Problems with an instance's fabric metadata, as strings; never raises.

    Besides what :func:`get_fabric` rejects, reports client WWPNs used on two
    fabrics and keys of fabrics that are no longer configured (their
    mappings may still exist on the VIOSes).
    """
    uuid = getattr(instance, 'uuid', None)
    try:
        sysmeta = _sysmeta(instance)
        if not hasattr(sysmeta, 'get'):
            return ['Instance %s: system_metadata is %r, not a dict'
                    % (uuid, type(sysmeta).__name__)]
        fabrics = list(fabrics)
    except Exception as err:
        return ['Instance %s: cannot read system_metadata: %s' % (uuid, err)]

    errors = []
    owner = {}
    for fabric in fabrics:
        try:
            record = get_fabric(instance, fabric)
        except Exception as err:
            errors.append(str(err))
            continue
        for client in port_map_wwpns(record.port_map):
            if client in owner:
                errors.append('Instance %s: client WWPN %s is on fabric %s '
                              '(key %s) and on fabric %s' % (
                                  uuid, client, fabric, map_key(fabric),
                                  owner[client]))
            owner[client] = fabric

    try:
        errors.extend(_unconfigured_keys(uuid, sysmeta, fabrics))
    except Exception as err:
        errors.append('Instance %s: cannot scan system_metadata keys: %s'
                      % (uuid, err))
    return errors


def _unconfigured_keys(uuid, sysmeta, fabrics):
    known = set()
    for fabric in fabrics:
        try:
            known.add(state_key(fabric))
            known.add(map_key(fabric))
        except Exception:
            continue
        known.update(k for keys in _spill_keys(sysmeta, fabric).values()
                     for k in keys)
    errors = []
    for key in sorted(k for k in sysmeta if isinstance(k, str)):
        if key in known:
            continue
        if key.startswith(STATE_PREFIX) or key.startswith(MAP_PREFIX):
            errors.append('Instance %s: key %s belongs to a fabric that is '
                          'not configured (configured: %s)'
                          % (uuid, key, ', '.join(fabrics) or 'none'))
    return errors


# --------------------------------------------------------------------------
# Storage host name

HOST_NAME_PREFIX = 'npiv-'
_HOST_NAME_HEX = 26


def host_name(instance):
    """Name under which storage back ends register this instance as a host.

    Every NPIV instance logs in with its own WWPNs, so the array needs one
    host object per instance, not one per compute node.  The name is
    ``npiv-`` plus the first 26 hex digits of the instance UUID (31
    characters) because:

    * it depends only on the UUID, which never changes, so it is the same on
      every compute host (live migration, evacuation) and after renames;
      ``instance.name`` is only unique within one cell and the display name
      changes;
    * 31 characters of ``[a-z0-9-]`` starting with a letter fit the
      strictest common back ends (HPE 3PAR: 31 characters; Pure: no
      underscores; dots are cut off by some drivers), and lower case only
      means case-folding arrays cannot merge two names;
    * 26 hex digits keep about 100 random bits of a version-4 UUID, so
      collisions are not a practical concern, and the first 8 digits match
      the UUID's first group that operators grep for.

    nova's instances always have a UUID; anything else is refused rather
    than given a name no other host would derive.
    """
    raw = str(instance.uuid)
    try:
        digits = uuid_lib.UUID(raw).hex
    except ValueError:
        raise ValueError('instance UUID %r is not a UUID: no storage host '
                         'name can be derived from it' % raw)
    return HOST_NAME_PREFIX + digits[:_HOST_NAME_HEX]
