"""The vFC update plan alone: validate() decides, apply() carries out."""

import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Model
from nova_npiv.simulator import state
from nova_npiv.simulator import vfc
from nova_npiv.simulator.vocab import SimulatorError


def posted_like(m):
    """The PostedMapping a client echoes back for an existing mapping."""
    return state.PostedMapping(
        server_slot=m.server_slot, server_name=m.vfchost,
        client_href=m.client_href, has_client=m.client,
        client_slot=m.client_slot, wwpns=m.wwpns or None, port_name=m.port)


class VfcUpdateTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.model = Model(default_topology(systems=('sys-a',),
                                            total_ports=2))
        self.lpar = self.model.add_lpar('sys-a', 'vm1', state='running')
        with self.model.lock:
            self.sysm = self.model.find_system('sys-a')
            (self.vios,) = [v for v in self.sysm.vioses.values()
                            if v.name == 'vios-a1']
            self.lpar_state = self.model.find_partition(
                'LogicalPartition', self.lpar.uuid)

    def new(self, **kwargs):
        fields = dict(has_client=True, port_name='fcs0', client_href=(
            '/rest/api/uom/ManagedSystem/%s/LogicalPartition/%s'
            % (self.sysm.uuid, self.lpar.uuid)))
        fields.update(kwargs)
        return state.PostedMapping(**fields)

    def existing(self):
        return [posted_like(m) for m in self.vios.maps.values()]

    def test_validate_settles_slots_and_wwpns_without_changing_state(self):
        etag = self.vios.etag
        update = vfc.VfcUpdate(self.model, self.vios, [self.new()])
        update.validate()
        (added,) = update.added
        self.assertEqual((3, 11), (added.client_slot, added.server_slot))
        self.assertEqual(2, len(added.wwpns))
        self.assertEqual(([], []), (update.removed, update.rebinds))
        self.assertEqual({}, dict(self.vios.maps))
        self.assertEqual(2, self.vios.ports['fcs0'].available)
        self.assertEqual(etag, self.vios.etag)

    def test_apply_carries_the_plan_out(self):
        update = vfc.VfcUpdate(self.model, self.vios, [self.new()])
        self.assertTrue(update.validate().apply())
        (m,) = self.model.mappings('sys-a')
        self.assertEqual(
            ('vios-a1', 'vfchost0', 11, 3, 'fcs0', self.lpar.uuid),
            (m.vios, m.vfchost, m.server_slot, m.client_slot, m.port_name,
             m.client_lpar_uuid))
        self.assertEqual(1, self.vios.ports['fcs0'].available)

    def test_apply_needs_validate(self):
        update = vfc.VfcUpdate(self.model, self.vios, [self.new()])
        self.assertRaises(RuntimeError, update.apply)

    def test_echoing_the_mappings_back_changes_nothing(self):
        vfc.VfcUpdate(self.model, self.vios, [self.new()]).validate().apply()
        etag = self.vios.etag
        update = vfc.VfcUpdate(self.model, self.vios, self.existing())
        self.assertFalse(update.validate().apply())
        self.assertEqual(etag, self.vios.etag)
        self.assertEqual(1, len(self.model.mappings()))

    def test_leaving_a_mapping_out_removes_it_and_frees_its_port(self):
        vfc.VfcUpdate(self.model, self.vios, [self.new()]).validate().apply()
        update = vfc.VfcUpdate(self.model, self.vios, []).validate()
        self.assertEqual(1, len(update.removed))
        self.assertTrue(update.apply())
        self.assertEqual([], self.model.mappings())
        self.assertEqual(2, self.vios.ports['fcs0'].available)

    def test_rebinding_to_another_port_moves_the_npiv_slot(self):
        vfc.VfcUpdate(self.model, self.vios, [self.new()]).validate().apply()
        (posted,) = self.existing()
        posted.port_name = 'fcs1'
        update = vfc.VfcUpdate(self.model, self.vios, [posted]).validate()
        self.assertEqual(['fcs1'], [p for _m, p in update.rebinds])
        update.apply()
        self.assertEqual((2, 1), (self.vios.ports['fcs0'].available,
                                  self.vios.ports['fcs1'].available))

    def test_refusals_name_the_problem_and_change_nothing(self):
        taken = self.model.add_mapping('sys-a', 'vios-a2', lpar='vm1',
                                       port='fcs0')
        cases = [
            (self.new(port_name='fcs9'), 'no physical FC port named fcs9'),
            (self.new(has_client=False), 'needs a ClientAdapter'),
            (self.new(client_href=None), 'AssociatedLogicalPartition'),
            (self.new(client_href='/rest/api/uom/LogicalPartition/'
                      '0A4D6A48-1A2B-4C3D-8E9F-0123456789AB'),
             'does not exist on managed system sys-a'),
            (self.new(wwpns=('c050760000000001',)), 'two distinct'),
            (self.new(wwpns=taken.wwpns), 'already in use'),
            (self.new(client_slot=taken.client_slot),
             'Virtual slot %d of partition vm1' % taken.client_slot),
            (self.new(client_slot=64), 'exceeds the maximum (64)'),
        ]
        before = self.model.mappings()
        pool = self.sysm.wwpn_next
        for posted, message in cases:
            update = vfc.VfcUpdate(self.model, self.vios, [posted])
            exc = self.assertRaises(SimulatorError, update.validate)
            self.assertEqual(400, exc.status)
            self.assertIn(message, exc.message)
        self.assertEqual(before, self.model.mappings())
        self.assertEqual(pool, self.sysm.wwpn_next)

    def test_capacity_is_checked_over_the_whole_update(self):
        update = vfc.VfcUpdate(self.model, self.vios,
                               [self.new() for _ in range(3)])
        exc = self.assertRaises(SimulatorError, update.validate)
        self.assertIn('no NPIV capacity left', exc.message)
        self.assertEqual({}, dict(self.vios.maps))

    def test_match_posted_recognises_mappings_by_server_adapter(self):
        vfc.VfcUpdate(self.model, self.vios,
                      [self.new(), self.new(port_name='fcs1')]
                      ).validate().apply()
        first, second = self.existing()
        second.server_name = None   # recognised by slot alone
        brand_new = self.new()
        keep, new = vfc.match_posted(self.vios, [second, brand_new, first])
        self.assertEqual(2, len(keep))
        self.assertEqual([brand_new], new)
