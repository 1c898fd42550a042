"""The MigrateAbort and MigrateRecover jobs of ``volume.lpm_platform``.

What pypowervm is asked for (recover forced, both bounded by ``[powervm]
job_timeout``) and the nova error a failed or timed-out job becomes, which
names the job, the partition and the bound.  The live-migration paths that
use them run on the simulator in tests/unit/test_driver and
tests/functional.
"""

from unittest import mock

from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import migration as pvm_mig
import testtools

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv.volume import lpm_platform

UUID = '5A1C9E0B-3D2F-4E6A-8B7C-9D0E1F2A3B4C'


class JobsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        fx = self.useFixture(config_fixture.Config(self.conf))
        npiv_conf.register_opts(self.conf)
        fx.config(group='powervm', job_timeout=77)
        self.lpar_w = mock.Mock(uuid=UUID)


class TestAbort(JobsTestCase):

    def test_bounded_by_the_job_timeout(self):
        with mock.patch.object(pvm_mig, 'migrate_abort') as abort:
            lpm_platform.abort(self.lpar_w, conf=self.conf)
        abort.assert_called_once_with(self.lpar_w, timeout=77)

    def test_a_timed_out_job_is_named(self):
        err = pvm_exc.JobRequestTimedOut(operation_name='MigrateAbort',
                                         seconds=77)
        with mock.patch.object(pvm_mig, 'migrate_abort', side_effect=err):
            raised = self.assertRaises(exception.JobTimedOut,
                                       lpm_platform.abort, self.lpar_w,
                                       conf=self.conf)
        self.assertEqual("The management console's 'MigrateAbort' job on "
                         "partition %s did not end within [powervm] "
                         "job_timeout (77 s) and was cancelled" % UUID,
                         raised.format_message())

    def test_a_failed_job_is_named(self):
        err = pvm_exc.JobRequestFailed(operation_name='MigrateAbort',
                                       error='not migrating')
        with mock.patch.object(pvm_mig, 'migrate_abort', side_effect=err):
            raised = self.assertRaises(exception.JobFailed,
                                       lpm_platform.abort, self.lpar_w,
                                       conf=self.conf)
        self.assertEqual("The management console's 'MigrateAbort' job on "
                         "partition %s failed: The 'MigrateAbort' operation "
                         "failed. not migrating" % UUID,
                         raised.format_message())


class TestRecover(JobsTestCase):

    def test_forced_and_bounded_by_the_job_timeout(self):
        with mock.patch.object(pvm_mig, 'migrate_recover') as recover:
            lpm_platform.recover(self.lpar_w, conf=self.conf)
        recover.assert_called_once_with(self.lpar_w, force=True, timeout=77)

    def test_a_timed_out_job_is_named(self):
        err = pvm_exc.JobRequestTimedOut(operation_name='MigrateRecover',
                                         seconds=77)
        with mock.patch.object(pvm_mig, 'migrate_recover', side_effect=err):
            raised = self.assertRaises(exception.JobTimedOut,
                                       lpm_platform.recover, self.lpar_w,
                                       conf=self.conf)
        self.assertEqual("The management console's 'MigrateRecover' job on "
                         "partition %s did not end within [powervm] "
                         "job_timeout (77 s) and was cancelled" % UUID,
                         raised.format_message())
