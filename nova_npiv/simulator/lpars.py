"""The partition changes the REST API asks for, with the console's checks.

Create (``PUT .../LogicalPartition`` with an ``LPAR.bld`` body), update
(``POST`` of a partition) and the conditions of a delete.  The model calls
these under its lock, after the etag check; what they change, they change
through the model.
"""

import copy
import re

from nova_npiv.simulator import pools
from nova_npiv.simulator import topology as topo
from nova_npiv.simulator.vocab import MEMORY_REGION_MB
from nova_npiv.simulator.vocab import NOT_ACTIVATED
from nova_npiv.simulator.vocab import SimulatorError

#: Characters a console refuses in a partition name.
_BAD_NAME_CHARS = re.compile(r'[()\\<>*$&?|\[\]\'"`]')
_NAME_MAX = 31


def _refuse(code, message):
    # The console's refusals read "HSCLnnnn <text>".  pypowervm's data has no
    # capture of these create refusals, so the codes are in the console's
    # format but not known to be the console's numbers: nothing may match
    # on them (the driver decides from the console's state, not the text).
    raise SimulatorError(400, '%s %s' % (code, message))


def check_name(sysm, name, current=None):
    if not name or len(name) > _NAME_MAX:
        _refuse('HSCL0A8E', 'The partition name must be 1 to %d characters '
                'long: %r' % (_NAME_MAX, name))
    if _BAD_NAME_CHARS.search(name):
        _refuse('HSCL0A8F', 'The partition name %r contains a character '
                'that is not allowed (%s)' % (name, '()\\<>*$&?|[]\'"`'))
    if name != current and any(p.name == name for p in sysm.partitions()):
        _refuse('HSCL8037', 'A partition named %s already exists on the '
                'managed system %s' % (name, sysm.name))


def _check_range(what, values, step=None):
    low, desired, high = values or (None, None, None)
    if None in (low, desired, high):
        _refuse('HSCL1310', 'The minimum, desired and maximum %s are all '
                'required' % what)
    if not low <= desired <= high:
        _refuse('HSCL1311', 'The %s must satisfy minimum (%s) <= desired '
                '(%s) <= maximum (%s)' % (what, low, desired, high))
    if low <= 0:
        _refuse('HSCL1312', 'The minimum %s must be positive' % what)
    if step and any(value % step for value in values):
        _refuse('HSCL1313', 'The %s (%s) must be multiples of the memory '
                'region size, %d MB' % (what, '/'.join(map(str, values)),
                                        step))


def check_create(model, sysm, fields):
    """The console's checks of a partition create; SimulatorError if not."""
    check_name(sysm, fields.name)
    if fields.id is not None and int(fields.id) in sysm.ids:
        _refuse('HSCL8038', 'Partition ID %s is already in use' % fields.id)
    if fields.uuid and model.find_partition(None, fields.uuid) is not None:
        _refuse('HSCL8039', 'Partition UUID %s is already in use'
                % fields.uuid)
    _check_range('memory', fields.memory_range, MEMORY_REGION_MB)
    if fields.dedicated is None:
        _refuse('HSCL1314', 'The processor configuration '
                '(HasDedicatedProcessors) is required')
    _check_procs(fields)
    if not fields.dedicated and fields.pool_id is not None:
        pools.check_placement(sysm, fields.pool_id)


def _check_procs(fields):
    if fields.dedicated:
        _check_range('dedicated processors', fields.proc_range)
    else:
        _check_range('virtual processors', fields.proc_range)
        _check_range('processing units', fields.units_range)
        low_units, units, high_units = fields.units_range
        low_procs, procs, high_procs = fields.proc_range
        # Each virtual processor needs at least 0.05 processing units and
        # gets at most one whole processor.
        for u, p, which in ((low_units, low_procs, 'minimum'),
                            (units, procs, 'desired'),
                            (high_units, high_procs, 'maximum')):
            if not 0.05 * p <= u <= p:
                _refuse('HSCL1315', 'The %s processing units (%s) must be '
                        'between 0.05 and 1.0 per virtual processor (%s)'
                        % (which, u, p))


def create(model, sysm, fields):
    """A new, not activated LPAR on ``sysm`` from the posted fields."""
    check_create(model, sysm, fields)
    lpar = model.new_lpar(
        sysm, fields.name, int(fields.id) if fields.id is not None else None,
        fields.uuid, NOT_ACTIVATED, fields.memory_mb, fields.vcpus,
        fields.max_virtual_slots or topo.DEFAULT_LPAR_SLOTS)
    apply_fields(lpar, fields)
    return lpar


def _shape(part):
    return (part.memory_mb, part.vcpus, part.dedicated,
            round(part.proc_units, 2))


def check_update(lpar, fields):
    """The console's checks of a partition update; SimulatorError if not.

    The memory and processor figures are checked as at create.  A
    partition that is not activated takes a new shape at once; a running
    one would only get it in its profile, at its next activation, which
    the REST update does not do: assumed refused (no capture documents the
    refusal), so that a driver reshaping a running LPAR fails here as it
    would not work there.
    """
    if fields.name:
        check_name(lpar.system, fields.name, current=lpar.name)
    if fields.memory_range is not None:
        _check_range('memory', fields.memory_range, MEMORY_REGION_MB)
    if fields.proc_range is not None or fields.units_range is not None:
        _check_procs(fields)
    if fields.pool_id is not None:
        pools.check_placement(lpar.system, fields.pool_id)
    if lpar.state == NOT_ACTIVATED:
        return
    after = copy.copy(lpar)
    apply_fields(after, fields)
    if _shape(after) != _shape(lpar):
        _refuse('HSCL1316', 'Partition %s is %s: its memory and processors '
                'can be changed only while it is not activated'
                % (lpar.name, lpar.state))


def update(model, lpar, fields):
    check_update(lpar, fields)
    apply_fields(lpar, fields)
    model.touch(lpar, lpar.system)


def apply_fields(lpar, fields):
    """Set what the body gave (None: not given, left as it is)."""
    for attr in ('name', 'env', 'memory_mb', 'vcpus', 'dedicated', 'srr'):
        value = getattr(fields, attr)
        if value is not None:
            setattr(lpar, attr, value)
    if fields.max_virtual_slots:
        lpar.max_slots = fields.max_virtual_slots
    if fields.proc_units is not None:
        lpar.proc_units = float(fields.proc_units)
    elif fields.vcpus is not None and lpar.dedicated:
        lpar.proc_units = float(fields.vcpus)
    if lpar.dedicated:
        lpar.pool_id = pools.DEFAULT_ID
    elif fields.pool_id is not None:
        lpar.pool_id = fields.pool_id


def check_delete(part):
    """Raise SimulatorError unless the console would delete ``part``."""
    if part.is_mgmt:
        raise SimulatorError(400, 'The management partition %s cannot be '
                             'deleted' % part.name)
    if part.state != NOT_ACTIVATED:
        raise SimulatorError(
            400, 'Partition %s is in state %s; it must be not activated to '
            'be deleted' % (part.name, part.state))
    if getattr(part, 'vterm_open', False):
        # Assumed, not captured from a console: nova-powervm closed the
        # terminal before every delete, which says a delete with a session
        # open does not go through.
        raise SimulatorError(
            409, 'Partition %s has an open virtual terminal session; close '
            'it (CloseVterm) before deleting the partition' % part.name)
