"""[powervm] options: fabrics, their ports and ports_per_fabric."""

import os
import tempfile

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

P1 = '10000000c9000001'
P2 = '10000000c9000002'
P3 = '10000000c9000003'


class ConfTestCase(testtools.TestCase):
    """Each test gets a private ConfigOpts so that nothing leaks."""

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        self.fixture = self.useFixture(config_fixture.Config(self.conf))
        npiv_conf.register_opts(self.conf)

    def set_fabrics(self, **ports):
        """``set_fabrics(A=[...], B=[...])``: names in keyword order."""
        self.fixture.config(fabrics=list(ports), group='powervm')
        npiv_conf.register_fabric_opts(self.conf)
        for fabric, wwpns in ports.items():
            self.fixture.config(group='powervm', **{
                npiv_conf.fabric_opt_name(fabric): wwpns})

    def load_file(self, text):
        """Parse a real config file, as oslo validates file values lazily."""
        fd, path = tempfile.mkstemp(suffix='.conf')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        self.conf(['--config-file', path], project='nova')


class TestDefaults(ConfTestCase):

    def test_defaults(self):
        group = self.conf.powervm
        self.assertEqual(['A'], group.fabrics)
        self.assertEqual(1, group.ports_per_fabric)
        self.assertEqual(npiv_conf.STAGING_AUTO, group.staging_partition)
        self.assertTrue(group.verify_tls)
        self.assertEqual('https', group.protocol)

    def test_register_is_idempotent(self):
        npiv_conf.register_opts(self.conf)
        npiv_conf.register_fabric_opts(self.conf)
        npiv_conf.register_fabric_opts(self.conf)
        self.assertEqual([], self.conf.powervm.fabric_A_port_wwpns)

    def test_default_fabric_without_ports_is_an_error(self):
        err = self.assertRaises(exception.NPIVConfigError,
                                npiv_conf.fabric_ports, 'A', self.conf)
        self.assertIn('[powervm] fabric_A_port_wwpns', str(err))


class TestFabrics(ConfTestCase):

    def test_names(self):
        self.set_fabrics(A=[P1], B=[P2])
        self.assertEqual(['A', 'B'], npiv_conf.fabric_names(self.conf))

    def test_names_are_stripped(self):
        self.fixture.config(fabrics=['A', ' B'], group='powervm')
        self.assertEqual(['A', 'B'], npiv_conf.fabric_names(self.conf))

    def test_names_from_file(self):
        self.load_file('[powervm]\nfabrics = A, B\n'
                       'fabric_A_port_wwpns = %s\n'
                       'fabric_B_port_wwpns = %s,%s\n' % (P1, P2, P3))
        self.assertEqual({'A': [P1], 'B': [P2, P3]},
                         npiv_conf.all_fabric_ports(self.conf))

    def test_bad_names(self):
        for names in ([], [''], ['A', ''], ['A', 'A']):
            self.fixture.config(fabrics=names, group='powervm')
            err = self.assertRaises(exception.NPIVConfigError,
                                    npiv_conf.fabric_names, self.conf)
            self.assertIn('[powervm] fabrics', str(err), names)

    def test_port_normalisation(self):
        self.set_fabrics(A=['10:00:00:00:C9:00:00:01', '10000000C9000002'],
                         B=['0x10000000c9000003'])
        self.assertEqual([P1, P2], npiv_conf.fabric_ports('A', self.conf))
        self.assertEqual({'A': [P1, P2], 'B': [P3]},
                         npiv_conf.all_fabric_ports(self.conf))

    def test_fabric_without_ports(self):
        self.set_fabrics(A=[P1], B=[])
        err = self.assertRaises(exception.NPIVConfigError,
                                npiv_conf.all_fabric_ports, self.conf)
        self.assertEqual('[powervm] fabric_B_port_wwpns',
                         err.kwargs['option'])
        self.assertIn('no physical ports', str(err))

    def test_fabric_option_missing_from_file(self):
        self.load_file('[powervm]\nfabrics = A,B\nfabric_A_port_wwpns = %s\n'
                       % P1)
        err = self.assertRaises(exception.NPIVConfigError,
                                npiv_conf.all_fabric_ports, self.conf)
        self.assertIn('fabric_B_port_wwpns', str(err))

    def test_bad_wwpn_in_port_list(self):
        for bad in ('10000000c900000', '10000000c90000zz', 'port1'):
            self.set_fabrics(A=[P1, bad])
            err = self.assertRaises(exception.NPIVConfigError,
                                    npiv_conf.fabric_ports, 'A', self.conf)
            self.assertEqual('[powervm] fabric_A_port_wwpns',
                             err.kwargs['option'])
            self.assertIn(bad, str(err))

    def test_same_port_on_two_fabrics(self):
        self.set_fabrics(A=[P1, P2], B=['10:00:00:00:C9:00:00:02'])
        err = self.assertRaises(exception.NPIVConfigError,
                                npiv_conf.all_fabric_ports, self.conf)
        self.assertEqual('[powervm] fabric_B_port_wwpns',
                         err.kwargs['option'])
        self.assertIn(P2, str(err))
        self.assertIn('fabric A', str(err))

    def test_repeated_port_on_one_fabric_is_kept(self):
        self.set_fabrics(A=[P1, P1.upper()])
        self.assertEqual({'A': [P1, P1]},
                         npiv_conf.all_fabric_ports(self.conf))


class TestPortsPerFabric(ConfTestCase):

    def test_in_range(self):
        for value in range(1, npiv_conf.MAX_PORTS_PER_FABRIC + 1):
            self.fixture.config(ports_per_fabric=value, group='powervm')
            self.assertEqual(value,
                             npiv_conf.validated_ports_per_fabric(self.conf))

    def test_override_out_of_range_refused_by_oslo(self):
        # Programmatic overrides are checked at once by oslo.config.
        for value in (0, -1, npiv_conf.MAX_PORTS_PER_FABRIC + 1):
            self.assertRaises(ValueError, self.fixture.config,
                              ports_per_fabric=value, group='powervm')

    def test_file_out_of_range(self):
        for value in ('0', '9', '-2', 'two', '1.5'):
            self.conf.reset()
            self.load_file('[powervm]\nports_per_fabric = %s\n' % value)
            # oslo only complains on access, without naming the group...
            self.assertRaises(cfg.ConfigFileValueError, getattr,
                              self.conf.powervm, 'ports_per_fabric')
            # ...so the helper turns it into the plugin's error.
            err = self.assertRaises(exception.NPIVConfigError,
                                    npiv_conf.validated_ports_per_fabric,
                                    self.conf)
            self.assertEqual('[powervm] ports_per_fabric',
                             err.kwargs['option'], value)
            self.assertIn('from 1 to 8', str(err))

    def test_file_in_range(self):
        self.load_file('[powervm]\nports_per_fabric = 8\n')
        self.assertEqual(8, npiv_conf.validated_ports_per_fabric(self.conf))


class TestListOpts(testtools.TestCase):

    def test_shape(self):
        result = npiv_conf.list_opts()
        self.assertEqual(1, len(result))
        group, opts = result[0]
        self.assertEqual('powervm', group)
        names = [o.name for o in opts]
        self.assertEqual(len(names), len(set(names)))
        for name in ('host', 'port', 'protocol', 'username', 'password',
                     'verify_tls', 'ca_path', 'managed_system', 'fabrics',
                     'ports_per_fabric', 'staging_partition',
                     'fabric_A_port_wwpns'):
            self.assertIn(name, names)
        for opt in opts:
            self.assertIsInstance(opt, cfg.Opt)
            self.assertTrue(opt.help, opt.name)

    def test_password_is_secret(self):
        opts = {o.name: o for o in npiv_conf.list_opts()[0][1]}
        self.assertTrue(opts['password'].secret)

    def test_ports_per_fabric_bounds_are_declared(self):
        opts = {o.name: o for o in npiv_conf.list_opts()[0][1]}
        opt_type = opts['ports_per_fabric'].type
        self.assertEqual(1, opt_type.min)
        self.assertEqual(npiv_conf.MAX_PORTS_PER_FABRIC, opt_type.max)

    def test_opts_register_cleanly(self):
        conf = cfg.ConfigOpts()
        for group, opts in npiv_conf.list_opts():
            conf.register_opts(opts, group=group)
        conf([])
        self.assertEqual([], conf.powervm.fabric_A_port_wwpns)
