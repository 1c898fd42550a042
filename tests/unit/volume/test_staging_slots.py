"""The staging partition's free virtual slots are checked before staging
(issue 14): running out is a clear error raised before anything is drawn,
saved or mapped, counted from the feed the staging is decided on."""

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import staging as npiv_staging
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

RESERVED = npiv_staging.RESERVED_SLOTS
UNMAPPED = npiv_base.UNMAPPED
MGMT = npiv_base.MGMT


class TestStagingSlots(npiv_base.NPIVTestCase):

    def connector(self, instance=None, max_slots=None):
        return self.fx.npiv(instance or self.inst, staging=fx.Staging(
            max_slots=max_slots)).wwpns()

    def test_room_for_both_fabrics(self):
        self.connector(max_slots=RESERVED + 2)
        self.assertStates(MGMT)

    def test_no_room_is_an_error_before_anything_happens(self):
        err = self.assertRaises(exception.StagingSlotsExhausted,
                                self.connector, max_slots=RESERVED + 1)
        text = str(err)
        self.assertIn('Staging partition novalink (%s)' % fx.STAGING_UUID,
                      text)
        self.assertIn('has 1 free virtual slot(s)', text)
        self.assertIn('MaximumVirtualIOSlots %d' % (RESERVED + 1), text)
        self.assertIn('0 used by vFC client adapters', text)
        self.assertIn('instance %s needs 2' % self.inst.uuid, text)
        # No WWPNs drawn, no metadata saved, no VIOS update.
        self.assertEqual([], self.fx.job.jobs)
        self.assertNotIn(self.inst.uuid, self.inst.db.history)
        self.assertEqual(0, self.fx.updates)
        self.assertEqual({}, self.fx.staging_maps())

    def test_adapters_already_staged_take_their_slots(self):
        other = self.fx.instance(uuid='aaaaaaaa-0000-4000-8000-000000000002')
        self.connector(other, max_slots=RESERVED + 3)
        self.fx.reset_counts()
        err = self.assertRaises(exception.StagingSlotsExhausted,
                                self.connector, max_slots=RESERVED + 3)
        self.assertIn('2 used by vFC client adapters', str(err))
        self.assertIn('has 1 free', str(err))
        self.assertEqual(0, self.fx.updates)

    def test_pairs_already_staged_need_no_slot(self):
        # A staging whose reply was lost: the metadata says unmapped, the
        # adapters are on the staging partition.  Staging them again adds
        # nothing, so a full partition does not refuse it.
        self.connector(max_slots=RESERVED + 2)
        for fabric in ('A', 'B'):
            self.inst.system_metadata[fabric_meta.STATE_PREFIX + fabric] = \
                UNMAPPED
        self.inst.save()
        self.fx.reset_counts()
        self.connector(max_slots=RESERVED + 2)
        self.assertEqual([], self.fx.job.jobs)
        self.assertStates(MGMT)

    def test_unknown_maximum_skips_the_check(self):
        self.connector(max_slots=None)
        self.assertStates(MGMT)


class TestStagingSlotsPerFabricPorts(npiv_base.NPIVTestCase):
    """Two ports per fabric: four client adapters to stage."""

    ports_per_fabric = 2

    def test_new_pairs_count_per_port(self):
        fabrics = {'A': [fx.V1_FCS0, fx.V2_FCS0], 'B': [fx.V1_FCS1,
                                                        fx.V2_FCS1]}
        self.fx.configure(fabrics, ports_per_fabric=2)
        err = self.assertRaises(
            exception.StagingSlotsExhausted, self.fx.npiv(
                self.inst, staging=fx.Staging(max_slots=RESERVED + 3)).wwpns)
        self.assertIn('needs 4', str(err))
