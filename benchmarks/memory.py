"""The driver's memory with many existing vFC mappings, in its own process.

The simulator runs in the benchmark's process; the driver runs in a child
(``python -m benchmarks.memory --child CONF_JSON``) that does what nova does
for one instance (connector, spawn with one volume, delete) and reports its
own peak RSS, the time and the CPU time of each step, so neither the
simulator's model nor the benchmark's bookkeeping is in the number.  The
peak is the kernel's high-water mark of the child's own address space
(``VmHWM``): ``ru_maxrss`` survives ``exec`` on Linux and would report the
parent's.
"""

import json
import os
import resource
import subprocess
import sys
import time
import uuid as uuid_lib


def _hwm_kib():
    with open('/proc/self/status') as fh:
        for line in fh:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu():
    """This process's CPU seconds (every thread): the driver's own work,
    without the latency it waits for or the simulator's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(conf_json):
    from benchmarks import quiet_logs
    from nova_npiv import job_requests
    from nova_npiv.testing import fake_cinder
    from nova_npiv.testing import harness

    quiet_logs.setup()
    conf = json.loads(conf_json)

    class _Conf(object):
        def powervm_conf(self, system):
            return dict(conf)

    baseline = _hwm_kib()
    drv = harness.load_driver(_Conf(), 'host-a', 'sys-a',
                              fabrics=conf['fabrics'], ports_per_fabric=1)
    ctxt = harness.admin_context()
    cinder = fake_cinder.FakeCinder()
    times = cpu = {}
    for number in (1, 2):
        inst = harness.new_instance(number, str(uuid_lib.uuid4()), 'host-a',
                                    node='sys-a')
        t0, c0 = time.monotonic(), _cpu()
        conn = drv.get_volume_connector(inst)
        t1, c1 = time.monotonic(), _cpu()
        drv.spawn(ctxt, inst, None, [], None, {}, block_device_info={
            'block_device_mapping': [cinder.bdm('vol-%d' % number, 0,
                                                conn)]})
        t2, c2 = time.monotonic(), _cpu()
        drv.destroy(ctxt, inst, None, None)
        t3, c3 = time.monotonic(), _cpu()
        # The second instance is the steady state (session warm).
        times = {'connector': t1 - t0, 'spawn': t2 - t1, 'delete': t3 - t2}
        cpu = {'connector': c1 - c0, 'spawn': c2 - c1, 'delete': c3 - c2}
    job_requests.drain(drv.adapter)
    peak = _hwm_kib()
    print(json.dumps({'peak_kib': peak, 'baseline_kib': baseline,
                      'times': times, 'cpu': cpu}))
    return 0


def measure(sim, timeout=1800, arenas=None):
    """Run the child against ``sim`` (sys-a); its report.

    :param arenas: the child's ``MALLOC_ARENA_MAX`` (None: glibc's
                   default, eight arenas per core), as an operator would
                   set it in nova-compute's environment.
    """
    conf = sim.powervm_conf('sys-a')
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env.pop('MALLOC_ARENA_MAX', None)
    if arenas:
        env['MALLOC_ARENA_MAX'] = str(arenas)
    out = subprocess.run(
        [sys.executable, '-m', 'benchmarks.memory', '--child',
         json.dumps(conf)], cwd=root, capture_output=True, text=True,
        timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError('memory child failed: %s' % out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--child':
        sys.exit(_child(sys.argv[2]))
    sys.exit('usage: python -m benchmarks.memory --child CONF_JSON')
