"""pypowervm's real Session/Adapter/FeedTask over HTTP against the simulator.

Every test here drives the simulator only through pypowervm, as the plugin
does, and checks the result both through pypowervm's wrappers and in the
simulator's state model.
"""

import logging
import os
import time

import fixtures
from pypowervm import adapter as pvm_adpt
from pypowervm import const as pvm_const
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import migration as pvm_mig
from pypowervm.tasks import partition as pvm_par
from pypowervm.tasks import power as pvm_power
from pypowervm.tasks import power_opts as pvm_popts
from pypowervm.tasks import vfc_mapper
import pypowervm.tests.test_utils.pvmhttp as pvmhttp
from pypowervm.utils import transaction as pvm_tx
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import storage as pvm_stor
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator

FMAP = pvm_const.XAG.VIO_FMAP
STOR = pvm_const.XAG.VIO_STOR
VIOS_DATA = os.path.join(os.path.dirname(pvmhttp.__file__), os.pardir,
                         'data', 'fake_vios_feed.txt')


def one_system(console='novalink', **kwargs):
    return default_topology(console=console, systems=('sys-a',), **kwargs)


class SimTestCase(testtools.TestCase):
    """A running simulator and a logged-on pypowervm Adapter per test."""

    def topology(self):
        # Two systems on one console, each with a NovaLink partition to map
        # to: an HMC co-managing them (a NovaLink manages only its own).
        return default_topology(console='hmc', mgmt_partition=True)

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.sim = Simulator(self.topology())
        self.sim.start()
        # Stopping logs the adapter's session off while the server is up.
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()

    def sys_uuid(self, name='sys-a'):
        return self.sim.model.system(name).uuid

    def vios_feed(self, system='sys-a', xag=(FMAP, STOR)):
        return pvm_vios.VIOS.get(self.adpt, parent_type=pvm_ms.System,
                                 parent_uuid=self.sys_uuid(system),
                                 xag=list(xag))

    def vios_getter(self, system='sys-a', xag=(FMAP, STOR)):
        return pvm_vios.VIOS.getter(self.adpt, parent_class=pvm_ms.System,
                                    parent_uuid=self.sys_uuid(system),
                                    xag=list(xag))

    def fabric_ports(self, fabric, system='sys-a'):
        return [p.wwpn for p in self.sim.model.ports(system)
                if p.fabric == fabric]

    def new_lpar(self, name='inst-1', system='sys-a', memory=2048, procs=2):
        mem = pvm_bp.PartitionMemoryConfiguration.bld(self.adpt, memory)
        proc = pvm_bp.PartitionProcessorConfiguration.bld_dedicated(
            self.adpt, procs)
        lpar = pvm_lpar.LPAR.bld(self.adpt, name, mem, proc)
        return lpar.create(parent_type=pvm_ms.System,
                           parent_uuid=self.sys_uuid(system))

    def add_maps(self, lpar_uuid, port_maps, system='sys-a'):
        """One FeedTask adding ``port_maps``, each on its port's VIOS."""
        host = self.sys_uuid(system)
        ftsk = pvm_tx.FeedTask('add_maps', self.vios_getter(system))
        for port_map in port_maps:
            def add(vios_w, port_map=port_map):
                if vfc_mapper.find_vios_for_wwpn([vios_w],
                                                 port_map[0])[0] is None:
                    return None
                return vfc_mapper.add_map(vios_w, host, lpar_uuid, port_map)
            ftsk.add_functor_subtask(add)
        ftsk.execute()

    def remove_maps(self, lpar_uuid, system='sys-a'):
        ftsk = pvm_tx.FeedTask('rm_maps', self.vios_getter(system))
        ftsk.add_functor_subtask(vfc_mapper.remove_maps, lpar_uuid)
        ftsk.execute()

    def maps_of(self, lpar_uuid, system=None):
        return [m for m in self.sim.model.mappings(system)
                if m.client_lpar_uuid == lpar_uuid]

    def available(self, system='sys-a'):
        return {(p.vios, p.name): p.available
                for p in self.sim.model.ports(system)}


class TestServer(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def test_listens_on_loopback_ephemeral_port(self):
        with Simulator(default_topology()) as sim:
            self.assertEqual('127.0.0.1', sim.host)
            self.assertEqual(('127.0.0.1', sim.port),
                             sim._server.server_address)
            self.assertNotEqual(0, sim.port)
            self.assertEqual('http://127.0.0.1:%d' % sim.port, sim.url)

    def test_start_and_read_vios_feed_under_a_second(self):
        start = time.monotonic()
        sim = Simulator(default_topology())
        sim.start()
        try:
            adpt = sim.adapter()
            feed = pvm_vios.VIOS.get(adpt, xag=[FMAP, STOR])
            elapsed = time.monotonic() - start
        finally:
            sim.stop()
        self.assertEqual(4, len(feed))
        self.assertLess(elapsed, 1.0)

    def test_stop_closes_the_port_and_logs_sessions_off(self):
        sim = Simulator(one_system())
        sim.start()
        adpt = sim.adapter()
        port = sim.port
        sim.stop()
        self.assertEqual(1, sim.counters().get('DELETE Logon'))
        self.assertFalse(adpt.session._logged_in)
        self.assertRaises(pvm_exc.ConnectionError,
                          pvm_adpt.Session, host='localhost', port=port,
                          protocol='http', username='admin',
                          password='s3cret-pass')


class TestLogon(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def _sim(self, console):
        sim = Simulator(one_system(console))
        sim.start()
        self.addCleanup(sim.stop)
        return sim

    def test_novalink_traits(self):
        sim = self._sim('novalink')
        adpt = sim.adapter()
        self.assertEqual('PVM', adpt.session.mc_type)
        self.assertFalse(adpt.traits.has_lpar_profiles)
        self.assertFalse(adpt.traits.vnet_aware)
        self.assertTrue(adpt.traits.dynamic_pvid)
        self.assertFalse(adpt.traits.local_api)

    def test_hmc_traits(self):
        sim = self._sim('hmc')
        adpt = sim.adapter()
        self.assertEqual('HMC', adpt.session.mc_type)
        self.assertTrue(adpt.traits.has_lpar_profiles)
        self.assertTrue(adpt.traits.vnet_aware)
        self.assertFalse(adpt.traits.dynamic_pvid)

    def test_bad_password_is_refused(self):
        sim = self._sim('hmc')
        exc = self.assertRaises(pvm_exc.HttpUnauth, sim.adapter,
                                password='wrong')
        self.assertIn('Logon failed', str(exc))
        self.assertNotIn('wrong', str(exc))
        self.assertEqual(1, sim.counters()['PUT Logon'])

    def test_requests_need_a_valid_session(self):
        sim = self._sim('novalink')
        sim.adapter()
        import requests
        resp = requests.get(sim.url + '/rest/api/uom/ManagedSystem')
        self.assertEqual(401, resp.status_code)
        resp = requests.get(sim.url + '/rest/api/uom/ManagedSystem',
                            headers={'X-API-Session': 'forged'})
        self.assertEqual(401, resp.status_code)

    def test_expired_session_logs_on_again_transparently(self):
        sim = self._sim('novalink')
        adpt = sim.adapter()
        sim.expire_sessions()
        self.assertEqual(1, len(pvm_ms.System.get(adpt)))
        self.assertEqual(2, sim.counters()['PUT Logon'])
        self.assertEqual(2, sim.counters()['GET ManagedSystem'])

    def test_file_auth_on_novalink(self):
        sim = self._sim('novalink')
        sess = pvm_adpt.Session(host='localhost', port=sim.port,
                                protocol='http')
        adpt = sim.track_session(pvm_adpt.Adapter(sess))
        self.assertTrue(adpt.traits.local_api)
        self.assertEqual(1, len(pvm_ms.System.get(adpt)))

    def test_file_auth_refused_on_hmc(self):
        sim = self._sim('hmc')
        self.assertRaises(pvm_exc.HttpUnauth, pvm_adpt.Session,
                          host='localhost', port=sim.port, protocol='http')

    def test_logoff_invalidates_the_token(self):
        sim = self._sim('novalink')
        adpt = sim.adapter()
        token = adpt.session._sessToken
        adpt.session._logoff()
        import requests
        resp = requests.get(sim.url + '/rest/api/uom/ManagedSystem',
                            headers={'X-API-Session': token})
        self.assertEqual(401, resp.status_code)


class TestReads(SimTestCase):

    def test_systems(self):
        systems = pvm_ms.System.get(self.adpt)
        self.assertEqual(['sys-a', 'sys-b'], [s.system_name for s in systems])
        sys_a = systems[0]
        self.assertEqual(self.sys_uuid('sys-a'), sys_a.uuid)
        self.assertEqual(262144, sys_a.memory_total)
        self.assertEqual(64.0, sys_a.proc_units)
        self.assertLess(sys_a.memory_free, sys_a.memory_total)
        self.assertTrue(sys_a.get_capability('active_lpar_mobility_capable'))
        self.assertEqual(2, len(sys_a.vios_links))
        self.assertEqual(sys_a.uuid, self.adpt.sys_uuid)

    def test_nested_vios_feed_holds_only_that_system(self):
        feed = self.vios_feed('sys-b')
        self.assertEqual(['vios-b1', 'vios-b2'], [v.name for v in feed])
        self.assertEqual([2, 3], [v.id for v in feed])
        for vios_w in feed:
            self.assertEqual('running', vios_w.state)
            self.assertEqual('active', vios_w.rmc_state)
            self.assertEqual(self.sys_uuid('sys-b'), vios_w.assoc_sys_uuid)
            self.assertEqual(['fcs0', 'fcs1'],
                             [p.name for p in vios_w.pfc_ports])
            self.assertEqual([64, 64], [p.npiv_total_ports
                                        for p in vios_w.pfc_ports])
            self.assertEqual([64, 64], [p.npiv_available_ports
                                        for p in vios_w.pfc_ports])
            self.assertEqual(0, len(vios_w.vfc_mappings))
            self.assertTrue(vios_w.etag)
        model_wwpns = {p.wwpn for p in self.sim.model.ports('sys-b')}
        self.assertEqual(model_wwpns, set().union(
            *(v.get_pfc_wwpns() for v in feed)))
        self.assertEqual(4, len(pvm_vios.VIOS.get(self.adpt)))

    def test_lpar_feed_and_management_partition(self):
        lpars = pvm_lpar.LPAR.get(self.adpt, parent_type=pvm_ms.System,
                                  parent_uuid=self.sys_uuid('sys-a'))
        self.assertEqual(['novalink-sys-a'], [lp.name for lp in lpars])
        self.assertTrue(lpars[0].is_mgmt_partition)
        self.assertEqual(1, lpars[0].id)
        self.assertEqual('running', lpars[0].state)
        # Both systems' management partitions are in the root feed.
        self.assertEqual(2, len(pvm_lpar.LPAR.get(self.adpt)))

    def test_search_by_name_and_id(self):
        found = pvm_lpar.LPAR.search(self.adpt, name='novalink-sys-b')
        self.assertEqual(1, len(found))
        self.assertEqual(self.sys_uuid('sys-b'), found[0].assoc_sys_uuid)
        self.assertEqual(2, len(pvm_lpar.LPAR.search(self.adpt, id=1)))
        self.assertEqual([], pvm_lpar.LPAR.search(self.adpt, name='nope'))
        self.assertEqual(['vios-a2'], [v.name for v in pvm_vios.VIOS.search(
            self.adpt, name='vios-a2')])
        self.assertEqual(1, self.sim.counters()['GET VirtualIOServer'])

    def test_extended_attribute_groups(self):
        uuid = self.vios_feed()[0].uuid

        def read(xag):
            return pvm_vios.VIOS.get(self.adpt, uuid=uuid, xag=xag)

        self.sim.model.add_mapping('sys-a', 'vios-a1',
                                   lpar='novalink-sys-a', port='fcs0')
        base = read(None)        # group=None: the base object only
        self.assertIsNone(base.element.find('VirtualFibreChannelMappings'))
        self.assertEqual(0, len(base.vfc_mappings))
        self.assertEqual([], base.pfc_ports)
        maps_only = read([FMAP])
        self.assertEqual(1, len(maps_only.vfc_mappings))
        self.assertEqual([], maps_only.pfc_ports)
        ports_only = read([STOR])
        self.assertEqual(0, len(ports_only.vfc_mappings))
        self.assertEqual(2, len(ports_only.pfc_ports))
        everything = read([])    # no group= at all: the server default
        self.assertEqual(1, len(everything.vfc_mappings))
        self.assertEqual(2, len(everything.pfc_ports))
        self.assertIn('group=ViosFCMapping,ViosStorage',
                      read([STOR, FMAP]).href)

    def test_etags_304_and_change(self):
        vios_w = self.vios_feed()[0]
        single = pvm_vios.VIOS.get(self.adpt, uuid=vios_w.uuid,
                                   xag=[FMAP, STOR])
        self.assertEqual(vios_w.etag, single.etag)
        self.assertIs(single, single.refresh())
        self.sim.model.add_mapping('sys-a', vios_w.name,
                                   lpar='novalink-sys-a', port='fcs1')
        fresh = single.refresh()
        self.assertIsNot(single, fresh)
        self.assertNotEqual(single.etag, fresh.etag)
        self.assertEqual(1, len(fresh.vfc_mappings))

    def test_empty_feed_and_missing_entry(self):
        lpar_w = pvm_lpar.LPAR.get(self.adpt)[0]
        self.assertEqual([], pvm_stor.VFCClientAdapter.get(
            self.adpt, parent_type=pvm_lpar.LPAR, parent_uuid=lpar_w.uuid))
        self.assertIn('GET VirtualFibreChannelClientAdapter',
                      self.sim.counters())
        self.assertRaises(pvm_exc.HttpNotFound, pvm_lpar.LPAR.get, self.adpt,
                          uuid='0BAD0000-0000-4000-8000-000000000000')
        self.assertRaises(pvm_exc.HttpNotFound, pvm_vios.VIOS.get, self.adpt,
                          uuid=lpar_w.uuid)


class TestManagementPartition(SimTestCase):

    def topology(self):
        return one_system()

    def test_get_mgmt_partition(self):
        mgmt = pvm_par.get_mgmt_partition(self.adpt)
        self.assertIsInstance(mgmt, pvm_lpar.LPAR)
        self.assertEqual('novalink-sys-a', mgmt.name)
        self.assertTrue(mgmt.is_mgmt_partition)

    def test_active_vio_feed_task(self):
        self.sim.model.set_vios_state('sys-a', 'vios-a2', 'not activated')
        ftsk = pvm_par.build_active_vio_feed_task(self.adpt, xag=[FMAP])
        self.assertEqual(['vios-a1'], [v.name for v in ftsk.feed])


class TestHMC(SimTestCase):

    def topology(self):
        return default_topology(console='hmc')

    def test_no_management_partition(self):
        self.assertEqual([], pvm_lpar.LPAR.get(self.adpt))
        self.assertRaises(pvm_exc.ManagementPartitionNotFoundException,
                          pvm_par.get_mgmt_partition, self.adpt)
        self.assertFalse(any(v.is_mgmt_partition
                             for v in pvm_vios.VIOS.get(self.adpt)))


class TestMappings(SimTestCase):

    def setUp(self):
        super().setUp()
        self.lpar = self.new_lpar()

    def test_build_wwpn_pair(self):
        first = vfc_mapper.build_wwpn_pair(self.adpt, self.sys_uuid(),
                                           pair_count=2)
        second = vfc_mapper.build_wwpn_pair(self.adpt, self.sys_uuid())
        self.assertEqual(4, len(first))
        self.assertEqual(2, len(second))
        self.assertEqual(6, len(set(first + second)))
        for wwpn in first + second:
            self.assertRegex(wwpn, '^[0-9A-F]{16}$')
        self.assertEqual(2, self.sim.counters()['PUT job:GetNextWWPNs'])
        self.assertEqual(2, self.sim.counters()['DELETE jobs'])
        exc = self.assertRaises(pvm_exc.JobRequestFailed,
                                vfc_mapper.build_wwpn_pair, self.adpt,
                                self.sys_uuid(), pair_count=9)
        self.assertIn('between 1 and 8', str(exc))

    def test_feedtask_adds_on_two_vioses_in_parallel_then_removes(self):
        before = self.available()
        feed = self.vios_feed()
        port_maps = (
            vfc_mapper.derive_base_npiv_map(feed, self.fabric_ports('A'), 2)
            + vfc_mapper.derive_base_npiv_map(feed, self.fabric_ports('B'),
                                              2))
        self.sim.reset_counters()
        self.add_maps(self.lpar.uuid, port_maps)
        self.assertEqual({'GET VirtualIOServer': 1,
                          'POST VirtualIOServer': 2}, self.sim.counters())
        maps = self.maps_of(self.lpar.uuid)
        self.assertEqual(4, len(maps))
        self.assertEqual({'vios-a1', 'vios-a2'}, {m.vios for m in maps})
        self.assertEqual({('A', 2), ('B', 2)}, {
            (f, sum(1 for m in maps if m.fabric == f)) for f in 'AB'})
        wwpns = [w for m in maps for w in m.wwpns]
        self.assertEqual(8, len(set(wwpns)))
        self.assertEqual(sorted({m.client_slot for m in maps}),
                         [m.client_slot for m in sorted(
                             maps, key=lambda m: m.client_slot)])
        self.assertEqual(len({m.vfchost for m in maps if m.vios == 'vios-a1'}),
                         2)
        self.assertTrue(all(m.logged_in is None for m in maps))
        after = self.available()
        for key, value in before.items():
            self.assertEqual(value - 1, after[key])
        # The client adapters show up on the LPAR.
        adapters = pvm_stor.VFCClientAdapter.get(
            self.adpt, parent_type=pvm_lpar.LPAR, parent_uuid=self.lpar.uuid)
        self.assertEqual(sorted(m.client_slot for m in maps),
                         sorted(a.lpar_slot_num for a in adapters))
        self.assertEqual({w.upper() for w in wwpns},
                         {w for a in adapters for w in a.wwpns})
        # pypowervm reads the mappings back as it wrote them.
        vios_ws = self.vios_feed()
        for m in maps:
            vios_w, vfc_map = vfc_mapper.find_vios_for_vfc_wwpns(
                vios_ws, m.wwpns)
            self.assertEqual(m.vios, vios_w.name)
            self.assertEqual(m.port_wwpn, vfc_map.backing_port.wwpn)
            self.assertEqual(self.lpar.id, vfc_map.server_adapter.lpar_id)
            self.assertEqual(m.vfchost, vfc_map.server_adapter.name)
        self.sim.reset_counters()
        self.remove_maps(self.lpar.uuid)
        self.assertEqual(2, self.sim.counters()['POST VirtualIOServer'])
        self.assertEqual([], self.maps_of(self.lpar.uuid))
        self.assertEqual(before, self.available())

    def test_given_wwpns_are_kept_and_readding_is_a_no_op(self):
        wwpns = vfc_mapper.build_wwpn_pair(self.adpt, self.sys_uuid())
        feed = self.vios_feed()
        port_maps = vfc_mapper.derive_npiv_map(feed, self.fabric_ports('A'),
                                               wwpns)
        self.add_maps(self.lpar.uuid, port_maps)
        (mapping,) = self.maps_of(self.lpar.uuid)
        self.assertEqual(tuple(w.lower() for w in wwpns), mapping.wwpns)
        self.sim.reset_counters()
        self.add_maps(self.lpar.uuid, port_maps)
        self.assertEqual({'GET VirtualIOServer': 1}, self.sim.counters())

    def test_staging_to_instance_in_one_post(self):
        mgmt = self.sim.model.lpar('novalink-sys-a')
        wwpns = vfc_mapper.build_wwpn_pair(self.adpt, self.sys_uuid())
        port_maps = vfc_mapper.derive_npiv_map(
            self.vios_feed(), self.fabric_ports('A'), wwpns)
        self.add_maps(mgmt.uuid, port_maps)
        (staged,) = self.maps_of(mgmt.uuid)
        self.assertEqual(staged.wwpns[0], staged.logged_in)
        host = self.sys_uuid()
        ftsk = pvm_tx.FeedTask('swap', self.vios_getter())

        def swap(vios_w):
            removed = vfc_mapper.remove_maps(vios_w, mgmt.uuid,
                                             port_map=port_maps[0])
            if not removed:
                return False
            vfc_mapper.add_map(vios_w, host, self.lpar.uuid, port_maps[0])
            return True
        ftsk.add_functor_subtask(swap)
        self.sim.reset_counters()
        ftsk.execute()
        self.assertEqual(1, self.sim.counters()['POST VirtualIOServer'])
        self.assertEqual([], self.maps_of(mgmt.uuid))
        (moved,) = self.maps_of(self.lpar.uuid)
        self.assertEqual(staged.wwpns, moved.wwpns)
        self.assertEqual(staged.port_wwpn, moved.port_wwpn)

    def test_412_storm_clears_and_the_update_lands(self):
        feed = self.vios_feed()
        port_maps = vfc_mapper.derive_base_npiv_map(
            feed, self.fabric_ports('B')[:1], 1)
        fault = self.sim.inject_fault('POST', 'VirtualIOServer', kind='412',
                                      times=3)
        self.sim.reset_counters()
        self.add_maps(self.lpar.uuid, port_maps)
        self.assertEqual(3, len(fault.hits))
        self.assertEqual(4, self.sim.counters()['POST VirtualIOServer'])
        # One feed GET, then a refresh of the entry before each retry.
        self.assertEqual(4, self.sim.counters()['GET VirtualIOServer'])
        self.assertEqual(1, len(self.maps_of(self.lpar.uuid)))
        statuses = [r.status for r in self.sim.request_log
                    if r.method == 'POST']
        self.assertEqual([412, 412, 412, 200], statuses)

    def test_stale_etag_is_refused_with_412(self):
        vios_w = self.vios_feed()[0]
        self.sim.model.add_mapping('sys-a', vios_w.name,
                                   lpar='novalink-sys-a', port='fcs0')
        vfc_mapper.add_map(vios_w, self.sys_uuid(), self.lpar.uuid,
                           (vios_w.pfc_ports[1].wwpn, '-1 -1'))
        exc = self.assertRaises(pvm_exc.HttpError, vios_w.update)
        self.assertEqual(412, exc.response.status)
        self.assertEqual([], self.maps_of(self.lpar.uuid))

    def test_port_capacity_exhaustion(self):
        self.sim.model.add_mapping('sys-a', 'vios-a1', lpar='novalink-sys-a',
                                   port='fcs0')
        for _ in range(62):
            self.sim.model.add_mapping('sys-a', 'vios-a1',
                                       lpar='novalink-sys-a', port='fcs0')
        fcs0 = [p for p in self.sim.model.ports('sys-a')
                if (p.vios, p.name) == ('vios-a1', 'fcs0')][0]
        self.assertEqual(1, fcs0.available)
        port_map = (fcs0.wwpn, '-1 -1')
        self.add_maps(self.lpar.uuid, [port_map])
        self.assertEqual(0, self.available()[('vios-a1', 'fcs0')])
        other = self.new_lpar('inst-2')
        exc = self.assertRaises(pvm_exc.HttpError, self.add_maps, other.uuid,
                                [port_map])
        self.assertEqual(400, exc.response.status)
        self.assertIn('no NPIV capacity left', str(exc))
        self.assertEqual([], self.maps_of(other.uuid))
        self.assertEqual(0, self.available()[('vios-a1', 'fcs0')])

    def test_wwpn_in_use_is_refused(self):
        wwpns = vfc_mapper.build_wwpn_pair(self.adpt, self.sys_uuid())
        feed = self.vios_feed()
        self.add_maps(self.lpar.uuid, vfc_mapper.derive_npiv_map(
            feed, self.fabric_ports('A')[:1], wwpns))
        other = self.new_lpar('inst-2')
        port_map = (self.fabric_ports('B')[1], ' '.join(wwpns))
        exc = self.assertRaises(pvm_exc.HttpError, self.add_maps, other.uuid,
                                [port_map])
        self.assertIn('already in use', str(exc))
        self.assertEqual([], self.maps_of(other.uuid))

    def test_bad_client_or_port_is_refused(self):
        vios_w = self.vios_feed()[0]
        vfc_mapper.add_map(vios_w, self.sys_uuid(),
                           '0BAD0000-0000-4000-8000-000000000000',
                           (vios_w.pfc_ports[0].wwpn, '-1 -1'))
        exc = self.assertRaises(pvm_exc.HttpError, vios_w.update)
        self.assertIn('does not exist', str(exc))
        vios_w = vios_w.refresh(use_etag=False)
        new = pvm_vios.VFCMapping.bld(self.adpt, self.sys_uuid(),
                                      self.lpar.uuid, 'fcs9')
        vios_w.vfc_mappings.append(new)
        exc = self.assertRaises(pvm_exc.HttpError, vios_w.update)
        self.assertIn('no physical FC port named fcs9', str(exc))

    def test_deleting_the_lpar_leaves_orphan_server_adapters(self):
        self.add_maps(self.lpar.uuid, vfc_mapper.derive_base_npiv_map(
            self.vios_feed(), self.fabric_ports('A'), 1))
        before = self.available()
        self.adpt.delete(pvm_lpar.LPAR.schema_type, root_id=self.lpar.uuid)
        orphans = [m for m in self.sim.model.mappings('sys-a')
                   if m.client_lpar_id == self.lpar.id]
        self.assertEqual(1, len(orphans))
        self.assertIsNone(orphans[0].client_lpar_uuid)
        self.assertFalse(orphans[0].has_client_adapter)
        self.assertEqual((), orphans[0].wwpns)
        self.assertEqual(before, self.available())
        vios_w = pvm_vios.VIOS.search(self.adpt, name=orphans[0].vios)[0]
        vios_w = vios_w.refresh()
        vios_w = pvm_vios.VIOS.get(self.adpt, uuid=vios_w.uuid, xag=[FMAP])
        (vfc_map,) = vios_w.vfc_mappings
        self.assertIsNone(vfc_map.client_adapter)
        self.assertEqual(self.lpar.id, vfc_map.server_adapter.lpar_id)

    def test_planted_orphans_read_through_pypowervm(self):
        model = self.sim.model
        model.add_mapping('sys-a', 'vios-a1', client_lpar_id=42,
                          port='fcs0')
        model.add_mapping('sys-a', 'vios-a1', lpar=self.lpar.uuid,
                          port=None)
        model.add_mapping('sys-a', 'vios-a2', client_lpar_id=43,
                          port='fcs1', client_adapter=False)
        maps = pvm_vios.VIOS.search(self.adpt, name='vios-a1')
        vios_w = pvm_vios.VIOS.get(self.adpt, uuid=maps[0].uuid,
                                   xag=[FMAP])
        no_port, no_lpar = sorted(vios_w.vfc_mappings,
                                  key=lambda m: m.backing_port is not None)
        self.assertEqual(42, no_lpar.server_adapter.lpar_id)
        self.assertEqual(2, len(no_lpar.client_adapter.wwpns))
        self.assertIsNone(no_port.backing_port)
        self.assertEqual(self.lpar.uuid, no_port.client_lpar_href.rsplit(
            '/', 1)[1])
        vios_w = pvm_vios.VIOS.get(self.adpt, uuid=pvm_vios.VIOS.search(
            self.adpt, name='vios-a2')[0].uuid, xag=[FMAP])
        (no_client,) = vios_w.vfc_mappings
        self.assertIsNone(no_client.client_adapter)
        self.assertIsNone(no_client.client_lpar_href)
        self.assertEqual('fcs1', no_client.backing_port.name)
        by_id = {m.client_lpar_id: m for m in model.mappings('sys-a')}
        self.assertIsNone(by_id[42].client_lpar_uuid)
        self.assertIsNone(by_id[42].logged_in)
        self.assertEqual(self.lpar.uuid, by_id[self.lpar.id].client_lpar_uuid)


class TestPartitionsAndJobs(SimTestCase):

    def test_create_read_back_and_delete_lpar(self):
        lpar = self.new_lpar('inst-1', memory=4096, procs=3)
        self.assertEqual('inst-1', lpar.name)
        self.assertEqual('not activated', lpar.state)
        self.assertEqual(4096, lpar.mem_config.desired)
        self.assertEqual(3, lpar.proc_config.dedicated_proc_cfg.desired)
        self.assertEqual(self.sys_uuid(), lpar.assoc_sys_uuid)
        self.assertEqual(lpar.uuid, lpar.partition_uuid)
        self.assertTrue(lpar.etag)
        got = pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid)
        self.assertEqual(lpar.id, got.id)
        self.assertEqual(lpar.uuid, self.sim.model.lpar('inst-1').uuid)
        exc = self.assertRaises(pvm_exc.HttpError, self.new_lpar, 'inst-1')
        self.assertIn('already exists', str(exc))
        got.delete()
        self.assertIsNone(self.sim.model.lpar('inst-1'))
        self.assertRaises(pvm_exc.HttpNotFound, pvm_lpar.LPAR.get, self.adpt,
                          uuid=lpar.uuid)

    def test_create_keeps_a_caller_chosen_uuid(self):
        mem = pvm_bp.PartitionMemoryConfiguration.bld(self.adpt, 1024)
        proc = pvm_bp.PartitionProcessorConfiguration.bld_shared(
            self.adpt, 0.5, 2)
        lpar = pvm_lpar.LPAR.bld(self.adpt, 'chosen', mem, proc)
        lpar.uuid = '3f2504e0-4f89-41d3-9a0c-0305e82c3301'
        made = lpar.create(parent_type=pvm_ms.System,
                           parent_uuid=self.sys_uuid('sys-b'))
        self.assertEqual('3F2504E0-4F89-41D3-9A0C-0305E82C3301', made.uuid)
        self.assertFalse(made.proc_config.has_dedicated)
        self.assertEqual(0.5, made.proc_config.shared_proc_cfg.desired_units)
        self.assertEqual('sys-b', self.sim.model.lpar(made.uuid).system)

    def test_power_on_and_off(self):
        lpar = self.new_lpar()
        pvm_power.PowerOp.start(lpar)
        lpar = lpar.refresh()
        self.assertEqual('running', lpar.state)
        self.assertEqual('active', lpar.rmc_state)
        # Already running: pypowervm recognises the platform's code.
        pvm_power.PowerOp.start(lpar)
        exc = self.assertRaises(pvm_exc.HttpError, lpar.delete)
        self.assertIn('must be not activated', str(exc))
        pvm_power.PowerOp.stop(lpar, opts=pvm_popts.PowerOffOpts().vsp_hard())
        lpar = lpar.refresh()
        self.assertEqual('not activated', lpar.state)
        pvm_power.PowerOp.stop(lpar, opts=pvm_popts.PowerOffOpts().vsp_hard())
        self.assertEqual(3, self.sim.counters()['PUT job:PowerOff'] +
                         self.sim.counters()['PUT job:PowerOn'] - 1)

    def test_logged_in_follows_power_state(self):
        lpar = self.new_lpar()
        self.add_maps(lpar.uuid, vfc_mapper.derive_base_npiv_map(
            self.vios_feed(), self.fabric_ports('A'), 1))
        self.assertIsNone(self.maps_of(lpar.uuid)[0].logged_in)
        pvm_power.PowerOp.start(lpar)
        (mapping,) = self.maps_of(lpar.uuid)
        self.assertEqual(mapping.wwpns[0], mapping.logged_in)

    def test_injected_job_failure(self):
        lpar = self.new_lpar()
        self.sim.fail_job('PowerOn', nth=2, message='HSCL0000 planted')
        pvm_power.PowerOp.start(lpar)
        pvm_power.PowerOp.stop(lpar, opts=pvm_popts.PowerOffOpts().vsp_hard())
        exc = self.assertRaises(pvm_exc.VMPowerOnFailure,
                                pvm_power.PowerOp.start, lpar)
        self.assertIn('HSCL0000 planted', str(exc))
        self.assertEqual('not activated', self.sim.model.lpar(lpar.uuid).state)
        pvm_power.PowerOp.start(lpar)
        self.assertEqual('running', self.sim.model.lpar(lpar.uuid).state)

    def test_job_polling(self):
        # Done during the PUT, yet answering RUNNING twice.
        self.sim.job_seconds = 0
        self.sim.job_polls = 2
        lpar = self.new_lpar()
        job_w = pvm_job.Job.wrap(self.adpt.read(
            pvm_lpar.LPAR.schema_type, lpar.uuid, suffix_type='do',
            suffix_parm='PowerOn'))
        entry = self.adpt.create_job(job_w.entry.element,
                                     pvm_lpar.LPAR.schema_type,
                                     lpar.uuid).entry
        job_w.entry = entry
        self.assertEqual('RUNNING', job_w.job_status)
        self.assertRaises(pvm_exc.Error, job_w.delete_job)
        statuses = []
        for _ in range(2):
            job_w.entry = self.adpt.read_job(job_w.job_id).entry
            statuses.append(job_w.job_status)
        self.assertEqual(['RUNNING', 'COMPLETED_OK'], statuses)
        job_w.delete_job()
        self.assertRaises(pvm_exc.HttpNotFound, self.adpt.read_job,
                          job_w.job_id)
        # Two polls and the read of the deleted job.
        self.assertEqual(3, self.sim.counters()['GET jobs'])
        self.assertEqual(1, self.sim.counters()['DELETE jobs'])

    def _mapped_running_lpar(self):
        lpar = self.new_lpar()
        feed = self.vios_feed()
        self.add_maps(lpar.uuid, vfc_mapper.derive_base_npiv_map(
            feed, self.fabric_ports('A'), 2) + vfc_mapper.derive_base_npiv_map(
            feed, self.fabric_ports('B'), 1))
        pvm_power.PowerOp.start(lpar)
        return lpar.refresh()

    def _migration_mappings(self, source_maps, target='sys-b'):
        feed = self.vios_feed(target)
        mappings = []
        for fabric in ('A', 'B'):
            slots = [m.client_slot for m in source_maps if m.fabric == fabric]
            mappings += vfc_mapper.build_migration_mappings_for_fabric(
                feed, self.fabric_ports(fabric, target), slots)
        return mappings

    def test_migrate_moves_the_lpar_and_its_mappings(self):
        lpar = self._mapped_running_lpar()
        source = self.maps_of(lpar.uuid, 'sys-a')
        src_before = self.available('sys-a')
        tgt_before = self.available('sys-b')
        mappings = self._migration_mappings(source)
        self.assertEqual(3, len(mappings))
        pvm_mig.migrate_lpar(lpar, 'sys-b', validate_only=True,
                             virtual_fc_mappings=mappings)
        self.assertEqual(source, self.maps_of(lpar.uuid, 'sys-a'))
        pvm_mig.migrate_lpar(lpar, 'sys-b', virtual_fc_mappings=mappings)
        self.assertEqual([], self.maps_of(lpar.uuid, 'sys-a'))
        target = self.maps_of(lpar.uuid, 'sys-b')
        self.assertEqual(3, len(target))
        by_slot = {m.client_slot: m for m in target}
        for src in source:
            tgt = by_slot[src.client_slot]
            self.assertEqual(src.wwpns, tgt.wwpns)
            self.assertEqual(src.fabric, tgt.fabric)
            self.assertEqual(src.wwpns[1], tgt.logged_in)
        for entry in mappings:
            slot, vios, _vid, _vslot, port = entry.split('/')
            self.assertEqual((vios, port), (by_slot[int(slot)].vios,
                                            by_slot[int(slot)].port_name))
        self.assertEqual(sum(src_before.values()) + 3,
                         sum(self.available('sys-a').values()))
        self.assertEqual(sum(tgt_before.values()) - 3,
                         sum(self.available('sys-b').values()))
        moved = pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid)
        self.assertEqual(self.sys_uuid('sys-b'), moved.assoc_sys_uuid)
        self.assertEqual('running', moved.state)
        on_target = pvm_lpar.LPAR.get(self.adpt, parent_type=pvm_ms.System,
                                      parent_uuid=self.sys_uuid('sys-b'))
        self.assertEqual([lpar.uuid], [lp.uuid for lp in on_target
                                       if not lp.is_mgmt_partition])
        # pypowervm finds the migrated adapters on the target VIOSes.
        for tgt in target:
            vios_w, _m = vfc_mapper.find_vios_for_vfc_wwpns(
                self.vios_feed('sys-b'), tgt.wwpns)
            self.assertEqual(tgt.vios, vios_w.name)

    def test_invalid_migrations_fail_and_change_nothing(self):
        lpar = self._mapped_running_lpar()
        source = self.maps_of(lpar.uuid, 'sys-a')
        mappings = self._migration_mappings(source)
        cases = [
            (mappings[:2], 'has 2 entries but partition'),
            (mappings[:2] + ['99/vios-b1//fcs0'], 'no virtual FC client'),
            (mappings[:2] + [mappings[2].replace('vios-b', 'vios-x')],
             'No VIOS'),
            (mappings[:2] + [mappings[2].rsplit('/', 1)[0] + '/fcs7'],
             'no FC port fcs7'),
        ]
        for bad, message in cases:
            exc = self.assertRaises(pvm_exc.JobRequestFailed,
                                    pvm_mig.migrate_lpar, lpar, 'sys-b',
                                    virtual_fc_mappings=bad)
            self.assertIn(message, str(exc))
        exc = self.assertRaises(pvm_exc.JobRequestFailed,
                                pvm_mig.migrate_lpar, lpar, 'sys-x',
                                virtual_fc_mappings=mappings)
        self.assertIn('not known', str(exc))
        self.assertEqual(source, self.maps_of(lpar.uuid, 'sys-a'))
        self.assertEqual('sys-a', self.sim.model.lpar(lpar.uuid).system)


class TestFaults(SimTestCase):

    def topology(self):
        return one_system()

    def test_status_fault_hits_exactly_the_nth_matching_request(self):
        fault = self.sim.inject_fault('GET', 'LogicalPartition', nth=2,
                                      status=503, message='busy, retry')
        pvm_lpar.LPAR.get(self.adpt)                      # 1st: served
        pvm_vios.VIOS.get(self.adpt)                      # does not match
        exc = self.assertRaises(pvm_exc.HttpError, pvm_lpar.LPAR.get,
                                self.adpt)                # 2nd: the fault
        self.assertEqual(503, exc.response.status)
        self.assertIn('busy, retry', str(exc))
        pvm_lpar.LPAR.get(self.adpt)                      # 3rd: served
        self.assertEqual(1, len(fault.hits))
        log = [(r.method, r.kind, r.status, r.fault)
               for r in self.sim.request_log if r.kind != 'Logon']
        self.assertEqual([('GET', 'LogicalPartition', 200, None),
                          ('GET', 'VirtualIOServer', 200, None),
                          ('GET', 'LogicalPartition', 503, 'status'),
                          ('GET', 'LogicalPartition', 200, None)], log)

    def test_dropped_connection_surfaces_as_an_error(self):
        self.sim.inject_fault('GET', 'ManagedSystem$', kind='drop')
        self.assertRaises(pvm_exc.ConnectionError, pvm_ms.System.get,
                          self.adpt)
        self.assertEqual(1, len(pvm_ms.System.get(self.adpt)))
        self.assertEqual([0, 200], [r.status for r in self.sim.request_log
                                    if r.kind == 'ManagedSystem'])

    def test_lost_reply_carries_the_request_out(self):
        self.sim.inject_fault('PUT', 'LogicalPartition$', kind='lost_reply')
        before = len(self.sim.model.lpars())
        self.assertRaises(pvm_exc.ConnectionError, self.new_lpar)
        self.assertEqual(before + 1, len(self.sim.model.lpars()))
        (create,) = [r for r in self.sim.request_log
                     if r.kind == 'LogicalPartition']
        self.assertEqual((0, 'lost_reply'), (create.status, create.fault))

    def test_body_fault_serves_the_given_document(self):
        fault = self.sim.inject_fault('GET', 'ManagedSystem$', kind='body',
                                      status=200, body=b'<feed>not closed')
        exc = self.assertRaises(pvm_exc.AtomError, pvm_ms.System.get,
                                self.adpt)
        self.assertIn('Error parsing XML', str(exc))
        self.assertEqual(1, len(fault.hits))
        self.assertEqual(1, len(pvm_ms.System.get(self.adpt)))
        self.assertRaises(ValueError, self.sim.inject_fault, kind='body')

    def test_fault_on_a_vios_post_inside_a_feedtask(self):
        lpar = self.new_lpar()
        self.sim.inject_fault('POST', 'VirtualIOServer', status=500)
        self.assertRaises(pvm_exc.HttpError, self.add_maps, lpar.uuid,
                          vfc_mapper.derive_base_npiv_map(
                              self.vios_feed(), self.fabric_ports('A'), 1))
        self.assertEqual([], self.maps_of(lpar.uuid))

    def test_clear_faults(self):
        self.sim.inject_fault(kind='412', times=100)
        self.sim.fail_job('PowerOn')
        self.sim.clear_faults()
        self.sim.reset_counters()
        lpar = self.new_lpar()
        pvm_power.PowerOp.start(lpar)
        # Neither fault fired: every request answered as without faults,
        # and the job really ran.
        self.assertEqual([], [(r.method, r.path, r.status, r.fault)
                              for r in self.sim.request_log
                              if r.fault is not None or r.status >= 400])
        self.assertEqual('running',
                         self.sim.model.lpar('inst-1', 'sys-a').state)
        # Faults injected after the clear fire again.
        self.sim.fail_job('PowerOff')
        self.assertRaises(pvm_exc.VMPowerOffFailure, pvm_power.PowerOp.stop,
                          lpar)

    def test_latency_counters_and_bytes(self):
        self.sim.latency = 0.05
        self.sim.reset_counters()
        start = time.monotonic()
        pvm_vios.VIOS.get(self.adpt, xag=[FMAP, STOR])
        self.assertGreaterEqual(time.monotonic() - start, 0.05)
        self.sim.latency = 0
        self.new_lpar()
        (read, create) = self.sim.request_log
        self.assertEqual(('GET', 'VirtualIOServer', 0), (
            read.method, read.kind, read.bytes_in))
        self.assertGreater(read.bytes_out, 1000)
        self.assertGreaterEqual(read.duration, 0.05)
        self.assertEqual('group=ViosFCMapping,ViosStorage', read.query)
        self.assertEqual(('PUT', 'LogicalPartition'),
                         (create.method, create.kind))
        self.assertGreater(create.bytes_in, 100)
        self.assertEqual({'GET VirtualIOServer': 1, 'PUT LogicalPartition': 1},
                         self.sim.counters())
        self.assertEqual(2, self.sim.count())
        self.assertEqual(1, self.sim.count(method='PUT'))


class TestFidelity(testtools.TestCase):
    """pypowervm's own captured VIOS feed, served back by the simulator."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        topo = {'console': 'hmc', 'systems': [
            {'name': 'captured', 'vios_feed': VIOS_DATA}]}
        self.sim = Simulator(topo)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()

    def test_seeded_feed_reads_back_like_the_file(self):
        expected = {v.uuid: v for v in pvm_vios.VIOS.wrap(
            pvmhttp.load_pvm_resp('fake_vios_feed.txt').get_response())}
        served = pvm_vios.VIOS.get(
            self.adpt, parent_type=pvm_ms.System,
            parent_uuid=self.sim.model.system('captured').uuid,
            xag=[FMAP, STOR])
        self.assertEqual(set(expected), {v.uuid for v in served})
        self.assertEqual(2, len(served))
        for got in served:
            exp = expected[got.uuid]
            self.assertEqual((exp.name, exp.id, exp.is_mgmt_partition),
                             (got.name, got.id, got.is_mgmt_partition))
            self.assertEqual(len(exp.vfc_mappings), len(got.vfc_mappings))
            self.assertEqual(exp.get_pfc_wwpns(), got.get_pfc_wwpns())
            self.assertEqual(
                [(p.name, p.npiv_available_ports, p.npiv_total_ports)
                 for p in exp.pfc_ports],
                [(p.name, p.npiv_available_ports, p.npiv_total_ports)
                 for p in got.pfc_ports])
            self.assertEqual(exp.get_vfc_wwpns(), got.get_vfc_wwpns())
            self.assertEqual(self._shape(exp), self._shape(got))
        self.assertEqual([58, 56], [len(v.vfc_mappings) for v in served])

    @staticmethod
    def _shape(vios_w):
        """What the plugin reads of each mapping, host part of links aside."""
        out = []
        for m in vios_w.vfc_mappings:
            ca, sa, port = m.client_adapter, m.server_adapter, m.backing_port
            out.append((
                m.client_lpar_href and m.client_lpar_href.split('/rest/')[1],
                ca and (tuple(ca.wwpns), ca.lpar_id, ca.lpar_slot_num,
                        ca.vios_id, ca.vios_slot_num),
                port and (port.name, port.wwpn),
                (sa.name, sa.lpar_id, sa.lpar_slot_num, sa.vios_id,
                 sa.vios_slot_num, sa.map_port)))
        return out

    def test_seeded_state_takes_updates(self):
        served = pvm_vios.VIOS.get(self.adpt, xag=[FMAP, STOR])
        vios_w = served[0]
        count = len(vios_w.vfc_mappings)
        victim = [m for m in vios_w.vfc_mappings
                  if m.client_adapter is not None][0]
        vfc_mapper.remove_maps(vios_w, victim.server_adapter.lpar_id,
                               client_adpt=victim.client_adapter)
        vios_w = vios_w.update()
        self.assertEqual(count - 1, len(vios_w.vfc_mappings))
        self.assertEqual(count - 1, len([
            m for m in self.sim.model.mappings('captured')
            if m.vios == vios_w.name]))
