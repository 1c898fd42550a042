"""vfc_ops cases the fourth mutation round found unchecked: what
``restore`` (the map-back after a failed unmapping) asks the console for
and writes (see doc/mutation-survivors.md, fourth round)."""

import fixtures

from nova_npiv import fabric_meta
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base


class TestRestore(npiv_base.NPIVTestCase):

    def hrefs(self, lpar_uuid):
        return [vmap.client_lpar_href
                for vios_w in self.fx.feed for vmap in vios_w.vfc_mappings
                if vmap.client_lpar_href and
                vmap.client_lpar_href.lower().endswith(lpar_uuid.lower())]

    def assertUnderThisSystem(self, lpar_uuid, count):
        hrefs = self.hrefs(lpar_uuid)
        self.assertEqual(count, len(hrefs), hrefs)
        for href in hrefs:
            self.assertIn('/ManagedSystem/%s/LogicalPartition/%s'
                          % (fx.HOST_UUID, lpar_uuid), href)

    def lose_everything(self):
        """A delete that removed every mapping before its failure: the
        records still say A is the instance's, B staged."""
        self.connector()
        self.connect()
        fabric_meta.set_fabric(self.inst, 'B', npiv_base.MGMT,
                               fx.port_map(self.inst, 'B'))
        self.fx.npiv(self.inst).remove_instance_mappings(
            update_metadata=False)
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.fx.reset_counts()

    def test_mapped_back_under_this_system_read_with_the_ports(self):
        self.lose_everything()
        getter = self.useFixture(fixtures.MockPatchObject(
            npiv_vios, 'getter', wraps=npiv_vios.getter)).mock

        self.fx.npiv(self.inst).restore_mappings()

        # add_map finds the ports on the read: the storage group is asked
        # for, of this system's VIOSes.
        self.assertTrue(getter.called)
        for args, _kwargs in getter.call_args_list:
            self.assertEqual(
                (self.fx.adpt, fx.HOST_UUID, npiv_vios.XAGS_PORTS),
                (args[0], args[1], tuple(args[2])))
        self.assertUnderThisSystem(vm.lpar_uuid(self.inst), 1)
        self.assertUnderThisSystem(fx.STAGING_UUID, 1)

    def test_staged_records_without_a_staging_partition(self):
        # Nothing to put the staged fabric back on: the instance's fabric
        # alone is mapped back, no mapping for any other partition made.
        self.lose_everything()
        others = self.fx.other_maps(vm.lpar_uuid(self.inst))

        self.fx.npiv(self.inst, staging=False).restore_mappings()

        self.assertEqual(1, sum(len(m) for m in
                                self.fx.instance_maps(self.inst).values()))
        self.assertEqual(others, self.fx.other_maps(vm.lpar_uuid(self.inst)))
        self.assertEqual(1, self.fx.updates)
