"""Connection to the management console and the managed system we drive.

pypowervm only verifies the console certificate while logging on and sends
every later request with verification off; :class:`VerifiedSession` applies
the operator's choice (system store, a CA path, or off) to every request.

It never follows redirects (they would carry the session token, or the
logon body with the password, wherever the Location points), and refuses
replies that no console sends and that would cost the
service dearly: a document type declaration (lxml, as pypowervm sets it up,
expands internal entities; libxml2 stops a "billion laughs" amplification,
but nothing legitimate needs a DTD), and a body over ``max_reply_mb``
(pypowervm would parse it whole and, if unparseable, log it whole at ERROR).

Every request is bounded by the timeout of its kind (:func:`request_kind`,
options in ``[powervm]``): pypowervm gives an update ``max(3600 s, session
timeout)``, and a VIOS update holds the managed system's serialisation
(:func:`nova_npiv.vios.serialized`) while it waits.  A caller's shorter
timeout is kept.  The adapter carries pypowervm's VIOS-busy retry helper
and its logging helper, as nova-powervm's did; the logon is retried while
the console is not there yet (a NovaLink REST server starting after a
reboot), a bounded number of times.
"""

import functools
import logging as logging_std
import time

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.helpers import log_helper as pvm_log
from pypowervm.helpers import vios_busy as pvm_busy
import requests
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv import conf as npiv_conf
from nova_npiv import exception
from nova_npiv import job_requests
from nova_npiv import job_wait
from nova_npiv import payloads

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


#: Markers of a document type declaration: a DTD is where entities live.
_DTD_MARKERS = ('<!DOCTYPE', '<!ENTITY')

#: Request kinds, and the ``[powervm]`` option that bounds each.
READ = 'read'
UPDATE = 'update'
JOB = 'job'
LOGON = 'logon'
TIMEOUT_OPTIONS = {READ: 'conn_timeout', UPDATE: 'update_timeout',
                   JOB: 'conn_timeout', LOGON: 'logon_timeout'}

#: Logon replies of a console that is not ready yet: the web server is up
#: but the REST application is not deployed (404, what pypowervm's own
#: logon retry looks for), or a proxy in front of it has nothing to reach.
_NOT_READY = (404, 502, 503)


def request_kind(method, path, login=False):
    """Which timeout bounds a request: READ, UPDATE, JOB or LOGON.

    A job's own requests (template, submission, polls, cancel, delete) are
    short on a console that runs jobs asynchronously; the job as a whole is
    bounded by ``job_timeout`` where it is run (:mod:`nova_npiv.jobs`).
    """
    path = path.split('?', 1)[0]
    if login or path.startswith('/rest/api/web/Logon'):
        return LOGON
    if '/do/' in path or '/rest/api/uom/jobs' in path:
        return JOB
    if method in ('GET', 'HEAD'):
        return READ
    return UPDATE


def timeouts(conf=CONF):
    """{request kind: (option name, seconds)} from ``[powervm]``."""
    opts = conf[npiv_conf.GROUP]
    return {kind: (option, opts[option])
            for kind, option in TIMEOUT_OPTIONS.items()}


class _NoRedirects(requests.Session):
    """A requests session that never follows a redirect.

    pypowervm sends the session token as a plain header (X-API-Session) and
    the password in the logon body; requests keeps both when it follows a
    redirect (a 307 or 308 re-sends the body), to whatever host and over
    whatever scheme the Location names.  The REST API does not redirect: a
    redirect is answered with an HttpError naming the request instead.

    Nor does it take anything from the environment (``trust_env``): no
    ``HTTPS_PROXY`` a compute host sets for its other traffic sends the
    session token through a proxy, no ``~/.netrc`` entry adds credentials,
    and TLS trust is ``[powervm] verify_tls``/``ca_path``, passed with
    every request.  requests looked all of it up again for every request:
    about a third of its own CPU time per request.
    """

    def __init__(self):
        super().__init__()
        self.trust_env = False

    def get_redirect_target(self, resp):
        return None

    def send(self, request, **kwargs):
        # No guessing of an XML reply's encoding (payloads).
        return payloads.declare_encoding(super().send(request, **kwargs))


class _RequestsWithoutRedirects(object):
    """The ``requests`` module as pypowervm.adapter sees it.

    pypowervm builds a ``requests.Session()`` inside every request, so the
    only way to choose its class is the module it looks the name up in.
    """

    Session = _NoRedirects

    def __getattr__(self, name):
        return getattr(requests, name)


def _refuse_redirects():
    if not isinstance(pvm_adpt.requests, _RequestsWithoutRedirects):
        pvm_adpt.requests = _RequestsWithoutRedirects()


class VerifiedSession(pvm_adpt.Session):

    def __init__(self, tls_verify, max_reply_bytes=None, timeouts=None,
                 **kwargs):
        self._tls_verify = tls_verify
        self._max_reply = max_reply_bytes
        # {kind: (option, seconds)}; a kind not given is bounded by the
        # session timeout (conn_timeout).
        self._timeouts = dict(timeouts or {})
        # Before the logon, whose body carries the password.
        _refuse_redirects()
        # certpath=None: pypowervm's own per-host certificate file lookup is
        # replaced by tls_verify.
        super().__init__(certpath=None, **kwargs)

    def request(self, method, path, *args, **kwargs):
        kwargs['verify'] = self._tls_verify
        option, bound = self._timeouts.get(
            request_kind(method, path, kwargs.get('login')),
            ('conn_timeout', self.timeout))
        asked = kwargs.get('timeout', -1)
        kwargs['timeout'] = bound if asked in (-1, None) else min(asked,
                                                                  bound)
        try:
            resp = super().request(method, path, *args, **kwargs)
        except (exception.ConsoleTimeout, exception.ConsoleUnreachable):
            raise   # A nested request (a re-logon) named it already.
        except pvm_exc.TimeoutError as err:
            raise exception.ConsoleTimeout(
                method=method, path=path.split('?', 1)[0], option=option,
                timeout=kwargs['timeout'], reason=err)
        except pvm_exc.ConnectionError as err:
            raise exception.ConsoleUnreachable(
                method=method, path=path.split('?', 1)[0], reason=err)
        self._check_reply(method, path, resp)
        return resp

    def __del__(self):
        """No logoff from the garbage collector.

        pypowervm logs off (a blocking DELETE) when a Session is collected,
        in whatever thread the collector happens to run: one that holds a
        lock the reply depends on waits forever (an in-process console
        such as the embedded simulator stops answering every later request;
        an eventlet hub blocks).  The owner logs off explicitly: the driver
        in ``cleanup_host`` and when ``init_host`` replaces its adapter,
        the command line when it is done; the console expires the rest.
        """

    def _check_reply(self, method, path, resp):
        body = getattr(resp, 'body', None)
        path = path.split('?', 1)[0]
        if not body:
            # pypowervm reports an empty GET, but takes an empty create or
            # update reply for a document and fails later on, without
            # saying which request it was (KeyError 'entry').
            if method in ('PUT', 'POST') and resp.status == 200:
                raise exception.ConsoleReplyRefused(
                    method=method, path=path, reason='the reply is empty')
            return
        if self._max_reply and len(body) > self._max_reply:
            raise exception.ConsoleReplyRefused(
                method=method, path=path,
                reason='%d bytes, more than [powervm] max_reply_mb (%d MiB)'
                % (len(body), self._max_reply >> 20))
        for marker in _DTD_MARKERS:
            if marker in body:
                raise exception.ConsoleReplyRefused(
                    method=method, path=path,
                    reason='it carries a document type declaration (%s); '
                           'entities are never expanded' % marker)


def tls_verify(conf=CONF):
    opts = conf[npiv_conf.GROUP]
    if opts.protocol == 'http' or not opts.verify_tls:
        return False
    return opts.ca_path or True


#: How much of one record of the logging helper's dump is logged.
DUMP_CHARS = payloads.DUMP_CHARS


class _ShortDump(logging_std.Filter):
    """Cuts the logging helper's records to :data:`DUMP_CHARS` characters.

    The helper logs the failed request and its reply whole, bodies
    included: a VIOS POST or a VIOS feed with its storage group is megabytes
    on a large system, and a hostile reply whatever size it likes.  The
    start says what the request was; the rest only floods the log.
    """

    def filter(self, record):
        text = record.getMessage()
        if len(text) > DUMP_CHARS:
            record.msg = '%s... (%d more characters not logged)' % (
                text[:DUMP_CHARS], len(text) - DUMP_CHARS)
            record.args = ()
        return True


def _short_dumps():
    logger = logging_std.getLogger(pvm_log.__name__)
    if not any(isinstance(f, _ShortDump) for f in logger.filters):
        logger.addFilter(_ShortDump())


def helpers(conf=CONF):
    """The adapter helpers, outermost first, as nova-powervm stacked them.

    The VIOS-busy helper resends a request a busy VIOS refused; the logging
    helper around it logs the failed request and its reply (the logon's
    masked, session tokens hidden) once a request has failed for good, and
    keeps only the start of their bodies afterwards (:mod:`.payloads`);
    innermost, a VIOS update lets go of the version it sends
    (:func:`.payloads.release_helper`).
    """
    opts = conf[npiv_conf.GROUP]
    _short_dumps()
    return [functools.partial(payloads.log_helper, max_logs=1),
            functools.partial(pvm_busy.vios_busy_retry_helper,
                              max_retries=opts.vios_busy_retries,
                              delay=opts.vios_busy_retry_delay),
            payloads.release_helper]


def log_on(conf=CONF, sleep=time.sleep):
    """A logged-on :class:`VerifiedSession`, waiting for a console to come up.

    A console that cannot be reached, does not answer in time or answers
    that it is not ready is tried again after ``logon_retry_interval``, up
    to ``logon_retries`` more times; then :class:`ConsoleNotReady`.  A
    refused logon (401) is never retried: a second try with the same
    password only brings the account closer to being locked.
    """
    opts = conf[npiv_conf.GROUP]
    if opts.protocol == 'https' and not opts.verify_tls:
        LOG.warning('TLS verification of the management console %s is off',
                    opts.host)
    started = time.monotonic()
    tries = opts.logon_retries + 1
    for attempt in range(1, tries + 1):
        try:
            return VerifiedSession(
                tls_verify(conf), host=opts.host, port=opts.port,
                protocol=opts.protocol, username=opts.username,
                password=opts.password or '', timeout=opts.conn_timeout,
                auditmemento='nova-npiv',
                max_reply_bytes=opts.max_reply_mb << 20,
                timeouts=timeouts(conf))
        except pvm_exc.HttpUnauth as err:
            raise exception.ConsoleLogonRefused(
                host=opts.host, user=opts.username, reason=err)
        except (exception.ConsoleTimeout, exception.ConsoleUnreachable,
                pvm_exc.HttpError) as err:
            status = getattr(getattr(err, 'response', None), 'status', None)
            if isinstance(err, pvm_exc.HttpError) and \
                    status not in _NOT_READY:
                raise
            if attempt == tries:
                raise exception.ConsoleNotReady(
                    host=opts.host, tries=tries,
                    seconds=time.monotonic() - started, reason=err)
            LOG.warning('Management console %(host)s not ready (logon try '
                        '%(try)d of %(tries)d): %(err)s; trying again in '
                        '%(wait)d s',
                        {'host': opts.host, 'try': attempt, 'tries': tries,
                         'err': err, 'wait': opts.logon_retry_interval})
            sleep(opts.logon_retry_interval)


def build_adapter(conf=CONF):
    """A logged-on pypowervm Adapter for the configured console.

    Outermost, the session's job bookkeeping (:mod:`.job_requests`): job
    templates read once, finished jobs deleted off the operations' path;
    then the wait for a job the console runs asynchronously
    (:mod:`.job_wait`: polls at ``job_poll_interval``, not pypowervm's
    fixed second), whose polls go through the whole stack.
    """
    jobs = job_requests.JobRequests()
    waiter = job_wait.JobWaiter(conf)
    adapter = pvm_adpt.Adapter(
        log_on(conf),
        helpers=jobs.helpers() + [waiter.helper] + helpers(conf))
    waiter.bind(adapter)
    adapter.npiv_job_requests = jobs
    adapter.npiv_job_waiter = waiter
    return adapter


def find_managed_system(adapter, conf=CONF):
    """The System wrapper of the managed system this service drives."""
    wanted = conf[npiv_conf.GROUP].managed_system
    systems = pvm_ms.System.get(adapter)
    names = ', '.join(sorted(s.system_name for s in systems)) or 'none'
    if not wanted:
        if len(systems) != 1:
            raise exception.AmbiguousManagedSystem(count=len(systems),
                                                   known=names)
        return systems[0]
    for system in systems:
        if wanted in (system.system_name, system.uuid,
                      getattr(system.mtms, 'serial', None)):
            return system
    raise exception.ManagedSystemNotFound(name=wanted, known=names)
