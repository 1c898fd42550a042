"""The flavor's ``powervm:*`` extra specs, checked, as LPAR builder input.

The keys and their meaning are those the retired nova-powervm driver
documented, so that flavors written for it keep working; the result is the
attribute dict of pypowervm's ``LPARBuilder`` (``pypowervm.utils.
lpar_builder``), whose standardiser then fills in defaults and checks the
whole against the managed system (memory region size, processor
compatibility modes, capabilities).

Every key is checked here on its own, so that a bad value is reported with
its key; what only the combination can tell (minimum above desired, memory
off the memory region size) is left to the standardiser, whose message is
reported with the flavor's ``powervm:*`` keys named.

Default.  Without any processor key the LPAR gets *dedicated* processors,
minimum = desired = maximum = the flavor's vCPUs, as nova-npiv always built
them: placement counts whole cores for them (see ``driver.py``), and
existing instances, tests and benchmark figures keep their shape.
nova-powervm's default was shared processors; a flavor gets them with
``powervm:dedicated_proc=false`` or any shared-processor key, and then
``[powervm] proc_units_factor`` processing units per vCPU unless
``powervm:proc_units`` says otherwise.
"""

import re

from pypowervm.utils import lpar_builder as lpb
from pypowervm.wrappers import base_partition as pvm_bp

from nova_npiv import exception

PREFIX = 'powervm:'

_TRUE = ('true', 't', 'yes', 'y', '1')
_FALSE = ('false', 'f', 'no', 'n', '0')

_DED_SHARING_MODES = {
    'share_idle_procs': pvm_bp.DedicatedSharingMode.SHARE_IDLE_PROCS,
    'keep_idle_procs': pvm_bp.DedicatedSharingMode.KEEP_IDLE_PROCS,
    'share_idle_procs_active':
        pvm_bp.DedicatedSharingMode.SHARE_IDLE_PROCS_ACTIVE,
    'share_idle_procs_always':
        pvm_bp.DedicatedSharingMode.SHARE_IDLE_PROCS_ALWAYS,
}

#: The display name of pool 0, which every managed system has.
DEFAULT_POOL = 'DefaultPool'


def _int(low, high):
    def parse(value):
        number = int(value)
        if not low <= number <= high:
            raise ValueError('must be between %d and %d' % (low, high))
        return number
    return parse


def _units(value):
    number = float(value)
    if number < lpb.PROC_UNITS_LOW_BOUND:
        raise ValueError('must be at least %.2f' % lpb.PROC_UNITS_LOW_BOUND)
    return number


def _bool(value):
    low = str(value).strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError('must be true or false')


def _choice(choices):
    def parse(value):
        if value not in choices:
            raise ValueError('must be one of %s' % ', '.join(sorted(choices)))
        return choices[value]
    return parse


def _compat(value):
    # nova-powervm accepted POWER7+ for POWER7_Plus, as operators write it.
    mode = re.sub(r'\+', '_Plus', value.strip())
    for known in pvm_bp.LPARCompat.ALL_VALUES:
        if known.lower() == mode.lower():
            return known
    raise ValueError('must be one of %s'
                     % ', '.join(pvm_bp.LPARCompat.ALL_VALUES))


def _ppt(value):
    if value not in lpb.ALLOWED_PPT_RATIOS:
        raise ValueError('must be one of %s'
                         % ', '.join(lpb.ALLOWED_PPT_RATIOS))
    return value


def _name(value):
    if not value.strip():
        raise ValueError('must name a shared processor pool')
    return value.strip()


#: key (without the prefix) -> (builder attribute, parser, processor kind)
#: kind: 'shared' or 'dedicated' keys choose the processor mode, None not.
SPECS = {
    'min_mem': (lpb.MIN_MEM, _int(lpb.MEM_LOW_BOUND, 2 ** 40), None),
    'max_mem': (lpb.MAX_MEM, _int(lpb.MEM_LOW_BOUND, 2 ** 40), None),
    'min_vcpu': (lpb.MIN_VCPU, _int(lpb.VCPU_LOW_BOUND, 2 ** 16), None),
    'max_vcpu': (lpb.MAX_VCPU, _int(lpb.VCPU_LOW_BOUND, 2 ** 16), None),
    'dedicated_proc': (lpb.DED_PROCS, _bool, None),
    'dedicated_sharing_mode': (lpb.SHARING_MODE,
                               _choice(_DED_SHARING_MODES), 'dedicated'),
    'proc_units': (lpb.PROC_UNITS, _units, 'shared'),
    'min_proc_units': (lpb.MIN_PROC_U, _units, 'shared'),
    'max_proc_units': (lpb.MAX_PROC_U, _units, 'shared'),
    'uncapped': (lpb.SHARING_MODE, _bool, 'shared'),
    'shared_weight': (lpb.UNCAPPED_WEIGHT, _int(0, 255), 'shared'),
    'shared_proc_pool_name': (lpb.SPP, _name, 'shared'),
    'availability_priority': (lpb.AVAIL_PRIORITY, _int(0, 255), None),
    'processor_compatibility': (lpb.PROC_COMPAT, _compat, None),
    'srr_capability': (lpb.SRR_CAPABLE, _bool, None),
    'enable_lpar_metric': (lpb.ENABLE_LPAR_METRIC, _bool, None),
    'ppt_ratio': (lpb.PPT_RATIO, _ppt, None),
    'enforce_affinity_check': (lpb.ENFORCE_AFFINITY_CHECK, _bool, None),
    'secure_boot': (lpb.SECURE_BOOT, _int(0, 9), None),
}


def extra_specs(flavor):
    """The flavor's extra specs; {} where nova never loaded any."""
    is_set = getattr(flavor, 'obj_attr_is_set', None)
    if is_set is not None and not is_set('extra_specs'):
        return {}
    return dict(getattr(flavor, 'extra_specs', None) or {})


def flavor_name(flavor):
    """The flavor's name for a message; '?' where nova never loaded it."""
    is_set = getattr(flavor, 'obj_attr_is_set', None)
    if is_set is not None and not is_set('name'):
        return '?'
    return getattr(flavor, 'name', None) or '?'


def powervm_specs(flavor):
    return {k: v for k, v in extra_specs(flavor).items()
            if k.startswith(PREFIX)}


class Parsed(object):
    """Builder attributes of the extra specs, and what decided them.

    ``pool_name`` is the shared processor pool the flavor names, which only
    the console can turn into the pool ID (``attrs[SPP]`` is then set by
    the caller).
    """

    def __init__(self, attrs, keys, pool_name):
        self.attrs = attrs
        self.keys = keys
        self.pool_name = pool_name


def parse(instance):
    """Builder attributes from the flavor's ``powervm:*`` extra specs.

    Raises :class:`exception.InvalidFlavorExtraSpec` naming the first bad
    key: unknown, unreadable, out of range, or contradicting the processor
    mode the other keys chose.
    """
    specs = powervm_specs(instance.flavor)
    attrs, kinds, pool = {}, {}, None

    def bad(key, reason):
        return exception.InvalidFlavorExtraSpec(
            flavor=flavor_name(instance.flavor),
            instance=instance.uuid, key=key, value=specs[key], reason=reason)

    for key in sorted(specs):
        spec = SPECS.get(key[len(PREFIX):])
        if spec is None:
            raise bad(key, 'is not a PowerVM extra spec nova-npiv knows '
                      '(known: %s)' % ', '.join(
                          PREFIX + k for k in sorted(SPECS)))
        attr, convert, kind = spec
        try:
            value = convert(specs[key])
        except (TypeError, ValueError) as err:
            raise bad(key, str(err) if not isinstance(err, TypeError)
                      else 'has the wrong type')
        if key == PREFIX + 'uncapped':
            value = (pvm_bp.SharingMode.UNCAPPED if value
                     else pvm_bp.SharingMode.CAPPED)
        if key == PREFIX + 'shared_proc_pool_name':
            pool = value
            value = 0 if value == DEFAULT_POOL else None
        if value is not None:
            attrs[attr] = value
        if kind:
            kinds[key] = kind

    dedicated = attrs.get(lpb.DED_PROCS)
    if dedicated is None:
        # nova-npiv's default: dedicated, unless a shared key asks.
        dedicated = 'shared' not in kinds.values()
        attrs[lpb.DED_PROCS] = dedicated
    wrong = 'shared' if dedicated else 'dedicated'
    for key in sorted(kinds):
        if kinds[key] == wrong:
            raise bad(key, 'applies to %s processors only, and this flavor '
                      'gives the LPAR %s processors'
                      % (wrong, 'dedicated' if dedicated else 'shared'))
    # The standardiser does not hold processing units to the vCPUs they
    # are spread over; the console refuses what is off.
    for units_key, procs in (('proc_units', instance.flavor.vcpus),
                             ('min_proc_units', attrs.get(lpb.MIN_VCPU)),
                             ('max_proc_units', attrs.get(lpb.MAX_VCPU))):
        units = attrs.get(SPECS[units_key][0])
        procs = procs or instance.flavor.vcpus
        if units is not None and not (lpb.PROC_UNITS_LOW_BOUND * procs
                                      <= units <= procs):
            raise bad(PREFIX + units_key, 'must be from %.2f to %d for %d '
                      'virtual processors (0.05 to 1 each)'
                      % (lpb.PROC_UNITS_LOW_BOUND * procs, procs, procs))
    if (attrs.get(lpb.SHARING_MODE) == pvm_bp.SharingMode.CAPPED and
            lpb.UNCAPPED_WEIGHT in attrs):
        raise bad(PREFIX + 'shared_weight',
                  'applies to uncapped processors only, and '
                  'powervm:uncapped is false')
    return Parsed(attrs, sorted(specs), pool if pool != DEFAULT_POOL
                  else None)
