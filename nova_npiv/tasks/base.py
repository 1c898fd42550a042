"""The one runner of every flow the driver starts.

A spawn that takes a minute, or a delete that fails half-way, is diagnosed
from the compute log: which step took the time, which step failed and which
steps were undone.  taskflow's engine knows all of that; a listener on it
writes one line per task and one per flow, with the duration and the
outcome, tagged with the instance so that ``grep <uuid>`` finds them.
"""

from oslo_log import log as logging
from taskflow.engines.action_engine import compiler as tf_compiler
from taskflow import engines as tf_engines
from taskflow.listeners import timing as tf_timing
from taskflow.persistence import base as tf_persistence
from taskflow.persistence import models as tf_models
from taskflow import states as tf_states
from taskflow.types import failure as tf_failure

LOG = logging.getLogger(__name__)

#: Outcomes that are news for the operator: the operation did not go as
#: asked, and something was (or could not be) undone.
_BAD = frozenset((tf_states.FAILURE, tf_states.REVERTED,
                  tf_states.REVERT_FAILURE))

_WORDS = {
    tf_states.SUCCESS: 'done',
    tf_states.FAILURE: 'failed',
    tf_states.REVERTED: 'undone',
    tf_states.REVERT_FAILURE: 'could not be undone',
}


class TaskLog(tf_timing.DurationListener):
    """Log the duration and outcome of each task and of the whole flow.

    taskflow's DurationListener does the timing (and keeps the figure in
    the engine's storage, as ``duration``); this adds the log line.  A
    task's failure is logged with its reason only: the exception itself
    reaches nova, which logs it with its traceback.
    """

    def __init__(self, engine, instance=None):
        super().__init__(engine)
        self._instance = instance
        self._reasons = {}

    def _task_receiver(self, state, details):
        result = details.get('result')
        if isinstance(result, tf_failure.Failure):
            self._reasons[details['task_name']] = result.exception_str
        super()._task_receiver(state, details)

    def _record_ending(self, timer, item_type, item_name, state):
        super()._record_ending(timer, item_type, item_name, state)
        kind = 'Flow' if item_type == tf_compiler.FLOW else 'Task'
        reason = self._reasons.pop(item_name, None) \
            if state == tf_states.FAILURE else None
        extra = {} if self._instance is None else {'instance': self._instance}
        LOG.log(logging.WARNING if state in _BAD else logging.INFO,
                '%(kind)s %(name)s %(outcome)s in %(secs).3f s%(why)s',
                {'kind': kind, 'name': item_name,
                 'outcome': _WORDS.get(state, state.lower()),
                 'secs': timer.elapsed(),
                 'why': ': %s' % reason if reason else ''},
                **extra)


class _Unkept(tf_persistence.Connection):
    """A connection that keeps nothing: see :class:`Unkept`."""

    def __init__(self, backend):
        self._backend = backend

    @property
    def backend(self):
        return self._backend

    def close(self):
        pass

    def upgrade(self):
        pass

    def validate(self):
        pass

    def clear_all(self):
        pass

    # What the engine's storage sends: each detail is handed back as it
    # came, which the storage merges into the details it holds itself.
    def update_atom_details(self, atom_detail):
        return atom_detail

    def update_flow_details(self, flow_detail):
        return flow_detail

    def save_logbook(self, book):
        return book

    # Nothing is kept, so nothing can be read back.
    def destroy_logbook(self, book_uuid):
        pass

    def _nothing(self, *args, **kwargs):
        raise NotImplementedError('Unkept persistence keeps nothing')

    get_logbook = get_flow_details = get_atom_details = _nothing

    def get_logbooks(self, lazy=False):
        return iter(())

    def get_flows_for_book(self, book_uuid):
        return iter(())

    def get_atoms_for_flow(self, fd_uuid):
        return iter(())


class Unkept(tf_persistence.Backend):
    """Persistence for flows that are never resumed: none.

    The engine's storage holds every detail it needs (states, results, the
    failures a revert is given) in memory; a backend is where it also
    writes them so that another engine could resume the flow.  Nothing
    here ever resumes one: a failed operation is reverted in place and
    nova retries it from the start.  taskflow's default, an in-memory
    backend, copies each detail into a locked tree on every state change,
    which was a third of what running a flow costs (per connector +
    spawn, several milliseconds of CPU for nothing anyone reads).
    """

    def __init__(self):
        super().__init__({})

    def get_connection(self):
        return _Unkept(self)

    def close(self):
        pass


_UNKEPT = Unkept()


def run(flow, instance=None):
    """Run ``flow`` to its end, logging each task's duration and outcome.

    :param flow: the taskflow flow of one operation.
    :param instance: the nova instance it is for, named in every line.
    :returns: the named results of the flow's tasks.
    :raises: whatever the failing task raised, after the reverts ran.
    """
    # A logbook of its own, kept nowhere: without one taskflow makes a
    # temporary one and warns, for every flow, in nova-compute's log.
    engine = tf_engines.load(flow, backend=_UNKEPT,
                             book=tf_models.LogBook(flow.name))
    with TaskLog(engine, instance=instance):
        engine.run()
    return engine.storage.fetch_all()
