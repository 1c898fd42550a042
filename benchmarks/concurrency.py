"""The concurrency table: many instances at once on one host, each mapping
checked by client partition, port and fabric (``Concurrency`` is a part
of :class:`benchmarks.run.Bench`), and the breakages ``--self-check``
plants to prove the check can fail."""

import collections
import concurrent.futures
import copy

from benchmarks import meter as meter_lib
from benchmarks import remote_driver
from nova_npiv import fabric_meta
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv.testing import harness
from nova_npiv import vios as npiv_vios
from nova_npiv import vm


class Concurrency(object):
    """The concurrency table's part of the benchmark."""

    def concurrency(self, count=16, tamper=None, quiet=False):
        """``count`` instances at once; their mappings checked one by one.

        :param tamper: callable(sim, driver, insts) run between the spawns
                       and the check, to plant broken state
                       (``--self-check``).
        :returns: the rows (phase, instances, failed, 412s, calls, VIOS
                  requests, batches, ms); the failed checks are added to
                  ``self.failures``.
        """
        topo = copy.deepcopy(co_managed_topology(
            physical_volumes=self.physical_volumes))
        for system in topo['systems']:
            # Room to run every instance at once (2 vCPUs, 4 GiB each).
            system['vcpus'] = max(system.get('vcpus', 64), 16 + 2 * count)
            system['memory_mb'] = max(system.get('memory_mb', 262144),
                                      65536 + 4096 * count)
        failures = []
        with Simulator(topo) as sim:
            sim.latency = self.latency
            sim.job_seconds = self.job_seconds
            if self.driver_process:
                driver = remote_driver.Remote(
                    sim, count, poll_interval=self.poll_interval)
            else:
                driver = _InProcess(self, sim, count)
            try:
                rows = []
                for phase, command in (('connector + spawn', 'spawn'),
                                       ('delete', 'delete')):
                    with meter_lib.Meter(sim) as meter:
                        errors, cpu, batches = driver.run(command)
                    conflicts = len([r for r in meter.log
                                     if r.status == 412])
                    vios = len([r for r in meter.log
                                if r.kind == 'VirtualIOServer'])
                    rows.append([phase, count, len(errors), conflicts,
                                 meter.total, vios, batches, '%.1f' % cpu,
                                 '%.0f' % (meter.bytes / 1024.0 / count),
                                 meter_lib.load(), meter.ms])
                    if errors:
                        failures.append('%s: %d of %d failed, first: %s'
                                        % (phase, len(errors), count,
                                           errors[0]))
                    if phase == 'connector + spawn':
                        if tamper is not None:
                            tamper(sim, driver, driver.instances)
                        check = self._check_exactly_once(
                            sim, driver, driver.instances)
                        if not check.endswith('OK'):
                            failures.append('after spawn: ' + check)
            finally:
                driver.close()
            leftover = len([m for m in sim.model.mappings()
                            if not m.client_lpar_name or
                            m.client_lpar_name.startswith('instance-')])
            if leftover:
                failures.append('after delete: %d instance mapping(s) left'
                                % leftover)
        if not quiet:
            self._print('Concurrency: %d instances on one host (%s)'
                        % (count, driver.where),
                        ['phase', 'instances', 'failed', '412 retries',
                         'calls', 'VIOS requests', 'batches', 'CPU s',
                         'KiB/op', 'load', 'ms'],
                        [r[:-1] + ['%.0f' % r[-1]] for r in rows])
            self.out.write('after spawn: %s\nafter delete: %d instance '
                           'mapping(s) left\n' % (check, leftover))
        for failure in failures:
            self.failures.append('%d instances at %.0f ms: %s' % (
                count, self.latency * 1000, failure))
        return rows

    def concurrency_table(self, counts, latencies):
        """Wall time of 1..N concurrent instances at each latency, against
        doing them one after another (N times the single instance)."""
        rows = []
        saved = self.latency
        try:
            for latency in latencies:
                self.latency = latency
                single = {}
                for count in counts:
                    for row in self.concurrency(count, quiet=True):
                        phase, ms = row[0], row[-1]
                        if count == 1:
                            single[phase] = ms
                        serial = single.get(phase, ms) * count
                        rows.append([
                            '%.0f' % (latency * 1000), phase, count, row[2],
                            row[3], row[4], row[5], row[6], row[7], row[8],
                            row[9], '%.0f' % ms, '%.0f' % serial,
                            '%.1f' % (serial / ms)])
        finally:
            self.latency = saved
        where = (remote_driver.Remote.where if self.driver_process
                 else _InProcess.where)
        self._print('Concurrency: instances at once on one host (%s; %s, %d '
                    'physical volumes per VIOS); serial = the count times '
                    'one instance alone'
                    % (where, self.jobs_said(), self.physical_volumes),
                    ['latency ms', 'phase', 'instances', 'failed', '412s',
                     'calls', 'VIOS requests', 'batches', 'CPU s', 'KiB/op',
                     'load', 'ms', 'serial ms', 'speed-up'], rows)
        self.out.write('CPU s: the driver\'s CPU time in the phase (in a '
                       'process of its own, the simulator\'s is not in it; '
                       'with --driver-in-process, both together: one '
                       'process, one GIL); near the wall time, the phase is '
                       'CPU-bound, not waiting on the console.  KiB/op: '
                       'request and reply bodies per instance.  load: the '
                       'machine\'s 1-minute load average as the phase '
                       'ended (2 cores: above 2, the phase waited for a '
                       'CPU).\n')
        self.out.write('every mapping checked exactly once after the spawns, '
                       'none left after the deletes: %s\n' % (
                           'OK' if not self.failures else 'see CHECK FAILED'))
        return rows

    @staticmethod
    def expected_mappings(drv, insts):
        """(client LPAR UUID, port WWPN, fabric, WWPN pair) per mapping the
        instances' metadata promises on ``drv``'s system."""
        expected = []
        for inst in insts:
            for fabric in drv.fabrics:
                rec = fabric_meta.get_fabric(inst, fabric)
                if rec.state != fabric_meta.INST_MAPPED:
                    # Not where a spawn must leave it: an empty key no
                    # mapping matches, so the check reports it missing.
                    expected.append((vm.lpar_uuid(inst), None, fabric,
                                     frozenset()))
                    continue
                for phys, pair in rec.port_map:
                    expected.append((vm.lpar_uuid(inst), phys.upper(),
                                     fabric, frozenset(pair.split())))
        return expected

    @staticmethod
    def actual_mappings(sim, system='sys-a'):
        """The same key for every mapping with a client adapter."""
        return collections.Counter(
            ((m.client_lpar_uuid or '').upper(),
             (m.port_wwpn or '').upper() or None, m.fabric,
             frozenset(m.wwpns))
            for m in sim.model.mappings(system) if m.wwpns)

    def _check_exactly_once(self, sim, drv, insts):
        """Each expected mapping present exactly once, nothing else.

        A mapping counts only with the right client partition, port and
        fabric: the instance's WWPNs still mapped to the staging partition
        or through a port of the wrong fabric are missing, not present.
        The staging partition's own mappings are unexpected here: every
        instance has been spawned.
        """
        expected = self.expected_mappings(drv, insts)
        actual = self.actual_mappings(sim)
        missing = [k for k in expected if actual[k] == 0]
        doubled = [k for k in expected if actual[k] > 1]
        wanted = set(expected)
        extra = [k for k in actual if k not in wanted]
        ok = expected and not (missing or doubled or extra)
        return ('%d expected mappings: %d missing, %d duplicated, %d '
                'unexpected -> %s' % (len(expected), len(missing),
                                      len(doubled), len(extra),
                                      'OK' if ok else 'FAIL'))


class _InProcess(object):
    """The driver in the benchmark's process (the tests, which patch it,
    and ``--self-check``): what :class:`.remote_driver.Remote` does, with
    the simulator sharing the interpreter."""

    where = 'driver in the simulator\'s process'

    def __init__(self, bench, sim, count):
        self.drv = bench._driver(sim, ['A', 'B'], 1)
        self.fabrics = self.drv.settings.fabrics
        self.staging_uuid = self.drv.staging.uuid
        self.instances = [bench._instance() for _ in range(count)]
        self._cinder = bench.cinder
        self._committer = npiv_vios.committer(self.drv.adapter,
                                              self.drv.system_uuid)

    def _create(self, inst):
        conn = self.drv.get_volume_connector(inst)
        bdms = [self._cinder.bdm('c-%s' % inst.uuid, 0, conn)]
        self.drv.spawn(harness.admin_context(), inst, None, [], None, {},
                       block_device_info={'block_device_mapping': bdms})

    def _delete(self, inst):
        self.drv.destroy(harness.admin_context(), inst, None, None)

    def run(self, command):
        func = {'spawn': self._create, 'delete': self._delete}[command]
        batches = len(self._committer.batches)
        cpu = meter_lib.cpu_seconds()
        with concurrent.futures.ThreadPoolExecutor(
                len(self.instances)) as pool:
            futures = [pool.submit(func, i) for i in self.instances]
            errors = [repr(f.exception()) for f in futures
                      if f.exception() is not None]
        return (errors, meter_lib.cpu_seconds() - cpu,
                len(self._committer.batches) - batches)

    def close(self):
        pass


def _instance_mapping(sim, inst, fabric):
    """The simulator's mapping of ``inst`` on ``fabric`` (first one)."""
    pair = set(fabric_meta.get_fabric(inst, fabric).port_map[0][1].split())
    return next(m for m in sim.model.mappings('sys-a')
                if set(m.wwpns) == pair)


def _plant_on_staging(sim, drv, insts):
    # What a spawn that never created the instance mappings leaves: the
    # WWPN pair mapped, but to the staging partition.
    m = _instance_mapping(sim, insts[0], 'A')
    sim.model.remove_mappings('sys-a', wwpn=m.wwpns[0])
    sim.model.add_mapping('sys-a', m.vios, lpar=drv.staging_uuid,
                          port=m.port_name, wwpns=m.wwpns)


def _plant_missing(sim, drv, insts):
    m = _instance_mapping(sim, insts[-1], 'B')
    sim.model.remove_mappings('sys-a', wwpn=m.wwpns[0])


def _plant_wrong_port(sim, drv, insts):
    m = _instance_mapping(sim, insts[0], 'B')
    other = next(p for p in sim.model.ports('sys-a')
                 if p.vios == m.vios and p.fabric != m.fabric)
    sim.model.remove_mappings('sys-a', wwpn=m.wwpns[0])
    sim.model.add_mapping('sys-a', m.vios, lpar=m.client_lpar_uuid,
                          port=other.name, wwpns=m.wwpns)


def _plant_doubled(sim, drv, insts):
    m = _instance_mapping(sim, insts[0], 'A')
    sim.model.add_mapping('sys-a', m.vios, lpar=m.client_lpar_uuid,
                          port=m.port_name, wwpns=m.wwpns)


PLANTS = {
    'instance mapping on the staging partition': _plant_on_staging,
    'instance mapping missing': _plant_missing,
    'instance mapping on a port of the other fabric': _plant_wrong_port,
    'instance mapping doubled': _plant_doubled,
}
