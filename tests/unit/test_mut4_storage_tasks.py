"""Which console replies an undo waits out, and which it gives up on.

A VIOS in error makes the console answer the VIOS feed with a server
error (issue 13, R11); every undo starts with that read, so such a reply
is waited for like an unreachable console, within ``[powervm]
undo_retry_seconds``.  Any other reply error is tried once more only.
"""

from unittest import mock

import fixtures
from pypowervm import adapter as pvm_adapter
from pypowervm import exceptions as pvm_exc
import testtools

from nova_npiv.tasks import storage as tf_stg

FEED = '/rest/api/uom/ManagedSystem/e7344c5b/VirtualIOServer'


def http_error(status, method='GET', path=FEED + '?group=ViosStorage'):
    return pvm_exc.HttpError(pvm_adapter.Response(
        method, path, status, 'Internal Server Error', {}))


class TestUndoWaitsForTheViosFeed(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sleep = self.useFixture(fixtures.MockPatch('time.sleep')).mock
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=15))

    def tries(self, err):
        func = mock.Mock(side_effect=[err] * 4 + ['done'])
        try:
            self.assertEqual('done', tf_stg.retried('Undo', func))
        except pvm_exc.HttpError:
            pass
        return func.call_count

    def test_a_server_error_on_the_feed_is_waited_for(self):
        for err in (http_error(500), http_error(503, path=FEED)):
            self.assertEqual(5, self.tries(err))
        self.assertEqual(0.25, self.sleep.call_args_list[0][0][0])

    def test_other_replies_are_tried_once_more(self):
        for err in (http_error(404), http_error(412),
                    http_error(500, method='POST', path=FEED + '/uuid'),
                    http_error(500, path=FEED + '/7DBBE705'),
                    http_error(500, path='/rest/api/uom/LogicalPartition'),
                    http_error(None)):
            self.assertEqual(tf_stg.UNDO_ATTEMPTS, self.tries(err), err)
        self.sleep.assert_not_called()


class TestBudgetEdge(testtools.TestCase):

    def test_nothing_left_of_the_budget_is_no_time_for_another_try(self):
        self.useFixture(fixtures.MockPatch('time.sleep'))
        clock = iter([0.0, 1.0, 1.0, 1.0])
        self.useFixture(fixtures.MockPatch(
            'time.monotonic', side_effect=lambda: next(clock)))
        self.useFixture(fixtures.MockPatchObject(tf_stg, '_undo_budget',
                                                 return_value=1))
        gone = pvm_exc.ConnectionError('refused')
        func = mock.Mock(side_effect=[gone, gone, 'done'])
        self.assertRaises(pvm_exc.ConnectionError, tf_stg.retried, 'Undo',
                          func)
        self.assertEqual(tf_stg.UNDO_ATTEMPTS, func.call_count)
