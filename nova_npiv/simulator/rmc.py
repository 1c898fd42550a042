"""RMC of the simulated partitions (issue 13, R8).

RMC (the console's Resource Monitoring and Control connection to a
partition's RSCT daemons) comes up some time after a client LPAR boots, and
never when its image has no RSCT; without it a running partition is not
DLPAR capable and cannot migrate.  A mixin of
:class:`~nova_npiv.simulator.model.Model`: it uses the model's lock,
partitions and ``rmc_seconds``/``rmc_down``.
"""

import threading

from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import RUNNING


class RmcControl(object):

    def _rmc_client(self, part):
        return part.kind == vocab.LPAR_KIND and not part.is_mgmt

    def rmc_capable(self, part):
        return not self._rmc_client(part) or (part.rsct and
                                               not self.rmc_down)

    def power_up(self, part):
        """A partition has booted: a client LPAR's RMC connects later.

        ``rmc_seconds`` later, and never without RSCT (``rmc_down``, or the
        LPAR's own ``rsct``).  Call with the lock held.
        """
        if not self._rmc_client(part):
            self.set_state(part, RUNNING)
            return
        part.boots += 1
        if not self.rmc_capable(part) or self.rmc_seconds > 0:
            self.set_state(part, RUNNING, vocab.RMC_INACTIVE)
        else:
            self.set_state(part, RUNNING, vocab.RMC_ACTIVE)
            return
        if self.rmc_capable(part):
            timer = threading.Timer(self.rmc_seconds, self._rmc_connects,
                                    (part, part.boots))
            timer.daemon = True
            timer.start()

    def _rmc_connects(self, part, boot):
        with self.lock:
            if (part.boots == boot and part.state == RUNNING
                    and self.rmc_capable(part)):
                part.rmc_state = vocab.RMC_ACTIVE
                self.touch(part)

    def set_rmc_down(self, down=True):
        """RMC lost (or back) on every running client LPAR."""
        with self.lock:
            self.rmc_down = bool(down)
            for part in list(self._parts.values()):
                if self._rmc_client(part) and part.state == RUNNING:
                    part.rmc_state = (vocab.RMC_INACTIVE if down or
                                      not part.rsct else vocab.RMC_ACTIVE)
                    self.touch(part)

    def set_rsct(self, system, lpar, installed):
        """Whether the LPAR's image has RSCT (False: RMC never active)."""
        with self.lock:
            _sysm, lp = self._lpar_state(system, lpar)
            lp.rsct = bool(installed)
            if not installed and lp.state == RUNNING:
                lp.rmc_state = vocab.RMC_INACTIVE
                self.touch(lp)
