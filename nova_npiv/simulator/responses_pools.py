"""The handlers of ``ManagedSystem/<uuid>/SharedProcessorPool``.

Read-only here: pools are configured by the operator, not by a compute
driver (pypowervm's ``SharedProcPool.search`` reads the feed and filters
it by name, client side).  :class:`PoolHandlers` is mixed into
:class:`~nova_npiv.simulator.responses.Responses`.
"""

from nova_npiv.simulator import pools
from nova_npiv.simulator import render_pools
from nova_npiv.simulator import replies
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import SimulatorError


class PoolHandlers(object):
    """The SharedProcessorPool handlers of a console's ``Responses``."""

    def pool_feed(self, req, uuid):
        with self.model.lock:
            sysm = self.find(vocab.SYSTEM_KIND, None, uuid)
            return replies.atom_reply(render_pools.feed(sysm, req.base))

    def pool_get(self, req, uuid, pool):
        with self.model.lock:
            sysm = self.find(vocab.SYSTEM_KIND, None, uuid)
            return replies.atom_reply(render_pools.entry(
                sysm, pools.find(sysm, pool), req.base))

    def pool_not_allowed(self, req, uuid):
        raise SimulatorError(405, '%s not supported on %s: shared processor '
                             'pools are configured by the operator'
                             % (req.method, req.path))
