"""The platform side of a live migration's failure (``volume.lpm_platform``).

What pypowervm is asked for (recover forced, both bounded by ``[powervm]
job_timeout``) and the nova error a failed or timed-out job becomes, which
names the job, the partition and the bound; and ``settle``'s decision for
each state a failed Migrate job can leave the partition in.  The
live-migration paths that use them run on the simulator in
tests/unit/test_driver and tests/functional.
"""

import logging
from unittest import mock

import fixtures
from nova import exception as nova_exc
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


SYSTEM = 'e7344c5b-79b5-3e73-8f64-94821424bc25'
INSTANCE = mock.Mock(uuid='9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d')


def part(state='running', migration='Not_Migrating', system=SYSTEM):
    """The partition as ``vm.locate`` reads it."""
    return mock.Mock(uuid=UUID, state=state, migration_state=migration,
                     assoc_sys_uuid=system.upper())


class TestSettle(JobsTestCase):
    """Where a failed Migrate job left the partition (``settle``)."""

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='nova_npiv', level=logging.INFO))
        self.conf.set_override('lpm_settle_timeout', 0, group='powervm')
        self.conf.set_override('lpm_settle_interval', 0.5, group='powervm')
        self.abort = self.useFixture(fixtures.MockPatchObject(
            lpm_platform, 'abort')).mock
        self.recover = self.useFixture(fixtures.MockPatchObject(
            lpm_platform, 'recover')).mock
        self.sleep = self.useFixture(fixtures.MockPatchObject(
            lpm_platform.time, 'sleep')).mock

    def settle(self, reads, error, timeout=0):
        self.conf.set_override('lpm_settle_timeout', timeout,
                               group='powervm')
        with mock.patch.object(lpm_platform.vm, 'locate',
                               side_effect=reads) as locate:
            result = lpm_platform.settle(mock.sentinel.adapter, INSTANCE,
                                         SYSTEM, error, conf=self.conf)
        self.assertEqual(len(reads), locate.call_count)
        return result

    def unsettled(self, reads, error, timeout=0):
        err = self.assertRaises(exception.LiveMigrationUnsettled,
                                self.settle, reads, error, timeout)
        return err.format_message()

    def test_on_this_system_not_migrating_it_stayed(self):
        self.assertEqual(lpm_platform.STAYED,
                         self.settle([part()], RuntimeError('lost')))
        self.abort.assert_not_called()
        self.recover.assert_not_called()

    def test_gone_or_elsewhere_it_moved(self):
        other = '0c7e2d9a-5c3b-4e8f-9a7d-2b6f1e4c8d30'
        self.assertEqual(lpm_platform.MOVED,
                         self.settle([None], RuntimeError('lost')))
        self.assertEqual(lpm_platform.MOVED,
                         self.settle([part(system=other)],
                                     RuntimeError('lost')))

    def test_still_migrating_by_its_lpar_state_is_not_settled(self):
        for state in ('migrating running', 'migrating not active'):
            self.assertIn(
                'reports its partition %s, MigrationState Not_Migrating'
                % state,
                self.unsettled([part(state=state)], RuntimeError('lost')))

    def test_a_failed_job_recovers_a_failed_migration_once(self):
        failed = part(migration='Migration_Failed')
        self.assertEqual(lpm_platform.STAYED, self.settle(
            [failed, part()], exception.JobFailed(
                operation='Migrate', target='x', reason='no')))
        self.recover.assert_called_once_with(failed, self.conf)
        self.abort.assert_not_called()
        self.assertIn("Live migration of %s: running the platform's "
                      "migration recover (partition running, "
                      "MigrationState Migration_Failed)" % INSTANCE.uuid,
                      self.logs.output)

    def test_an_ended_job_recovers_whatever_the_state_says(self):
        migrating = part(migration='Migration_Starting')
        self.assertEqual(lpm_platform.STAYED, self.settle(
            [migrating, part()], exception.JobFailed(
                operation='Migrate', target='x', reason='no')))
        self.recover.assert_called_once_with(migrating, self.conf)

    def test_a_lost_reply_only_watches(self):
        migrating = part(migration='Migration_Starting')
        self.assertEqual(lpm_platform.STAYED, self.settle(
            [migrating, part()], RuntimeError('lost'), timeout=60))
        self.recover.assert_not_called()
        self.abort.assert_not_called()
        self.sleep.assert_called_once_with(0.5)

    def test_a_timed_out_job_is_aborted_once_then_recovered(self):
        migrating = part(migration='Migration_Starting')
        failed = part(migration='Migration_Failed')
        timed_out = exception.JobTimedOut(operation='Migrate', target='x',
                                          seconds=1)
        self.assertEqual(lpm_platform.STAYED, self.settle(
            [migrating, migrating, failed, part()], timed_out, timeout=60))
        self.abort.assert_called_once_with(migrating, self.conf)
        self.recover.assert_called_once_with(failed, self.conf)
        self.assertIn("running the platform's migration abort (partition "
                      "running, MigrationState Migration_Starting)",
                      self.logs.output)

    def test_a_timed_out_job_already_failed_is_recovered_not_aborted(self):
        failed = part(migration='Migration_Failed')
        timed_out = exception.JobTimedOut(operation='Migrate', target='x',
                                          seconds=1)
        self.settle([failed, part()], timed_out)
        self.abort.assert_not_called()
        self.recover.assert_called_once_with(failed, self.conf)

    def test_a_failing_recover_is_logged_and_watched(self):
        failed = part(migration='Migration_Failed')
        self.recover.side_effect = RuntimeError('recover refused')
        message = self.unsettled([failed, failed], exception.JobFailed(
            operation='Migrate', target='x', reason='no'))
        self.recover.assert_called_once_with(failed, self.conf)
        self.assertIn('The migration recover of %s failed\nTraceback'
                      % INSTANCE.uuid, self.logs.output)
        self.assertEqual(
            'The live migration of instance %s failed and the platform '
            'still reports its partition running, MigrationState '
            'Migration_Failed after [powervm] lpm_settle_timeout (0 s): '
            'nothing is rolled back; check the partition on the management '
            "console (The management console's 'Migrate' job on x failed: "
            'no)' % INSTANCE.uuid, message)

    def test_an_unreadable_partition_is_read_again_until_the_deadline(self):
        message = self.unsettled([RuntimeError('GET failed')],
                                 RuntimeError('lost'))
        self.assertIn('Reading the partition of %s after its failed '
                      'migration failed (GET failed); trying again'
                      % INSTANCE.uuid, self.logs.output)
        self.assertIn('reports its partition unreadable after', message)

    def test_read_again_after_a_failed_read(self):
        self.assertEqual(lpm_platform.STAYED, self.settle(
            [RuntimeError('GET failed'), part()], RuntimeError('lost'),
            timeout=60))


class TestRunMigrate(JobsTestCase):

    def test_bounded_by_the_job_timeout(self):
        with mock.patch.object(pvm_mig, 'migrate_lpar') as migrate:
            lpm_platform.run_migrate(self.lpar_w, 'sys-b', [],
                                     conf=self.conf, tgt_mgmt_svr='hmc2')
        migrate.assert_called_once_with(
            self.lpar_w, 'sys-b', virtual_fc_mappings=None,
            validate_only=False, timeout=77, tgt_mgmt_svr='hmc2')

    def test_failures_name_the_job(self):
        err = pvm_exc.JobRequestTimedOut(operation_name='Migrate',
                                         seconds=77)
        for validate_only, op in ((False, 'Migrate'),
                                  (True, 'MigrateValidate')):
            with mock.patch.object(pvm_mig, 'migrate_lpar', side_effect=err):
                raised = self.assertRaises(
                    exception.JobTimedOut, lpm_platform.run_migrate,
                    self.lpar_w, 'sys-b', ['map'],
                    validate_only=validate_only, conf=self.conf)
            self.assertEqual(
                "The management console's '%s' job on partition %s did not "
                "end within [powervm] job_timeout (77 s) and was cancelled"
                % (op, UUID), raised.format_message())


class TestPrecheck(JobsTestCase):

    def setUp(self):
        super().setUp()
        self.lpar_w.name = 'instance-1'
        self.lpar_w.migration_state = 'Not_Migrating'
        self.lpar_w.can_lpm.return_value = (True, None)

    def refusal(self, **kwargs):
        err = self.assertRaises(nova_exc.MigrationPreCheckError,
                                lpm_platform.precheck, INSTANCE, self.lpar_w,
                                'sys-b', ['map'], conf=self.conf, **kwargs)
        return err.format_message()

    def test_a_partition_that_cannot_migrate_is_refused(self):
        self.lpar_w.can_lpm.return_value = (False, 'RMC is inactive')
        with mock.patch.object(pvm_mig, 'migrate_lpar') as migrate:
            self.assertEqual(
                'Migration pre-check error: partition instance-1 of instance '
                '%s cannot migrate: RMC is inactive' % INSTANCE.uuid,
                self.refusal())
        migrate.assert_not_called()

    def test_a_partition_migrating_already_is_refused(self):
        self.lpar_w.migration_state = 'Migration_Failed'
        self.assertEqual(
            'Migration pre-check error: partition instance-1 of instance %s '
            'has MigrationState Migration_Failed' % INSTANCE.uuid,
            self.refusal())

    def test_the_platform_validates_by_default(self):
        with mock.patch.object(pvm_mig, 'migrate_lpar') as migrate:
            lpm_platform.precheck(INSTANCE, self.lpar_w, 'sys-b', ['map'],
                                  conf=self.conf)
        migrate.assert_called_once_with(
            self.lpar_w, 'sys-b', virtual_fc_mappings=['map'],
            validate_only=True, timeout=77)

    def test_without_validation_only_the_partition_is_checked(self):
        with mock.patch.object(pvm_mig, 'migrate_lpar') as migrate:
            lpm_platform.precheck(INSTANCE, self.lpar_w, 'sys-b', ['map'],
                                  validate=False, conf=self.conf)
        migrate.assert_not_called()

    def test_the_consoles_refusal_is_named(self):
        err = pvm_exc.JobRequestFailed(operation_name='MigrateValidate',
                                       error='no port')
        with mock.patch.object(pvm_mig, 'migrate_lpar', side_effect=err):
            self.assertEqual(
                "Migration pre-check error: the management console refused "
                "to migrate instance %s to sys-b: The management console's "
                "'MigrateValidate' job on partition %s failed: The "
                "'MigrateValidate' operation failed. no port"
                % (INSTANCE.uuid, UUID), self.refusal())
