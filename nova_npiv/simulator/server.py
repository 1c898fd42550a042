"""The simulator's HTTP side: a threaded server on loopback only.

pypowervm's real ``Session``/``Adapter``/``FeedTask`` talk to it unmodified:
logon and logoff, feeds and entries with extended attribute groups, etags
(304 on If-None-Match, 412 on a stale If-Match), 204 for empty feeds,
searches, VIOS and LPAR updates, LPAR create/delete and jobs.  Around the
protocol sit the instruments benchmarks and fault tests need: a request log,
per-kind counters, injected latency and injected faults.
"""

import collections
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
import uuid as uuidlib
import weakref

from nova_npiv.simulator import consoles
from nova_npiv.simulator import faults as flt
from nova_npiv.simulator import listener
from nova_npiv.simulator import model as mdl
from nova_npiv.simulator import parse
from nova_npiv.simulator import render
from nova_npiv.simulator.request_log import request_kind
from nova_npiv.simulator.request_log import RequestRecord
from nova_npiv.simulator import responses
from nova_npiv.simulator import topology as topo
from nova_npiv.simulator import urls
from nova_npiv.simulator import vocab
from nova_npiv.simulator.replies import Reply as _Reply

LOG = logging.getLogger(__name__)

LOOPBACK = '127.0.0.1'
_LOOPBACK_NAMES = (LOOPBACK, 'localhost')
_UOM = '/rest/api/uom/'
_LOGON = '/rest/api/web/Logon'
#: Not the console's API: the SAN fabrics' name servers (read-only JSON),
#: for the test FC volume backend's zone lookup (nova_npiv.testing).
FABRIC_LOGINS = '/fabric/logins'
_API_RE = re.compile(r'^/rest/api/\w+(/|$)')
_VIOS_UUID_RE = re.compile(r'/VirtualIOServer/([0-9A-Fa-f-]{36})')
_SYSTEM_RE = re.compile(r'/ManagedSystem/([0-9A-Fa-f-]{36})')
_DROP = object()
#: How long a job's work takes by default (asynchronous jobs, issue 13 R2):
#: short, so tests and the demo stay quick, yet every job is polled and
#: seen half-done (a partition powering on is ``starting``).
DEFAULT_JOB_SECONDS = 0.05
#: The ``job_poll_interval`` :meth:`Simulator.powervm_conf` gives a
#: nova-compute: jobs this short, polled at pypowervm's second, would each
#: take a second.
POLL_INTERVAL = 0.02
_LOG_SIZE = 200000


def _tracked_session_class():
    from pypowervm import adapter as pvm_adpt

    class TrackedSession(pvm_adpt.Session):
        """A session the simulator logs off when it stops.

        pypowervm would log off from ``__del__``, whenever the garbage
        collector runs: inside one of this server's threads, holding a lock
        the DELETE's own handler needs, that request never gets its answer
        and the server stops answering.
        """

        def __del__(self):
            pass

    return TrackedSession


def _TrackedSession(**kwargs):
    global _TRACKED_SESSION
    if _TRACKED_SESSION is None:
        _TRACKED_SESSION = _tracked_session_class()
    return _TRACKED_SESSION(**kwargs)


_TRACKED_SESSION = None


class Simulator(object):
    """A stateful PowerVM REST API (HMC or NovaLink flavour) on loopback.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    ``model`` is the state (see :mod:`nova_npiv.simulator.model`); the rest
    of the attributes are instruments.
    """

    def __init__(self, topology=None, host=LOOPBACK, port=0, registry=None):
        if host not in _LOOPBACK_NAMES:
            raise ValueError('The simulator only listens on loopback '
                             '(127.0.0.1), not %r' % host)
        self.model = mdl.Model(topology)
        if registry is not None:
            # The other consoles of this process (see estate.Estate).
            registry.register(self.model)
        self.host = LOOPBACK
        self._req_port = int(port)
        self.latency = 0.0
        #: Replies say RUNNING for this many polls before a job's outcome;
        #: an asynchronous job's work is done at the last of them (if its
        #: time has not come before): a number of polls no clock decides.
        self.job_polls = 0
        #: Seconds a job's work takes: its PUT answers NOT_STARTED, polls
        #: RUNNING until then (0: the work is done during the PUT); or
        #: ``{operation: seconds}``, ``'*'`` for the other operations.
        #: Asynchronous by default, as a console runs jobs.
        self.job_seconds = DEFAULT_JOB_SECONDS
        #: Seconds one DLPAR operation (a client adapter added to or
        #: removed from an active partition) adds to its VIOS update.
        self.dlpar_seconds = 0.0
        #: A lenient HMC: a partition looked up (GET) under one managed
        #: system is served whichever system it is on; only its
        #: AssociatedManagedSystem link tells.
        self.lenient_nested = False
        self._faults = flt.FaultPlan()
        #: Background busy VIOS writes (topology ``vios_busy``), or None.
        self.vios_busy = flt.BusyVios.from_spec(self.model.spec['vios_busy'])
        self._log_lock = threading.Lock()
        self._log = collections.deque(maxlen=_LOG_SIZE)
        self._counters = collections.Counter()
        self._tokens = {}
        self._tokens_lock = threading.Lock()
        self._token_dir = None
        self._sessions = []
        self._server = None
        self._thread = None
        self._responses = responses.Responses(
            self.model, job_fault=self._faults.check_job,
            job_polls=lambda: self.job_polls,
            lenient_nested=lambda: self.lenient_nested,
            job_seconds=lambda: self.job_seconds,
            dlpar_seconds=lambda: self.dlpar_seconds)
        self._life_lock = threading.Lock()
        self._outage = None   # the Timer that ends an outage

    # ------------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        listener.refuse_green_threads()
        self._listen(self._req_port)
        return self

    def _listen(self, port):
        self._server = listener.HTTPServer((LOOPBACK, port), listener.Handler)
        self._server.sim = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.05},
            name='pvm-simulator-%d' % self.port, daemon=True)
        self._thread.start()

    def outage(self, seconds):
        """Stop listening for ``seconds``, then listen on the same port.

        Meanwhile every connection is refused, as when the console
        restarts.  Requests already being answered are answered.  Call from
        any thread but the server's own (a request handler is fine).
        """
        with self._life_lock:
            if self._server is None or self._outage is not None:
                return
            port = self.port
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._outage = threading.Timer(seconds, self._end_outage,
                                           args=(port,))
            self._outage.daemon = True
            self._outage.start()

    def _end_outage(self, port):
        with self._life_lock:
            if self._outage is None:
                return   # stopped meanwhile
            # Listening before the outage is declared over: a client told
            # the console is back must not meet a refused connection.
            self._listen(port)
            self._outage = None

    @property
    def listening(self):
        """False while started but in an :meth:`outage`."""
        return self._server is not None and self._outage is None

    def wait_listening(self, timeout=30):
        """Block until an outage is over; False if it lasts ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.listening and self._server is not None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self):
        with self._life_lock:
            if self._outage is not None:
                self._outage.cancel()
                self._outage = None
                self._listen(self.port)   # to log the sessions off
        if self._server is None:
            return
        # Log sessions off while we can still answer: pypowervm's
        # Session.__del__ would otherwise try later and log a traceback.
        for ref in self._sessions:
            sess = ref()
            if sess is not None:
                try:
                    sess._logoff()
                except Exception:  # noqa: BLE001 - best effort on shutdown
                    pass
        self._sessions = []
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        self._server = None
        self._thread = None
        if self._token_dir:
            shutil.rmtree(self._token_dir, ignore_errors=True)
            self._token_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        if self._server is None:
            return self._req_port
        return self._server.server_address[1]

    @property
    def url(self):
        return 'http://%s:%d' % (self.host, self.port)

    @property
    def username(self):
        return self.model.username

    @property
    def password(self):
        return self.model.password

    @property
    def console(self):
        return self.model.console

    def adapter(self, host='localhost', **session_kwargs):
        """A logged-on pypowervm Adapter talking to this simulator."""
        from pypowervm import adapter as pvm_adpt
        kwargs = dict(host=host, port=self.port, protocol='http',
                      username=self.username, password=self.password)
        kwargs.update(session_kwargs)
        sess = _TrackedSession(**kwargs)
        self._sessions.append(weakref.ref(sess))
        return pvm_adpt.Adapter(sess)

    def track_session(self, session_or_adapter):
        """Log this pypowervm session off when the simulator stops.

        pypowervm logs off from ``Session.__del__``; a session that outlives
        the server logs a traceback then.  Sessions made by :meth:`adapter`
        are tracked already.
        """
        sess = getattr(session_or_adapter, 'session', session_or_adapter)
        self._sessions.append(weakref.ref(sess))
        return session_or_adapter

    def powervm_conf(self, system_name):
        """nova.conf ``[powervm]`` options pointing at ``system_name``."""
        fabrics = collections.OrderedDict()
        for port in self.model.ports(system_name):
            if port.fabric is not None:
                fabrics.setdefault(port.fabric, []).append(port.wwpn)
        conf = {
            'host': self.host, 'port': self.port, 'protocol': 'http',
            'username': self.username, 'password': self.password,
            'managed_system': self.model.system(system_name).name,
            # What other consoles reach this one at (remote migration).
            'console_address': self.model.mc.address,
            'fabrics': list(fabrics),
            'job_poll_interval': POLL_INTERVAL,
        }
        for fabric, wwpns in fabrics.items():
            conf['fabric_%s_port_wwpns' % fabric] = wwpns
        return conf

    # ------------------------------------------------------------------
    # Instruments
    # ------------------------------------------------------------------
    @property
    def request_log(self):
        with self._log_lock:
            return list(self._log)

    def counters(self):
        """{'METHOD kind': count} since start or the last reset."""
        with self._log_lock:
            return dict(self._counters)

    def count(self, method=None, kind=None):
        with self._log_lock:
            return sum(n for key, n in self._counters.items()
                       if (method is None or key.split(' ', 1)[0] == method)
                       and (kind is None or key.split(' ', 1)[1] == kind))

    def reset_counters(self):
        with self._log_lock:
            self._log.clear()
            self._counters.clear()

    def inject_fault(self, method=None, path=None, nth=1, kind='status',
                     status=500, times=1, message=None, delay=0.0,
                     body=None, content_type='application/atom+xml',
                     headers=None):
        """Arm a fault for matching requests from now on.

        :param method: HTTP method to match (any if None).
        :param path: regex searched in the URL path (any if None).
        :param nth: fire on the nth matching request (1 = the next one).
        :param kind: 'status' (reply ``status`` with an HttpErrorResponse),
                     'drop' (close the connection without a reply), '412'
                     (an etag conflict), 'delay' (sleep ``delay`` seconds,
                     then answer normally), 'lost_reply' (carry the request
                     out, then close the connection without a reply),
                     'body' (do nothing; reply ``status`` with ``body``, raw
                     bytes, as ``content_type``, plus ``headers``) or
                     'outage' (close the connection, then refuse every
                     connection for ``delay`` seconds) or 'vios_busy' (do
                     nothing; reply 500 with the HSCL3205/VIOS0014 busy
                     error of a VIOS busy with another request) or
                     'rmc_down' (RMC of every running client LPAR lost
                     from this request on, for ``delay`` seconds or until
                     ``model.set_rmc_down(False)``; the request goes on).
        :param times: fire on this many consecutive matching requests.
        :returns: the :class:`~nova_npiv.simulator.faults.Fault`; its
                  ``hits`` lists the requests it fired on.
        """
        return self._faults.add(flt.Fault(method, path, nth, kind, status,
                                          times, message, delay, body,
                                          content_type, headers))

    def fail_job(self, operation, nth=1, message=None, times=1,
                 midway=False):
        """Make the nth run of job ``operation`` end in failure.

        ``midway``: after the work began; a Migrate is left
        ``Migration_Failed`` on the source until a MigrateRecover.
        """
        return self._faults.add_job(flt.JobFault(operation, nth, message,
                                                 times, midway))

    def clear_faults(self):
        self._faults.clear()

    def expire_sessions(self):
        """Invalidate every session token (clients must log on again)."""
        with self._tokens_lock:
            self._tokens.clear()

    # ------------------------------------------------------------------
    # Request handling
    # ------------------------------------------------------------------
    def _handle(self, handler):
        start = time.monotonic()
        method = handler.command
        raw = urllib.parse.urlsplit(handler.path)
        path, query = raw.path, raw.query
        try:
            length = int(handler.headers.get('Content-Length') or 0)
        except ValueError:
            length = 0
        body = handler.rfile.read(length) if length > 0 else b''
        kind = request_kind(path)
        if self.latency:
            time.sleep(self.latency)
        reply = self._respond(method, path, query, body, handler.headers)
        dropped = reply.body is _DROP
        status, out = (0, 0) if dropped else (reply.status, len(reply.body))
        # Record before replying: a client that has its answer must find the
        # request in the log and counters.
        record = RequestRecord(method, path, query, status, len(body), out,
                               kind, time.monotonic() - start, reply.fault,
                               reply.dlpar, started=start)
        with self._log_lock:
            self._log.append(record)
            self._counters['%s %s' % (method, kind)] += 1
        if dropped:
            handler.close_connection = True
        else:
            try:
                handler.send_response(reply.status)
                for name, value in reply.headers.items():
                    handler.send_header(name, value)
                if reply.status not in (204, 304):
                    handler.send_header('Content-Length', str(out))
                handler.send_header('Connection', 'close')
                handler.end_headers()
                if reply.status not in (204, 304) and reply.body:
                    handler.wfile.write(reply.body)
            except OSError:
                LOG.debug('Client went away during %s %s', method, path)
            handler.close_connection = True

    def _respond(self, method, path, query, body, headers):
        base = 'http://%s' % (headers.get('Host') or '%s:%d' % (self.host,
                                                                self.port))
        fault = None
        if path.rstrip('/') == FABRIC_LOGINS and method == 'GET':
            body = json.dumps(consoles.fabric_logins(self.model)).encode()
            return _Reply(200, body, {'Content-Type': 'application/json'})
        try:
            if path.rstrip('/') != _LOGON or method != 'PUT':
                self._authenticate(headers)
            fault = self._faults.check(method, path)
            hits = len(fault.hits) if fault is not None else 0
            if fault is not None:
                if fault.kind == flt.KIND_DROP:
                    return _Reply(0, _DROP, fault=fault.kind)
                if fault.kind == flt.KIND_OUTAGE:
                    self.outage(fault.delay)
                    return _Reply(0, _DROP, fault=fault.kind)
                if fault.kind == flt.KIND_BODY:
                    headers = ({'Content-Type': fault.content_type}
                               if fault.content_type else {})
                    headers.update(fault.headers)
                    return _Reply(fault.status, fault.body, headers,
                                  fault=fault.kind)
                if fault.kind == flt.KIND_DELAY:
                    time.sleep(fault.delay)
                elif fault.kind == flt.KIND_BUSY:
                    raise self._busy(path)
                elif fault.kind == flt.KIND_VIOS_ERROR:
                    with self.model.lock:
                        vios = self._addressed_vios(path)
                    flt.put_in_error(self.model, vios, fault.message or
                                     'in an error state', fault.delay)
                elif fault.kind == flt.KIND_RMC_DOWN:
                    flt.rmc_lost(self.model, fault.delay)
                elif fault.kind not in (flt.KIND_LOST_REPLY,) + \
                        flt.DLPAR_KINDS:
                    raise vocab.SimulatorError(
                        fault.status, fault.message or
                        ('Injected fault: HTTP %d for %s %s'
                         % (fault.status, method, path)))
            elif (self.vios_busy is not None and
                    self.vios_busy.fires(method, path)):
                fault = flt.Fault(kind=flt.KIND_BUSY)
                raise self._busy(path)
            if path.rstrip('/') == _LOGON:
                reply = self._logon(method, body, headers)
            elif path.startswith(_UOM):
                reply = self._uom(method, path, query, body, headers, base,
                                  fault)
            elif _API_RE.match(path):
                # /rest/api/web (but Logon), /rest/api/pcm, ... exist on a
                # console.
                raise vocab.not_simulated(path)
            else:
                raise vocab.SimulatorError(404, 'No such resource: %s' % path)
        except vocab.SimulatorError as exc:
            reply = self._error(exc.status, path, exc.reason, exc.message)
        except Exception as exc:  # noqa: BLE001 - becomes an HTTP 500
            LOG.exception('Simulator failure on %s %s', method, path)
            reply = self._error(500, path, 'Internal error',
                                'Simulator failure: %s' % exc)
        if fault is not None:
            if fault.kind == flt.KIND_LOST_REPLY:
                return _Reply(0, _DROP, fault=fault.kind)
            if fault.kind not in flt.DLPAR_KINDS or len(fault.hits) > hits:
                reply.fault = fault.kind
        return reply

    def _busy(self, path):
        """The error a busy VIOS is answered with (fake_httperror.txt).

        It names the VIOS the path addresses (the first one of the console
        when the path names none).
        """
        with self.model.lock:
            vios = self._addressed_vios(path)
            sysm = vios.system if vios else None
            mtms = ('%s-%s*%s' % (sysm.machine_type, sysm.model, sysm.serial)
                    if sysm else 'unknown')
            vios_id = vios.id if vios else 1
        return vocab.SimulatorError(
            500, flt.busy_message(self.console, mtms, vios_id),
            reason=flt.BUSY_REASON)

    def _addressed_vios(self, path):
        """The VIOS a path names, else the first one of the managed system
        it names, else the console's first (call with the model lock)."""
        match = _VIOS_UUID_RE.search(path)
        vios = match and self.model.find_partition(vocab.VIOS_KIND,
                                                   match.group(1))
        if not vios:
            sysm = self.model.find_system(
                (_SYSTEM_RE.search(path) or [None, None])[1])
            vios = next(iter(self.model.partition_states(vocab.VIOS_KIND,
                                                         sysm)), None)
        return vios

    @staticmethod
    def _error(status, path, reason, message):
        body = render.tostring(render.http_error(status, path, reason,
                                                 message))
        return _Reply(status, body, {'Content-Type': 'application/atom+xml'})

    # ------------------------------------------------------------------
    # Authentication
    # ------------------------------------------------------------------
    def _authenticate(self, headers):
        token = headers.get('X-API-Session')
        with self._tokens_lock:
            if not token or token not in self._tokens:
                raise vocab.SimulatorError(
                    401, 'The request requires a valid X-API-Session',
                    reason='Unauthorized')

    def _logon(self, method, body, headers):
        if method == 'DELETE':
            with self._tokens_lock:
                self._tokens.pop(headers.get('X-API-Session'), None)
            return _Reply(204)
        if method != 'PUT':
            raise vocab.SimulatorError(405, 'Logon supports PUT and DELETE')
        user, password, wants_file = parse.parse_logon(body)
        mc_type = 'PVM' if self.console == topo.CONSOLE_NOVALINK else 'HMC'
        token = secrets.token_urlsafe(48)
        token_file = None
        if password is None:
            if not wants_file or mc_type == 'HMC':
                raise vocab.SimulatorError(
                    401, 'File-based authentication is only available on a '
                    'NovaLink console', reason='Unauthorized')
            token_file = self._write_token_file(token)
        elif user != self.username or password != self.password:
            raise vocab.SimulatorError(401, 'Logon failed: bad user name or '
                                     'password', reason='Unauthorized')
        with self._tokens_lock:
            self._tokens[token] = user
        return _Reply(200, render.logon_response(token, token_file), {
            'Content-Type': vocab.WEB_TYPE % 'LogonResponse',
            'X-MC-Type': mc_type})

    def _write_token_file(self, token):
        if self._token_dir is None:
            self._token_dir = tempfile.mkdtemp(prefix='pvm-sim-tokens-')
        path = os.path.join(self._token_dir, uuidlib.uuid4().hex)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as fh:
            fh.write(token)
        return path

    # ------------------------------------------------------------------
    # /rest/api/uom
    # ------------------------------------------------------------------
    def _uom(self, method, path, query, body, headers, base, fault=None):
        match = urls.resolve(method, path[len(_UOM):])
        req = responses.Request(method, path, query, body, headers, base)
        if fault is not None and fault.kind in flt.DLPAR_KINDS:
            req.dlpar_fault = fault
        if match.nested_system is not None:
            with self.model.lock:
                req.sysm = self.model.find_system(match.nested_system)
            if req.sysm is None:
                raise vocab.SimulatorError(404, 'ManagedSystem %s not found'
                                           % match.nested_system)
            req.prefix = '%sManagedSystem/%s/' % (_UOM,
                                                  match.nested_system)
        return match.handler(self._responses, req, **match.args)
