"""Concurrent operations of a driver in a process of its own.

The concurrency table measures how the driver overlaps many operations on
one host.  With the simulator in the same process, both share one
interpreter lock: the console's work (building and parsing feeds) ran in
the driver's time slices, and the wall time measured was theirs together
on one core.  A real console is another machine; here it is another
process (``python -m benchmarks.remote_driver CONF_JSON COUNT``), so the
simulator's CPU time is no longer the driver's.

The child loads the driver on the simulator's ``[powervm]`` options,
makes ``COUNT`` instances and answers one JSON line per command read from
stdin: ``spawn`` (connector, then spawn with one volume, each instance in
a thread of its own), ``delete`` (each destroyed in its own thread), then
it exits.  Each answer carries the wall and CPU time, the errors, the
group-commit batches and the instances' system_metadata, which is all the
benchmark's mapping check needs of the driver's side.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import uuid as uuid_lib

from benchmarks import memory


class Instance(object):
    """What the mapping check reads of an instance the child made."""

    def __init__(self, uuid, system_metadata):
        self.uuid = uuid
        self.system_metadata = system_metadata


class Remote(object):
    """The parent's side: the driver's process and what it reported."""

    where = 'driver in a process of its own'

    def __init__(self, sim, count, fabrics=('A', 'B'), poll_interval=None,
                 timeout=1800):
        conf = dict(sim.powervm_conf('sys-a'), fabrics=list(fabrics))
        if poll_interval is not None:
            conf['job_poll_interval'] = poll_interval
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.timeout = timeout
        self.fabrics = list(fabrics)
        self._proc = subprocess.Popen(
            [sys.executable, '-m', 'benchmarks.remote_driver',
             json.dumps(conf), str(count)], cwd=root, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        ready = self._answer()
        self.staging_uuid = ready['staging']
        self.instances = []

    def _answer(self):
        line = self._proc.stdout.readline()
        if not line:
            err = self._proc.stderr.read()
            self._proc.wait(self.timeout)
            raise RuntimeError('driver process failed: %s' % err[-2000:])
        return json.loads(line)

    def run(self, command):
        """``command`` done by the child: (errors, CPU s, batches)."""
        self._proc.stdin.write(command + '\n')
        self._proc.stdin.flush()
        report = self._answer()
        self.instances = [Instance(i['uuid'], i['system_metadata'])
                          for i in report['instances']]
        return report['errors'], report['cpu'], report['batches']

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            stream.close()


def _child(conf_json, count):
    from benchmarks import quiet_logs
    from nova_npiv import job_requests
    from nova_npiv.testing import fake_cinder
    from nova_npiv.testing import harness
    from nova_npiv import vios as npiv_vios

    quiet_logs.setup()
    conf = json.loads(conf_json)

    class _Conf(object):
        def powervm_conf(self, system):
            return dict(conf)

    drv = harness.load_driver(_Conf(), 'host-a', 'sys-a',
                              fabrics=conf['fabrics'], ports_per_fabric=1)
    ctxt = harness.admin_context()
    cinder = fake_cinder.FakeCinder()
    committer = npiv_vios.committer(drv.adapter, drv.system_uuid)
    insts = [harness.new_instance(n, str(uuid_lib.uuid4()), 'host-a',
                                  node='sys-a') for n in range(count)]

    def create(inst):
        conn = drv.get_volume_connector(inst)
        bdms = [cinder.bdm('c-%s' % inst.uuid, 0, conn)]
        drv.spawn(ctxt, inst, None, [], None, {},
                  block_device_info={'block_device_mapping': bdms})

    def delete(inst):
        drv.destroy(ctxt, inst, None, None)

    def say(report):
        sys.stdout.write(json.dumps(report) + '\n')
        sys.stdout.flush()

    say({'staging': drv.staging.uuid})
    for line in sys.stdin:
        func = {'spawn': create, 'delete': delete}[line.strip()]
        batches = len(committer.batches)
        cpu = memory._cpu()
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            futures = [pool.submit(func, i) for i in insts]
            errors = [repr(f.exception()) for f in futures
                      if f.exception() is not None]
        say({'errors': errors, 'cpu': memory._cpu() - cpu,
             'batches': len(committer.batches) - batches,
             'instances': [{'uuid': i.uuid,
                            'system_metadata': dict(i.system_metadata)}
                           for i in insts]})
    job_requests.drain(drv.adapter)
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 3:
        sys.exit(_child(sys.argv[1], int(sys.argv[2])))
    sys.exit('usage: python -m benchmarks.remote_driver CONF_JSON COUNT')
