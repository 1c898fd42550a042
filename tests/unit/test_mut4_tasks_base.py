"""What taskflow finds in the persistence that keeps nothing.

Anything that asks the backend for a stored logbook, flow or atom (a
conductor or a resumption, which nova-npiv never runs) must learn that
nothing is kept, not get an empty object it could mistake for a flow.
"""

import logging
import re

import fixtures
from taskflow.patterns import linear_flow as tf_lf
from taskflow import task as tf_task
import testtools

from nova_npiv.tasks import base as tf_base


class TestUnkept(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = tf_base.Unkept()
        self.conn = self.backend.get_connection()

    def test_the_connection_belongs_to_its_backend(self):
        self.assertIs(self.backend, self.conn.backend)

    def test_nothing_is_listed(self):
        self.assertEqual([], list(self.conn.get_logbooks()))
        self.assertEqual([], list(self.conn.get_logbooks(lazy=True)))
        self.assertEqual([], list(self.conn.get_flows_for_book('book')))
        self.assertEqual([], list(self.conn.get_atoms_for_flow('flow')))

    def test_nothing_can_be_read_back(self):
        for get in (self.conn.get_logbook, self.conn.get_flow_details,
                    self.conn.get_atom_details):
            err = self.assertRaises(NotImplementedError, get, 'some-uuid')
            self.assertEqual('Unkept persistence keeps nothing', str(err))

    def test_details_are_handed_back_as_they_came(self):
        detail = object()
        self.assertIs(detail, self.conn.update_atom_details(detail))
        self.assertIs(detail, self.conn.update_flow_details(detail))
        self.assertIs(detail, self.conn.save_logbook(detail))


class Boom(Exception):
    pass


class Step(tf_task.Task):
    def __init__(self, name, fail=False, undo_fails=False):
        super().__init__(name)
        self.fail = fail
        self.undo_fails = undo_fails

    def execute(self):
        if self.fail:
            raise Boom('the console said no')

    def revert(self, *args, **kwargs):
        if self.undo_fails:
            raise Boom('undo refused')


class TestReasons(testtools.TestCase):
    """The reason goes with the failure line, and only there."""

    def test_a_failed_undo_line_carries_no_reason(self):
        # The undo's exception reaches nova (which logs it), like the
        # failure's; the failure's reason is on its own line.
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv.tasks.base', level=logging.INFO))
        flow = tf_lf.Flow('destroy_x')
        flow.add(Step('unmap', undo_fails=True), Step('delete', fail=True))
        self.assertRaises(Boom, tf_base.run, flow)
        lines = logs.output.splitlines()
        self.assertEqual(1, len([
            line for line in lines
            if re.match(r'Task delete failed in \d+\.\d{3} s: the console '
                        r'said no$', line)]), lines)
        self.assertEqual(1, len([
            line for line in lines
            if re.match(r'Task unmap could not be undone in \d+\.\d{3} s$',
                        line)]), lines)
