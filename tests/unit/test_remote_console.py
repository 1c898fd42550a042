"""Console-to-console live migration in the driver (nova_npiv.remote_console).

Run against two simulated NovaLinks (one system each) and one HMC, with
pypowervm's real adapters: what the destination advertises, the key the
source offers, the trust the destination gives, and the arguments the
source's Migrate job gets.
"""

from unittest import mock

from nova.objects import migrate_data as migrate_data_obj
from oslo_config import cfg
from pypowervm.tasks import management_console as pvm_mgmt
import testtools

from nova_npiv import exception
from nova_npiv import remote_console as rc
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Estate
from nova_npiv.simulator import hmc_topology
from nova_npiv.simulator import novalink_pair
from nova_npiv.simulator.topology import STAGING_PARTITION
from nova_npiv.testing import harness
from nova_npiv.testing import world as world_lib
from nova_npiv import vm

CONF = cfg.CONF
UUID = '5d1c8a1e-6f3c-4b7e-9d46-0c6a1d0e9a02'


class RemoteConsoleTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(harness.reset_conf)
        self.est = Estate(novalink_pair()).start()
        self.addCleanup(self.est.stop)
        self.a, self.b = self.est.consoles
        self.adpt_a, self.adpt_b = self.a.adapter(), self.b.adapter()
        self.inst = harness.new_instance(1, UUID, 'host-a', node='sys-a')

    def flags(self, **kwargs):
        for key, value in kwargs.items():
            CONF.set_override(key, value, group='powervm')

    def test_address_defaults(self):
        self.flags(host='hmc7.example.com')
        self.assertEqual('hmc7.example.com', rc.own_address())
        for loopback in ('localhost', '127.0.0.1', '::1'):
            self.flags(host=loopback)
            self.assertEqual(CONF.my_ip, rc.own_address())
        self.flags(console_address='192.0.2.7')
        self.assertEqual('192.0.2.7', rc.own_address())

    def test_user_defaults(self):
        self.flags(username='hscroot')
        self.assertEqual('wlp', rc.own_user(self.adpt_a))
        with Estate(co_managed_topology()) as hmc:
            self.assertEqual('hscroot', rc.own_user(hmc.adapter()))
        self.flags(console_migration_user='padmin')
        self.assertEqual('padmin', rc.own_user(self.adpt_a))

    def test_advertised_console_travels_in_the_migrate_data(self):
        self.flags(console_address='127.0.0.1')
        data = migrate_data_obj.LibvirtLiveMigrateData()
        rc.advertise(data, self.adpt_b)
        # Through nova's RPC serialisation, as the conductor relays it.
        data = migrate_data_obj.LibvirtLiveMigrateData.obj_from_primitive(
            data.obj_to_primitive())
        self.assertEqual(('127.0.0.1', 'wlp'), rc.destination(self.inst,
                                                              data))

    def test_missing_advertisement_is_a_clear_error(self):
        for data in (None, migrate_data_obj.LibvirtLiveMigrateData(),
                     migrate_data_obj.LibvirtLiveMigrateData(
                         target_connect_addr='127.0.0.1')):
            exc = self.assertRaises(exception.LiveMigrationDataError,
                                    rc.destination, self.inst, data)
            self.assertIn('did not say which management console', str(exc))

    def test_migration_kwargs(self):
        data = migrate_data_obj.LibvirtLiveMigrateData(
            target_connect_addr='wlp@127.0.0.1')
        self.assertEqual({'tgt_mgmt_svr': '127.0.0.1', 'tgt_mgmt_usr': 'wlp'},
                         rc.migration_kwargs(self.adpt_a, self.inst, 'sys-b',
                                             data))
        # A system of this console needs no remote console, advertised or
        # not.
        self.assertEqual({}, rc.migration_kwargs(self.adpt_a, self.inst,
                                                 'sys-a', None))
        self.assertRaises(exception.LiveMigrationDataError,
                          rc.migration_kwargs, self.adpt_a, self.inst,
                          'sys-b', None)

    def test_key_offered_then_trusted_then_forgotten(self):
        rc.offer_key(self.adpt_a, self.inst)
        keys = [k for k in self.inst.system_metadata
                if k.startswith(rc.KEY_PREFIX)]
        # A key is longer than a system_metadata value may be.
        self.assertGreater(len(keys), 1)
        self.assertTrue(all(len(self.inst.system_metadata[k]) <= 255
                            for k in keys))
        rc.trust_source(self.adpt_b, None, self.inst, 'sys-a')
        self.assertEqual((pvm_mgmt.get_public_key(self.adpt_a),),
                         pvm_mgmt.get_authorized_keys(self.adpt_b))
        self.assertEqual([], [k for k in self.inst.system_metadata
                              if k.startswith(rc.KEY_PREFIX)])

    def test_key_recorded_after_the_copy_was_loaded_is_read_from_the_db(self):
        fresh = harness.new_instance(1, UUID, 'host-a', node='sys-a')
        rc.offer_key(self.adpt_a, fresh)
        with mock.patch('nova.objects.Instance.get_by_uuid',
                        return_value=fresh) as get:
            rc.trust_source(self.adpt_b, 'ctxt', self.inst, 'sys-a')
        get.assert_called_once_with('ctxt', UUID,
                                    expected_attrs=['system_metadata'])
        self.assertEqual((pvm_mgmt.get_public_key(self.adpt_a),),
                         pvm_mgmt.get_authorized_keys(self.adpt_b))

    def test_no_key_from_a_remote_source_is_refused_before_anything(self):
        with mock.patch('nova.objects.Instance.get_by_uuid',
                        return_value=self.inst):
            exc = self.assertRaises(exception.LiveMigrationDataError,
                                    rc.trust_source, self.adpt_b, None,
                                    self.inst, 'sys-a')
        self.assertIn('no public SSH key', str(exc))
        self.assertEqual((), pvm_mgmt.get_authorized_keys(self.adpt_b))

    def test_same_console_adds_no_key(self):
        rc.offer_key(self.adpt_a, self.inst)
        self.b.reset_counters()
        rc.trust_source(self.adpt_a, None, self.inst, 'sys-a')
        self.assertEqual((), pvm_mgmt.get_authorized_keys(self.adpt_a))
        self.assertEqual([], [k for k in self.inst.system_metadata
                              if k.startswith(rc.KEY_PREFIX)])
        self.assertEqual(0, self.a.count('POST', 'ManagementConsole'))


class DriverBetweenNovaLinksTestCase(testtools.TestCase):
    """The driver's live-migration calls, in nova's order, between two
    NovaLinks (nova_npiv.testing.world), without nova's services."""

    def setUp(self):
        super().setUp()
        self.addCleanup(harness.reset_conf)
        self.world = world_lib.World(
            hosts=(('host-a', 'sys-a'), ('host-b', 'sys-b')),
            topology=novalink_pair())
        self.addCleanup(self.world.close)
        self.world.spawn()

    def lpar(self):
        return self.world.sim.model.lpar(vm.lpar_uuid(self.world.inst))

    def test_migrates_console_to_console(self):
        before = [m for m in self.world.sim.model.mappings('sys-a')
                  if m.client_lpar_uuid == self.lpar().uuid]
        self.world.live_migrate()
        self.assertEqual('sys-b', self.lpar().system)
        after = [m for m in self.world.sim.model.mappings('sys-b')
                 if m.client_lpar_uuid == self.lpar().uuid]
        self.assertEqual(sorted(m.wwpns for m in before),
                         sorted(m.wwpns for m in after))
        self.assertEqual([], [m for m in self.world.sim.model.mappings('sys-a')
                              if m.client_lpar_uuid == self.lpar().uuid])
        b = self.world.sim.console_for('sys-b')
        a = self.world.sim.console_for('sys-a')
        self.assertEqual([a.model.mc.public_key], b.model.mc.authorized_keys)

    def _destination_data(self):
        # The destination's check makes the offer the source validates.
        return self.world.drivers['host-b'].check_can_live_migrate_destination(
            self.world.ctxt, self.world.inst, None, None)

    def test_source_does_not_validate_towards_another_console(self):
        # The destination trusts this console's key only from
        # pre_live_migration on: a MigrateValidate now would be refused.
        self.world.sim.reset_counters()
        self.world.drivers['host-a'].check_can_live_migrate_source(
            self.world.ctxt, self.world.inst, self._destination_data())
        self.assertEqual(0, self.world.sim.count(
            'PUT', 'job:MigrateValidate'))

    def test_destination_advertises_its_console(self):
        data = self.world.drivers['host-b'].check_can_live_migrate_destination(
            self.world.ctxt, self.world.inst, None, None)
        self.assertEqual('wlp@127.0.0.1', data.target_connect_addr)

    def test_source_offers_its_key(self):
        drv = self.world.drivers['host-a']
        drv.check_can_live_migrate_source(
            self.world.ctxt, self.world.inst, self._destination_data())
        self.assertEqual(
            self.world.sim.console_for('sys-a').model.mc.public_key,
            rc._get_key(self.world.inst))


    def test_rollback_at_destination_drops_an_unused_key(self):
        self.world.drivers['host-a'].check_can_live_migrate_source(
            self.world.ctxt, self.world.inst, self._destination_data())
        self.assertIsNotNone(rc._get_key(self.world.inst))
        self.world.drivers['host-b'].rollback_live_migration_at_destination(
            self.world.ctxt, self.world.inst, None, None)
        self.assertIsNone(rc._get_key(self.world.inst))


class DriverBetweenHmcsTestCase(testtools.TestCase):
    """HMC to HMC: the user the destination advertises is its REST user,
    and a named staging partition stands in for NovaLink's."""

    def test_migrates_hmc_to_hmc(self):
        self.addCleanup(harness.reset_conf)
        consoles = [dict(hmc_topology(systems=(name,), seed=seed),
                         name='hmc-%s' % name)
                    for seed, name in ((1, 'sys-a'), (2, 'sys-b'))]
        world = world_lib.World(
            hosts=(('host-a', 'sys-a'), ('host-b', 'sys-b')),
            topology=consoles, staging_partition=STAGING_PARTITION)
        self.addCleanup(world.close)
        world.spawn()
        data = world.drivers['host-b'].check_can_live_migrate_destination(
            world.ctxt, world.inst, None, None)
        self.assertEqual('admin@127.0.0.1', data.target_connect_addr)
        world.live_migrate()
        lpar = world.sim.model.lpar(vm.lpar_uuid(world.inst))
        self.assertEqual('sys-b', lpar.system)
        self.assertEqual(2, len([m for m in world.sim.model.mappings('sys-b')
                                 if m.client_lpar_uuid == lpar.uuid]))
