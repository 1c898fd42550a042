"""The partition changes the REST API asks for, with the console's checks.

Create (``PUT .../LogicalPartition`` with an ``LPAR.bld`` body), update
(``POST`` of a partition) and the conditions of a delete.  The model calls
these under its lock, after the etag check; what they change, they change
through the model.
"""

from nova_npiv.simulator import topology as topo
from nova_npiv.simulator.vocab import NOT_ACTIVATED
from nova_npiv.simulator.vocab import SimulatorError


def create(model, sysm, fields):
    """A new, not activated LPAR on ``sysm`` from the posted fields."""
    if not fields.name:
        raise SimulatorError(400, 'PartitionName is required')
    if any(p.name == fields.name for p in sysm.partitions()):
        raise SimulatorError(
            400, 'A partition named %s already exists on managed system %s'
            % (fields.name, sysm.name))
    if fields.id is not None and int(fields.id) in sysm.ids:
        raise SimulatorError(400, 'Partition ID %s is already in use'
                             % fields.id)
    if fields.uuid and model.find_partition(None, fields.uuid) is not None:
        raise SimulatorError(400, 'Partition UUID %s is already in use'
                             % fields.uuid)
    lpar = model.new_lpar(
        sysm, fields.name, int(fields.id) if fields.id is not None else None,
        fields.uuid, NOT_ACTIVATED, fields.memory_mb or 2048,
        fields.vcpus or 1,
        fields.max_virtual_slots or topo.DEFAULT_LPAR_SLOTS)
    apply_fields(lpar, fields)
    return lpar


def update(model, lpar, fields):
    if fields.name and fields.name != lpar.name and any(
            p.name == fields.name for p in lpar.system.partitions()):
        raise SimulatorError(400, 'A partition named %s already exists'
                             % fields.name)
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
