"""nova.conf files pointing the nova-npiv CLI at a simulator."""

import os
import tempfile

from nova_npiv.simulator import cli


def write(test, sim, system, whole_console=False):
    """A temporary nova.conf with the ``[powervm]`` options for ``system``.

    ``whole_console`` leaves ``managed_system`` out, so the CLI looks at
    every system of the console.  Removed when ``test`` ends.
    """
    lines = cli.format_conf(sim, system).splitlines()
    if whole_console:
        lines = [ln for ln in lines if not ln.startswith('managed_system')]
    fd, path = tempfile.mkstemp(suffix='.conf')
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    test.addCleanup(os.unlink, path)
    return path
