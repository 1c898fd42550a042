"""Filling a managed system through nova's scheduler.

Placement's inventory must say what PowerOn can really give: the host is
full when the scheduler says so, and no spawn on the way fails at power-on
for lack of cores or memory.
"""

import time

from nova_npiv.simulator import default_topology
from tests.functional import nova_base
from tests.functional.nova_base import uuids


def small_topology():
    """sys-a with 12 cores and 40 GiB: the two VIOSes (2 cores, 8 GiB each)
    and the management partition (1 core, 4 GiB) leave 7 cores and
    19 GiB (the hypervisor keeps 1 GiB) for instances."""
    topo = default_topology(systems=('sys-a',))
    topo['systems'][0].update(memory_mb=40960, vcpus=12)
    return topo


class TestFillHost(nova_base.NPIVServicesTestCase):

    HOSTS = {'host-a': 'sys-a'}
    TOPOLOGY = small_topology()

    def _fill(self, memory_mb, vcpus):
        self.flavor_id = self._create_flavor(memory_mb=memory_mb, vcpu=vcpus,
                                             disk=0, ephemeral=0)
        self.sim.reset_counters()
        active = []
        for number in range(8):
            server = self._boot(getattr(uuids, 'vol%d' % number))
            if server['status'] == 'ERROR':
                return active, server
            active.append(server)
        self.fail('the host never filled up')

    def _boot(self, volume_id):
        """Boot without naming the host: the scheduler decides."""
        server = self._build_server(flavor_id=self.flavor_id,
                                    networks='none')
        server.pop('imageRef')
        server['block_device_mapping_v2'] = [
            {'boot_index': 0, 'uuid': volume_id, 'source_type': 'volume',
             'destination_type': 'volume'}]
        server = self.api.post_server({'server': server})
        for _ in range(100):
            server = self.api.get_server(server['id'])
            if server['status'] in ('ACTIVE', 'ERROR') and (
                    server['status'] == 'ACTIVE' or 'fault' in server):
                return server
            time.sleep(0.2)
        self.fail('server %s stays %s' % (server['id'], server['status']))

    def assertFullNotFailed(self, active, refused):
        self.assertIn('No valid host', refused['fault']['message'])
        # One LPAR and one power-on per active server: the refused one got
        # neither, and no spawn failed at power-on and was retried.
        counters = self.sim.counters()
        self.assertEqual(len(active), counters.get('PUT job:PowerOn', 0))
        self.assertEqual(len(active), counters.get('PUT LogicalPartition', 0))
        # (A server nova could not place lives in cell0: look it up by the
        # UUID its LPAR would have had.)
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if lp.uuid.upper() == self.lpar_uuid(refused)])

    def test_cores_run_out_first(self):
        # 2 dedicated cores each: 3 fit in 7 free cores, the 4th does not.
        active, refused = self._fill(memory_mb=2048, vcpus=2)
        self.assertEqual(3, len(active))
        self.assertFullNotFailed(active, refused)

    def test_memory_runs_out_first(self):
        # 6 GiB each: 3 fit in 19 GiB, the 4th does not.
        active, refused = self._fill(memory_mb=6144, vcpus=1)
        self.assertEqual(3, len(active))
        self.assertFullNotFailed(active, refused)
