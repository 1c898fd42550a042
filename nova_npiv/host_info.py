"""What nova's API shows about the host and its instances.

nova-api parses ``cpu_info`` as JSON (``GET /os-hypervisors/detail``), asks
the compute service for its uptime on every hypervisor detail call and
offers instance diagnostics; each answer here comes from what the platform
reports, or from the nova-compute host where the question is about it.
"""

import time

from nova.objects import diagnostics as diag_obj
from nova.objects import fields as obj_fields
from oslo_serialization import jsonutils

from nova_npiv import vm

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
