"""Console jobs: bounded by ``[powervm] job_timeout``, failures named.

pypowervm bounds a job by ``pypowervm_job_request_timeout``, read when its
modules are imported (its functions take it as a default argument), so
nova.conf cannot change it; the plugin passes ``job_timeout`` to every job
it runs.  pypowervm cancels a job that outlives it.  What pypowervm raises
(``JobRequestFailed``, ``VMPowerOnFailure``, ...) is not a nova exception:
a job the console failed becomes :class:`~nova_npiv.exception.JobFailed`
with the console's message, one that ran too long
:class:`~nova_npiv.exception.JobTimedOut`, and a job whose request itself
failed (not answered, refused, an unreadable reply) raises that request's
error, which names it (``ConsoleTimeout``, ``HttpError``, ...).
"""

import contextlib

from oslo_config import cfg
from pypowervm import const as pvm_const
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import job as pvm_job
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

CONF = cfg.CONF

_TIMED_OUT = (pvm_exc.JobRequestTimedOut, pvm_exc.VMPowerOnTimeout,
              pvm_exc.VMPowerOffTimeout)
_FAILED = (pvm_exc.JobRequestFailed, pvm_exc.VMPowerOnFailure,
           pvm_exc.VMPowerOffFailure)
#: Errors of one request, not of a job the console ran.
_REQUEST_ERRORS = (pvm_exc.HttpError, pvm_exc.AtomError,
                   pvm_exc.ConnectionError, pvm_exc.TimeoutError,
                   pvm_exc.SSLError, exception.ConsoleReplyRefused)


def timeout(conf=CONF):
    return conf[npiv_conf.GROUP].job_timeout


def _failed_request(err):
    """The failed request under a job failure, if that is what it is."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, _REQUEST_ERRORS):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


@contextlib.contextmanager
def reported(operation, target, seconds):
    """Turn pypowervm's job errors raised inside into nova exceptions."""
    try:
        yield
    except exception.JobTimedOut as err:
        # The job waiter's (job_wait), raised from the job's PUT: named
        # here as the caller names its target.
        raise exception.JobTimedOut(
            operation=operation, seconds=seconds,
            target='%s (job %s)' % (target, err.kwargs.get('job', '?')),
            job=err.kwargs.get('job')) from err
    except _TIMED_OUT as err:
        raise exception.JobTimedOut(operation=operation, target=target,
                                    seconds=seconds) from err
    except _FAILED as err:
        request = _failed_request(err)
        if request is not None:
            raise request from err
        raise exception.JobFailed(operation=operation, target=target,
                                  reason=err) from err


def run(job_w, uuid, target, params=None, conf=CONF):
    """Run a job read from the console, within ``job_timeout``."""
    seconds = timeout(conf)
    with reported(job_w.op, target, seconds):
        job_w.run_job(uuid, job_parms=params, timeout=seconds)
    return job_w


def wwpn_pairs(adapter, host_uuid, count, conf=CONF):
    """``count`` new WWPNs pairs (a flat list) from the managed system.

    What ``vfc_mapper.build_wwpn_pair`` does, with the job bounded by
    ``job_timeout``.  The console hands out at most eight pairs per job.
    """
    resp = adapter.read(pvm_ms.System.schema_type, root_id=host_uuid,
                        suffix_type=pvm_const.SUFFIX_TYPE_DO,
                        suffix_parm='GetNextWWPNs')
    job_w = pvm_job.Job.wrap(resp)
    params = [job_w.create_job_parameter('numberPairsRequested',
                                         str(count))]
    run(job_w, host_uuid, 'managed system %s' % host_uuid, params, conf)
    return job_w.get_job_results_as_dict()['wwpnList'].split(',')
