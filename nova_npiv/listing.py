"""Which of a managed system's partitions nova is told about.

nova compares what the driver lists with its own records: at its first
start (a host listing "existing instances" it does not know is refused)
and on every power-state sync.  Only partitions named the way nova-npiv
names its LPARs are listed; leaving a partition out never acts on it.
"""

from nova import context as nova_context
from nova import objects
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv import vm


def instance_lpars(adapter, system_uuid, staging):
    """The system's LPARs that may be nova-npiv instances.

    The management partition, the staging partition and every partition
    not named the way nova-npiv names its LPARs are left out: counting
    them made nova refuse its first start ("existing instances") on any
    system that runs partitions of its own, and warn on every power-state
    sync.
    """
    lpars = pvm_lpar.LPAR.get(adapter, parent_type=pvm_ms.System,
                              parent_uuid=system_uuid)
    staged = (staging.uuid or '').lower() if staging else ''
    return [lpar for lpar in lpars if not lpar.is_mgmt_partition and
            lpar.uuid.lower() != staged and vm.named_as_ours(lpar)]


def instance_uuids(lpars, host):
    """The instance UUIDs of ``lpars`` (from :func:`instance_lpars`).

    Mostly read off each LPAR (:func:`vm.instance_uuid_from`).  A
    partition whose UUID is not the derived one (``vm.LPAR_UUID_KEY``:
    evacuation, a move) is looked up in the records of
    the instances of ``host``; one nobody recorded is listed by its own
    UUID, so that nova's new-host check still sees that the system runs
    nova-npiv partitions (pointed at the wrong database, nova must refuse
    to start).
    """
    uuids, unproven = [], []
    for lpar in lpars:
        uuid = vm.instance_uuid_from(lpar)
        if uuid:
            uuids.append(uuid)
        else:
            unproven.append(lpar)
    if unproven:
        recorded = {}
        for inst in objects.InstanceList.get_by_host(
                nova_context.get_admin_context(), host,
                expected_attrs=['system_metadata']):
            if vm.recorded_uuid(inst):
                recorded[vm.recorded_uuid(inst).lower()] = inst.uuid
        uuids.extend(recorded.get(lpar.uuid.lower(), lpar.uuid.lower())
                     for lpar in unproven)
    return uuids
