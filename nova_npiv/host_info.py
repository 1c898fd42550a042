"""What nova's API shows about the host and its instances.

nova-api parses ``cpu_info`` as JSON (``GET /os-hypervisors/detail``), asks
the compute service for its uptime on every hypervisor detail call and
offers instance diagnostics; each answer here comes from what the platform
reports, or from the nova-compute host where the question is about it.
"""

import math
import time

from nova.objects import diagnostics as diag_obj
from nova.objects import fields as obj_fields
import os_resource_classes as orc
from oslo_log import log as logging
from oslo_serialization import jsonutils
from pypowervm.wrappers import base_partition as pvm_bp

from nova_npiv import vm

LOG = logging.getLogger(__name__)

#: PowerVM partitions of this driver run little-endian Linux by default.
ARCH = obj_fields.Architecture.PPC64LE


def cpu_info(host_w):
    """``cpu_info`` of the compute node, as JSON.

    The processor generation is the newest compatibility mode the managed
    system supports (pypowervm's ``highest_compat_mode``): the platform does
    not report a processor model name, and an LPAR can only be moved to a
    system that supports its mode, which makes the list the facts that
    matter for placement and migration.
    """
    gen = host_w.highest_compat_mode()
    mtms = host_w.mtms
    return jsonutils.dumps({
        'arch': ARCH,
        'vendor': 'IBM',
        'model': 'POWER%d' % gen if gen else None,
        'compatibility_modes': list(host_w.proc_compat_modes),
        'machine_type': mtms.machine_type,
        'machine_model': mtms.model,
        'serial': mtms.serial,
        'processor_units': host_w.proc_units,
    })


def host_uptime(proc='/proc'):
    """``uptime(1)``'s line for the nova-compute host, like libvirt's.

    nova asks the compute service, not the hypervisor: on NovaLink that is
    the management partition of the system, on an HMC the machine that runs
    nova-compute.  Read from /proc so that no process is spawned on every
    hypervisor detail call; procps' user count is left out (it needs utmp).
    """
    with open('%s/uptime' % proc) as f:
        seconds = int(float(f.read().split()[0]))
    with open('%s/loadavg' % proc) as f:
        loads = f.read().split()[:3]
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    up = '%d:%02d' % (hours, minutes) if hours else '%d min' % minutes
    if days:
        up = '%d day%s, %s' % (days, '' if days == 1 else 's', up)
    return ' %s up %s,  load average: %s' % (
        time.strftime('%H:%M:%S'), up, ', '.join(loads))


def _vcpus(lpar_w):
    proc = lpar_w.proc_config
    if proc.has_dedicated:
        return proc.dedicated_proc_cfg.desired
    return proc.shared_proc_cfg.desired_virtual


def instance_diagnostics(lpar_w, volume_ids):
    """nova's Diagnostics object for one LPAR.

    The platform reports state, uptime, memory and virtual processors;
    there are no local disks and no NICs of ours, and the FC volumes'
    I/O counters are the storage array's, so the disks are listed without
    counters.  ``driver`` stays unset: nova's enum has no PowerVM value
    (the API shows it as null).
    """
    state = vm.to_power_state(lpar_w.state)
    diags = diag_obj.Diagnostics(
        state=obj_fields.InstancePowerState.from_index(state),
        hypervisor=obj_fields.HVType.PHYP,
        hypervisor_os=None,
        uptime=lpar_w.uptime,
        config_drive=False)
    for index in range(_vcpus(lpar_w)):
        diags.add_cpu(id=index)
    for _ in volume_ids:
        diags.add_disk()
    diags.memory_details = diag_obj.MemoryDiagnostics(
        maximum=lpar_w.mem_config.desired)
    return diags


def legacy_diagnostics(lpar_w, volume_ids):
    """The free-form dict of microversions before 2.48."""
    return {
        'state': lpar_w.state,
        'uptime': lpar_w.uptime,
        'memory_mb': lpar_w.mem_config.desired,
        'vcpus': _vcpus(lpar_w),
        'volumes': list(volume_ids),
    }


def _desired_units(lpar_w):
    """Processing units the partition takes when it runs."""
    proc = lpar_w.proc_config
    if proc.has_dedicated:
        return float(proc.dedicated_proc_cfg.desired)
    return float(proc.shared_proc_cfg.desired_units)


def _running(lpar_w):
    return lpar_w.state not in (pvm_bp.LPARState.NOT_ACTIVATED,
                                pvm_bp.LPARState.ERROR)


class Capacity(object):
    """What placement may hand out on the managed system.

    ``total_*``: what the system can give partitions.  ``reserved_*``: what
    is used by the partitions that are not nova-npiv instances (the VIOSes,
    the management partition, partitions nova never made) and, for memory,
    by the hypervisor: the system's own "used" figure minus what running
    instance LPARs take, so that every consumer the console counts is in it
    and no instance is counted twice (placement counts the instances).  An
    instance LPAR is one whose UUID is derived from the instance UUID its
    name carries (``vm.instance_uuid_from``), never a name alone; one whose
    UUID is not the derived one (evacuation, a move) stays in the reserved
    figure, which under-reports the free capacity rather than over-commit
    it.
    """

    def __init__(self, host_w, lpars):
        instances = [lp for lp in lpars if _running(lp) and
                     vm.instance_uuid_from(lp) is not None]
        self.total_units = float(host_w.proc_units_configurable)
        self.total_mb = host_w.memory_configurable
        used_units = self.total_units - float(host_w.proc_units_avail)
        used_mb = self.total_mb - host_w.memory_free
        self.reserved_units = max(
            0.0, used_units - sum(_desired_units(lp) for lp in instances))
        self.reserved_mb = max(
            0, used_mb - sum(lp.mem_config.desired for lp in instances))

    @property
    def total_vcpus(self):
        # Whole cores: a dedicated vCPU is one core.
        return int(math.floor(self.total_units + 1e-9))

    @property
    def reserved_vcpus(self):
        # Partial cores used by others are no core a dedicated LPAR can get.
        return min(self.total_vcpus,
                   int(math.ceil(self.reserved_units - 1e-9)))


def available_resource(host_w, node_uuid, nodename):
    """nova's resource view of the managed system (used, not free)."""
    mem_total = host_w.memory_configurable
    vcpus = int(host_w.proc_units_configurable)
    return {
        'uuid': node_uuid,
        'vcpus': vcpus,
        'memory_mb': mem_total,
        'local_gb': 0,
        'vcpus_used': vcpus - int(host_w.proc_units_avail),
        'memory_mb_used': mem_total - host_w.memory_free,
        'local_gb_used': 0,
        'hypervisor_type': obj_fields.HVType.PHYP,
        'hypervisor_version': 1,
        'hypervisor_hostname': nodename,
        'cpu_info': cpu_info(host_w),
        'disk_available_least': 0,
        'supported_instances': [(obj_fields.Architecture.PPC64LE,
                                 obj_fields.HVType.PHYP,
                                 obj_fields.VMMode.HVM),
                                (obj_fields.Architecture.PPC64,
                                 obj_fields.HVType.PHYP,
                                 obj_fields.VMMode.HVM)],
        'numa_topology': None,
    }


def inventory(cap, reserved_host_cpus, reserved_host_memory_mb):
    """Placement inventory that PowerOn can honour (``cap``: Capacity).

    VCPU is whole cores and is never over-committed: a vCPU of the
    default (dedicated) LPAR is one core, and a shared one takes at most
    one core's processing units, so at a ratio of 1.0 every instance
    placement admits can be powered on (shared LPARs are counted at a core
    per vCPU, more than they take).  Memory is not over-committed either:
    PowerVM gives a partition its memory whole.  Both ratios are 1.0
    whatever nova.conf says.  What the VIOSes, the management partition,
    other partitions and the hypervisor use is reserved, plus nova's
    reserved_host_* options.  Boot from volume only: no DISK_GB.
    """
    vcpus, mem = cap.total_vcpus, cap.total_mb
    return {
        orc.VCPU: {
            'total': vcpus, 'min_unit': 1, 'max_unit': max(1, vcpus),
            'step_size': 1, 'allocation_ratio': 1.0,
            'reserved': min(vcpus, cap.reserved_vcpus + reserved_host_cpus),
        },
        orc.MEMORY_MB: {
            'total': mem, 'min_unit': 1, 'max_unit': max(1, mem),
            'step_size': 1, 'allocation_ratio': 1.0,
            'reserved': min(mem, cap.reserved_mb + reserved_host_memory_mb),
        },
    }


_ratios_warned = []


def warn_ratios_once(conf):
    """Say once per process that nova's allocation ratios do not apply."""
    if _ratios_warned:
        return
    for option in ('cpu_allocation_ratio', 'ram_allocation_ratio'):
        value = conf.get(option)
        if value is not None and value != 1.0:
            LOG.warning('%s = %s is ignored: PowerVM partitions get their '
                        'cores and memory whole, nova-npiv reports a ratio '
                        'of 1.0', option, value)
    _ratios_warned.append(True)
