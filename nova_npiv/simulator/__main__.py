"""``python -m nova_npiv.simulator``: serve the simulator until Ctrl-C."""

import sys

from nova_npiv.simulator import cli

sys.exit(cli.main())
