"""The connector on a cross-cell resize's destination (nova_npiv.cross_cell).

nova copies the instance's row to the target cell before the source powers
off: the destination's copy records the source's mappings (``inst_mapped``
on the source system's ports), which the source's destroy removed before
nova calls here.  The connector forgets them, keeping the WWPNs, and stages
the same WWPNs on this system's ports; nothing else is taken for stale.
"""

from nova.compute import task_states

from nova_npiv import fabric_meta
from nova_npiv import resize
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

INST = npiv_base.INST
MGMT = npiv_base.MGMT
UNMAPPED = npiv_base.UNMAPPED
pair = npiv_base.pair


class TestArrivalDetection(npiv_base.NPIVTestCase):

    def test_cross_cell_finish_is_an_arrival(self):
        inst = self.fx.instance(host='source-host',
                                task_state=task_states.RESIZE_FINISH)
        self.assertTrue(resize.arriving_cross_cell(inst, fx.THIS_HOST))

    def test_finish_resize_within_a_cell_is_not(self):
        # resize_instance moved the instance here before finish_resize.
        inst = self.fx.instance(task_state=task_states.RESIZE_FINISH)
        self.assertFalse(resize.arriving_cross_cell(inst, fx.THIS_HOST))

    def test_other_host_in_another_task_is_not(self):
        for state in (None, task_states.MIGRATING,
                      task_states.RESIZE_MIGRATING,
                      task_states.RESIZE_REVERTING):
            inst = self.fx.instance(host='source-host', task_state=state)
            self.assertFalse(resize.arriving_cross_cell(inst, fx.THIS_HOST),
                             state)


class TestArrivalConnector(npiv_base.NPIVTestCase):

    def copy_from_source(self, ports=(fx.OTHER_FCS2, fx.OTHER_FCS4),
                         host='source-host'):
        """The target cell's row as nova copied it: mapped at the source."""
        inst = self.fx.instance(host=host,
                                task_state=task_states.RESIZE_FINISH)
        fabric_meta.set_fabric(inst, 'A', INST, [(ports[0], pair(0, 1))])
        fabric_meta.set_fabric(inst, 'B', INST, [(ports[1], pair(2, 3))])
        inst.save()
        return inst

    def test_stages_the_same_wwpns_on_this_systems_ports(self):
        inst = self.copy_from_source()

        wwpns = self.connector(inst)

        self.assertEqual([npiv_base.W(0), npiv_base.W(2)], wwpns)
        self.assertStates(MGMT, instance=inst)
        # Same pairs, this system's ports; no new WWPN drawn.
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(inst, 'A'))
        self.assertEqual([(fx.V2_FCS1, pair(2, 3))],
                         fx.port_map(inst, 'B'))
        self.assertEqual([], self.fx.job.jobs)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.staging_maps())
        self.assertEqual({}, self.fx.instance_maps(inst))

    def test_later_call_keeps_this_hosts_staging(self):
        inst = self.copy_from_source()
        first = self.connector(inst)
        self.fx.reset_counts()

        self.assertEqual(first, self.connector(inst))

        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))
        self.assertStates(MGMT, instance=inst)

    def test_copy_mapped_on_ports_configured_here_is_the_sources_too(self):
        # Whatever ports it names, inst_mapped in the copy is the source's
        # (the LPAR here does not exist before the spawn).
        inst = self.copy_from_source(ports=(fx.V1_FCS0, fx.V2_FCS1))

        self.connector(inst)

        self.assertStates(MGMT, instance=inst)
        self.assertEqual([(fx.V1_FCS0, pair(0, 1))],
                         fx.port_map(inst, 'A'))

    def test_without_staging_records_unmapped_wwpns_kept(self):
        inst = self.copy_from_source()

        wwpns = self.fx.npiv(inst, staging=False).wwpns()

        self.assertEqual([npiv_base.W(0), npiv_base.W(2)], wwpns)
        self.assertStates(UNMAPPED, instance=inst)
        self.assertEqual((0, []), (self.fx.updates, self.fx.job.jobs))

    def test_same_host_resize_keeps_the_records(self):
        # A resize on this host reaches resize_finish with the instance
        # here and its LPAR mapped: nothing is stale.
        inst = self.copy_from_source(ports=(fx.V1_FCS0, fx.V2_FCS1),
                                     host=fx.THIS_HOST)

        self.connector(inst)

        self.assertStates(INST, instance=inst)
        self.assertEqual((0, 0), (self.fx.gets, self.fx.updates))

    def test_live_migration_source_keeps_the_records(self):
        # After a live migration's destination took over, the source may
        # still ask: the records are not its to forget.
        inst = self.copy_from_source(ports=(fx.V1_FCS0, fx.V2_FCS1))
        inst.task_state = None

        self.connector(inst)

        self.assertStates(INST, instance=inst)
