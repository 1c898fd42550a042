"""What one operation sent, read from the simulator's request log."""

import collections
import os
import resource
import time

from benchmarks import bounds
from nova_npiv import job_requests


def kind(record):
    return record.kind


class Meter(object):
    """REST calls of one operation, read from the simulator's request log.

    The meter waits, before and after, for the sessions' deferred job
    clean-up (``nova_npiv.job_requests``) so that those DELETEs are counted
    with the operation that caused them, apart from its on-path requests;
    the time is taken before that wait.
    """

    def __init__(self, sim, adapter=None):
        self.sim = sim

    def __enter__(self):
        # What earlier operations deferred is theirs, not this one's.
        job_requests.drain_all()
        self.start = len(self.sim.request_log)
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.ms = (time.monotonic() - self.t0) * 1000
        job_requests.drain_all()
        self.all = list(self.sim.request_log)[self.start:]
        self.log = [r for r in self.all
                    if name(r) not in (bounds.DEFERRED, bounds.POLLS)]
        self.deferred = [r for r in self.all if name(r) == bounds.DEFERRED]
        self.polls = [r for r in self.all if name(r) == bounds.POLLS]
        return False

    @property
    def by_kind(self):
        return dict(collections.Counter(name(r) for r in self.log))

    @property
    def total(self):
        return len(self.log)

    @property
    def sequential(self):
        """Round trips one after the other: parallel requests count once.

        A request is in the current wave if it overlaps it, or if it
        started less than one injected latency after the wave's first
        request: one sent after an answer cannot start that early (on a
        loaded machine, the threads of parallel POSTs may start apart).
        """
        waves, first, end = 0, None, None
        latency = self.sim.latency or 0.0
        for rec in sorted(self.log, key=lambda r: r.started):
            if end is None or (rec.started >= end and
                               rec.started >= first + latency):
                waves += 1
                first, end = rec.started, rec.started + rec.duration
            else:
                end = max(end, rec.started + rec.duration)
        return waves

    @property
    def job_runs(self):
        return len([r for r in self.all if name(r).startswith('PUT job:')])

    @property
    def bytes(self):
        return sum((r.bytes_in or 0) + (r.bytes_out or 0) for r in self.all)


def load():
    """The 1-minute load average: the wall times of a shared machine."""
    try:
        return '%.1f' % os.getloadavg()[0]
    except OSError:
        return '-'


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def name(record):
    return '%s %s' % (record.method, kind(record))
