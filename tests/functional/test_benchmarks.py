"""The benchmarks' checks can fail, and their failure is the exit code."""

import configparser
import importlib
import io
import os
import subprocess
import sys
from unittest import mock

import fixtures

from tests.functional import test_cli

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class TestBenchmarkChecks(test_cli.CLITestCase):
    """Drivers loaded by the benchmark set CONF overrides: CLITestCase
    resets them."""

    def setUp(self):
        super().setUp()
        self.run = importlib.import_module('benchmarks.run')

    def test_the_checkout_is_measured(self):
        # Run as a module from the checkout's root, as tox runs them, the
        # benchmarks import the checkout's nova_npiv, whatever copy is
        # installed (the test venv has one): nothing edits sys.path.
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        for module in ('benchmarks.run', 'benchmarks.fault_matrix'):
            out = subprocess.run(
                [sys.executable, '-c',
                 'import %s, nova_npiv; print(nova_npiv.__file__)' % module],
                cwd=_ROOT, env=env, capture_output=True, text=True,
                check=True, timeout=120).stdout
            self.assertEqual(os.path.join(_ROOT, 'nova_npiv', '__init__.py'),
                             out.strip().splitlines()[-1], module)
        tox = configparser.ConfigParser(interpolation=None)
        tox.read(os.path.join(_ROOT, 'tox.ini'))
        for env_name, module in (('bench', 'benchmarks.run'),
                                 ('faults', 'benchmarks.fault_matrix')):
            section = tox['testenv:%s' % env_name]
            self.assertEqual('{toxinidir}', section['changedir'])
            self.assertEqual('python -m %s {posargs}' % module,
                             section['commands'].strip())

    def test_clean_concurrency_passes(self):
        bench = self.run.Bench(0.0, out=io.StringIO())
        rows = bench.concurrency(3)
        self.assertEqual([0, 0], [r[2] for r in rows])   # none failed
        self.assertEqual([], bench.failures)
        self.assertIn('6 expected mappings: 0 missing, 0 duplicated, 0 '
                      'unexpected -> OK', bench.out.getvalue())

    def test_the_driver_in_a_process_of_its_own(self):
        # The concurrency table's default: the simulator's CPU time is not
        # the driver's.  Its instances come back with their metadata, which
        # the check reads: a planted breakage is still caught.
        bench = self.run.Bench(0.0, out=io.StringIO(), driver_process=True)
        rows = bench.concurrency(2)
        self.assertEqual([0, 0], [r[2] for r in rows])
        self.assertEqual([], bench.failures)
        self.assertIn('driver in a process of its own', bench.out.getvalue())
        self.assertIn('4 expected mappings: 0 missing, 0 duplicated, 0 '
                      'unexpected -> OK', bench.out.getvalue())
        self.assertTrue(all(r[6] >= 1 for r in rows))      # batches
        bench = self.run.Bench(0.0, out=io.StringIO(), driver_process=True)
        bench.concurrency(2, tamper=self.run.PLANTS[
            'instance mapping on the staging partition'])
        self.assertTrue(any('after spawn:' in f and f.endswith('FAIL')
                            for f in bench.failures), bench.failures)

    def test_each_planted_breakage_fails_the_check(self):
        for name, plant in sorted(self.run.PLANTS.items()):
            bench = self.run.Bench(0.0, out=io.StringIO())
            bench.concurrency(2, tamper=plant)
            self.assertTrue(
                any('after spawn:' in f and f.endswith('FAIL')
                    for f in bench.failures), (name, bench.failures))

    def test_spawns_that_never_map_the_instance_fail(self):
        # The bug the old WWPN-pair count missed: the WWPNs stay mapped to
        # the staging partition, the instance gets no mapping.
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.volume.vfc_ops.map_to_instance', return_value=False))
        bench = self.run.Bench(0.0, out=io.StringIO())
        bench.concurrency(2)
        self.assertIn('2 instances at 0 ms: after spawn: 4 expected '
                      'mappings: 4 missing, 0 duplicated, 4 unexpected -> '
                      'FAIL', bench.failures)

    def test_self_check_passes_and_fails_when_the_check_is_blind(self):
        self.assertEqual(0, self.run.self_check(out=io.StringIO()))
        # A check that sees nothing wrong whatever is there: the self-check
        # must say so.
        out = io.StringIO()
        with mock.patch.object(self.run.Bench, '_check_exactly_once',
                               lambda bench, sim, drv, insts: 'blind -> OK'):
            self.assertEqual(1, self.run.self_check(out=out))
        self.assertIn('not caught: instance mapping missing', out.getvalue())

    def test_failed_check_is_the_exit_code(self):
        def broken(bench, counts, latencies):
            bench.failures.append('after spawn: planted -> FAIL')
            return []

        with mock.patch.object(self.run, '_setup_logging'), \
                mock.patch.object(self.run.Bench, 'concurrency_table',
                                  broken), \
                mock.patch('sys.stdout', io.StringIO()) as out:
            code = self.run.main(['--only', 'concurrency'])
        self.assertEqual(1, code)
        self.assertIn('CHECK FAILED: after spawn: planted -> FAIL',
                      out.getvalue())
        with mock.patch.object(self.run, '_setup_logging'), \
                mock.patch.object(self.run.Bench, 'concurrency_table',
                                  lambda bench, counts, latencies: []), \
                mock.patch('sys.stdout', io.StringIO()):
            self.assertEqual(0, self.run.main(['--only', 'concurrency']))


    def test_an_operation_over_its_bound_fails_the_run(self):
        # The declared bound, not what the code sends: a spawn that reads
        # the VIOS feed again is over it, whatever the code does today.
        bench = self.run.Bench(0.0, out=io.StringIO())
        op, meter = self.run.OVER_BOUND['spawn re-reading the feed']
        row = bench._row(op, '2 fabric(s) x 1 port(s)', 1, meter, vioses=2)
        self.assertEqual('OVER', row[10])
        self.assertEqual(1, len(bench.failures))
        self.assertIn('GET VirtualIOServer 1 > 0', bench.failures[0])

    def test_slopes_say_whether_growth_is_linear(self):
        linear = self.run.slopes([(0, 100.0), (1000, 300.0), (5000, 1100.0)])
        self.assertEqual('0->1000: 200 ms; 1000->5000: 200 ms; least squares '
                         '200 ms, at 0 mappings 100 ms (per 1000 mappings)',
                         linear)
        faster = self.run.slopes([(1000, 100.0), (2000, 200.0),
                                  (3000, 900.0)])
        self.assertIn('1000->2000: 100 ms; 2000->3000: 700 ms', faster)
    def test_polls_are_a_column_of_their_own_and_many_a_note(self):
        # An asynchronous job's polls are the console's time: not calls,
        # not over the bound; more than the job's time at the interval
        # allows is noted (a loaded machine), not failed.
        bench = self.run.Bench(0.0, out=io.StringIO(), job_seconds=0.05,
                               poll_interval=0.02)
        meter = self.run._FakeMeter(
            {'PUT LogicalPartition': 1, 'POST VirtualIOServer': 2,
             'PUT job:PowerOn': 1}, 3, 0, 1)
        meter.polls = [None] * 3
        row = bench._row('spawn', '2 fabric(s) x 1 port(s)', 1, meter,
                         vioses=2)
        self.assertEqual((4, 3, 'ok'), (row[3], row[7], row[10]))
        self.assertEqual(([], []), (bench.failures, bench.notes))
        meter.polls = [None] * 5
        row = bench._row('spawn', '2 fabric(s) x 1 port(s)', 1, meter,
                         vioses=2)
        self.assertEqual([], bench.failures)
        self.assertEqual(['spawn (2 fabric(s) x 1 port(s), 1 volume(s)): 5 '
                          'polls > 4 for 1 job(s)'], bench.notes)
        self.assertIn('jobs 0.05 s, polled every 0.02 s', bench.jobs_said())
