"""In-process re-check of mutmut mutants against some test modules.

mutmut's trampolines pick the mutant from
MUTANT_UNDER_TEST at every call, so one process can run the given test
modules once per mutant: killed when any test fails or errors, or when the
run exceeds the time limit (SIGALRM).  Used to check that new tests kill the
survivors of a mutmut run, without mutmut's per-mutant fork and stats pass.

usage (with the python that runs mutmut, after a ``mutmut run`` made the
mutants in MUTMUT_DIR/mutants; test modules are imported from there)::

    python tools/mutmut_recheck.py MUTMUT_DIR NAMES_FILE TEST_MODULE...

NAMES_FILE has one mutant name a line (``mutmut results``); prints
"killed NAME" or "survived NAME" for each, then the count.
"""
import io
import os
import signal
import sys
import unittest

root = os.path.abspath(sys.argv[1])
names = [n.strip() for n in open(sys.argv[2]) if n.strip()]
modules = sys.argv[3:]
os.chdir(root)
sys.path.insert(0, os.path.join(root, 'mutants'))
os.environ['MUTANT_UNDER_TEST'] = ''

import nova_npiv  # noqa: E402

assert nova_npiv.__file__.startswith(os.path.join(root, 'mutants')), \
    nova_npiv.__file__


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


signal.signal(signal.SIGALRM, _alarm)


def run_once(limit=60):
    suite = unittest.defaultTestLoader.loadTestsFromNames(modules)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0,
                                     failfast=True).run
    signal.alarm(limit)
    try:
        r = result(suite)
    except Timeout:
        return False
    finally:
        signal.alarm(0)
    return r.wasSuccessful() and r.testsRun > 0


import time  # noqa: E402
start = time.time()
if not run_once(limit=900):
    sys.exit('clean run fails')
# A mutant may take three times the clean run before it counts as a hang.
LIMIT = max(60, int(3 * (time.time() - start)))
print('# clean run %.0f s, limit %d s' % (time.time() - start, LIMIT),
      flush=True)
killed = 0
for name in names:
    os.environ['MUTANT_UNDER_TEST'] = name
    ok = run_once(LIMIT)
    os.environ['MUTANT_UNDER_TEST'] = ''
    killed += not ok
    print('%s %s' % ('survived' if ok else 'killed', name), flush=True)
print('# %d of %d killed' % (killed, len(names)))
