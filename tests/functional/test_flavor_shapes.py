"""Flavors with ``powervm:*`` extra specs, booted through nova."""

from nova_npiv import vm
from tests.functional import nova_base
from tests.functional.nova_base import uuids


class TestFlavorShapes(nova_base.NPIVServicesTestCase):

    HOSTS = {'host-a': 'sys-a'}

    def _boot_with(self, extra_spec, expected):
        self.flavor_id = self._create_flavor(
            memory_mb=4096, vcpu=2, disk=0, ephemeral=0,
            extra_spec=extra_spec)
        return self.boot_from_volumes([uuids.root_vol], expected=expected)

    def test_bad_extra_spec_creates_nothing(self):
        capacity_before = self.capacity()
        self.sim.reset_counters()
        server = self._boot_with({'powervm:uncapped': 'maybe'}, 'ERROR')
        self.assertIn('powervm:uncapped', server['fault']['message'])
        self.assertIn('must be true or false', server['fault']['message'])
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if not lp.is_mgmt])
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        self.assertEqual(capacity_before, self.capacity())
        counters = self.sim.counters()
        for request in ('PUT job:GetNextWWPNs', 'POST VirtualIOServer',
                        'PUT LogicalPartition'):
            self.assertNotIn(request, counters)
        # nova never asked for the connector: no WWPN was allocated.
        self.assertEqual(0, len(self.cinder.connectors))

    def test_unknown_key_is_named(self):
        server = self._boot_with({'powervm:proc_unit': '1'}, 'ERROR')
        self.assertIn('powervm:proc_unit', server['fault']['message'])
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if not lp.is_mgmt])

    def test_shared_processors_from_extra_specs(self):
        self.flags(proc_units_factor=0.5, group='powervm')
        server = self._boot_with({'powervm:dedicated_proc': 'false',
                                  'powervm:shared_weight': '20',
                                  'powervm:max_mem': '8192'}, 'ACTIVE')
        drv = self.drivers['host-a']
        lpar_w = vm.get(drv.adapter, drv.system_uuid, self.instance(server))
        proc = lpar_w.proc_config
        self.assertFalse(proc.has_dedicated)
        self.assertAlmostEqual(1.0, proc.shared_proc_cfg.desired_units)
        self.assertEqual(2, proc.shared_proc_cfg.desired_virtual)
        self.assertEqual(4096, lpar_w.mem_config.desired)

    def test_default_is_dedicated(self):
        server = self._boot_with(None, 'ACTIVE')
        drv = self.drivers['host-a']
        lpar_w = vm.get(drv.adapter, drv.system_uuid, self.instance(server))
        self.assertTrue(lpar_w.proc_config.has_dedicated)
        self.assertEqual(2, lpar_w.proc_config.dedicated_proc_cfg.desired)
