"""The driver on the simulator, without the rest of nova.

Shared by the demo, the benchmarks, the fault matrix and the tests: drivers
loaded the way nova-compute loads them (so the plugin is found and set up
exactly as in production), and instances kept in memory, since there is no
nova database here.  Cinder's side is :mod:`nova_npiv.testing.fake_cinder`.
"""

from nova import context as nova_context
from nova import objects
from nova.objects import instance as instance_obj
from nova.virt import driver as nova_driver
from nova.virt import virtapi
from oslo_config import cfg

from nova_npiv import conf as npiv_conf

CONF = cfg.CONF


class MemoryInstance(instance_obj.Instance):
    """An instance kept in memory: there is no nova database here.

    Simulated compute hosts of one process share the object, which is what
    nova's database gives real hosts.
    """

    def save(self, *args, **kwargs):
        self.obj_reset_changes()

    def refresh(self, *args, **kwargs):
        pass


def new_instance(number, uuid, host, node=None, memory_mb=4096, vcpus=2):
    objects.register_all()
    inst = MemoryInstance(
        id=number, uuid=uuid, host=host, node=node, task_state=None,
        vm_state='building', system_metadata={},
        flavor=objects.Flavor(memory_mb=memory_mb, vcpus=vcpus, root_gb=0))
    inst.obj_reset_changes()
    return inst


def load_driver(sim, host, system, **overrides):
    """An initialised NPIVDriver for ``system`` of ``sim``, as ``host``."""
    opts = dict(sim.powervm_conf(system), **overrides)
    # The fabric port options exist once the fabric names are known.
    fabrics = opts.pop('fabrics')
    CONF.set_override('fabrics', fabrics, group='powervm')
    npiv_conf.register_fabric_opts(CONF)
    unused = {npiv_conf.fabric_opt_name(f)
              for f in sim.powervm_conf(system)['fabrics']} - {
        npiv_conf.fabric_opt_name(f) for f in fabrics}
    for key, value in opts.items():
        if key not in unused:
            CONF.set_override(key, value, group='powervm')
    CONF.set_override('compute_driver', 'npiv.NPIVDriver')
    drv = nova_driver.load_compute_driver(virtapi.VirtAPI())
    drv.init_host(host)
    return drv


def admin_context():
    return nova_context.get_admin_context()


def reset_conf():
    """Undo what :func:`load_driver` set on the global CONF.

    The drivers of one process share nova's CONF; a test or run that loaded
    one leaves its overrides for the next unless they are cleared.
    """
    for name in list(CONF.powervm.keys()):
        try:
            CONF.clear_override(name, group='powervm')
        except cfg.NoSuchOptError:
            pass
    CONF.clear_override('compute_driver')
    CONF.clear_override('connection', group='database')
