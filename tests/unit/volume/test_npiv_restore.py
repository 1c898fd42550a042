"""``restore_mappings``: what a failed unmapping removed goes back.

A delete (or a rollback) whose FeedTask failed part way removed mappings
the metadata still records: each fabric goes back where its record says,
the instance's to the instance, the staged ones to the staging partition.
"""

import logging

import fixtures

from nova_npiv import fabric_meta
from nova_npiv.volume import vfc_ops
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base


class TestRestoreMappings(npiv_base.NPIVTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv', level=logging.INFO))

    def count(self, maps):
        return sum(len(m) for m in maps.values())

    def lose_staging(self):
        """The staging mappings gone, the records still mgmt_mapped."""
        vfc_ops.unstage(self.fx.adpt, fx.HOST_UUID, self.inst,
                        fx.STAGING_UUID, self.fx.npiv(self.inst).records
                        .entries())
        self.assertEqual(0, self.count(self.fx.staging_maps()))

    def test_staged_fabrics_go_back_to_the_staging_partition(self):
        self.connector()
        staged = self.fx.staging_maps()
        others = self.fx.other_maps(fx.STAGING_UUID)
        self.lose_staging()
        self.fx.npiv(self.inst).restore_mappings()
        self.assertEqual(staged, self.fx.staging_maps())
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.assertEqual(others, self.fx.other_maps(fx.STAGING_UUID))
        self.assertIn('Mapping the vFC adapters of %s back after a failed '
                      'unmapping' % fx.INSTANCE_UUID, self.logs.output)
        self.assertStates(npiv_base.MGMT)

    def test_each_fabric_goes_where_its_record_says(self):
        self.connector()
        self.connect()
        mapped = self.fx.instance_maps(self.inst)
        # Fabric B recorded staged (its instance mapping never recorded).
        fabric_meta.set_fabric(self.inst, 'B', npiv_base.MGMT,
                               fx.port_map(self.inst, 'B'))
        self.fx.npiv(self.inst).remove_instance_mappings(
            update_metadata=False)
        self.assertEqual({}, self.fx.instance_maps(self.inst))
        self.fx.npiv(self.inst).restore_mappings()
        self.assertEqual(1, self.count(self.fx.instance_maps(self.inst)))
        self.assertEqual(1, self.count(self.fx.staging_maps()))
        inst_a = [m for maps in self.fx.instance_maps(self.inst).values()
                  for m in maps]
        self.assertEqual(
            [m for maps in mapped.values() for m in maps
             if m[1] == fx.port_map(self.inst, 'A')[0][1]], inst_a)

    def test_staged_fabrics_without_a_staging_partition_change_nothing(self):
        self.connector()
        self.lose_staging()
        self.fx.reset_counts()
        self.fx.npiv(self.inst, staging=False).restore_mappings()
        self.assertEqual(0, self.fx.gets)
        self.assertEqual(0, self.count(self.fx.staging_maps()))
        self.assertNotIn('back after a failed unmapping', self.logs.output)

    def test_nothing_recorded_mapped_changes_nothing(self):
        self.connector()
        npiv = self.fx.npiv(self.inst)
        npiv.remove_instance_mappings(update_metadata=True)
        self.assertStates(npiv_base.UNMAPPED)
        self.fx.reset_counts()
        npiv.restore_mappings()
        self.assertEqual(0, self.fx.gets)
        self.assertNotIn('back after a failed unmapping', self.logs.output)

    def test_corrupt_records_change_nothing(self):
        self.connector()
        self.lose_staging()
        self.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        self.fx.reset_counts()
        self.fx.npiv(self.inst).restore_mappings()
        self.assertEqual(0, self.fx.gets)
