"""The NPIV adapter after something went wrong part way.

``restore_mappings``: a delete (or a rollback) whose FeedTask failed part
way removed mappings the metadata still records: each fabric goes back
where its record says, the instance's to the instance, the staged ones to
the staging partition.  ``unidentifiable_staging``: which unreadable
records may hide staging mappings.  The extend refusal, in full.
"""

import logging

import fixtures

from nova_npiv import exception
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


class TestUnidentifiableStaging(npiv_base.NPIVTestCase):
    """Fabrics whose staging mappings nothing could find (delete refuses)."""

    def errors(self, staging=None):
        npiv = self.fx.npiv(self.inst, staging=staging)
        return npiv.unidentifiable_staging()

    def test_a_corrupt_state_may_hide_staging(self):
        self.connector()
        self.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        errors = self.errors()
        self.assertEqual(1, len(errors))
        self.assertIn(fabric_meta.state_key('A'), errors[0].format_message())

    def test_a_staged_fabric_with_a_corrupt_map_hides_staging(self):
        self.connector()
        self.inst.system_metadata[fabric_meta.map_key('B')] = 'not,wwpns'
        errors = self.errors()
        self.assertEqual(1, len(errors))
        self.assertIn(fabric_meta.map_key('B'), errors[0].format_message())

    def test_corrupt_maps_of_unstaged_fabrics_hide_nothing(self):
        self.connector()
        self.connect()
        self.inst.system_metadata[fabric_meta.map_key('A')] = 'not,wwpns'
        fabric_meta.set_fabric(self.inst, 'B', npiv_base.UNMAPPED,
                               fx.port_map(self.inst, 'B'))
        self.inst.system_metadata[fabric_meta.map_key('B')] = 'not,wwpns'
        self.assertEqual([], self.errors())

    def test_readable_records_hide_nothing(self):
        self.connector()
        self.assertEqual([], self.errors())

    def test_without_a_staging_partition_nothing_is_staged(self):
        self.connector()
        self.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        self.assertEqual([], self.errors(staging=False))


class TestExtendRefusal(npiv_base.NPIVTestCase):

    def test_a_fabric_not_mapped_to_the_instance_is_named(self):
        self.connector()
        wwpns = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        drv = self.fx.npiv(self.inst, fx.connection_info(wwpns, 'vol-7'))
        err = self.assertRaises(exception.VolumeMappingFailed,
                                drv.extend_volume)
        self.assertEqual('Virtual FC mapping of instance %s failed: '
                         'fabric(s) A, B not mapped to the instance; volume '
                         'vol-7 cannot be extended' % fx.INSTANCE_UUID,
                         err.format_message())


class TestLenientEntries(npiv_base.NPIVTestCase):

    def test_readable_fabrics_only_and_the_others_named(self):
        self.connector()
        self.inst.system_metadata[fabric_meta.state_key('A')] = 'bogus'
        logs = self.useFixture(fixtures.FakeLogger(name='nova_npiv',
                                                   level=logging.INFO))
        npiv = self.fx.npiv(self.inst)
        err = npiv.records.errors()['A']
        self.assertEqual(npiv.records['B'].entries, npiv.lenient_entries())
        self.assertIn('%s: removing the mappings of fabric A by partition '
                      'only' % err.format_message(), logs.output)
