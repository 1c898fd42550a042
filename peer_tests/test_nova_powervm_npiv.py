"""nova-powervm 9.0.0's NPIV volume adapter against the simulator.

nova-powervm ran in production on real NovaLink consoles, so every request
its code sends is one a real console accepted.  This test runs its NPIV
volume adapter (``nova_powervm/virt/powervm/volume/npiv.py``) and its
driver's spawn/destroy order -- connector (``wwpns``), LPAR create
(``vm.create_lpar``), connect of two volumes in one FeedTask, power on,
attach and detach of a third volume on the running instance, then
destroy: power off, delete-time disconnect, ``vm.delete_lpar`` (which
closes the virtual terminal first and deletes at the root path) -- on a
fresh one-system NovaLink simulator, and asserts that:

* every request it sent succeeded (no 4xx/5xx in the request log);
* the VIOS mappings after each step equal those our driver leaves for the
  same instance (same UUID and name) on an identical simulator, driven
  through nova's API, compared by client partition, VIOS, physical port and
  fabric (the WWPNs differ: each run allocates its own).

An operator's virtual terminal is open on the LPAR before each delete, so
both drivers must close it for the delete to go through.

Shims, all inside this module:

* ``nova_powervm.conf`` is replaced by a module whose ``CONF`` is a private
  ``ConfigOpts``: the real one registers nova-powervm's ``[powervm]``
  options on nova's global CONF, where nova-npiv's options of the same
  names (``fabrics``, ``ports_per_fabric``, ...) live with other types.
  nova-powervm's own ``conf/powervm.py`` registers its options on it.
* Options nova 34 no longer has, registered on that private CONF: ``host``
  (``[DEFAULT]``) and ``[powervm] proc_units_factor`` (nova's retired
  in-tree PowerVM driver's option, default 0.1).
* ``nova_powervm.conf.powervm.NPIV_FABRIC_WWPNS`` (the fabric -> physical
  port map it builds from nova.conf) is filled from the simulator's ports.
* The peer's instance is a ``nova.objects.Instance`` that is not in nova's
  database: ``save`` and ``refresh`` are no-ops (the system_metadata lives
  on the object, which is what ``refresh`` would reload).
"""

import importlib.util
import os
import sys
import types

from oslo_config import cfg


def _install_conf_shim():
    """nova_powervm.conf with a private CONF (see the module docstring)."""
    conf = cfg.ConfigOpts()
    spec = importlib.util.find_spec('nova_powervm')
    shim = types.ModuleType('nova_powervm.conf')
    shim.__path__ = [os.path.join(os.path.dirname(spec.origin), 'conf')]
    shim.CONF = conf
    sys.modules['nova_powervm.conf'] = shim
    from nova_powervm.conf import powervm as pvm_cfg
    conf.register_opt(cfg.StrOpt('host'))
    conf.register_opt(cfg.FloatOpt('proc_units_factor', default=0.1),
                      group='powervm')
    pvm_cfg.register_opts(conf)
    conf([], project='nova-powervm-peer')
    return conf, pvm_cfg


PEER_CONF, PEER_PVM_CFG = _install_conf_shim()

# nova-powervm's modules, imported only after the shim is in place.
from nova.compute import task_states  # noqa: E402
from nova import objects  # noqa: E402
from nova_powervm.virt.powervm import slot as peer_slot  # noqa: E402
from nova_powervm.virt.powervm import vm as peer_vm  # noqa: E402
from nova_powervm.virt.powervm.volume import npiv as peer_npiv  # noqa: E402
from pypowervm.utils import transaction as pvm_tx  # noqa: E402
from pypowervm.wrappers import managed_system as pvm_ms  # noqa: E402
from pypowervm.wrappers import virtual_io_server as pvm_vios  # noqa: E402

from nova_npiv.simulator import default_topology  # noqa: E402
from nova_npiv.simulator import Simulator  # noqa: E402
from nova_npiv.testing import fake_cinder  # noqa: E402
from tests.functional import nova_base  # noqa: E402
from tests.functional.nova_base import uuids  # noqa: E402

HOST = 'host-a'
SYSTEM = 'sys-a'
VOLUMES = (uuids.root_vol, uuids.data_vol)
THIRD = uuids.third_vol


def topology():
    # NovaLink manages one system: nova-powervm reads the VIOS feed at the
    # root, which is then that system's.
    return default_topology(systems=(SYSTEM,))


def mapping_keys(sim):
    """The VIOS mappings, as (client LPAR, VIOS, port, fabric), sorted."""
    return sorted((m.client_lpar_uuid, m.vios, m.port_name, m.fabric)
                  for m in sim.model.mappings(SYSTEM))


def _connection_info(volume_id):
    # The NPIV adapter reads only the serial; the rest is what Cinder's FC
    # drivers hand nova.
    return fake_cinder.fc_connection_info(volume_id)


class PeerRun(object):
    """nova-powervm's steps for one instance on its own simulator."""

    def __init__(self, test, instance):
        self.sim = Simulator(topology()).start()
        test.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.host_w = pvm_ms.System.get(self.adpt)[0]
        fabrics = {}
        for port in self.sim.model.ports(SYSTEM):
            fabrics.setdefault(port.fabric, []).append(port.wwpn.upper())
        saved = dict(PEER_PVM_CFG.NPIV_FABRIC_WWPNS)
        test.addCleanup(self._restore_fabrics, saved)
        PEER_PVM_CFG.NPIV_FABRIC_WWPNS.clear()
        PEER_PVM_CFG.NPIV_FABRIC_WWPNS.update(fabrics)
        PEER_CONF.set_override('host', HOST)
        test.addCleanup(PEER_CONF.clear_override, 'host')
        self.inst = objects.Instance(
            id=instance.id, uuid=instance.uuid, host=HOST,
            task_state=task_states.SPAWNING, system_metadata={},
            flavor=instance.flavor)
        self.inst.save = lambda *args, **kwargs: None
        self.inst.refresh = lambda *args, **kwargs: None
        self.slot_mgr = peer_slot.build_slot_mgr(self.inst, None)

    @staticmethod
    def _restore_fabrics(saved):
        PEER_PVM_CFG.NPIV_FABRIC_WWPNS.clear()
        PEER_PVM_CFG.NPIV_FABRIC_WWPNS.update(saved)

    def _volume(self, volume_id=None, stg_ftsk=None):
        return peer_npiv.NPIVVolumeAdapter(
            self.adpt, self.host_w.uuid, self.inst,
            _connection_info(volume_id) if volume_id else None,
            stg_ftsk=stg_ftsk)

    def _feed_task(self, name):
        return pvm_tx.FeedTask(name, pvm_vios.VIOS.getter(
            self.adpt, xag=peer_npiv.NPIVVolumeAdapter.min_xags()))

    def connector_wwpns(self):
        return self._volume().wwpns()

    def spawn(self, volume_ids):
        peer_vm.create_lpar(self.adpt, self.host_w, self.inst,
                            slot_mgr=self.slot_mgr)
        ftsk = self._feed_task('create_scrubber')
        for volume_id in volume_ids:
            self._volume(volume_id, ftsk).connect_volume(self.slot_mgr)
        ftsk.execute()
        peer_vm.power_on(self.adpt, self.inst)
        self.inst.task_state = None

    def attach(self, volume_id):
        self._volume(volume_id).connect_volume(self.slot_mgr)

    def detach(self, volume_id):
        self._volume(volume_id).disconnect_volume(self.slot_mgr)

    def destroy(self, volume_ids):
        self.inst.task_state = task_states.DELETING
        peer_vm.power_off(self.adpt, self.inst, force_immediate=True)
        ftsk = self._feed_task('destroy')
        for volume_id in volume_ids:
            self._volume(volume_id, ftsk).disconnect_volume(self.slot_mgr)
        ftsk.execute()
        peer_vm.delete_lpar(self.adpt, self.inst)


class TestNovaPowerVMPeer(nova_base.NPIVServicesTestCase):

    HOSTS = {HOST: SYSTEM}
    TOPOLOGY = topology()

    def _ours(self):
        """Our driver through nova: the mappings after each step."""
        steps = {}
        server = self.boot_from_volumes(list(VOLUMES), host=HOST)
        steps['spawn'] = mapping_keys(self.sim)
        self._attach_volume(server, THIRD)
        steps['attach'] = mapping_keys(self.sim)
        self._detach_volume(server, THIRD)
        steps['detach'] = mapping_keys(self.sim)
        instance = self.instance(server)
        (lpar,) = self.lpars_of(server, SYSTEM)
        self.sim.model.open_vterm(SYSTEM, lpar.uuid)
        self._delete_server(server)
        steps['destroy'] = mapping_keys(self.sim)
        self.assertEqual([], self.lpars_of(server))
        return instance, lpar, steps

    def test_same_requests_succeed_and_same_mappings(self):
        instance, lpar, ours = self._ours()

        peer = PeerRun(self, instance)
        theirs = {}
        wwpns = peer.connector_wwpns()
        self.assertEqual(2, len(wwpns))
        # nova-powervm maps nothing before the spawn.
        self.assertEqual([], mapping_keys(peer.sim))
        peer.spawn(VOLUMES)
        theirs['spawn'] = mapping_keys(peer.sim)
        (peer_lpar,) = [lp for lp in peer.sim.model.lpars(SYSTEM)
                        if not lp.is_mgmt]
        # Same partition identity; the names differ by design: nova-powervm
        # used instance.name, ours adds part of the instance UUID so that
        # two clouds' instance-00000001 can share one console.
        self.assertEqual((lpar.uuid, lpar.id),
                         (peer_lpar.uuid, peer_lpar.id))
        self.assertEqual(instance.name, peer_lpar.name)
        self.assertTrue(lpar.name.startswith(instance.name + '-'))
        self.assertEqual('running', peer_lpar.state)
        self.assertEqual(wwpns, peer.connector_wwpns())
        peer.attach(THIRD)
        theirs['attach'] = mapping_keys(peer.sim)
        peer.detach(THIRD)
        theirs['detach'] = mapping_keys(peer.sim)
        peer.sim.model.open_vterm(SYSTEM, peer_lpar.uuid)
        peer.destroy(VOLUMES + (THIRD,))
        theirs['destroy'] = mapping_keys(peer.sim)
        self.assertEqual([], [lp for lp in peer.sim.model.lpars(SYSTEM)
                              if not lp.is_mgmt])

        failed = [(r.method, r.path, r.status) for r in peer.sim.request_log
                  if r.status >= 400 or r.status == 0]
        self.assertEqual([], failed)
        # What the run exercised, so that a silent skip cannot pass.
        counters = peer.sim.counters()
        for key in ('PUT job:GetNextWWPNs', 'PUT LogicalPartition',
                    'POST VirtualIOServer', 'PUT job:PowerOn',
                    'PUT job:PowerOff', 'PUT job:CloseVterm',
                    'DELETE LogicalPartition'):
            self.assertIn(key, counters)

        self.assertEqual(ours, theirs)
        fabrics = {key[3] for key in ours['spawn']}
        self.assertEqual({'A', 'B'}, fabrics)
        self.assertEqual(2, len({key[1] for key in ours['spawn']}))
        self.assertEqual([], ours['destroy'])
