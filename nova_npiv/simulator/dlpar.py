"""DLPAR: client adapters added to or removed from an active partition.

A VIOS update that maps a vFC client to a partition that is not
``not activated`` makes the platform add the client adapter to the running
partition (dynamic LPAR); removing such a mapping removes the adapter the
same way.  On a console that costs time (the hypervisor, the VIOS and, over
RMC, the client's operating system take part), needs the client's RMC
connection (pypowervm's ``can_modify_io``: a partition that is not the
management partition needs an active RMC to be changed while it runs) and
can fail, the adapter then staying as it was.  A partition that is not
activated is changed in its profile only: none of this applies.

:func:`plan` lists the DLPAR operations of a validated
:class:`~nova_npiv.simulator.vfc.VfcUpdate` and refuses the update when one
cannot be done (RMC down, a ``dlpar_fail`` fault); :func:`finish` waits the
time the operations take, outside the model's lock, and raises the failure
if there is one.  A failed update changes nothing: a failed removal leaves
the adapter (and its mapping) in place, a failed addition adds none.

The message codes are assumed (no capture of a failed DLPAR exists in
pypowervm's test data); the wording follows the console's pattern of a
code and a sentence.
"""

import dataclasses
import time

from nova_npiv.simulator import faults
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import SimulatorError

#: Assumed HSCL codes (see the simulator README).
RMC_CODE = 'HSCL294C'
FAILED_CODE = 'HSCL2970'
SLOTS_CODE = 'HSCL1402'

ADD = 'add'
REMOVE = 'remove'


@dataclasses.dataclass(frozen=True)
class Operation:
    """One client adapter added to or removed from an active partition."""
    action: str
    partition: str
    slot: object


@dataclasses.dataclass
class Outcome:
    """What a VIOS update still owes its caller once the lock is released:
    the time its DLPAR operations take and, if one failed, the error."""
    operations: tuple = ()
    seconds: float = 0.0
    error: object = None


def active(lpar):
    return lpar is not None and lpar.state != vocab.NOT_ACTIVATED


def operations(update):
    """The DLPAR operations of a validated update, in the order done."""
    sysm = update.vios.system
    by_id = {lp.id: lp for lp in sysm.lpars.values()}
    ops = []
    for m in update.removed:
        lpar = by_id.get(m.client_id)
        if m.client and active(lpar):
            ops.append((REMOVE, lpar, m.client_slot))
    for new in update.added:
        if active(new.lpar):
            ops.append((ADD, new.lpar, new.client_slot))
    return ops


def rmc_message(lpar):
    return ('%s Dynamic logical partitioning of partition %s (ID %d) is '
            'not possible: its RMC connection is %s.  Check the '
            'partition\'s RSCT daemons and network, then try again.'
            % (RMC_CODE, lpar.name, lpar.id, lpar.rmc_state))


def failed_message(action, lpar, slot):
    verb = 'adding' if action == ADD else 'removing'
    return ('%s The dynamic logical partitioning operation %s virtual fibre '
            'channel client adapter %s of partition %s (ID %d) failed: the '
            'operating system did not complete the request.  The adapter '
            'was left as it was.' % (FAILED_CODE, verb, slot, lpar.name,
                                     lpar.id))


def slots_message(lpar, slot=None):
    """A partition that has no virtual slot left (or was asked for one
    beyond its maximum)."""
    if slot is None:
        return ('%s Partition %s (ID %d) has no free virtual slot: all '
                '%d slots (MaximumVirtualIOSlots) are in use or reserved.'
                % (SLOTS_CODE, lpar.name, lpar.id, lpar.max_slots))
    return ('%s Virtual slot %d exceeds the maximum (%d) of virtual slots '
            '(MaximumVirtualIOSlots) of partition %s (ID %d).'
            % (SLOTS_CODE, slot, lpar.max_slots, lpar.name, lpar.id))


def plan(update, seconds_each=0.0, fault=None):
    """Check the DLPAR operations of a validated update; an Outcome.

    :param seconds_each: how long one operation takes.
    :param fault: an armed ``dlpar_fail`` or ``slow_dlpar`` fault of this
                  request, or None; it fires only if the update does DLPAR.
    Raises SimulatorError (HTTP 500) at once when a partition's RMC is
    down: the console checks before it starts.
    """
    ops = operations(update)
    for _action, lpar, _slot in ops:
        if not lpar.is_mgmt and lpar.rmc_state != 'active':
            raise SimulatorError(500, rmc_message(lpar))
    outcome = Outcome(tuple(Operation(a, lp.name, s) for a, lp, s in ops),
                      seconds_each * len(ops))
    if fault is not None and ops:
        fault.hits.append(('DLPAR', ops[0][1].name))
        if fault.kind == faults.KIND_DLPAR_FAIL:
            action, lpar, slot = ops[-1]
            outcome.error = SimulatorError(
                500, fault.message or failed_message(action, lpar, slot))
        else:
            outcome.seconds += fault.delay
    return outcome


def finish(outcome):
    """Wait the DLPAR time (call without the model's lock); raise the
    failure, if any, once it is over."""
    if outcome is None:
        return
    if outcome.seconds > 0:
        time.sleep(outcome.seconds)
    if outcome.error is not None:
        raise outcome.error
