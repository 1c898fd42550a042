"""What a connector call reports when the records are another system's.

nova-npiv never acts on a mapping it cannot prove the instance's; when
the recorded mappings turn out to be another system's (an evacuation, a
reschedule, a live migration whose last step failed here) the connector
starts over on this system's ports and says so: the operator's only sign
that the instance's vFC adapters moved.  These lines are that report, so
their level, their text and what they name (the instance, the fabric, the
ports left behind) are checked in full.
"""

import logging

import fixtures
from nova.compute import task_states

from nova_npiv import fabric_meta
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base
from tests.unit.volume import test_mut4_migration_npiv as migrated

UNMAPPED = npiv_base.UNMAPPED
MGMT = npiv_base.MGMT
INST = npiv_base.INST
pair = npiv_base.pair
FLOW_LOG = 'nova_npiv.volume.connector_flow'


def capture(test):
    """The lines of nova_npiv's loggers, as LEVEL LOGGER MESSAGE."""
    return test.useFixture(fixtures.FakeLogger(
        name='nova_npiv', level=logging.INFO,
        format='%(levelname)s %(name)s %(message)s'))


def lines(logs, logger=FLOW_LOG):
    prefix = ' %s ' % logger
    return [line for line in logs.output.splitlines() if prefix in line]


def moved_line(uuid, fabric):
    return ('INFO %s Instance %s: fabric %s was mapped on another system; '
            'mapping it again here' % (FLOW_LOG, uuid, fabric))


def rehome_line(uuid, fabric, ports):
    return ('INFO %s Instance %s: fabric %s ports %s are not on this '
            'system; choosing new ones for the same WWPNs'
            % (FLOW_LOG, uuid, fabric, ', '.join(ports)))


class TestEvacuatedInstanceReport(npiv_base.NPIVTestCase):
    """ForgetForeignMappings: mapped on the old system's ports."""

    def setUp(self):
        super().setUp()
        self.logs = capture(self)

    def test_each_fabric_moved_is_reported_with_its_instance(self):
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.OTHER_FCS2, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.OTHER_FCS4, pair(2, 3))])
        self.inst.save()
        self.inst.task_state = task_states.REBUILDING

        self.connector()

        self.assertStates(MGMT)
        uuid = self.inst.uuid
        self.assertEqual(
            [moved_line(uuid, 'A'), moved_line(uuid, 'B'),
             rehome_line(uuid, 'A', [fx.OTHER_FCS2]),
             rehome_line(uuid, 'B', [fx.OTHER_FCS4])],
            lines(self.logs))

    def test_only_the_fabric_on_foreign_ports_is_reported(self):
        fabric_meta.set_fabric(self.inst, 'A', INST,
                               [(fx.V1_FCS0, pair(0, 1))])
        fabric_meta.set_fabric(self.inst, 'B', INST,
                               [(fx.OTHER_FCS4, pair(2, 3))])
        self.inst.save()
        self.inst.task_state = task_states.REBUILDING

        self.connector()

        self.assertEqual({'A': INST, 'B': MGMT}, self.states())
        uuid = self.inst.uuid
        self.assertEqual([moved_line(uuid, 'B'),
                          rehome_line(uuid, 'B', [fx.OTHER_FCS4])],
                         lines(self.logs))


class TestRescheduledInstanceReport(npiv_base.NPIVTestCase):
    """rehome: unmapped, with the WWPNs on another system's ports."""

    ports_per_fabric = 2

    def setUp(self):
        super().setUp()
        self.logs = capture(self)

    def test_every_port_left_behind_is_named(self):
        left = [fx.OTHER_FCS2, fx.OTHER_FCS4]
        fabric_meta.set_fabric(self.inst, 'A', UNMAPPED,
                               [(left[0], pair(0, 1)),
                                (left[1], pair(2, 3))])
        self.inst.save()

        self.connector()

        self.assertStates(MGMT)
        # Same WWPNs, ports of this system (fabric A's).
        self.assertEqual([pair(0, 1), pair(2, 3)],
                         [p for _port, p in fx.port_map(self.inst, 'A')])
        self.assertEqual(set(fx.FABRIC_A),
                         {port for port, _p in fx.port_map(self.inst, 'A')})
        self.assertEqual(
            [rehome_line(self.inst.uuid, 'A', left)], lines(self.logs))

    def test_new_fabrics_placed_here_are_not_reported(self):
        self.connector()

        self.assertStates(MGMT)
        self.assertEqual([], lines(self.logs))


class TestMigrationFinishedHereReport(migrated.MigratedHereTestCase):
    """FinishMigrationHere: the Migrate job's last step failed here."""

    def setUp(self):
        super().setUp()
        self.logs = capture(self)

    def test_the_adoption_is_reported_as_a_warning(self):
        self.connector(self.inst)

        self.assertAdopted()
        self.assertEqual(
            ['WARNING %s Instance %s: recording the vFC mappings its live '
             'migration left on this system' % (FLOW_LOG, self.inst.uuid)],
            lines(self.logs))
