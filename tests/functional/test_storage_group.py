"""The storage group (``ViosStorage``) only where the ports are unknown.

The physical FC ports come with ``ViosStorage``, which also carries every
SAN LUN of the VIOS (hundreds of KiB per VIOS on a SAN).  After the one
read that notes the port directory (``init_host``), the connector, spawn
and delete read and POST the VIOSes with their mappings alone, and every
mapping still lands on the port it was meant for (issue 16).  Counted on
the simulator's request log; nothing here is timed.
"""

import concurrent.futures

from pypowervm import const as pvm_const

from nova_npiv import exception
from nova_npiv.simulator import co_managed_topology
from nova_npiv.testing import harness
from nova_npiv import vios as npiv_vios
from tests.functional import base

STOR = pvm_const.XAG.VIO_STOR


def _vios_requests(sim, start=0):
    return [r for r in list(sim.request_log)[start:]
            if r.kind == 'VirtualIOServer']


class TestStorageGroup(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world(topology=co_managed_topology(
            physical_volumes=50))
        self.sim = self.w.sim
        self.drv = self.w.drivers['host-a']

    def test_spawn_and_delete_never_ask_for_the_storage_group(self):
        start = len(self.sim.request_log)
        self.w.spawn()
        spawned = _vios_requests(self.sim, start)
        self.assertTrue([r for r in spawned if r.method == 'POST'])
        self.assertEqual([], [(r.method, r.query) for r in spawned
                              if STOR in r.query])
        # Each fabric's mapping is on the port the metadata records.
        mine = [m for m in self.sim.model.mappings('sys-a')
                if (m.client_lpar_uuid or '').upper() ==
                self.w.lpar_uuid.upper()]
        self.assertEqual({'A', 'B'}, {m.fabric for m in mine})
        self.assertTrue(all(m.port_wwpn for m in mine))
        middle = len(self.sim.request_log)
        self.w.destroy()
        deleted = _vios_requests(self.sim, middle)
        self.assertTrue([r for r in deleted if r.method == 'POST'])
        self.assertEqual([], [r.query for r in deleted if STOR in r.query])
        self.assertEqual([], [m for m in self.sim.model.mappings('sys-a')
                              if (m.client_lpar_uuid or '').upper() ==
                              self.w.lpar_uuid.upper()])

    def test_capacity_follows_the_mappings(self):
        """The connector's port check sees the capacity the last update's
        mappings report, not the one of the directory's read."""
        before = dict(npiv_vios.FEEDS.ports(self.drv.adapter,
                                            self.drv.system_uuid))
        self.w.spawn()
        after = npiv_vios.FEEDS.ports(self.drv.adapter,
                                      self.drv.system_uuid)
        used = {(m.port_wwpn or '').lower()
                for m in self.sim.model.mappings('sys-a')
                if (m.client_lpar_uuid or '').upper() ==
                self.w.lpar_uuid.upper()}
        for wwpn in used:
            port = [p for p in self.sim.model.ports('sys-a')
                    if p.wwpn.lower() == wwpn][0]
            self.assertEqual(port.available,
                             after[wwpn].npiv_available_ports)
            self.assertLess(after[wwpn].npiv_available_ports,
                            before[wwpn].npiv_available_ports)

    def test_a_vios_the_directory_does_not_know_is_an_error_and_a_reread(
            self):
        feed = npiv_vios.read_feed(self.drv.adapter, self.drv.system_uuid,
                                   npiv_vios.XAGS_MAPPINGS)
        directory = npiv_vios.FEEDS.directory(self.drv.adapter,
                                              self.drv.system_uuid)
        directory.pop(feed[0].uuid)
        self.assertRaises(exception.PortDirectoryStale,
                          npiv_vios.with_ports, feed, self.drv.system_uuid)
        self.assertIsNone(npiv_vios.FEEDS.directory(self.drv.adapter,
                                                    self.drv.system_uuid))
        # Without a directory, the next FeedTask asks for the ports.
        ftsk = npiv_vios.feed_task(self.drv.adapter, self.drv.system_uuid,
                                   'x', xags=npiv_vios.XAGS_PORTS)
        self.assertEqual(npiv_vios.XAGS_PORTS, ftsk._xags)

    def test_concurrent_first_connectors_read_the_mappings_once(self):
        """The staging-room check before the WWPN job reads the mappings
        once for callers that arrive together, not once each."""
        insts = [harness.new_instance(10 + n, 'aaaaaaaa-1111-4222-8333-%012d'
                                      % n, 'host-a', node='sys-a')
                 for n in range(6)]
        start = len(self.sim.request_log)
        with concurrent.futures.ThreadPoolExecutor(len(insts)) as pool:
            conns = list(pool.map(self.drv.get_volume_connector, insts))
        self.assertEqual(len(insts), len(conns))
        # Feed reads (a VIOS no batch member changed is re-read on its
        # own, If-None-Match, see vios._Verified: not counted here).
        feeds = [r for r in _vios_requests(self.sim, start)
                 if r.method == 'GET' and r.path.endswith('VirtualIOServer')]
        self.assertEqual(1, len(feeds), [r.query for r in feeds])
        staging = self.drv.staging.uuid.upper()
        staged = [m for m in self.sim.model.mappings('sys-a')
                  if (m.client_lpar_uuid or '').upper() == staging]
        self.assertEqual(2 * len(insts), len(staged))

    def test_a_feed_of_another_session_does_not_cost_a_second_read(self):
        """What an earlier session left is replaced by the connector's
        read, which the staging is then written on (it was kept, and the
        staging read the VIOSes again)."""
        import time
        import types
        other = types.SimpleNamespace(adapter=object())
        npiv_vios.FEEDS._feeds[self.drv.system_uuid] = (
            set(npiv_vios.XAGS_MAPPINGS), [other], time.monotonic())
        start = len(self.sim.request_log)
        self.w.connector()
        feeds = [r for r in _vios_requests(self.sim, start)
                 if r.method == 'GET' and r.path.endswith('VirtualIOServer')]
        self.assertEqual(1, len(feeds))


class TestWithoutStaging(base.WorldTestCase):
    """Without a staging partition the connector only records the ports:
    it chooses them on the mappings at hand with the port directory, not
    on a read of every SAN LUN again."""

    def setUp(self):
        super().setUp()
        self.w = self.world(topology=co_managed_topology(
            physical_volumes=50), staging_partition='none')
        self.sim = self.w.sim
        self.drv = self.w.drivers['host-a']

    def test_connector_reads_no_storage_group(self):
        self.assertIsNone(self.drv.staging.uuid)
        start = len(self.sim.request_log)
        connector = self.drv.get_volume_connector(self.w.inst)
        self.assertEqual(2, len(connector['wwpns']))
        self.assertEqual([], [r.query for r in
                              _vios_requests(self.sim, start)
                              if STOR in r.query])
        # Each fabric's ports are this host's, as configured.
        npiv = self.drv._npiv(self.w.inst)
        for rec in npiv.records:
            self.assertTrue(rec.phys_ports)
            self.assertTrue(set(rec.phys_ports) <=
                            set(npiv.settings.ports[rec.fabric]))
        # A second instance: the feed the first read is at hand, no read.
        other = harness.new_instance(7, '7' * 8 + '-0000-4000-8000-' +
                                     '0' * 12, 'host-a', node='sys-a')
        middle = len(self.sim.request_log)
        self.drv.get_volume_connector(other)
        self.assertEqual([], [(r.method, r.query) for r in
                              _vios_requests(self.sim, middle)])

    def test_without_a_directory_it_reads_the_ports(self):
        npiv_vios.FEEDS.forget()
        start = len(self.sim.request_log)
        self.drv.get_volume_connector(self.w.inst)
        self.assertEqual(1, len([r for r in _vios_requests(self.sim, start)
                                 if STOR in r.query]))
        self.assertIsNotNone(npiv_vios.FEEDS.directory(
            self.drv.adapter, self.drv.system_uuid))
