"""The benchmarks' checks can fail, and their failure is the exit code."""

import importlib.util
import io
import os
from unittest import mock

import fixtures

from tests.functional import test_cli

_RUN = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'benchmarks', 'run.py')


def _load_run():
    spec = importlib.util.spec_from_file_location('bench_run', _RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestBenchmarkChecks(test_cli.CLITestCase):
    """Drivers loaded by the benchmark set CONF overrides: CLITestCase
    resets them."""

    def setUp(self):
        super().setUp()
        self.run = _load_run()

    def test_the_checkout_is_measured(self):
        # benchmarks/run.py puts its own checkout first on sys.path.
        import nova_npiv
        root = os.path.dirname(os.path.dirname(_RUN))
        self.assertEqual(os.path.join(root, 'nova_npiv'),
                         os.path.dirname(nova_npiv.__file__))

    def test_clean_concurrency_passes(self):
        bench = self.run.Bench(0.0, out=io.StringIO())
        self.assertTrue(bench.concurrency(3))
        self.assertEqual([], bench.failures)
        self.assertIn('6 expected mappings: 0 missing, 0 duplicated, 0 '
                      'unexpected -> OK', bench.out.getvalue())

    def test_each_planted_breakage_fails_the_check(self):
        for name, plant in sorted(self.run.PLANTS.items()):
            bench = self.run.Bench(0.0, out=io.StringIO())
            self.assertFalse(bench.concurrency(2, tamper=plant), name)
            self.assertTrue(
                any(f.startswith('after spawn:') and f.endswith('FAIL')
                    for f in bench.failures), (name, bench.failures))

    def test_spawns_that_never_map_the_instance_fail(self):
        # The bug the old WWPN-pair count missed: the WWPNs stay mapped to
        # the staging partition, the instance gets no mapping.
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.volume.vfc_ops.map_to_instance', return_value=False))
        bench = self.run.Bench(0.0, out=io.StringIO())
        self.assertFalse(bench.concurrency(2))
        self.assertIn('after spawn: 4 expected mappings: 4 missing, 0 '
                      'duplicated, 4 unexpected -> FAIL', bench.failures)

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
        def broken(bench, count=16, tamper=None):
            bench.failures.append('after spawn: planted -> FAIL')
            return False

        with mock.patch.object(self.run, '_setup_logging'), \
                mock.patch.object(self.run.Bench, 'concurrency', broken), \
                mock.patch('sys.stdout', io.StringIO()) as out:
            code = self.run.main(['--only', 'concurrency'])
        self.assertEqual(1, code)
        self.assertIn('CHECK FAILED: after spawn: planted -> FAIL',
                      out.getvalue())
        with mock.patch.object(self.run, '_setup_logging'), \
                mock.patch.object(self.run.Bench, 'concurrency',
                                  lambda bench, count=16: True), \
                mock.patch('sys.stdout', io.StringIO()):
            self.assertEqual(0, self.run.main(['--only', 'concurrency']))

