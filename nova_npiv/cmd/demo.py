"""``nova-npiv demo``: the whole NPIV lifecycle on the embedded simulator.

The driver is loaded the way nova-compute loads it (``compute_driver =
npiv.NPIVDriver``), once per simulated managed system, and is called in the
order nova's compute manager calls it.  Cinder is played by a few lines that
build FC connection_info from the connector, as an FC volume driver does.
After every step the VIOS mappings and the REST calls the step cost are
printed, and the state the step must leave is checked.

Two estates: ``novalink`` (the default), two systems each managed by its own
NovaLink, so the live migration goes console to console (the destination
console trusts the source's SSH key first); ``hmc``, one HMC over both
systems with a staging partition named in nova.conf on each, migrating on
the one console.
"""

import json
import time

from nova.compute import task_states
from nova import objects

from nova_npiv.cmd import tables
from nova_npiv import cold_migration
from nova_npiv import fabric_meta
from nova_npiv import job_requests
from nova_npiv.simulator import Estate
from nova_npiv.simulator import topology as topo
from nova_npiv.testing import fake_cinder
from nova_npiv.testing import harness
from nova_npiv import vm

HOSTS = (('host-a', 'sys-a'), ('host-b', 'sys-b'))
TOPOLOGIES = {
    'novalink': topo.novalink_pair,
    'hmc': topo.hmc_topology,
}
DEFAULT_TOPOLOGY = 'novalink'

INSTANCE_UUID = '3f0c0a38-6f3c-4b7e-9d46-0c6a1d0e9a01'


class StepFailed(Exception):
    pass


class Demo(object):

    def __init__(self, out, as_json=False, latency=0.0, topology=None):
        self.out = out
        self.as_json = as_json
        topology = topology or DEFAULT_TOPOLOGY
        if isinstance(topology, str):
            if topology not in TOPOLOGIES:
                raise ValueError('topology must be one of %s, not %r'
                                 % (', '.join(TOPOLOGIES), topology))
            topology = TOPOLOGIES[topology]()
        self.topology = topology
        self.latency = latency
        self.results = []
        self.cinder = fake_cinder.FakeCinder()
        self.ctxt = harness.admin_context()

    # -- set-up ----------------------------------------------------------

    def _load_drivers(self, sim):
        drivers = {}
        for host, system in HOSTS:
            # Without a management partition (a plain HMC) nova.conf names
            # the staging partition; a NovaLink's is found by itself.
            named = sim.model.lpar(topo.STAGING_PARTITION, system)
            overrides = ({'staging_partition': topo.STAGING_PARTITION}
                         if named is not None else {})
            drivers[host] = harness.load_driver(sim, host, system,
                                                **overrides)
            sim.track_session(drivers[host].adapter)
        return drivers

    # -- steps -----------------------------------------------------------

    def run(self):
        with Estate(self.topology) as sim:
            sim.latency = self.latency
            self.sim = sim
            self.drivers = self._load_drivers(sim)
            self.capacity_at_start = self._capacity()
            self.inst = harness.new_instance(1, INSTANCE_UUID, 'host-a',
                                             node='sys-a')
            self.bdms = []
            steps = [
                ('connector', self.step_connector),
                ('boot from two volumes', self.step_boot),
                ('attach a third volume', self.step_attach),
                ('detach the third volume', self.step_detach),
                ('live-migrate to host-b', self.step_migrate),
                ('resize to host-a (bigger flavor), confirm',
                 self.step_resize),
                ('delete', self.step_delete),
            ]
            for index, (name, func) in enumerate(steps, 1):
                if not self._run_step(index, len(steps), name, func):
                    break
            for drv in self.drivers.values():
                drv.cleanup_host(None)
        ok = all(r['ok'] for r in self.results) and \
            len(self.results) == len(steps)
        if self.as_json:
            self.out.write(json.dumps({'ok': ok, 'steps': self.results},
                                      indent=2) + '\n')
        else:
            self.out.write('\n%s\n' % ('All steps behaved as expected.' if ok
                                       else 'The demo FAILED.'))
        return 0 if ok else 1

    def _run_step(self, index, total, name, func):
        if not self.as_json:
            self.out.write('\n[%d/%d] %s ... ' % (index, total, name))
            self.out.flush()
        self.sim.reset_counters()
        started = time.monotonic()
        problems = []
        try:
            func()
        except StepFailed as err:
            problems.append(str(err))
        except Exception as err:
            problems.append('%s: %s' % (type(err).__name__, err))
        elapsed = (time.monotonic() - started) * 1000
        # The finished jobs' DELETEs go out after the step returns
        # (job_requests): counted with the step that ran the jobs.
        job_requests.drain_all()
        mappings = self.sim.model.mappings()
        counters = self.sim.counters()
        result = {'step': name, 'ok': not problems, 'problems': problems,
                  'ms': round(elapsed, 1), 'rest_calls': counters,
                  'rest_total': sum(counters.values()),
                  'mappings': tables.mapping_dicts(mappings)}
        self.results.append(result)
        if not self.as_json:
            self.out.write('%s (%.0f ms)\n' % ('ok' if not problems
                                              else 'FAILED', elapsed))
            for problem in problems:
                self.out.write('  !! %s\n' % problem)
            self.out.write(tables.render(tables.MAPPING_HEADERS,
                                         tables.mapping_rows(mappings)))
            self.out.write('\nREST calls: %d (%s)\n' % (
                result['rest_total'],
                ', '.join('%s %d' % kv for kv in sorted(counters.items()))
                or 'none'))
        return not problems

    def step_connector(self):
        conn = self.drivers['host-a'].get_volume_connector(self.inst)
        active = fabric_meta.active_wwpns(self.inst, ['A', 'B'])
        self._expect(sorted(conn['wwpns']) == sorted(active),
                     'connector WWPNs %s are not the instance\'s active '
                     'WWPNs %s' % (conn['wwpns'], active))
        self._expect(len(active) == 2, 'expected one WWPN per fabric')
        for fabric in ('A', 'B'):
            self._expect_state(fabric, fabric_meta.MGMT_MAPPED)
        staged = self._staging()
        self._expect(len(staged) == 2, 'expected 2 staging mappings, found '
                     '%d' % len(staged))
        self.connector = conn

    def step_boot(self):
        self.bdms = [self._bdm('vol-root', 0), self._bdm('vol-data', 1)]
        self.drivers['host-a'].spawn(
            self.ctxt, self.inst, None, [], None, {},
            block_device_info={'block_device_mapping': self.bdms})
        self._expect_instance_on('sys-a')
        self._expect(not self._staging(), 'staging mappings left behind')
        for fabric in ('A', 'B'):
            self._expect_state(fabric, fabric_meta.INST_MAPPED)

    def step_attach(self):
        bdm = self._bdm('vol-third', 2)
        self.drivers['host-a'].attach_volume(
            self.ctxt, bdm['connection_info'], self.inst, '/dev/sdc')
        self.bdms.append(bdm)
        self._expect_no_vios_update()
        self._expect_instance_on('sys-a')

    def step_detach(self):
        bdm = self.bdms.pop()
        self.drivers['host-a'].detach_volume(
            self.ctxt, bdm['connection_info'], self.inst, '/dev/sdc')
        self._expect_no_vios_update()
        self._expect_instance_on('sys-a')

    def step_migrate(self):
        src, dst = self.drivers['host-a'], self.drivers['host-b']
        before = {f: fabric_meta.get_fabric(self.inst, f).port_map
                  for f in ('A', 'B')}
        data = dst.check_can_live_migrate_destination(self.ctxt, self.inst,
                                                      None, None)
        data = src.check_can_live_migrate_source(self.ctxt, self.inst, data)
        # What nova's conductor and compute manager add on the way.
        data.migration = objects.Migration(
            source_compute='host-a', source_node='sys-a',
            dest_compute='host-b', dest_node='sys-b')
        self.inst.task_state = task_states.MIGRATING
        dst_conn = dst.get_volume_connector(self.inst)
        partners = fabric_meta.partner_wwpns(self.inst, ['A', 'B'])
        self._expect(sorted(dst_conn['wwpns']) == sorted(partners),
                     'destination connector must carry the partner WWPNs')
        staged = {m.logged_in for m in self._staging()
                  if m.system == 'sys-b'}
        self._expect(staged == set(partners), 'partner WWPNs are not logged '
                     'in through the destination staging partition')
        for bdm in self.bdms:
            bdm['connection_info'] = self.cinder.connection_info(
                bdm['connection_info']['serial'], dst_conn)
        data = dst.pre_live_migration(
            self.ctxt, self.inst, {'block_device_mapping': self.bdms},
            None, None, data)

        def post(ctxt, instance, dest, block_migration, migrate_data):
            src.post_live_migration(ctxt, instance, None, migrate_data)
            src.post_live_migration_at_source(ctxt, instance, None)
            instance.host, instance.node = 'host-b', 'sys-b'
            dst.post_live_migration_at_destination(ctxt, instance, None)
            instance.task_state = None

        def recover(ctxt, instance, dest, migrate_data):
            dst.rollback_live_migration_at_destination(
                ctxt, instance, None, None, migrate_data=migrate_data)
            instance.task_state = None

        src.live_migration(self.ctxt, self.inst, 'host-b', post, recover,
                           migrate_data=data)
        self._expect_instance_on('sys-b')
        self._expect(not self._staging(), 'staging mappings left behind')
        for fabric in ('A', 'B'):
            after = fabric_meta.get_fabric(self.inst, fabric).port_map
            self._expect(after[0][1].split() ==
                         list(reversed(before[fabric][0][1].split())),
                         'fabric %s: partner WWPN is not the active one '
                         'after migration' % fabric)

    def step_resize(self):
        """Resize to the other system: nova's calls on both hosts.

        The source's ``migrate_disk_and_power_off`` checks nova's migration
        record (the demo has no nova database) and then runs
        :func:`cold_migration.leave`, which is called here.
        """
        src, dst = self.drivers['host-b'], self.drivers['host-a']
        migration = objects.Migration(
            source_compute='host-b', source_node='sys-b',
            dest_compute='host-a', dest_node='sys-a')
        wwpns = sorted(fabric_meta.active_wwpns(self.inst, ['A', 'B']))
        pairs = set(fabric_meta.all_wwpns(self.inst, ['A', 'B']))
        cold_migration.leave(src, self.inst, migration, 60)
        # One WWPN is never logged in twice: the source maps none of them
        # any more before the destination stages them.
        still = [m for m in self.sim.model.mappings()
                 if m.system == 'sys-b' and pairs & set(m.wwpns)]
        self._expect(not still, 'the source still maps %d adapter(s) of '
                     'the instance' % len(still))
        self.inst.host, self.inst.node = 'host-a', 'sys-a'
        self.inst.flavor = objects.Flavor(memory_mb=8192, vcpus=4,
                                          root_gb=0, extra_specs={})
        conn = dst.get_volume_connector(self.inst)
        self._expect(sorted(conn['wwpns']) == wwpns,
                     'the destination connector must carry the same WWPNs')
        for bdm in self.bdms:
            bdm['connection_info'] = self.cinder.connection_info(
                bdm['connection_info']['serial'], conn)
        dst.finish_migration(
            self.ctxt, migration, self.inst, '[]', None, None, True, {},
            block_device_info={'block_device_mapping': self.bdms})
        src.confirm_migration(self.ctxt, migration, self.inst, None)
        self._expect_instance_on('sys-a')
        self._expect(not self._staging(), 'staging mappings left behind')
        lpar = self._lpars()[0]
        self._expect((lpar.memory_mb, lpar.vcpus) == (8192, 4),
                     'LPAR is %d MB / %d vCPUs, not 8192 / 4'
                     % (lpar.memory_mb, lpar.vcpus))

    def step_delete(self):
        host = self.inst.host
        self.drivers[host].destroy(self.ctxt, self.inst, None,
                                   {'block_device_mapping': self.bdms})
        uuids = set(vm.known_uuids(self.inst))
        left = [m for m in self.sim.model.mappings()
                if (m.client_lpar_uuid or '').upper() in uuids]
        self._expect(not left, '%d mapping(s) of the instance left'
                     % len(left))
        self._expect(not self._lpars(), 'LPAR left behind')
        self._expect(not self._staging(), 'staging mappings left behind')
        self._expect(self._capacity() == self.capacity_at_start,
                     'NPIV capacity not back to where it started')

    # -- checks ----------------------------------------------------------

    def _bdm(self, volume_id, boot_index):
        return self.cinder.bdm(volume_id, boot_index, self.connector)

    def _expect(self, condition, message):
        if not condition:
            raise StepFailed(message)

    def _expect_state(self, fabric, state):
        got = fabric_meta.get_fabric(self.inst, fabric).state
        self._expect(got == state, 'fabric %s is %s, expected %s'
                     % (fabric, got, state))

    def _expect_no_vios_update(self):
        posts = self.sim.counters().get('POST VirtualIOServer', 0)
        self._expect(posts == 0, '%d VIOS update(s) sent, expected none'
                     % posts)

    def _lpars(self):
        """The instance's LPARs, by the UUIDs that prove them its."""
        uuids = set(vm.known_uuids(self.inst))
        return [lp for lp in self.sim.model.lpars()
                if lp.uuid.upper() in uuids]

    def _expect_instance_on(self, system):
        lpars = self._lpars()
        uuids = {lp.uuid for lp in lpars}
        self._expect(len(lpars) == 1 and lpars[0].system == system,
                     'LPAR is not (only) on %s' % system)
        self._expect(lpars[0].state == 'running', 'LPAR is %s, not running'
                     % lpars[0].state)
        maps = [m for m in self.sim.model.mappings()
                if m.client_lpar_uuid in uuids]
        self._expect(len(maps) == 2 and {m.system for m in maps} == {system},
                     'expected 2 instance mappings on %s, found %s'
                     % (system, [(m.system, m.vios) for m in maps]))
        self._expect({m.fabric for m in maps} == {'A', 'B'},
                     'instance mappings do not cover both fabrics')
        active = set(fabric_meta.active_wwpns(self.inst, ['A', 'B']))
        self._expect({m.logged_in for m in maps} == active,
                     'logged-in WWPNs %s are not the active WWPNs %s'
                     % (sorted(m.logged_in or '-' for m in maps),
                        sorted(active)))

    def _staging(self):
        mgmt = {(lp.system, lp.id) for lp in self.sim.model.lpars()
                if lp.is_mgmt or lp.name == topo.STAGING_PARTITION}
        return [m for m in self.sim.model.mappings()
                if (m.system, m.client_lpar_id) in mgmt]

    def _capacity(self):
        return {(p.system, p.vios, p.name): p.available
                for p in self.sim.model.ports()}


def run(out, as_json=False, latency=0.0, topology=None):
    return Demo(out, as_json=as_json, latency=latency,
                topology=topology).run()
