"""Embedded PowerVM REST API simulator (HMC and NovaLink flavours).

A stateful HTTP server on 127.0.0.1 that pypowervm's real Session, Adapter
and FeedTask run against unmodified; see ``server.Simulator``.  The state
model (``model``) is kept apart from the HTTP and XML layers so that tests and
tools can plant and inspect state directly.
"""

from nova_npiv.simulator.state import Lpar  # noqa: F401
from nova_npiv.simulator.state import Mapping  # noqa: F401
from nova_npiv.simulator.model import Model  # noqa: F401
from nova_npiv.simulator.state import Port  # noqa: F401
from nova_npiv.simulator.vocab import SimulatorError  # noqa: F401
from nova_npiv.simulator.state import System  # noqa: F401
from nova_npiv.simulator.state import Vios  # noqa: F401
from nova_npiv.simulator.request_log import RequestRecord  # noqa: F401
from nova_npiv.simulator.cli import serve_forever  # noqa: F401
from nova_npiv.simulator.server import Simulator  # noqa: F401
from nova_npiv.simulator.estate import Estate  # noqa: F401
from nova_npiv.simulator.topology import co_managed_topology  # noqa: F401,E501
from nova_npiv.simulator.topology import hmc_topology  # noqa: F401
from nova_npiv.simulator.topology import novalink_pair  # noqa: F401
from nova_npiv.simulator.topology import default_topology  # noqa: F401
from nova_npiv.simulator.topology import load_topology  # noqa: F401
from nova_npiv.simulator.topology import normalize as normalize_topology  # noqa: F401,E501

__all__ = ['Simulator', 'Estate', 'default_topology', 'novalink_pair',
           'hmc_topology', 'co_managed_topology', 'load_topology',
           'normalize_topology', 'serve_forever', 'Model', 'System', 'Vios',
           'Lpar', 'Port', 'Mapping', 'SimulatorError', 'RequestRecord']
