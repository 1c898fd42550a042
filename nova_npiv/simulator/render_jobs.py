"""XML out for the job API: the job template and the job's response.

Apart from the estate's entries (:mod:`render`) because jobs are the web
namespace's documents, shaped after ``job_response_*.txt`` captures.
"""

from nova_npiv.simulator.render import _el
from nova_npiv.simulator.render import _metadata
from nova_npiv.simulator.render import _root
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import WEB_NS

def job_request(operation, group):
    req = _root('JobRequest', WEB_NS)
    _metadata(req, ns=WEB_NS)
    op = _el(req, 'RequestedOperation', ns=WEB_NS, schemaVersion='V1_0')
    _metadata(op, ns=WEB_NS)
    _el(op, 'OperationName', operation, ns=WEB_NS)
    _el(op, 'GroupName', group, ns=WEB_NS)
    params = _el(req, 'JobParameters', ns=WEB_NS, schemaVersion='V1_0')
    _metadata(params, ns=WEB_NS)
    return req


def _job_params(parent, tag, pairs):
    container = _el(parent, tag, ns=WEB_NS, schemaVersion='V1_0')
    _metadata(container, ns=WEB_NS)
    for name, value in pairs:
        jp = _el(container, 'JobParameter', ns=WEB_NS, schemaVersion='V1_0')
        _metadata(jp, ns=WEB_NS)
        _el(jp, 'ParameterName', name, ns=WEB_NS)
        _el(jp, 'ParameterValue', value, ns=WEB_NS)
    return container


def job_response(job, base, status=None):
    resp = _root('JobResponse', WEB_NS)
    _metadata(resp, ns=WEB_NS)
    _el(resp, 'RequestURL', ns=WEB_NS, rel='via', href='%s/rest/api/uom/%s/'
        '%s/do/%s' % (base, job.group, job.target_uuid, job.operation),
        title='The URL to which the JobRequest was submitted.')
    _el(resp, 'TargetUuid', job.target_uuid, ns=WEB_NS)
    _el(resp, 'JobID', job.job_id, ns=WEB_NS)
    _el(resp, 'TimeStarted', 0, ns=WEB_NS)
    _el(resp, 'TimeCompleted', 0, ns=WEB_NS)
    _el(resp, 'Status', status or job.status, ns=WEB_NS)
    if job.message and (status or job.status) == vocab.JOB_FAILED:
        exc = _el(resp, 'ResponseException', ns=WEB_NS,
                  schemaVersion='V1_0')
        _metadata(exc, ns=WEB_NS)
        _el(exc, 'Message', job.message, ns=WEB_NS)
    inst = _el(resp, 'JobRequestInstance', ns=WEB_NS, schemaVersion='V1_0')
    _metadata(inst, ns=WEB_NS)
    op = _el(inst, 'RequestedOperation', ns=WEB_NS, schemaVersion='V1_0')
    _metadata(op, ns=WEB_NS)
    _el(op, 'OperationName', job.operation, ns=WEB_NS)
    _el(op, 'GroupName', job.group, ns=WEB_NS)
    _job_params(inst, 'JobParameters', job.params)
    progress = _el(resp, 'Progress', ns=WEB_NS, schemaVersion='V1_0')
    _metadata(progress, ns=WEB_NS)
    done = (status or job.status) not in (vocab.JOB_RUNNING,
                                          vocab.JOB_NOT_STARTED)
    # In the order the job put them: a failure's returnCode before result.
    _job_params(resp, 'Results', list(job.results.items()) if done else [])
    return resp
