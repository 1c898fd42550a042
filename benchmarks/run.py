"""nova-npiv benchmarks on the embedded simulator.

Prints four tables (doc/source/performance.rst, issue 6):

1. REST round trips per operation against the lower bound (one VIOS feed
   GET plus one POST per touched VIOS, plus the LPAR and job calls the
   operation needs);
2. the same spawns done naively, one FeedTask per volume per fabric, side
   by side with ours;
3. growth of a spawn's cost with 10 .. 5000 existing vFC mappings (an
   attach to a running instance costs no REST call at all, so the spawn's
   storage transaction is what grows);
4. 16 concurrent instances on one host (connector + spawn, then delete).

Every request pays an injected latency (default 50 ms) standing in for a
management console.  Run: ``tox -e bench`` or, from the checkout's root (so
that its ``nova_npiv`` is the one measured), ``python -m benchmarks.run``.
Exit status 1 if a check fails: an operation of the concurrency table
failed, a mapping the instances' metadata expects is missing, doubled or
belongs to another partition, port or fabric, or a mapping is left after
the deletes.  ``--self-check`` proves the check can fail: it plants broken
mappings in a small concurrency run and exits 1 unless each is caught.
"""

import argparse
import copy
import os
import resource
import sys
import time
import uuid as uuid_lib

from nova.compute import task_states
from nova import objects
from oslo_config import cfg
from pypowervm.utils import transaction as pvm_tx

from benchmarks import bounds
from benchmarks import concurrency
from benchmarks import memory as memory_bench
from benchmarks import meter as meter_lib
from benchmarks import quiet_logs
from nova_npiv.cmd import tables
from nova_npiv import fabric_meta
from nova_npiv import job_requests
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import server as sim_server
from nova_npiv.simulator import Simulator
from nova_npiv.testing import fake_cinder
from nova_npiv.testing import harness
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import vfc_ops

CONF = cfg.CONF

#: What the tests and --self-check read here.
Meter = meter_lib.Meter
PLANTS = concurrency.PLANTS


def slopes(points):
    """``[(mappings, ms)]`` as ms per 1000 mappings between points and by
    least squares: equal slopes are linear growth."""
    parts = ['%d->%d: %.0f ms' % (c1, c2, (t2 - t1) * 1000.0 / (c2 - c1))
             for (c1, t1), (c2, t2) in zip(points, points[1:]) if c2 != c1]
    if len(points) > 1:
        n = float(len(points))
        mx = sum(c for c, _ in points) / n
        my = sum(t for _, t in points) / n
        var = sum((c - mx) ** 2 for c, _ in points)
        if var:
            fit = sum((c - mx) * (t - my) for c, t in points) / var
            parts.append('least squares %.0f ms, at 0 mappings %.0f ms'
                         % (fit * 1000, my - fit * mx))
    return '%s (per 1000 mappings)' % '; '.join(parts)


def vioses_of(sim, system, inst, fabrics):
    """How many VIOSes of ``system`` carry the instance's recorded ports."""
    where = {p.wwpn.upper(): p.vios for p in sim.model.ports(system)}
    vioses = set()
    for fabric in fabrics:
        for phys, _pair in fabric_meta.get_fabric(inst, fabric).port_map:
            if phys.upper() in where:
                vioses.add(where[phys.upper()])
    return len(vioses)


class Bench(concurrency.Concurrency):

    def __init__(self, latency, out=sys.stdout,
                 job_seconds=sim_server.DEFAULT_JOB_SECONDS,
                 poll_interval=sim_server.POLL_INTERVAL,
                 physical_volumes=100, driver_process=False):
        self.latency = latency
        #: The concurrency table's driver in a process of its own
        #: (benchmarks.remote_driver), as a console is another machine.
        self.driver_process = driver_process
        #: The console's time per job, and the driver's poll interval
        #: (``[powervm] job_poll_interval``): both part of every job's cost.
        self.job_seconds = job_seconds
        #: SAN LUNs per VIOS in the concurrency table's topology: what a
        #: read with the storage group would carry.
        self.physical_volumes = physical_volumes
        self.poll_interval = poll_interval
        self.out = out
        self.cinder = fake_cinder.FakeCinder()
        self._n = 0
        self._drivers = []
        self.naive_rows = []
        # Every failed check, in words; main() exits 1 if there is any.
        self.failures = []
        #: Observations that fail nothing (timing on a loaded machine).
        self.notes = []

    def _instance(self, host='host-a', node='sys-a'):
        self._n += 1
        return harness.new_instance(self._n, str(uuid_lib.uuid4()), host,
                                    node=node)

    def _driver(self, sim, fabrics, ppf, host='host-a', system='sys-a'):
        drv = harness.load_driver(sim, host, system, fabrics=fabrics,
                                  ports_per_fabric=ppf,
                                  job_poll_interval=self.poll_interval)
        # Kept alive, and logged off when the simulator stops: a session the
        # garbage collector logs off would show up in some later row.
        self._drivers.append(drv)
        sim.track_session(drv.adapter)
        return drv

    def _bdms(self, connector, count):
        return [self.cinder.bdm('vol-%d-%d' % (self._n, i), i, connector)
                for i in range(count)]

    # -- table 1 ---------------------------------------------------------

    def round_trips(self):
        rows = []
        topo = co_managed_topology()
        with Simulator(topo) as sim:
            sim.latency = self.latency
            sim.job_seconds = self.job_seconds
            ctxt = harness.admin_context()
            for fabrics in (['A'], ['A', 'B']):
                for ppf in (1, 2):
                    drv = self._warm_driver(sim, fabrics, ppf)
                    for volumes in (1, 4, 16):
                        inst = self._instance()
                        jobs = bounds.jobs_for(len(fabrics) * ppf)
                        with Meter(sim, drv.adapter) as m1:
                            conn = drv.get_volume_connector(inst)
                        vioses = vioses_of(sim, 'sys-a', inst, fabrics)
                        label = '%d fabric(s) x %d port(s)' % (len(fabrics),
                                                               ppf)
                        if volumes == 1:
                            rows.append(self._row('connector, first',
                                                  label, '-', m1, vioses,
                                                  jobs))
                            with Meter(sim, drv.adapter) as m2:
                                drv.get_volume_connector(inst)
                            rows.append(self._row('connector, later',
                                                  label, '-', m2, vioses))
                        bdms = self._bdms(conn, volumes)
                        with Meter(sim, drv.adapter) as m3:
                            drv.spawn(ctxt, inst, None, [], None, {},
                                      block_device_info={
                                          'block_device_mapping': bdms})
                        rows.append(self._row('spawn', label, volumes, m3,
                                              vioses))
                        naive = self._naive_spawn(sim, drv, fabrics, ppf,
                                                  volumes)
                        self.naive_rows.append([
                            label, volumes, m3.total, '%.0f' % m3.ms,
                            naive.total, '%.0f' % naive.ms,
                            '%.2f' % (naive.total / m3.total),
                            '%.2f' % (naive.ms / m3.ms)])
                        if volumes == 1 and fabrics == ['A', 'B'] \
                                and ppf == 1:
                            extra = self.cinder.bdm('vol-x-%d' % self._n, 1,
                                                    conn)
                            with Meter(sim, drv.adapter) as m4:
                                drv.attach_volume(
                                    ctxt, extra['connection_info'], inst,
                                    '/dev/sdb')
                            rows.append(self._row('attach (running)', label,
                                                  1, m4, vioses))
                            with Meter(sim, drv.adapter) as m5:
                                drv.detach_volume(
                                    ctxt, extra['connection_info'], inst,
                                    '/dev/sdb')
                            rows.append(self._row('detach', label, 1, m5,
                                                  vioses))
                            rows.extend(self._migrate(sim, drv, inst, bdms,
                                                      label))
                            drv = self._warm_driver(sim, fabrics, ppf)
                            continue
                        with Meter(sim, drv.adapter) as m6:
                            drv.destroy(ctxt, inst, None, None)
                        rows.append(self._row('delete', label, volumes, m6,
                                              vioses))
        self._print('Round trips per operation (latency %.0f ms per request, '
                    '%s)' % (self.latency * 1000, self.jobs_said()),
                    ['operation', 'config', 'volumes', 'calls', 'bound',
                     'seq', 'seq bound', 'polls', 'deferred', 'ms',
                     'verdict', 'by kind'], rows)
        self.out.write(
            'calls: requests on the operation\'s path; bound: the declared '
            'inherent requests (table below) for the VIOSes the instance\'s '
            'ports are on; seq: sequential round trips (parallel VIOS '
            'updates count once); polls: job status reads while the '
            'console runs a job (its time, not ours; not in calls); '
            'deferred: finished-job DELETEs sent off the path.  Each '
            'session is warmed first (job templates are read once per '
            'session).  A live migration is four nova calls '
            'on two hosts, each with its own bound; the last LM row is '
            'their sum.\n')
        self._print('Declared bounds (benchmarks/bounds.py): V = VIOSes '
                    'the instance\'s ports are on, N = VIOSes of the '
                    'system, J = WWPN jobs',
                    ['operation', 'request', 'count', 'why it is inherent'],
                    bounds.table())
        self._print('Naive reference: spawn with one FeedTask per volume per '
                    'fabric',
                    ['config', 'volumes', 'calls', 'ms', 'naive calls',
                     'naive ms', 'calls x', 'time x'], self.naive_rows)
        return rows

    def jobs_said(self):
        if not self.job_seconds:
            return 'jobs done at their PUT'
        return 'jobs %.2f s, polled every %.2f s' % (self.job_seconds,
                                                      self.poll_interval)

    def _warm_driver(self, sim, fabrics, ppf, host='host-a', system='sys-a'):
        """A driver whose session has read its job templates once.

        One throw-away instance goes through connector, spawn and delete;
        what the table then shows is what every later operation costs.
        """
        drv = self._driver(sim, fabrics, ppf, host=host, system=system)
        ctxt = harness.admin_context()
        inst = self._instance(host=host, node=system)
        conn = drv.get_volume_connector(inst)
        drv.spawn(ctxt, inst, None, [], None, {}, block_device_info={
            'block_device_mapping': self._bdms(conn, 1)})
        drv.destroy(ctxt, inst, None, None)
        job_requests.drain(drv.adapter)
        return drv

    def _row(self, op, label, volumes, meter, vioses, jobs=0, bound=None,
             system='sys-a'):
        """A row of the round-trip table; a failed check if over the bound.

        ``bound`` (total, seq) replaces the declared one (the LM sum).
        """
        if bound is None:
            every = len(meter.sim.model.vioses(system)) if hasattr(
                meter, 'sim') else vioses
            _kinds, total, seq = bounds.bound(op, vioses, jobs, every)
            over = bounds.excess(op, meter.by_kind, vioses, jobs, every)
        else:
            total, seq = bound
            over = []
        if meter.total > total:
            over.append('%d calls > %d' % (meter.total, total))
        late = meter.sequential > seq
        if late:
            # Timing, not requests: on a loaded machine the threads of
            # parallel POSTs can start a latency apart.  Reported, not
            # failed; the requests themselves are checked above.
            self.notes.append('%s (%s, %s volume(s)): %d sequential round '
                              'trips > %d' % (op, label, volumes,
                                              meter.sequential, seq))
        polls = len(getattr(meter, 'polls', ()))
        expected = bounds.polls_expected(meter.job_runs, self.job_seconds,
                                         self.poll_interval)
        if polls > expected:
            # Timing too: a loaded machine runs the console's timers late.
            self.notes.append('%s (%s, %s volume(s)): %d polls > %d for %d '
                              'job(s)' % (op, label, volumes, polls,
                                          expected, meter.job_runs))
        if len(meter.deferred) > meter.job_runs:
            over.append('%d deferred > %d job runs' % (len(meter.deferred),
                                                      meter.job_runs))
        if over:
            self.failures.append('%s (%s, %s volume(s)) over its bound: %s'
                                 % (op, label, volumes, '; '.join(over)))
        kinds = ', '.join('%s %d' % kv for kv in sorted(
            meter.by_kind.items()))
        return [op, label, volumes, meter.total, total, meter.sequential,
                seq, polls, len(meter.deferred), '%.0f' % meter.ms,
                'OVER' if over else ('late' if late else 'ok'),
                kinds or 'none']

    def _naive_spawn(self, sim, drv, fabrics, ppf, volumes):
        """The obvious implementation: one FeedTask per volume per fabric."""
        inst = self._instance()
        drv.get_volume_connector(inst)
        with Meter(sim) as meter:
            vm.create(drv.adapter, drv.system_uuid, inst,
                      host_w=drv.host_wrapper)
            for _volume in range(volumes):
                for fabric in fabrics:
                    rec = fabric_meta.get_fabric(inst, fabric)
                    ftsk = pvm_tx.FeedTask(
                        'naive', npiv_vios.getter(drv.adapter, drv.system_uuid,
                                                  npiv_vios.XAGS_PORTS))
                    ftsk.add_functor_subtask(
                        vfc_ops.map_to_instance, drv.system_uuid,
                        vm.lpar_uuid(inst), drv.staging.uuid,
                        rec.port_map)
                    ftsk.execute()
            vm.power_on(vm.get(drv.adapter, drv.system_uuid, inst))
        drv.destroy(harness.admin_context(), inst, None, None)
        return meter

    def _migrate(self, sim, src, inst, bdms, label):
        """Live migration, one row per driver call nova makes.

        Each is a separate nova operation on one host, measured against its
        own bound; the last row is the whole migration.
        """
        dst = self._driver(sim, src.settings.fabrics,
                           src.settings.ports_per_fabric, host='host-b',
                           system='sys-b')
        ctxt = harness.admin_context()
        rows = []

        def post(c, instance, dest, block_migration, migrate_data):
            src.post_live_migration_at_source(c, instance, None)
            instance.host, instance.node = 'host-b', 'sys-b'
            with Meter(sim, dst.adapter) as adopt:
                dst.post_live_migration_at_destination(c, instance, None)
            instance.task_state = None
            self._adopt = adopt

        with Meter(sim) as whole:
            with Meter(sim) as checks:
                data = dst.check_can_live_migrate_destination(ctxt, inst,
                                                              None, None)
                data = src.check_can_live_migrate_source(ctxt, inst, data)
            # Each host reads its VIOS feed: the destination for its offer,
            # the source for the client slots of MigrateValidate.
            rows.append(self._row('LM: checks (both hosts)', label,
                                  len(bdms), checks, 1))
            data.migration = objects.Migration(dest_compute='host-b',
                                               dest_node='sys-b')
            inst.task_state = task_states.MIGRATING
            with Meter(sim, dst.adapter) as conn:
                dst.get_volume_connector(inst)
            with Meter(sim, dst.adapter) as pre:
                dst.pre_live_migration(ctxt, inst, None, None, None, data)
            with Meter(sim, src.adapter) as job:
                src.live_migration(ctxt, inst, 'host-b', post, None,
                                   migrate_data=data)
        # The source's share: what the Migrate call cost minus the
        # destination's adoption, which ran inside it (nova's post_method).
        adopt = self._adopt
        job.log = [r for r in job.log if r not in adopt.all]
        job.deferred = [r for r in job.deferred if r not in adopt.all]
        job.all = [r for r in job.all if r not in adopt.all]
        job.ms -= adopt.ms
        # The VIOSes the destination's ports are on (the bound's V).
        vioses = vioses_of(sim, 'sys-b', inst, src.settings.fabrics)
        for op, meter in (('LM: destination connector', conn),
                          ('LM: pre_live_migration', pre),
                          ('LM: live_migration (source)', job),
                          ('LM: post at destination', adopt)):
            rows.append(self._row(op, label, len(bdms), meter, vioses,
                                  system='sys-b'))
        rows.append(self._row('live migration, all steps', label,
                              len(bdms), whole, vioses, bound=(
                                  sum(int(r[4]) for r in rows),
                                  sum(int(r[6]) for r in rows))))
        dst.destroy(ctxt, inst, None, None)
        return rows

    # -- table 2 ---------------------------------------------------------

    def growth(self, counts):
        rows = []
        points = []
        for count in counts:
            topo = self._crowded(count, co_managed_topology)
            with Simulator(topo) as sim:
                sim.latency = self.latency
                drv = self._driver(sim, ['A', 'B'], 1)
                ctxt = harness.admin_context()
                inst = self._instance()
                conn = drv.get_volume_connector(inst)
                bdms = self._bdms(conn, 1)
                with Meter(sim) as meter:
                    drv.spawn(ctxt, inst, None, [], None, {},
                              block_device_info={
                                  'block_device_mapping': bdms})
                drv.destroy(ctxt, inst, None, None)
                existing = len(sim.model.mappings('sys-a'))
            # The fixed latency: one injected delay per sequential round
            # trip; what is left grows with the mappings.
            fixed = meter.sequential * self.latency * 1000
            points.append((existing, meter.ms - fixed))
            rows.append([count, existing, meter.total, meter.sequential,
                         '%.0f' % meter.ms, '%.0f' % fixed,
                         '%.0f' % (meter.ms - fixed),
                         '%.1f' % (meter.bytes / 1024.0)])
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        self._print('Growth: spawn (1 volume, 2 fabrics) with existing vFC '
                    'mappings per system (simulator in this process)',
                    ['existing (spec)', 'on sys-a', 'calls', 'seq', 'ms',
                     'latency ms', 'ms - latency', 'KiB moved'],
                    rows)
        self.out.write('slope, latency subtracted: %s\npeak RSS: %.0f MiB\n'
                       % (slopes(points), rss))
        return rows

    # -- memory ------------------------------------------------------------

    def memory(self, counts):
        """Peak RSS of the driver in a process of its own (benchmarks/
        memory.py) with ``count`` existing mappings per system."""
        rows = []
        points = []
        cpu = []
        for count in counts:
            with Simulator(self._crowded(count)) as sim:
                sim.latency = self.latency
                sim.job_seconds = self.job_seconds
                report = memory_bench.measure(sim)
                few = memory_bench.measure(sim, arenas=2)
            peak = report['peak_kib'] / 1024.0
            times = report['times']
            points.append((count, peak))
            cpu.append((count, report['cpu']['spawn'] * 1000))
            rows.append([count, '%.0f' % peak,
                         '%.0f' % (few['peak_kib'] / 1024.0),
                         '%.0f' % (report['baseline_kib'] / 1024.0),
                         '%.0f' % (times['connector'] * 1000),
                         '%.0f' % (times['spawn'] * 1000),
                         '%.0f' % (report['cpu']['spawn'] * 1000),
                         '%.0f' % (times['delete'] * 1000)])
        self._print('Memory: the driver in its own process (simulator in the '
                    'benchmark\'s), connector + spawn + delete of two '
                    'instances',
                    ['existing mappings', 'peak RSS MiB',
                     'with MALLOC_ARENA_MAX=2', 'after import MiB',
                     'connector ms', 'spawn ms', 'spawn CPU ms',
                     'delete ms'], rows)
        growth = ['%d->%d: x%.2f' % (c1, c2, m2 / m1)
                  for (c1, m1), (c2, m2) in zip(points, points[1:])]
        self.out.write('growth of peak RSS: %s\n' % '; '.join(growth))
        # The driver's own CPU time: no latency, no simulator in it.
        self.out.write('spawn CPU of the driver: %s\n' % slopes(cpu))
        return rows

    @staticmethod
    def _crowded(count, base=default_topology):
        """``base()`` with ``count`` existing mappings per system and the
        port capacity and partition room they need."""
        topo = copy.deepcopy(base())
        for system in topo['systems']:
            per_port = count // 4 + 64
            for vios in system['vioses']:
                for port in vios['ports']:
                    port['total'] = per_port
            system['existing_mappings'] = count
            # Room for the partitions that own the existing mappings.
            system['memory_mb'] = 262144 + 2048 * count
            system['vcpus'] = 64 + count
        return topo

    # -- table 3 ---------------------------------------------------------

    def _print(self, title, headers, rows):
        self.out.write('\n== %s ==\n%s\n' % (title,
                                            tables.render(headers, rows)))
        self.out.flush()


class _FakeMeter(object):
    """What a meter reports, made up: the bound check's own test."""

    def __init__(self, by_kind, sequential, deferred=0, job_runs=0):
        self.by_kind = by_kind
        self.total = sum(by_kind.values())
        self.sequential = sequential
        self.deferred = [None] * deferred
        self.job_runs = job_runs
        self.ms = 0.0


#: Operations that send more than their bound, each in another way.
OVER_BOUND = {
    'spawn re-reading the feed': ('spawn', _FakeMeter(
        {'PUT LogicalPartition': 1, 'GET VirtualIOServer': 1,
         'POST VirtualIOServer': 2, 'PUT job:PowerOn': 1}, 4)),
    'connector reading the job template': ('connector, first', _FakeMeter(
        {'GET job:GetNextWWPNs': 1, 'PUT job:GetNextWWPNs': 1,
         'GET VirtualIOServer': 1, 'POST VirtualIOServer': 2}, 4, 1, 1)),
    'delete reading its LPAR twice': ('delete', _FakeMeter(
        {'GET LogicalPartition': 2, 'PUT job:PowerOff': 1,
         'POST VirtualIOServer': 2, 'PUT job:CloseVterm': 1,
         'DELETE LogicalPartition': 1}, 6, 2, 2)),
    'more job DELETEs than jobs': ('spawn', _FakeMeter(
        {'PUT LogicalPartition': 1, 'POST VirtualIOServer': 2,
         'PUT job:PowerOn': 1}, 3, 2, 1)),
}


def self_check(out=sys.stdout, count=2):
    """Prove the checks can fail: 0 if a clean concurrency run passes, each
    planted breakage is caught and each made-up operation over its bound is
    flagged, else 1."""
    wrong = []
    bench = Bench(0.0, out=out)
    bench.concurrency(count)
    if bench.failures:
        wrong.append('clean run judged broken: %s' % bench.failures)
    for name, plant in sorted(PLANTS.items()):
        bench = Bench(0.0, out=out)
        bench.concurrency(count, tamper=plant)
        if not any('after spawn:' in f for f in bench.failures):
            wrong.append('not caught: %s' % name)
    for name, (op, meter) in sorted(OVER_BOUND.items()):
        bench = Bench(0.0, out=out)
        bench._row(op, '2 fabric(s) x 1 port(s)', 1, meter, vioses=2,
                   jobs=1 if op.startswith('connector') else 0)
        if not bench.failures:
            wrong.append('over the bound, not flagged: %s' % name)
    out.write('\nself-check: %d planted breakage(s), %d operations over '
              'their bound, %s\n' % (len(PLANTS), len(OVER_BOUND),
                                      '; '.join(wrong) or
                                      'each caught -> OK'))
    return 1 if wrong else 0


#: Patched by the tests of the command line.
_setup_logging = quiet_logs.setup


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--latency', type=float, default=0.05,
                        help='seconds per REST request (default 0.05)')
    parser.add_argument('--growth', default='10,100,1000,5000',
                        help='existing mapping counts for the growth table')
    parser.add_argument('--job-seconds', type=float,
                        default=sim_server.DEFAULT_JOB_SECONDS,
                        help='how long each console job runs (asynchronous '
                             'jobs; default %(default)s s, the simulator\'s; '
                             '0: done when the PUT answers)')
    parser.add_argument('--poll-interval', type=float,
                        default=sim_server.POLL_INTERVAL,
                        help='[powervm] job_poll_interval of the drivers '
                             '(default %(default)s s; a real console\'s '
                             'default is 1 s)')
    parser.add_argument('--counts', default='1,4,16,32',
                        help='instances at once for the concurrency table')
    parser.add_argument('--latencies', default='50,300',
                        help='latencies (ms) of the concurrency table')
    parser.add_argument('--physical-volumes', type=int, default=100,
                        help='SAN LUNs per VIOS in the concurrency table '
                             '(default 100)')
    parser.add_argument('--driver-in-process', action='store_true',
                        help='run the concurrency table\'s driver in the '
                             'simulator\'s process (one interpreter lock '
                             'for both) instead of a process of its own')
    parser.add_argument('--memory', default='5000,10000,20000',
                        help='existing mapping counts for the memory table')
    parser.add_argument('--only', choices=['round-trips', 'growth',
                                           'concurrency', 'memory'])
    parser.add_argument('--self-check', action='store_true',
                        help='plant broken mappings in a small concurrency '
                             'run; exit 1 unless the check catches each')
    args = parser.parse_args(argv)
    _setup_logging()
    if args.self_check:
        return self_check()
    bench = Bench(args.latency, job_seconds=args.job_seconds,
                  poll_interval=args.poll_interval,
                  physical_volumes=args.physical_volumes,
                  driver_process=not args.driver_in_process)
    started = time.monotonic()
    sys.stdout.write('nova-npiv benchmarks on %s (%d cores), Python %s\n'
                     % (os.uname().machine, os.cpu_count(),
                        sys.version.split()[0]))
    if args.only in (None, 'round-trips'):
        bench.round_trips()
    if args.only in (None, 'growth'):
        bench.growth([int(c) for c in args.growth.split(',')])
    if args.only in (None, 'memory'):
        bench.memory([int(c) for c in args.memory.split(',')])
    if args.only in (None, 'concurrency'):
        bench.concurrency_table(
            [int(c) for c in args.counts.split(',')],
            [float(x) / 1000 for x in args.latencies.split(',')])
    sys.stdout.write('\ntotal %.0f s\n' % (time.monotonic() - started))
    for note in bench.notes:
        sys.stdout.write('NOTE: %s\n' % note)
    for failure in bench.failures:
        sys.stdout.write('CHECK FAILED: %s\n' % failure)
    return 1 if bench.failures else 0


if __name__ == '__main__':
    sys.exit(main())
