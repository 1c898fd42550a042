"""Through nova's API: a delete while an operator's terminal is open, and a
Cinder multiattach volume on two instances (issue 17).
"""

import fixtures
from nova.tests.fixtures import cinder as cinder_fixture
import testtools

from nova_npiv import fabric_meta
from nova_npiv.simulator import Simulator
from nova_npiv import vm
from tests.functional import nova_base
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids

MULTI = cinder_fixture.CinderFixture.MULTIATTACH_VOL


class TestDeleteWithOpenTerminal(nova_base.NPIVServicesTestCase):

    def test_delete_closes_the_terminal_first(self):
        server = self.boot_from_volumes([uuids.root_vol])
        (lpar,) = self.lpars_of(server, 'sys-a')
        self.sim.model.open_vterm('sys-a', lpar.uuid)
        self.sim.reset_counters()
        self._delete_server(server)
        self.assertEqual([], self.lpars_of(server))
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual(1, self.sim.counters()['PUT job:CloseVterm'])
        self.assertEqual([], [r for r in self.sim.request_log
                              if r.status >= 400])


class TestCloseVterm(testtools.TestCase):

    def test_an_lpar_already_gone_is_not_an_error(self):
        with Simulator() as sim:
            adpt = sim.adapter()
            host = sim.model.system('sys-a').uuid
            vm.close_vterm(adpt, host, '0BAD0000-0000-4000-8000-000000000000')
            (rec,) = [r for r in sim.request_log if 'CloseVterm' in r.path]
            self.assertEqual(404, rec.status)


class TestMultiattach(nova_base.NPIVServicesTestCase):
    """NPIV: each instance has its own WWPNs, so Cinder zones a multiattach
    volume to every instance's pair and the VIOSes never change.

    nova's services share one CONF, whose ``host`` is the compute started
    last; nova skips the driver's detach where ``CONF.host`` is not the
    instance's host, so each step runs with ``host`` set to the instance's
    compute, as in that compute's own process.
    """

    def setUp(self):
        super().setUp()
        self.spies = {}
        for host, drv in self.drivers.items():
            self.spies[host] = {
                name: self.useFixture(fixtures.MockPatchObject(
                    drv, name, wraps=getattr(drv, name))).mock
                for name in ('attach_volume', 'detach_volume')}

    def _on_host_of(self, server):
        host = server['OS-EXT-SRV-ATTR:host']
        self.flags(host=host)
        return host

    def _events(self, event_type):
        return len([n for n in self.notifier.versioned_notifications
                    if n['event_type'] == event_type])

    def _attach_to_all(self, servers):
        self.sim.reset_counters()
        seen = len(self.cinder.connectors[MULTI])
        for server in servers:
            host = self._on_host_of(server)
            calls = self.spies[host]['attach_volume'].call_count
            done = self._events('instance.volume_attach.end')
            self.api.post_server_volume(server['id'], {
                'volumeAttachment': {'volumeId': MULTI}})
            self.notifier.wait_for_versioned_notifications(
                'instance.volume_attach.end', n_events=done + 1)
            self.assertEqual(calls + 1,
                             self.spies[host]['attach_volume'].call_count)
        self.assertEqual(0, self.vios_posts())
        # One connector per attachment, each with that instance's WWPNs.
        connectors = self.cinder.connectors[MULTI][seen:]
        self.assertEqual(len(servers), len(connectors))
        for server, connector in zip(servers, connectors):
            active = fabric_meta.active_wwpns(self.instance(server),
                                              ['A', 'B'])
            self.assertEqual(norm(active), norm(connector['wwpns']))
        self.assertEqual(len(servers), len(
            {tuple(norm(c['wwpns'])) for c in connectors}))
        attached = self.cinder.volume_to_attachment[MULTI]
        self.assertEqual({s['id'] for s in servers},
                         {a['instance_uuid'] for a in attached.values()})

    def _detach_from_all(self, servers, maps_before):
        for server in servers:
            host = self._on_host_of(server)
            calls = self.spies[host]['detach_volume'].call_count
            self._detach_volume(server, MULTI)
            self.assertEqual(calls + 1,
                             self.spies[host]['detach_volume'].call_count)
        self.assertEqual(0, self.vios_posts())
        self.assertEqual({}, self.cinder.volume_to_attachment.get(MULTI, {}))
        self.assertEqual(maps_before, self.sim.model.mappings())

    def test_two_instances_on_one_system(self):
        one = self.boot_from_volumes([uuids.root_vol])
        two = self.boot_from_volumes([uuids.root_vol2])
        maps_before = self.sim.model.mappings()
        self._attach_to_all([one, two])
        self.assertEqual(maps_before, self.sim.model.mappings())
        self._detach_from_all([one, two], maps_before)
        for server in (one, two):
            self.assertEqual(2, len(self.mappings_of(server, 'sys-a')))

    def test_two_instances_on_two_systems(self):
        one = self.boot_from_volumes([uuids.root_vol], host='host-a')
        two = self.boot_from_volumes([uuids.root_vol2], host='host-b')
        maps_before = self.sim.model.mappings()
        self._attach_to_all([one, two])
        self._detach_from_all([one, two], maps_before)
        self.assertEqual(2, len(self.mappings_of(one, 'sys-a')))
        self.assertEqual(2, len(self.mappings_of(two, 'sys-b')))
        # And a delete of one leaves the other's mappings alone.
        self._attach_to_all([one, two])
        self._on_host_of(one)
        self._delete_server(one)
        self.assertEqual([], self.mappings_of(one))
        self.assertEqual(2, len(self.mappings_of(two, 'sys-b')))
        self.assertEqual({two['id']}, {
            a['instance_uuid']
            for a in self.cinder.volume_to_attachment[MULTI].values()})
