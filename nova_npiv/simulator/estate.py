"""Several management consoles in one process: two NovaLinks, two HMCs.

Each console is a :class:`~nova_npiv.simulator.server.Simulator` of its own
(its own model, loopback port, sessions, instruments and faults); they
share only a :class:`~nova_npiv.simulator.consoles.Registry`, through which
a console's Migrate job finds the remote console it names and hands the
partition over.  :class:`Estate` starts and stops them together and offers
the parts of a Simulator's interface that tests, demo and benchmarks use,
routed by managed system: ``powervm_conf``, ``adapter``, the instruments,
and ``model``, a read and planting view over every console's model.
"""

import collections

from nova_npiv.simulator import consoles
from nova_npiv.simulator import server
from nova_npiv.simulator import topology as topo


class Estate(object):
    """Consoles on loopback, one port each.

    :param topologies: a list of console topology specs (e.g.
                       :func:`~nova_npiv.simulator.topology.novalink_pair`),
                       or one spec (then the estate has one console).
    """

    def __init__(self, topologies=None):
        if topologies is None:
            topologies = topo.novalink_pair()
        if isinstance(topologies, dict):
            topologies = [topologies]
        self.registry = consoles.Registry()
        self.consoles = [server.Simulator(spec, registry=self.registry)
                         for spec in topologies]
        names = [s.name for c in self.consoles for s in c.model.systems()]
        dupes = sorted(n for n, k in collections.Counter(names).items()
                       if k > 1)
        if dupes:
            raise ValueError('topology: system names repeat across '
                             'consoles: %s' % ', '.join(dupes))
        self.model = EstateModel(self)

    # -- life cycle ----------------------------------------------------------
    def start(self):
        try:
            for sim in self.consoles:
                sim.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for sim in self.consoles:
            sim.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- routing -------------------------------------------------------------
    def console_for(self, system):
        """The Simulator of the console managing ``system`` (name/UUID)."""
        for sim in self.consoles:
            with sim.model.lock:
                if sim.model.find_system(system) is not None:
                    return sim
        raise KeyError('no managed system %r on any console' % (system,))

    def powervm_conf(self, system):
        return self.console_for(system).powervm_conf(system)

    def adapter(self, system=None, **kwargs):
        sim = self.consoles[0] if system is None else self.console_for(system)
        return sim.adapter(**kwargs)

    def track_session(self, session_or_adapter):
        """Track a session on the console it talks to (by port)."""
        sess = getattr(session_or_adapter, 'session', session_or_adapter)
        port = str(getattr(sess, 'port', ''))
        for sim in self.consoles:
            if str(sim.port) == port:
                return sim.track_session(session_or_adapter)
        return self.consoles[0].track_session(session_or_adapter)

    @property
    def console(self):
        return self.consoles[0].console

    # -- instruments, over every console -------------------------------------
    def _set_all(self, name, value):
        for sim in self.consoles:
            setattr(sim, name, value)

    job_seconds = property(lambda self: self.consoles[0].job_seconds,
                           lambda self, v: self._set_all('job_seconds', v))
    dlpar_seconds = property(
        lambda self: self.consoles[0].dlpar_seconds,
        lambda self, v: self._set_all('dlpar_seconds', v))
    job_polls = property(lambda self: self.consoles[0].job_polls,
                         lambda self, v: self._set_all('job_polls', v))
    latency = property(lambda self: self.consoles[0].latency,
                       lambda self, v: self._set_all('latency', v))

    @property
    def request_log(self):
        return [r for sim in self.consoles for r in sim.request_log]

    def counters(self):
        total = collections.Counter()
        for sim in self.consoles:
            total.update(sim.counters())
        return dict(total)

    def count(self, method=None, kind=None):
        return sum(sim.count(method, kind) for sim in self.consoles)

    def reset_counters(self):
        for sim in self.consoles:
            sim.reset_counters()

    def _sims(self, system):
        return self.consoles if system is None else [
            self.console_for(system)]

    def inject_fault(self, *args, system=None, **kwargs):
        """Arm a fault (Simulator.inject_fault's arguments) on the
        console of ``system`` (default: on each)."""
        return FaultGroup([sim.inject_fault(*args, **kwargs)
                           for sim in self._sims(system)])

    def fail_job(self, operation, *args, system=None, **kwargs):
        """Fail the nth ``operation`` job of the console of ``system``
        (default: of each console, counted per console)."""
        return FaultGroup([sim.fail_job(operation, *args, **kwargs)
                           for sim in self._sims(system)])

    def clear_faults(self):
        for sim in self.consoles:
            sim.clear_faults()

    def expire_sessions(self):
        for sim in self.consoles:
            sim.expire_sessions()


class FaultGroup(list):
    """The faults one call armed on several consoles."""

    @property
    def hits(self):
        return [hit for fault in self for hit in fault.hits]


class EstateModel(object):
    """Every console's model as one: queries concatenate, calls naming a
    system go to the console that manages it."""

    _SYSTEM_FIRST = frozenset((
        'add_lpar', 'set_lpar_state', 'set_vios_state', 'set_vios_error',
        'open_vterm', 'vterm_open', 'delete_lpar', 'add_mapping',
        'next_wwpns', 'system'))

    def __init__(self, estate):
        self._estate = estate

    def _models(self, system=None):
        return [sim.model for sim in self._estate._sims(system)]

    def systems(self):
        return [s for m in self._models() for s in m.systems()]

    def vioses(self, system=None):
        return [v for m in self._models(system) for v in m.vioses(system)]

    def lpars(self, system=None):
        return [lp for m in self._models(system) for lp in m.lpars(system)]

    def lpar(self, key, system=None):
        for m in self._models(system):
            found = m.lpar(key, system)
            if found is not None:
                return found
        return None

    def ports(self, system=None):
        return [p for m in self._models(system) for p in m.ports(system)]

    def mappings(self, system=None):
        return [x for m in self._models(system) for x in m.mappings(system)]

    def remove_mappings(self, system=None, **kwargs):
        return sum(m.remove_mappings(system, **kwargs)
                   for m in self._models(system))

    def jobs(self):
        return [j for m in self._models() for j in m.jobs()]

    def fabric_logins(self):
        return consoles.fabric_logins(self._models()[0])

    def __getattr__(self, name):
        if name not in self._SYSTEM_FIRST:
            raise AttributeError(
                '%s: the estate routes only calls that name a managed '
                'system; use estate.console_for(system).model' % name)

        def call(system, *args, **kwargs):
            return getattr(self._models(system)[0], name)(system, *args,
                                                          **kwargs)
        return call
