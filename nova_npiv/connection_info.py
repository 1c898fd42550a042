"""Validation of Cinder Fibre Channel ``connection_info``.

Everything the NPIV adapter does (VIOS mappings, metadata) is hard to undo
half-way, so the volume's ``connection_info`` is checked completely before
anything changes, and a bad one is reported as
:class:`~nova_npiv.exception.InvalidConnectionInfo` naming the exact field
(``data.target_wwns[2]``, ``data.initiator_target_map[<wwpn>]``...).

The accepted shapes follow os-brick's FC connector
(``_add_targets_to_connection_properties``), so that anything a Cinder driver
hands to libvirt compute nodes also works here:

* ``target_wwns`` wins when it is non-empty, otherwise ``target_wwn``; either
  may be one string or a list of strings.  Case, colons and a ``0x`` prefix do
  not matter (:mod:`nova_npiv.wwpn`).
* ``target_luns`` wins when it is non-empty, otherwise ``target_lun``, which
  defaults to 0 when the key is absent (os-brick's default).  One LUN for
  several targets applies to all of them; otherwise there must be one LUN per
  target.
* ``initiator_target_map`` is optional; when present (not None) it must be a
  dict.  Targets in it that are not in ``target_wwn(s)`` are accepted, as
  os-brick only warns about them.

Stricter than os-brick, because these are what corrupts mappings silently:

* LUNs must be real integers, 0 ≤ LUN < 2**64 (the SCSI LUN width).  bool is
  refused although it is an int subclass, and so are strings even when they
  look like numbers ('1'): os-brick rejects a string ``target_lun`` too, and
  accepting '01', ' 1' or '0x1' would mean guessing.
* A field that is present is validated even when os-brick would ignore it
  (``target_lun`` next to ``target_luns``): it is cheap, and disagreeing
  fields are a driver bug worth reporting.
* Initiators in ``initiator_target_map`` must be WWPNs of this instance.
  Both WWPNs of every pair are allowed, because a map built while the
  instance's connector reported the live-migration partner is still right.
"""

import collections

from nova_npiv import exception
from nova_npiv import wwpn as wwpn_util

FIBRE_CHANNEL = 'fibre_channel'

#: SCSI LUNs are 64-bit.
MAX_LUN = 2 ** 64 - 1


class FCTarget(collections.namedtuple(
        'FCTarget', ['volume_id', 'target_wwpns', 'target_luns',
                     'initiator_target_map'])):
    """Normalised targets of one FC volume.

    ``target_luns[i]`` is the LUN behind ``target_wwpns[i]``;
    ``initiator_target_map`` is None when Cinder sent none.
    """

    __slots__ = ()

    @property
    def targets(self):
        """``[(target wwpn, lun), ...]`` as os-brick calls them."""
        return list(zip(self.target_wwpns, self.target_luns, strict=True))


def _volume_id(connection_info):
    if not isinstance(connection_info, dict):
        return 'unknown'
    value = connection_info.get('serial')
    if value in (None, ''):
        data = connection_info.get('data')
        if isinstance(data, dict):
            value = data.get('volume_id')
    if value in (None, ''):
        return 'unknown'
    return str(value)


class _Checker(object):
    """Carries the volume id so each check only names field and problem."""

    def __init__(self, volume_id):
        self.volume_id = volume_id

    def fail(self, field, reason):
        raise exception.InvalidConnectionInfo(
            volume_id=self.volume_id, field=field, reason=reason)

    def wwpn(self, field, value):
        try:
            return wwpn_util.normalize(value)
        except ValueError:
            self.fail(field, 'is %r, not a WWPN (16 hex digits, colons '
                      'allowed)' % (value,))

    def wwpn_list(self, field, value):
        """Normalised WWPNs of a string or list field; [] when empty."""
        if isinstance(value, str):
            if not value.strip():
                return []
            return [self.wwpn(field, value)]
        if not isinstance(value, (list, tuple)):
            self.fail(field, 'is %r, not a WWPN string or a list of WWPNs'
                      % (value,))
        return [self.wwpn('%s[%d]' % (field, i), v)
                for i, v in enumerate(value)]

    def lun(self, field, value):
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, 'is %r (%s), not an integer LUN'
                      % (value, type(value).__name__))
        if value < 0 or value > MAX_LUN:
            self.fail(field, 'is %r, outside the LUN range 0..2**64-1'
                      % (value,))
        return value

    def lun_list(self, field, value):
        if not isinstance(value, (list, tuple)):
            self.fail(field, 'is %r, not a list of integer LUNs' % (value,))
        return [self.lun('%s[%d]' % (field, i), v)
                for i, v in enumerate(value)]


def validate(connection_info, instance_wwpns=None):
    """Check an FC ``connection_info`` and return its :class:`FCTarget`.

    :param instance_wwpns: every client WWPN of the instance (both of each
        pair, all fabrics), in any spelling; None skips the check that the
        ``initiator_target_map`` initiators belong to the instance.
    :raises InvalidConnectionInfo: naming the first bad field.
    """
    check = _Checker(_volume_id(connection_info))
    if not isinstance(connection_info, dict):
        check.fail('connection_info', 'is %r, not a dict'
                   % (type(connection_info).__name__,))

    dvt = connection_info.get('driver_volume_type')
    if dvt != FIBRE_CHANNEL:
        check.fail('driver_volume_type', 'is %r, expected %r'
                   % (dvt, FIBRE_CHANNEL))

    if 'data' not in connection_info:
        check.fail('data', 'is missing')
    data = connection_info['data']
    if not isinstance(data, dict):
        check.fail('data', 'is %r, not a dict' % (type(data).__name__,))

    targets = _targets(check, data)
    luns = _luns(check, data, len(targets))
    itmap = _itmap(check, data, instance_wwpns)
    return FCTarget(check.volume_id, targets, luns, itmap)


def _targets(check, data):
    # Validate every target field present, use the one os-brick would use.
    found = {}
    for name in ('target_wwns', 'target_wwn'):
        if data.get(name) is not None:
            found[name] = check.wwpn_list('data.' + name, data[name])
    for name in ('target_wwns', 'target_wwn'):
        if found.get(name):
            return found[name]
    field = ('data.target_wwns' if 'target_wwns' in data
             and 'target_wwn' not in data else 'data.target_wwn')
    seen = ', '.join('%s=%r' % (n, data[n])
                     for n in ('target_wwn', 'target_wwns') if n in data)
    check.fail(field, 'is missing or empty (%s): the volume has no target '
               'WWPNs' % (seen or 'neither target_wwn nor target_wwns',))


def _luns(check, data, count):
    luns = None
    if data.get('target_luns') is not None:
        luns = check.lun_list('data.target_luns', data['target_luns'])
    single = None
    if 'target_lun' in data:
        single = check.lun('data.target_lun', data['target_lun'])
    if luns:
        field = 'data.target_luns'
    else:
        luns = [0 if single is None else single]
        field = 'data.target_lun'
    if len(luns) == count:
        return luns
    if len(luns) == 1:
        return luns * count
    check.fail(field, 'has %d LUN(s) %r for %d target WWPN(s): needs one, '
               'or one per target' % (len(luns), luns, count))


def _itmap(check, data, instance_wwpns):
    if data.get('initiator_target_map') is None:
        return None
    raw = data['initiator_target_map']
    field = 'data.initiator_target_map'
    if not isinstance(raw, dict):
        check.fail(field, 'is %r, not a dict of initiator WWPN to target '
                   'WWPNs' % (raw,))
    allowed = None
    if instance_wwpns is not None:
        allowed = set(wwpn_util.normalize_list(instance_wwpns))
    result = {}
    for initiator, targets in raw.items():
        key_field = '%s[%r]' % (field, initiator)
        norm = check.wwpn(key_field, initiator)
        if allowed is not None and norm not in allowed:
            check.fail(key_field, "is not one of this instance's virtual "
                       'FC WWPNs (%s)'
                       % (', '.join(sorted(allowed)) or 'none',))
        if not isinstance(targets, (list, tuple)):
            check.fail(key_field, 'is %r, not a list of target WWPNs'
                       % (targets,))
        normalised = [check.wwpn('%s[%d]' % (key_field, i), t)
                      for i, t in enumerate(targets)]
        merged = result.setdefault(norm, [])
        merged.extend(t for t in normalised if t not in merged)
    return result
