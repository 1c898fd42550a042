"""In-process re-check of mutmut mutants against some test modules.

mutmut's trampolines pick the mutant from
MUTANT_UNDER_TEST at every call, so one process can run the given test
modules once per mutant: killed when any test fails or errors, or when the
run exceeds the time limit (SIGALRM).  Used to check that new tests kill the
survivors of a mutmut run, and to score a module when the shared machine has
no time for mutmut's per-mutant fork and stats pass.

usage (with the python that runs mutmut, after mutmut made the mutants in
MUTMUT_DIR/mutants; the product code is imported from there, the tests
from MUTMUT_DIR)::

    python tools/mutmut_recheck.py [--covered [--stats=FILE]] \
        MUTMUT_DIR NAMES_FILE TEST_MODULE...

NAMES_FILE has one mutant name a line (``mutmut results``, or the
``def x..__mutmut_N`` names of a file under mutants/); prints "killed NAME",
"survived NAME" or "no-tests NAME" for each, then the count.

Without ``--covered`` every mutant runs all the named test modules.  With it,
as mutmut does, a first pass runs the modules once with MUTANT_UNDER_TEST
"stats" and records which test executed which mutated function (through
mutmut's own ``record_trampoline_hit``); each mutant then runs only the tests
that executed its function ("no-tests" when none did: not reached, counted as
a survivor).
"""
import collections
import io
import json
import os
import signal
import sys
import time
import unittest

covered = '--covered' in sys.argv
args = [a for a in sys.argv[1:] if a != '--covered']
# --stats=FILE: keep the stats pass's findings there, reuse them when the
# file exists (only while the tests and the code are unchanged).
stats_file = [a.split('=', 1)[1] for a in args if a.startswith('--stats=')]
args = [a for a in args if not a.startswith('--stats=')]
root = os.path.abspath(args[0])
names = [n.strip() for n in open(args[1]) if n.strip()]
modules = args[2:]
os.chdir(root)
sys.path[:0] = [os.path.join(root, 'mutants'), root]
os.environ['MUTANT_UNDER_TEST'] = ''

from mutmut.mutation import trampoline  # noqa: E402

import nova_npiv  # noqa: E402

assert nova_npiv.__file__.startswith(os.path.join(root, 'mutants')), \
    nova_npiv.__file__


def set_mutant(name):
    # Both: tests that clear os.environ fall back to the process-local one.
    os.environ['MUTANT_UNDER_TEST'] = name
    trampoline.set_mutant_under_test(name)


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


signal.signal(signal.SIGALRM, _alarm)

# Every mutant runs the same test methods again on new TestCase instances;
# hypothesis takes that for one test run from two executors
# (HealthCheck.differing_executors) and fails every @given test after its
# first run in this process: a kill that the mutant did not earn.  mutmut
# forks a fresh process per mutant, where the check never fires.
import hypothesis.core  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402

_fail_health_check = hypothesis.core.fail_health_check


def _health_check(settings, message, health_check):
    if health_check is HealthCheck.differing_executors:
        return
    return _fail_health_check(settings, message, health_check)


hypothesis.core.fail_health_check = _health_check


class _Recorder(unittest.TextTestResult):
    """Notes the functions each test executes, and its duration."""

    hits = collections.defaultdict(set)
    # Calls made while the test modules are imported belong to no test.
    current = None
    took = {}
    failed = set()

    def startTest(self, test):
        _Recorder.current = test.id()
        self._t0 = time.time()
        super().startTest(test)

    def stopTest(self, test):
        _Recorder.took[test.id()] = time.time() - self._t0
        super().stopTest(test)

    def addError(self, test, err):
        _Recorder.failed.add(test.id())
        super().addError(test, err)

    def addFailure(self, test, err):
        _Recorder.failed.add(test.id())
        super().addFailure(test, err)


def _record_hit(name, caller=None):
    if _Recorder.current:
        _Recorder.hits[name].add(_Recorder.current)


def run_suite(suite, limit, result_class=None):
    runner = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0,
                                     failfast=result_class is None,
                                     resultclass=result_class)
    signal.alarm(limit)
    try:
        r = runner.run(suite)
    except Timeout:
        return None
    finally:
        signal.alarm(0)
    return r


def load(ids):
    # Quickest first (as mutmut does): most mutants fail the first test.
    return unittest.defaultTestLoader.loadTestsFromNames(
        sorted(ids, key=lambda t: (_Recorder.took.get(t, 0), t)))


start = time.time()
if covered and stats_file and os.path.exists(stats_file[0]):
    with open(stats_file[0]) as f:
        saved = json.load(f)
    _Recorder.hits.update((k, set(v)) for k, v in saved['hits'].items())
    _Recorder.took.update(saved['took'])
    _Recorder.failed.update(saved['failed'])
elif covered:
    trampoline.record_trampoline_hit = _record_hit
    set_mutant('stats')
    r = run_suite(load(modules), 3600, _Recorder)
    set_mutant('')
    if r is None or not r.testsRun:
        sys.exit('stats run did not finish')
    print('# stats run %.0f s, %d tests, %d failing (left out)' % (
        time.time() - start, r.testsRun, len(_Recorder.failed)), flush=True)
    if stats_file:
        with open(stats_file[0], 'w') as f:
            json.dump({'hits': {k: sorted(v)
                                for k, v in _Recorder.hits.items()},
                       'took': _Recorder.took,
                       'failed': sorted(_Recorder.failed)}, f)
else:
    r = run_suite(load(modules), 900)
    if r is None or not r.wasSuccessful() or not r.testsRun:
        sys.exit('clean run fails')
    # A mutant may take three times the clean run before it counts as a hang.
    LIMIT = max(60, int(3 * (time.time() - start)))
    print('# clean run %.0f s, limit %d s' % (time.time() - start, LIMIT),
          flush=True)
counts = collections.Counter()
for name in names:
    if covered:
        func = name.rsplit('__mutmut_', 1)[0]
        tests = _Recorder.hits.get(func, set()) - _Recorder.failed
        if not tests:
            counts['no-tests'] += 1
            print('no-tests %s' % name, flush=True)
            continue
        suite = load(tests)
        limit = max(30, int(5 * sum(_Recorder.took.get(t, 1) for t in tests)))
    else:
        suite, limit = load(modules), LIMIT
    set_mutant(name)
    r = run_suite(suite, limit)
    set_mutant('')
    verdict = ('survived' if r is not None and r.wasSuccessful() and
               r.testsRun > 0 else 'killed')
    counts[verdict] += 1
    print('%s %s' % (verdict, name), flush=True)
print('# %d of %d killed (%d not reached by any test)' % (
    counts['killed'], len(names), counts['no-tests']))
