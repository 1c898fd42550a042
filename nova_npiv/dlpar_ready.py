"""Whether a running instance's LPAR can take vFC adapter changes now.

Mapping a vFC client to a partition that runs adds the adapter to it
(DLPAR), which the console refuses when the partition's RMC connection is
down or it is not DLPAR capable for I/O (pypowervm's ``can_modify_io``).
RMC comes and goes with the partition's RSCT daemons and network, so the
driver asks the partition before such a change, and asks again after a
VIOS update that failed: the console's refusal (whose wording no capture
documents) then reaches nova as a nova exception saying what is wrong and
what to do, where a raw HTTP error would reach the user as its class name
only (nova's instance fault hides the message of foreign exceptions).

A partition that is not activated is changed in its profile only: nothing
here applies to it, and it costs nothing but the read.
"""

import contextlib

from pypowervm import exceptions as pvm_exc

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import vm


def changes_adapters(npiv):
    """Whether connecting ``npiv``'s volume maps adapters to the instance
    (a fabric not mapped to it yet); corrupt metadata is left to the
    connect, which names it."""
    try:
        return any(rec.state != fabric_meta.INST_MAPPED
                   for rec in npiv.records)
    except exception.CorruptFabricMetadata:
        return False


def refusal(instance, lpar_w):
    """The exception a change of ``lpar_w``'s adapters would meet, or
    None when the partition can take it."""
    if lpar_w is None:
        return None
    capable, reason = lpar_w.can_modify_io()
    if capable:
        return None
    return exception.PartitionNotDLPARCapable(
        lpar=lpar_w.name, instance=instance.uuid, state=lpar_w.state,
        reason=reason)


def require(adapter, system_uuid, instance):
    """Raise PartitionNotDLPARCapable unless the instance's LPAR on this
    system (if it has one) can take adapter changes; one GET."""
    err = refusal(instance, vm.get(adapter, system_uuid, instance))
    if err is not None:
        raise err


@contextlib.contextmanager
def explained(adapter, system_uuid, instance):
    """An HTTP error of the block becomes PartitionNotDLPARCapable when the
    instance's LPAR, read again, cannot take adapter changes (its RMC went
    away after :func:`require` asked); otherwise it is raised as it is."""
    try:
        yield
    except pvm_exc.HttpError as err:
        try:
            why = refusal(instance, vm.get(adapter, system_uuid, instance))
        except Exception:
            why = None   # Cannot tell: the original error is the answer.
        if why is None:
            raise
        raise why from err
