"""Live migration through nova between two NovaLink consoles (issue 14).

Each system has its own NovaLink, so the migration goes console to console:
the destination tells the source its console's address and user, its
console comes to trust the source console's SSH key, and the source's
Migrate job names the remote console.
"""

from unittest import mock

from pypowervm.tasks import management_console as pvm_mgmt
from pypowervm.tasks import migration as pvm_mig

from nova_npiv import fabric_meta
from nova_npiv.simulator import novalink_pair
from tests.functional import nova_base
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids

_MIGRATE_LPAR = pvm_mig.migrate_lpar


class TestNovaLinkToNovaLink(nova_base.NPIVServicesTestCase):

    TOPOLOGY = novalink_pair()

    def setUp(self):
        super().setUp()
        self.src, self.dst = (self.sim.console_for(s) for s in
                              ('sys-a', 'sys-b'))

    def boot(self):
        server = self.boot_from_volumes([uuids.root_vol, uuids.data_vol])
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        return server

    def spy_migrate(self):
        """Record each migrate_lpar call of the driver and its outcome."""
        calls = []

        def spy(lpar_w, system, **kwargs):
            calls.append(dict(kwargs, system=system))
            try:
                return _MIGRATE_LPAR(lpar_w, system, **kwargs)
            except Exception as exc:
                calls[-1]['error'] = str(exc)
                raise

        self.useFixture(nova_base.fixtures.MockPatch(
            'nova_npiv.volume.lpm_platform.pvm_mig.migrate_lpar',
            side_effect=spy))
        return calls

    def test_live_migration_between_consoles(self):
        server = self.boot()
        old_records = self.fabric_records(server)
        self.assertEqual([], self.dst.model.mc.authorized_keys)
        calls = self.spy_migrate()
        server = self._live_migrate(server, 'completed')
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])

        # The job named the remote console; its console trusts the source's.
        (call,) = calls
        self.assertEqual(('sys-b', '127.0.0.1', 'wlp', None),
                         (call['system'], call['tgt_mgmt_svr'],
                          call['tgt_mgmt_usr'], call.get('error')))
        self.assertEqual([self.src.model.mc.public_key],
                         self.dst.model.mc.authorized_keys)

        # Moved: the LPAR and its mappings, nothing left on the source.
        uuid = self.lpar_uuid(server)
        self.assertIsNone(self.src.model.lpar(uuid))
        self.assertEqual('sys-b', self.dst.model.lpar(uuid).system)
        self.assertEqual([], self.mappings_of(server, 'sys-a'))
        self.assertEqual([], self.staging_mappings())
        maps = self.mappings_of(server, 'sys-b')
        self.assertEqual({'A', 'B'}, {m.fabric for m in maps})
        records = self.fabric_records(server)
        for fabric in ('A', 'B'):
            old_pair = old_records[fabric].port_map[0][1].split()
            new_phys, new_pair = records[fabric].port_map[0]
            self.assertEqual(list(reversed(old_pair)), new_pair.split())
            (on_vios,) = [m for m in maps if m.fabric == fabric]
            self.assertEqual(new_phys, on_vios.port_wwpn.lower())
            self.assertEqual(new_pair.split()[0], on_vios.logged_in)
        # Cinder's connector WWPNs are the active (logged-in) ones.
        inst = self.instance(server)
        active = fabric_meta.active_wwpns(inst, ['A', 'B'])
        self.assertEqual(norm(active), norm(m.logged_in for m in maps))
        for vol in (uuids.root_vol, uuids.data_vol):
            self.assertEqual(norm(active),
                             norm(self.cinder.connectors[vol][-1]['wwpns']))
        # The key travelled in system_metadata and is gone from it.
        self.assertEqual([], [k for k in inst.system_metadata
                              if k.startswith('npiv_lpm_source_key')])

        # And back: trust is per direction.
        server = self._live_migrate(server, 'completed')
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([self.dst.model.mc.public_key],
                         self.src.model.mc.authorized_keys)
        self.assertEqual([], self.mappings_of(server, 'sys-b'))
        self.assertEqual(2, len(self.mappings_of(server, 'sys-a')))

    def test_console_that_does_not_trust_the_source_refuses(self):
        """Without the key exchange the platform refuses the job; nova
        rolls back and the partition runs on where it was, untouched: the
        server stays ACTIVE on the source, the migration ends failed."""
        server = self.boot()
        before = self.mappings_of(server, 'sys-a')
        calls = self.spy_migrate()
        with mock.patch.object(pvm_mgmt, 'add_authorized_key'):
            server = self._live_migrate(server, 'failed',
                                        server_expected_state='ACTIVE')
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        (call,) = calls
        self.assertIn('does not trust this management console',
                      call['error'])
        self.assertEqual(before, self.mappings_of(server, 'sys-a'))
        self.assertEqual([], self.mappings_of(server, 'sys-b'))
        self.assertEqual([], self.staging_mappings())
        self.assertEqual('running',
                         self.src.model.lpar(self.lpar_uuid(server)).state)
