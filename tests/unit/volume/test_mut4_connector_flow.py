"""Connector flow cases the fourth mutation round found unchecked.

Each test pins an outcome of :mod:`nova_npiv.volume.connector_flow` that
a mutant changed without any other test noticing (see
doc/mutation-survivors.md, fourth round).
"""

import fixtures
from nova.compute import task_states

from nova_npiv import exception
from nova_npiv import fabric_meta
from nova_npiv import staging as npiv_staging
from nova_npiv import vios as npiv_vios
from nova_npiv.tasks import base as tf_base
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

INST = npiv_base.INST
MGMT = npiv_base.MGMT
UNMAPPED = npiv_base.UNMAPPED
pair = npiv_base.pair


class FlowRecorder(npiv_base.NPIVTestCase):
    """Records (flow name, instance) of every flow the one runner runs."""

    def setUp(self):
        super().setUp()
        self.flows = []
        real_run = tf_base.run

        def run(flow, instance=None):
            self.flows.append((flow.name, instance))
            return real_run(flow, instance=instance)

        self.useFixture(fixtures.MockPatchObject(tf_base, 'run',
                                                 side_effect=run))


class TestDestinationFlowNamesTheInstance(FlowRecorder):

    def test_stage_partners_flow_runs_for_the_instance(self):
        # The runner names the instance in every line it logs for the
        # flow (nova-compute's "[instance: ...]"); the destination's flow
        # is the instance's like the others.
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.V2_FCS1, pair(2, 3))])
        self.inst.task_state = task_states.MIGRATING
        self.inst.host = 'source-host'

        self.connector()

        self.assertEqual(
            ('connector_destination_%s' % self.inst.uuid, self.inst),
            self.flows[0])


class LastFeedsPorts(npiv_base.NPIVTestCase):
    """A connector that checks its ports on the summary of the system's
    last feed (``vios.ports_or_feed`` gives no feed then): what a host
    that has run an operation on the system since its start does.  The
    unit fixture disables that cache, so it is given here as the cache
    gives it."""

    def setUp(self):
        super().setUp()
        summary = npiv_vios.port_summary(npiv_vios.active(self.fx.feed))
        self.ports_or_feed = self.useFixture(fixtures.MockPatchObject(
            npiv_vios, 'ports_or_feed', return_value=(summary, None))).mock
        self.read_feed = self.useFixture(fixtures.MockPatchObject(
            npiv_vios, 'read_feed', wraps=npiv_vios.read_feed)).mock


class TestNoStagingOnTheLastFeedsPorts(LastFeedsPorts):

    staging = False

    def test_ports_chosen_on_one_read_of_this_systems_feed(self):
        wwpns = self.fx.npiv(self.inst, staging=False).wwpns()

        self.assertEqual([npiv_base.W(0), npiv_base.W(2)], wwpns)
        self.assertStates(UNMAPPED)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))
        self.ports_or_feed.assert_called_once_with(self.fx.adpt, fx.HOST_UUID)
        # The summary has no wrappers to place on: this system's feed is
        # read once, with the ports' group.
        self.read_feed.assert_called_once_with(
            self.fx.adpt, fx.HOST_UUID, npiv_vios.XAGS_PORTS)
        self.assertEqual((1, 0), (self.fx.gets, self.fx.updates))


class TestStagingSlotsOnTheLastFeedsPorts(LastFeedsPorts):

    def setUp(self):
        super().setUp()
        self.at_hand = self.useFixture(fixtures.MockPatchObject(
            npiv_vios, 'mappings_at_hand', return_value=self.fx.feed)).mock

    def test_no_room_refused_on_the_mappings_at_hand_before_any_wwpn(self):
        drv = self.fx.npiv(self.inst, staging=fx.Staging(
            max_slots=npiv_staging.RESERVED_SLOTS + 1))

        self.assertRaises(exception.StagingSlotsExhausted, drv.wwpns)

        self.at_hand.assert_called_once_with(self.fx.adpt, fx.HOST_UUID)
        self.assertEqual([], self.fx.job.jobs)
        self.assertNotIn(self.inst.uuid, self.inst.db.history)
        self.assertEqual(0, self.fx.updates)

    def test_room_stages_on_the_feed_task_read(self):
        wwpns = self.fx.npiv(self.inst, staging=fx.Staging(
            max_slots=npiv_staging.RESERVED_SLOTS + 2)).wwpns()

        self.assertEqual([npiv_base.W(0), npiv_base.W(2)], wwpns)
        self.assertStates(MGMT)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())


class TestPortRefusalsNameTheSystem(npiv_base.NPIVTestCase):
    """A fabric without a usable port is refused naming the fabric, the
    ports and the managed system they were looked for on, whichever step
    finds it."""

    def assertRefused(self, fabric, ports, call):
        err = self.assertRaises(exception.FabricPortsNotFound, call)
        self.assertEqual(
            'Fabric %s: configured physical port(s) %s are not on any '
            'active Virtual I/O Server of %s' % (fabric, ports,
                                                 fx.HOST_UUID), str(err))

    def test_first_call_checked_on_the_port_summary(self):
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})

        self.assertRefused('B', fx.NOWHERE, self.connector)
        self.assertEqual([], self.fx.job.jobs)

    def test_ports_gone_from_the_feed_the_staging_is_decided_on(self):
        # The summary of the last feed still had the port; the feed of the
        # group commit no longer does: refused there, nothing staged.
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})
        summary = npiv_vios.port_summary(npiv_vios.active(self.fx.feed))
        summary[fx.NOWHERE] = npiv_vios.PortCapacity(10)
        self.useFixture(fixtures.MockPatchObject(
            npiv_vios, 'ports_or_feed', return_value=(summary, None)))

        self.assertRefused('B', fx.NOWHERE, self.connector)
        self.assertEqual(0, self.fx.updates)
        self.assertEqual({}, self.fx.staging_maps())

    def test_rescheduled_fabric_without_a_port_here(self):
        # Recorded on another system's port, unmapped (a reschedule): new
        # ports are chosen here, and there are none for fabric B.
        fabric_meta.set_fabric(self.inst, 'A', UNMAPPED,
                               [(fx.OTHER_FCS2, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', UNMAPPED,
                               [(fx.OTHER_FCS4, pair(2, 3))])
        self.inst.save()
        self.fx.configure({'A': fx.FABRIC_A, 'B': [fx.NOWHERE]})

        self.assertRefused('B', fx.NOWHERE, self.connector)
        self.assertEqual(0, self.fx.updates)
        self.assertEqual([], self.fx.job.jobs)


class TestCrossCellArrivalStagedAtTheSource(npiv_base.NPIVTestCase):

    def test_source_staging_is_forgotten_and_staged_here(self):
        # The copy nova brought records the source's staging (the
        # instance had no volume connected there): mgmt_mapped on the
        # source system's ports.  Here the same WWPNs are staged on this
        # system's ports.
        inst = self.fx.instance(host='source-host',
                                task_state=task_states.RESIZE_FINISH)
        fabric_meta.set_fabric(inst, 'A', MGMT, [(fx.OTHER_FCS2, pair(0, 1))])
        fabric_meta.set_fabric(inst, 'B', MGMT, [(fx.OTHER_FCS4, pair(2, 3))])
        inst.save()

        self.assertEqual([npiv_base.W(0), npiv_base.W(2)],
                         self.connector(inst))

        self.assertStates(MGMT, instance=inst)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))], fx.port_map(inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))], fx.port_map(inst, 'B'))
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())
        self.assertEqual([], self.fx.job.jobs)


class TestFailedStagingOfANewFabric(npiv_base.NPIVTestCase):

    def test_undo_leaves_the_other_fabrics_staging(self):
        # Fabric A was staged by an earlier call; fabric B is added to the
        # configuration and its staging POST fails: the undo removes B's
        # staging only, A stays staged as its record says.
        self.fx.configure({'A': fx.FABRIC_A})
        self.fx.npiv(self.inst).wwpns()
        staged_a = self.fx.staging_maps()
        self.assertEqual(1, len([m for maps in staged_a.values()
                                 for m in maps]))
        self.fx.configure({'A': fx.FABRIC_A, 'B': fx.FABRIC_B})
        self.fx.reset_counts()
        self.fx.fail_updates(fx.VIOS2)

        self.assertRaises(RuntimeError, self.connector)

        self.assertEqual(staged_a, self.fx.staging_maps())
        self.assertEqual(MGMT, fx.state(self.inst, 'A'))
        self.assertEqual(UNMAPPED, fx.state(self.inst, 'B'))
        # B's WWPNs are kept for the next call; the failed POST was B's.
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))


class TestStagingSlotsForRecordedWWPNs(npiv_base.NPIVTestCase):

    def test_unmapped_fabrics_with_wwpns_need_their_slots(self):
        # A spawn rolled back leaves the WWPNs recorded and unmapped: the
        # next connector stages them again, one slot per adapter.
        fabric_meta.set_fabric(self.inst, 'A', UNMAPPED,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', UNMAPPED,
                               [(fx.V2_FCS1, pair(2, 3))])
        self.inst.save()
        drv = self.fx.npiv(self.inst, staging=fx.Staging(
            max_slots=npiv_staging.RESERVED_SLOTS + 1))

        err = self.assertRaises(exception.StagingSlotsExhausted, drv.wwpns)

        self.assertIn('has 1 free virtual slot(s)', str(err))
        self.assertIn('instance %s needs 2' % self.inst.uuid, str(err))
        self.assertEqual(0, self.fx.updates)
        self.assertEqual({}, self.fx.staging_maps())

    def test_fabric_added_while_mapped_needs_its_own_slots_only(self):
        # Fabric A is mapped to the instance (not staged); fabric B is
        # added to the configuration: one slot, for B's new adapter.
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        self.inst.save()
        drv = self.fx.npiv(self.inst, staging=fx.Staging(
            max_slots=npiv_staging.RESERVED_SLOTS + 1))

        drv.wwpns()

        self.assertEqual({'A': INST, 'B': MGMT}, self.states())
        self.assertEqual([1], self.fx.job.jobs)


class TestRehomeFabricByFabric(npiv_base.NPIVTestCase):

    def test_only_the_fabric_on_foreign_ports_gets_new_ports(self):
        # A reschedule left A on a port of this system and B on another
        # system's: B is placed here, A keeps its port.
        fabric_meta.set_fabric(self.inst, 'A', UNMAPPED,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', UNMAPPED,
                               [(fx.OTHER_FCS4, pair(2, 3))])
        self.inst.save()

        self.connector()

        self.assertStates(MGMT)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(self.inst, 'B'))
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())

    def test_fabrics_it_does_not_stage_keep_their_records(self):
        # Not this host's instance (a live-migration source asking after
        # the destination took over): A's staging on the other system's
        # port is not this connector's to move; only B, unmapped, is
        # staged.
        self.inst.host = 'source-host'
        fabric_meta.set_fabric(self.inst, 'A', MGMT,
                               [(fx.OTHER_FCS2, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', UNMAPPED,
                               [(fx.V2_FCS1, pair(2, 3))])
        self.inst.save()

        self.connector()

        self.assertEqual({'A': MGMT, 'B': MGMT}, self.states())
        self.assertEqual([(fx.OTHER_FCS2, pair(0, 1))],
                         fx.port_map(self.inst, 'A'))
        self.assertEqual({fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
                         self.fx.staging_maps())
