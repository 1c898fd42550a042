"""Make mutmut's mutants without running them, and list their names.

``mutmut run`` makes the mutants, then runs the whole configured selection
once (stats) and every mutant: hours on the shared 2-core machine.  This
only makes them (mutmut's own generation, ``setup.cfg`` ``[mutmut]``), in
``mutants/`` of the current directory (a scratch copy of the checkout), so
that ``tools/mutmut_recheck.py --covered`` can run them.

usage, from the scratch copy, with the python that has mutmut::

    python tools/mutmut_names.py [--no-generate] nova_npiv/driver.py ... \
        > names.txt
"""
import os
import re
import sys

from mutmut import __main__ as mutmut_main
from mutmut.mutation.trampoline import set_mutant_under_test

_DEF = re.compile(r'^\s*def (x[_\u01c1]\S+?__mutmut_\d+)\(', re.M)

paths = [p for p in sys.argv[1:] if not p.startswith('--')]
if '--no-generate' not in sys.argv:
    set_mutant_under_test('mutant_generation')
    os.makedirs('mutants', exist_ok=True)
    mutmut_main.copy_src_dir()
    mutmut_main.copy_also_copy_files()
    mutmut_main.setup_source_paths()
    print(mutmut_main.create_mutants(1), file=sys.stderr)
for path in paths:
    with open(os.path.join('mutants', path), encoding='utf-8') as f:
        names = _DEF.findall(f.read())
    module = path[:-len('.py')].replace('/', '.')
    for name in names:
        print('%s.%s' % (module, name))
    print('%s: %d mutants' % (path, len(names)), file=sys.stderr)
