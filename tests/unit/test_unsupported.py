"""What nova may ask that PowerVM with NPIV volumes cannot do, and where
each such request ends without a traceback in nova-compute's log.

Every ComputeDriver method that nova's base class leaves unimplemented and
this driver does not implement is accounted for here: either nova handles
NotImplementedError itself (the reason is given), or the shipped nova-api
policy file (``etc/nova/policy.d/nova-npiv.yaml``) refuses the API request
that leads to it, or another issue owns it.  A method nova adds in a later
release, or a policy rule nova renames, fails this test.
"""

import inspect
import os

from nova import policies
from nova.virt import driver as nova_driver
from oslo_config import cfg
from oslo_policy import policy as oslo_policy
import testtools
import yaml

from nova_npiv import driver

POLICY_FILE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir,
                           'etc', 'nova', 'policy.d', 'nova-npiv.yaml')

#: Methods nova calls inside its own ``except NotImplementedError`` (or
#: with NotImplementedError among the RPC method's expected exceptions,
#: which oslo.messaging logs without a traceback), or never for an
#: instance of this driver.
HANDLED_BY_NOVA = {
    'block_stats': 'caught; only for the optional volume usage audit',
    'cache_image': 'caught; the image cache API reports it unsupported',
    'check_instance_shared_storage_local': 'caught; evacuate goes on',
    'check_instance_shared_storage_remote': 'paired with the above',
    'default_device_names_for_instance': 'caught; nova names devices',
    'default_root_device_name': 'caught; nova names the root device',
    'get_device_name_for_instance': 'caught; nova names the device',
    'get_all_volume_usage': 'caught; volume_usage_poll_interval only',
    'get_console_output': 'expected exception: the API answers 501',
    'get_mks_console': 'expected exception; console proxies are off',
    'get_serial_console': 'expected exception: the API answers 501',
    'get_spice_console': 'expected exception: the API answers 501',
    'get_vnc_console': 'expected exception: the API answers 501',
    'get_host_cpu_stats': 'never called by nova-compute',
    'is_share_mounted': 'manila shares: libvirt only',
    'mount_share': 'manila shares: libvirt only',
    'umount_share': 'manila shares: libvirt only',
    'power_update_event': 'ironic power-update events only',
    'quiesce': 'expected exception: the snapshot goes on unquiesced',
    'unquiesce': 'paired with quiesce',
    'rebuild': "caught; nova's default rebuild (destroy and spawn) runs",
    'rescue': 'refused by nova-api: volume-backed rescue needs the '
              'COMPUTE_RESCUE_BFV trait',
    'unrescue': 'paired with rescue',
    'restore': 'caught; nova powers the instance on instead',
    'soft_delete': 'caught; nova powers the instance off instead',
    'snapshot': 'never for a volume-backed server: nova-api snapshots its '
                'volumes in Cinder',
    'set_host_enabled': 'caught; nova answers enabled/disabled',
    'trigger_crash_dump': 'expected exception: the API answers 501',
    'volume_snapshot_create': 'expected exception (assisted snapshots)',
    'volume_snapshot_delete': 'expected exception (assisted snapshots)',
}

#: Methods reached from an API request the policy file refuses.
REFUSED_BY_POLICY = {
    'pause': ['os_compute_api:os-pause-server:pause'],
    'unpause': ['os_compute_api:os-pause-server:unpause'],
    'suspend': ['os_compute_api:os-suspend-server:suspend'],
    'resume': ['os_compute_api:os-suspend-server:resume'],
    'set_admin_password': ['os_compute_api:os-admin-password'],
    'attach_interface': ['os_compute_api:os-attach-interfaces:create'],
    'detach_interface': ['os_compute_api:os-attach-interfaces:delete'],
    'swap_volume': ['os_compute_api:os-volumes-attachments:swap'],
    'host_power_action': ['os_compute_api:os-hosts:reboot',
                          'os_compute_api:os-hosts:shutdown',
                          'os_compute_api:os-hosts:start'],
    'host_maintenance_mode': ['os_compute_api:os-hosts:update'],
}

#: Owned by open issues.
PLANNED = {}


def _unimplemented():
    names = set()
    for name, func in vars(nova_driver.ComputeDriver).items():
        if name.startswith('_') or not inspect.isfunction(func):
            continue
        if ('raise NotImplementedError' in inspect.getsource(func) and
                getattr(driver.NPIVDriver, name) is func):
            names.add(name)
    return names


class TestEveryUnsupportedCallIsAccountedFor(testtools.TestCase):

    def test_accounted_for(self):
        listed = set(HANDLED_BY_NOVA) | set(REFUSED_BY_POLICY) | set(PLANNED)
        unimplemented = _unimplemented()
        self.assertEqual(set(), unimplemented - listed,
                         'unimplemented and not accounted for')
        self.assertEqual(set(), listed - unimplemented,
                         'listed here but implemented now')


class TestPolicyFile(testtools.TestCase):

    def setUp(self):
        super().setUp()
        with open(POLICY_FILE) as f:
            self.rules = yaml.safe_load(f)
        conf = cfg.ConfigOpts()
        conf([], project='nova-npiv-test')
        self.enforcer = oslo_policy.Enforcer(conf, policy_file=POLICY_FILE)
        self.enforcer.register_defaults(policies.list_rules())
        self.enforcer.load_rules()

    def test_names_are_nova_rules(self):
        known = {rule.name for rule in policies.list_rules()}
        self.assertEqual(set(), set(self.rules) - known)

    def test_covers_every_refused_call(self):
        wanted = {r for rules in REFUSED_BY_POLICY.values() for r in rules}
        self.assertEqual(wanted, set(self.rules))

    def test_refuses_even_an_admin(self):
        admin = {'roles': ['admin', 'member', 'reader'],
                 'project_id': 'p', 'user_id': 'u'}
        target = {'project_id': 'p', 'user_id': 'u'}
        for rule in self.rules:
            self.assertFalse(self.enforcer.enforce(rule, target, admin), rule)
        # What nova-npiv supports stays with nova's defaults.
        for rule in ('os_compute_api:os-migrate-server:migrate_live',
                     'os_compute_api:os-migrate-server:migrate',
                     'os_compute_api:os-migrate-server:migrate:host',
                     'os_compute_api:servers:resize',
                     'os_compute_api:servers:confirm_resize',
                     'os_compute_api:servers:revert_resize',
                     'os_compute_api:servers:create_image',
                     'os_compute_api:os-hypervisors:uptime'):
            self.assertTrue(self.enforcer.enforce(rule, target, admin), rule)
