"""nova's own services in-process, with this driver on simulated systems.

API, conductor, scheduler, placement and one nova-compute per managed system
run in this process (nova's functional test machinery); the compute services
load ``compute_driver = npiv.NPIVDriver`` exactly as nova-compute does and
talk HTTP to the embedded REST simulator on loopback.
"""

import collections
import os
import sys

import fixtures
from nova.compute import manager as compute_manager
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import cinder as cinder_fixture
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers
import nova.virt.node
from oslo_config import cfg
from oslo_utils.fixture import uuidsentinel as uuids

from nova_npiv import conf as npiv_conf
from nova_npiv import fabric_meta
from nova_npiv.simulator import Simulator
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Estate
from nova_npiv.testing import fake_cinder
from nova_npiv import vm
from nova_npiv import wwpn as wwpn_util

CONF = cfg.CONF

#: nova's own node-identity handling, which nova's test base replaces (its
#: ComputeNodeIdFixture) and these tests put back: each compute service has
#: a state_path of its own and keeps its identity across restarts there.
_NODE_IDENTITY = {
    'nova.virt.node.read_local_node_uuid':
        nova.virt.node.read_local_node_uuid,
    'nova.virt.node.write_local_node_uuid':
        nova.virt.node.write_local_node_uuid,
    'nova.compute.manager.ComputeManager._ensure_existing_node_identity':
        compute_manager.ComputeManager._ensure_existing_node_identity,
}

class FCCinderFixture(cinder_fixture.CinderFixture):
    """CinderFixture whose volumes are Fibre Channel LUNs.

    Like a real FC volume driver, the initiator_target_map is built from the
    connector nova sent, so the test sees which WWPNs Cinder was told about.
    """

    def __init__(self, test):
        super().__init__(test)
        self.connectors = collections.defaultdict(list)
        self._luns = {}

    def _find_connection_info(self, volume_id, attachment_id):
        connector = None
        for att in self.volume_to_attachment[volume_id].values():
            if att['id'] == attachment_id:
                connector = att['connector']
        lun = self._luns.setdefault(volume_id, len(self._luns) + 1)
        wwpns = None
        if connector and connector.get('wwpns'):
            self.connectors[volume_id].append(connector)
            wwpns = connector['wwpns']
        return fake_cinder.fc_connection_info(volume_id, wwpns, lun=lun,
                                              attachment_id=attachment_id)


class NPIVServicesTestCase(test.TestCase,
                           integrated_helpers.InstanceHelperMixin):
    """Two nova-compute services, each driving one simulated system."""

    microversion = 'latest'
    #: host name -> managed system name in the simulator topology
    HOSTS = {'host-a': 'sys-a', 'host-b': 'sys-b'}
    TOPOLOGY = None

    def setUp(self):
        # nova's ConfFixture parses the global CONF afresh; a test that ran
        # the nova-npiv CLI earlier in this process left it parsed.
        CONF.reset()
        self.flags(compute_driver='npiv.NPIVDriver')
        super().setUp()
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        topology = self.TOPOLOGY or co_managed_topology()
        # A list: one console per spec (two NovaLinks), an Estate.
        self.sim = (Estate(topology) if isinstance(topology, list)
                    else Simulator(topology))
        self.sim.start()
        self.addCleanup(self.sim.stop)

        for target, real in _NODE_IDENTITY.items():
            self.useFixture(fixtures.MockPatch(target, real))
        self.state_paths = {}

        self.useFixture(nova_fixtures.RealPolicyFixture())
        self.useFixture(nova_fixtures.NeutronFixture(self))
        self.glance = self.useFixture(nova_fixtures.GlanceFixture(self))
        self.cinder = self.useFixture(FCCinderFixture(self))
        self.placement = self.useFixture(func_fixtures.PlacementFixture()).api
        self.useFixture(nova_fixtures.AllServicesCurrent())
        self.notifier = self.useFixture(
            nova_fixtures.NotificationFixture(self))
        self.api_fixture = self.useFixture(nova_fixtures.OSAPIFixture(
            api_version='v2.1'))
        self.api = self.api_fixture.admin_api
        self.api.microversion = self.microversion

        self.start_service('conductor')
        self.start_service('scheduler')
        self.drivers = {}
        for host, system in self.HOSTS.items():
            self.configure_for(system)
            self.use_state_path(host)
            compute = self._start_compute(host)
            self.drivers[host] = compute.manager.driver
        self.flavor_id = self._create_flavor(memory_mb=4096, vcpu=2, disk=0,
                                            ephemeral=0)

    # -- helpers ---------------------------------------------------------

    def configure_for(self, system):
        """[powervm] as the nova.conf of the host driving ``system``.

        All compute services of the test share one CONF: the driver reads
        it when its service starts (init_host).
        """
        opts = self.sim.powervm_conf(system)
        self.flags(fabrics=opts.pop('fabrics'), group='powervm')
        npiv_conf.register_fabric_opts()
        self.flags(group='powervm', **opts)

    def use_state_path(self, host):
        """nova.conf's state_path of ``host``, as its service starts.

        nova caches the node identity per process; every service of this
        test is a process of its own in a real deployment.
        """
        if host not in self.state_paths:
            self.state_paths[host] = self.useFixture(fixtures.TempDir()).path
        self.flags(state_path=self.state_paths[host])
        nova.virt.node.LOCAL_NODE_UUID = None

    def restart_compute(self, host):
        """Stop the service and start a new one, with a new driver."""
        self.configure_for(self.HOSTS[host])
        self.use_state_path(host)
        self.computes[host] = self.restart_compute_service(
            self.computes[host], keep_hypervisor_state=False)
        self.drivers[host] = self.computes[host].manager.driver

    def boot_from_volumes(self, volume_ids, host='host-a', expected='ACTIVE'):
        server = self._build_server(flavor_id=self.flavor_id,
                                    networks='none')
        server.pop('imageRef')
        server['block_device_mapping_v2'] = [
            {'boot_index': index, 'uuid': vol, 'source_type': 'volume',
             'destination_type': 'volume'}
            for index, vol in enumerate(volume_ids)]
        server['availability_zone'] = 'nova:%s' % host
        server = self.api.post_server({'server': server})
        return self._wait_for_state_change(server, expected)

    def _detach_volume(self, server, volume_id):
        self.api.delete_server_volume(server['id'], volume_id)
        self._wait_for_volume_detach(server['id'], volume_id)

    def instance(self, server):
        ctxt = nova_context.get_admin_context()
        return objects.Instance.get_by_uuid(
            ctxt, server['id'], expected_attrs=['system_metadata'])

    def fabric_records(self, server):
        inst = self.instance(server)
        return {f: fabric_meta.get_fabric(inst, f) for f in ('A', 'B')}

    def lpar_uuid(self, server):
        return vm.lpar_uuid_of(server['id'])

    def lpars_of(self, server, system=None):
        """The server's LPARs: by derived UUID, or by the UUID recorded
        when the platform had to choose it (evacuation)."""
        inst = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(read_deleted='yes'), server['id'],
            expected_attrs=['system_metadata'])
        uuids = set(vm.known_uuids(inst))
        return [lp for lp in self.sim.model.lpars(system)
                if lp.uuid.upper() in uuids]

    def mappings_of(self, server, system=None):
        uuids = {lp.uuid for lp in self.lpars_of(server, system)}
        uuids.add(self.lpar_uuid(server))
        return [m for m in self.sim.model.mappings(system)
                if m.client_lpar_uuid in uuids]

    def staging_mappings(self, system=None):
        mgmt = {lp.id for lp in self.sim.model.lpars(system) if lp.is_mgmt}
        return [m for m in self.sim.model.mappings(system)
                if m.client_lpar_id in mgmt]

    def capacity(self):
        return {(p.system, p.vios, p.name): p.available
                for p in self.sim.model.ports()}

    def vios_posts(self):
        return self.sim.counters().get('POST VirtualIOServer', 0)


def norm(wwpns):
    return sorted(wwpn_util.normalize_list(wwpns))


__all__ = ['NPIVServicesTestCase', 'FCCinderFixture', 'norm', 'uuids']
