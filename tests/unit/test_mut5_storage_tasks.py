"""A spawn's volume connect needs the LPAR the flow created.

``ConnectVolume(lpar_from_flow=True)`` is how a spawn (and a cold
migration's or cross-cell move's destination) says its mappings must
point at the partition an earlier task made: that LPAR's UUID may be one
the platform chose or a fresh one, never the derived one.  taskflow binds
an optional ``lpar_wrap`` whenever one is there, so only the requirement
makes a flow without that provider fail before anything runs, instead of
mapping the volume to whatever partition the adapter was built with.
"""

from unittest import mock

from taskflow import engines as tf_engines
from taskflow import exceptions as tf_exc
from taskflow.patterns import linear_flow as tf_lf
import testtools

from nova_npiv.tasks import storage as tf_stg


def _npiv():
    npiv = mock.Mock(volume_id='vol-1', lpar_uuid='DERIVED')
    npiv.instance.uuid = 'inst-1'
    return npiv


class TestConnectVolumeNeedsTheFlowsLpar(testtools.TestCase):

    def test_a_flow_without_the_lpar_is_refused_before_it_runs(self):
        npiv = _npiv()
        flow = tf_lf.Flow('spawn')
        flow.add(tf_stg.ConnectVolume(npiv, lpar_from_flow=True))

        err = self.assertRaises(tf_exc.MissingDependencies, tf_engines.run,
                                flow)

        self.assertIn('lpar_wrap', str(err))
        npiv.connect_volume.assert_not_called()
        self.assertEqual('DERIVED', npiv.lpar_uuid)

    def test_an_attach_runs_without_one(self):
        # An attach to an existing instance: its LPAR is the adapter's.
        npiv = _npiv()
        flow = tf_lf.Flow('attach')
        flow.add(tf_stg.ConnectVolume(npiv))

        tf_engines.run(flow)

        npiv.connect_volume.assert_called_once_with()
        self.assertEqual('DERIVED', npiv.lpar_uuid)
