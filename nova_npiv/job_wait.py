"""Waiting for a console job: polls every ``job_poll_interval``, within
``job_timeout``.

A console answers a job's PUT (``.../do/<Operation>``) ``NOT_STARTED`` or
``RUNNING`` and runs the job; the caller reads ``jobs/<id>`` until it ends.
pypowervm polls by itself (``Job.poll_while_status``), but sleeps a fixed
second before every poll: that second is the floor of every job, however
short, and no option changes it.  This adapter helper does the waiting
instead, at the configured interval, and hands pypowervm the reply of the
poll that saw the job end, as if the PUT had answered it: pypowervm finds
the job over, never sleeps, and goes on as it always does (it deletes the
job, and raises ``JobRequestFailed`` with the console's message when the
job ended ``COMPLETED_WITH_ERROR``).

A job not over ``job_timeout`` seconds after its submission is cancelled
as pypowervm cancels it (``PUT jobs/<id>/cancel``), and the PUT raises
:class:`~nova_npiv.exception.JobTimedOut` naming the job: pypowervm, which
raises nothing of ours, does not wait a second ``job_timeout``.  The
cancelled job is watched by a thread of its own and deleted once it has
ended (pypowervm's ``CancelJobThread`` does the same, without a bound):
a cancel does not stop a partition migration, which is aborted by its
caller (:mod:`nova_npiv.volume.lpm_platform`).

Every job PUT through the adapter waits for its job: nova-npiv never runs
one in the background (pypowervm's ``run_job(synchronous=False)`` would
wait too).
"""

import itertools
import re
import threading
import time
import weakref

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import job as pvm_job

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: ``<kind>/<uuid>/do/<Operation>`` at the end of a job's path.
_JOB_RUN = re.compile(r'/(\w+)/([^/]+)/do/(\w+)$')
#: A job that is not over yet.
WAITING = (pvm_job.JobStatus.NOT_ACTIVE, pvm_job.JobStatus.RUNNING)
_JOBS = 'jobs'


def _job(resp):
    """The Job of a raw reply (helpers see replies before pypowervm
    parses them), parsed apart so the reply itself stays as it came."""
    copy = pvm_adpt.Response(resp.reqmethod, resp.reqpath, resp.status,
                             resp.reason, resp.headers, body=resp.body)
    copy._unmarshal_atom()
    return pvm_job.Job.wrap(copy.entry)


class JobWaiter(object):
    """The job-waiting helper of one adapter (session).

    :param sleep, clock: for the tests of the waits.
    """

    def __init__(self, conf=CONF, sleep=time.sleep, clock=time.monotonic):
        self.conf = conf
        self._sleep = sleep
        self._clock = clock
        self._adapter = lambda: None
        self._polls = itertools.count()
        #: Polls sent, for the benchmark's request accounting.
        self.polls = 0

    def bind(self, adapter):
        """Poll and cancel through ``adapter`` (its helpers included)."""
        self._adapter = weakref.ref(adapter)

    def helper(self, func):
        def wrapper(method, path, **kwds):
            started = self._clock()
            resp = func(method, path, **kwds)
            match = (_JOB_RUN.search(path.split('?', 1)[0])
                     if method == 'PUT' else None)
            adapter = self._adapter()
            if match is None or adapter is None or \
                    getattr(resp, 'status', None) != 200 or not resp.body:
                return resp
            return self._wait(adapter, resp, match, started,
                              kwds.get('sensitive', False))
        return wrapper

    def _wait(self, adapter, resp, match, started, sensitive):
        job_w = _job(resp)
        opts = self.conf[npiv_conf.GROUP]
        deadline = started + opts.job_timeout
        while job_w.job_status in WAITING:
            left = deadline - self._clock()
            if left <= 0:
                self._time_out(adapter, job_w.job_id, match,
                               opts.job_timeout, sensitive)
            self._sleep(min(opts.job_poll_interval, left))
            resp = adapter.read_job(job_w.job_id, sensitive=sensitive)
            self.polls = next(self._polls) + 1
            job_w = pvm_job.Job.wrap(resp)
        return resp

    def _time_out(self, adapter, job_id, match, seconds, sensitive):
        kind, uuid, operation = match.groups()
        LOG.warning('Job %(id)s (%(op)s on %(kind)s %(uuid)s) did not end '
                    'within [powervm] job_timeout (%(s)s s): cancelling it',
                    {'id': job_id, 'op': operation, 'kind': kind,
                     'uuid': uuid, 's': seconds})
        try:
            adapter.update(None, None, root_type=_JOBS, root_id=job_id,
                           suffix_type='cancel')
        except Exception as err:
            # What pypowervm's cancel_job does with a failed cancel: the
            # operation fails as timed out either way.
            LOG.warning('Could not cancel job %s: %s', job_id, err)
        threading.Thread(target=self._reap, name='npiv-job-cancelled',
                         args=(weakref.ref(adapter), job_id, sensitive),
                         daemon=True).start()
        raise exception.JobTimedOut(operation=operation,
                                    target='%s %s (job %s)'
                                    % (kind, uuid, job_id),
                                    seconds=seconds, job=job_id)

    def _reap(self, adapter_ref, job_id, sensitive):
        """Delete a cancelled job once it has ended, within job_timeout."""
        opts = self.conf[npiv_conf.GROUP]
        deadline = self._clock() + opts.job_timeout
        try:
            while True:
                adapter = adapter_ref()
                if adapter is None:
                    return
                status = pvm_job.Job.wrap(adapter.read_job(
                    job_id, sensitive=sensitive)).job_status
                if status not in WAITING:
                    adapter.delete(_JOBS, job_id)
                    return
                if self._clock() >= deadline:
                    LOG.warning('Cancelled job %s still %s after another '
                                'job_timeout; its record is left to the '
                                'console', job_id, status)
                    return
                del adapter
                self._sleep(opts.job_poll_interval)
        except Exception as err:
            LOG.warning('Could not clean up cancelled job %s: %s', job_id,
                        err)
