"""The simulator's HTTP side: a threaded server on loopback only.

pypowervm's real ``Session``/``Adapter``/``FeedTask`` talk to it unmodified:
logon and logoff, feeds and entries with extended attribute groups, etags
(304 on If-None-Match, 412 on a stale If-Match), 204 for empty feeds,
searches, VIOS and LPAR updates, LPAR create/delete and jobs.  Around the
protocol sit the instruments benchmarks and fault tests need: a request log,
per-kind counters, injected latency and injected faults.
"""

import argparse
import collections
import dataclasses
import http.server
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid as uuidlib
import weakref
import zlib

from nova_npiv.simulator import faults as flt
from nova_npiv.simulator import model as mdl
from nova_npiv.simulator import render
from nova_npiv.simulator import topology as topo

LOG = logging.getLogger(__name__)

LOOPBACK = '127.0.0.1'
_LOOPBACK_NAMES = (LOOPBACK, 'localhost')
_UOM = '/rest/api/uom/'
_LOGON = '/rest/api/web/Logon'
#: Not the console's API: the SAN fabrics' name servers (read-only JSON),
#: for the test FC volume backend's zone lookup (nova_npiv.testing).
FABRIC_LOGINS = '/fabric/logins'
_ROOT_TYPES = (mdl.SYSTEM_KIND, mdl.LPAR_KIND, mdl.VIOS_KIND)
_CHILD_TYPES = (mdl.LPAR_KIND, mdl.VIOS_KIND)
_VFC_CHILD = 'VirtualFibreChannelClientAdapter'
_SEARCH_KEYS = {
    mdl.LPAR_KIND: {'PartitionName': 'name', 'PartitionID': 'id'},
    mdl.VIOS_KIND: {'PartitionName': 'name', 'PartitionID': 'id'},
    mdl.SYSTEM_KIND: {'SystemName': 'name'},
}
_KIND_RE = re.compile(r'^[A-Z][A-Za-z]+$')
_SEARCH_RE = re.compile(r"^\((\w+)(==|!=)'?(.*?)'?\)$")
_API_RE = re.compile(r'^/rest/api/\w+(/|$)')
_PARTITION_TYPES = (mdl.LPAR_KIND, mdl.VIOS_KIND)
_DROP = object()
_CACHE_SIZE = 1024
_LOG_SIZE = 200000


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it (bodies are never kept)."""
    method: str
    path: str
    query: str
    status: int          # 0 when the connection was dropped
    bytes_in: int
    bytes_out: int
    kind: str
    duration: float
    fault: object = None  # the fault kind applied, if any


def request_kind(path):
    """The resource kind a path addresses, for counters.

    ``Logon``, ``job:<Operation>`` for job templates and runs, ``jobs`` for
    job polling/deletion, otherwise the last resource type in the path.
    """
    if path.startswith(_LOGON):
        return 'Logon'
    segs = [s for s in path.split('/') if s]
    if 'do' in segs:
        idx = segs.index('do')
        if idx + 1 < len(segs):
            return 'job:' + segs[idx + 1]
    if path.startswith(_UOM + 'jobs'):
        return 'jobs'
    if 'search' in segs:
        return segs[segs.index('search') - 1]
    if 'quick' in segs:
        return 'quick'
    for seg in reversed(segs[3:]):
        if _KIND_RE.match(seg):
            return seg
    return segs[-1] if segs else '/'


def _refuse_green_threads():
    """Fail fast where eventlet has monkey patched threads.

    The server thread would become a greenthread polling real sockets
    without ever yielding, and every request would hang.
    """
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is not None and patcher.is_monkey_patched('thread'):
        raise RuntimeError(
            'The PowerVM REST simulator needs native threads, but eventlet '
            'has monkey patched this process. Set '
            'OS_NOVA_DISABLE_EVENTLET_PATCHING=1 before nova is imported, '
            'or run the simulator in its own process (python -m '
            'nova_npiv.simulator).')


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'PowerVM-REST-Simulator/1.0'

    def do_GET(self):
        self.server.sim._handle(self)

    do_PUT = do_POST = do_DELETE = do_GET

    def log_message(self, fmt, *args):
        # Requests go to the simulator's own log; keep stderr quiet.
        pass


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


class _Reply(object):
    __slots__ = ('status', 'headers', 'body', 'fault')

    def __init__(self, status, body=b'', headers=None, fault=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.fault = fault


class Simulator(object):
    """A stateful PowerVM REST API (HMC or NovaLink flavour) on loopback.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    ``model`` is the state (see :mod:`nova_npiv.simulator.model`); the rest
    of the attributes are instruments.
    """

    def __init__(self, topology=None, host=LOOPBACK, port=0):
        if host not in _LOOPBACK_NAMES:
            raise ValueError('The simulator only listens on loopback '
                             '(127.0.0.1), not %r' % host)
        self.model = mdl.Model(topology)
        self.host = LOOPBACK
        self._req_port = int(port)
        self.latency = 0.0
        #: Replies say RUNNING for this many polls before a job's outcome.
        self.job_polls = 0
        #: A lenient HMC: a partition looked up (GET) under one managed
        #: system is served whichever system it is on; only its
        #: AssociatedManagedSystem link tells.
        self.lenient_nested = False
        self._faults = flt.FaultPlan()
        self._log_lock = threading.Lock()
        self._log = collections.deque(maxlen=_LOG_SIZE)
        self._counters = collections.Counter()
        self._tokens = {}
        self._tokens_lock = threading.Lock()
        self._token_dir = None
        self._sessions = []
        self._server = None
        self._thread = None
        self._life_lock = threading.Lock()
        self._outage = None   # the Timer that ends an outage
        self._cache = collections.OrderedDict()
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        _refuse_green_threads()
        self._listen(self._req_port)
        return self

    def _listen(self, port):
        self._server = _HTTPServer((LOOPBACK, port), _Handler)
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
            'fabrics': list(fabrics),
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
                     connection for ``delay`` seconds).
        :param times: fire on this many consecutive matching requests.
        :returns: the :class:`~nova_npiv.simulator.faults.Fault`; its
                  ``hits`` lists the requests it fired on.
        """
        return self._faults.add(flt.Fault(method, path, nth, kind, status,
                                          times, message, delay, body,
                                          content_type, headers))

    def fail_job(self, operation, nth=1, message=None, times=1):
        """Make the nth run of job ``operation`` end in failure."""
        return self._faults.add_job(flt.JobFault(operation, nth, message,
                                                 times))

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
                               kind, time.monotonic() - start, reply.fault)
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
            body = json.dumps(self.model.fabric_logins()).encode()
            return _Reply(200, body, {'Content-Type': 'application/json'})
        try:
            if path.rstrip('/') != _LOGON or method != 'PUT':
                self._authenticate(headers)
            fault = self._faults.check(method, path)
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
                elif fault.kind != flt.KIND_LOST_REPLY:
                    raise mdl.SimulatorError(
                        fault.status, fault.message or
                        ('Injected fault: HTTP %d for %s %s'
                         % (fault.status, method, path)))
            if path.rstrip('/') == _LOGON:
                reply = self._logon(method, body, headers)
            elif path.startswith(_UOM):
                reply = self._uom(method, path, query, body, headers, base)
            elif _API_RE.match(path):
                # /rest/api/web (but Logon), /rest/api/pcm, ... exist on a
                # console.
                raise mdl.not_simulated(path)
            else:
                raise mdl.SimulatorError(404, 'No such resource: %s' % path)
        except mdl.SimulatorError as exc:
            reply = self._error(exc.status, path, exc.reason, exc.message)
        except Exception as exc:  # noqa: BLE001 - becomes an HTTP 500
            LOG.exception('Simulator failure on %s %s', method, path)
            reply = self._error(500, path, 'Internal error',
                                'Simulator failure: %s' % exc)
        if fault is not None:
            if fault.kind == flt.KIND_LOST_REPLY:
                return _Reply(0, _DROP, fault=fault.kind)
            reply.fault = fault.kind
        return reply

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
                raise mdl.SimulatorError(
                    401, 'The request requires a valid X-API-Session',
                    reason='Unauthorized')

    def _logon(self, method, body, headers):
        if method == 'DELETE':
            with self._tokens_lock:
                self._tokens.pop(headers.get('X-API-Session'), None)
            return _Reply(204)
        if method != 'PUT':
            raise mdl.SimulatorError(405, 'Logon supports PUT and DELETE')
        user, password, wants_file = render.parse_logon(body)
        mc_type = 'PVM' if self.console == topo.CONSOLE_NOVALINK else 'HMC'
        token = secrets.token_urlsafe(48)
        token_file = None
        if password is None:
            if not wants_file or mc_type == 'HMC':
                raise mdl.SimulatorError(
                    401, 'File-based authentication is only available on a '
                    'NovaLink console', reason='Unauthorized')
            token_file = self._write_token_file(token)
        elif user != self.username or password != self.password:
            raise mdl.SimulatorError(401, 'Logon failed: bad user name or '
                                     'password', reason='Unauthorized')
        with self._tokens_lock:
            self._tokens[token] = user
        return _Reply(200, render.logon_response(token, token_file), {
            'Content-Type': render.WEB_TYPE % 'LogonResponse',
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
    def _uom(self, method, path, query, body, headers, base):
        segs = [urllib.parse.unquote(s)
                for s in path[len(_UOM):].split('/') if s]
        if not segs:
            raise mdl.not_simulated(path)
        if segs[0] == 'jobs':
            return self._jobs(method, segs, base)
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        groups = render.Groups(params['group'][0] if 'group' in params
                               else None)
        sysm = None
        prefix = _UOM
        if (segs[0] == mdl.SYSTEM_KIND and len(segs) >= 3
                and segs[2] in _CHILD_TYPES):
            with self.model.lock:
                sysm = self.model.find_system(segs[1])
            if sysm is None:
                raise mdl.SimulatorError(404, 'ManagedSystem %s not found'
                                         % segs[1])
            prefix = '%sManagedSystem/%s/' % (_UOM, segs[1])
            segs = segs[2:]
        kind = segs[0]
        if kind not in _ROOT_TYPES:
            raise mdl.not_simulated('Resource type %s' % kind)
        coll = base + prefix + kind
        if len(segs) == 1:
            if method == 'GET':
                return self._feed(kind, sysm, coll, query, groups, headers,
                                  base)
            if method == 'PUT' and kind == mdl.LPAR_KIND:
                return self._create_lpar(sysm, coll, query, body, base)
            raise mdl.SimulatorError(405, '%s not supported on %s'
                                     % (method, path))
        if segs[1] == 'search':
            if method != 'GET' or len(segs) != 3:
                raise mdl.SimulatorError(405, 'Search supports GET only')
            return self._search(kind, sysm, segs[2], coll, query, groups,
                                base)
        uuid = segs[1]
        if len(segs) == 4 and segs[2] == 'do':
            return self._job(method, kind, sysm, uuid, segs[3], body, base)
        if kind in _PARTITION_TYPES and len(segs) in (3, 4) and \
                segs[2] == 'quick':
            return self._quick(method, kind, sysm, uuid, segs[3:], base)
        if kind == mdl.LPAR_KIND and len(segs) in (3, 4) and \
                segs[2] == _VFC_CHILD:
            return self._vfc_adapters(sysm, uuid, segs[3:], coll, query,
                                      base)
        if len(segs) != 2:
            # A child, suffix or operation the simulator lacks: 404 only
            # when the object itself does not exist.
            with self.model.lock:
                self._find(kind, sysm, uuid)
            raise mdl.not_simulated('%s %s' % (method, path[len(_UOM):]))
        if method == 'GET':
            return self._get_entry(kind, sysm, uuid, coll, query, groups,
                                   headers, base)
        if method == 'POST':
            return self._update(kind, sysm, uuid, coll, query, groups, body,
                                headers, base)
        if method == 'DELETE':
            return self._delete(kind, sysm, uuid, headers)
        raise mdl.SimulatorError(405, '%s not supported on %s'
                                 % (method, path))

    # -- rendering helpers ---------------------------------------------
    def _self_href(self, coll, uuid, query):
        return '%s/%s%s' % (coll, uuid, '?' + query if query else '')

    def _entry_elem(self, obj, kind, self_href, groups, base):
        """The Atom entry of one object, cached while its etag holds.

        Only the current version of each (object, view) is kept: a VIOS
        with thousands of mappings renders to a large tree.
        """
        key = (kind, obj.uuid, groups.key, self_href)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == obj.etag:
                self._cache.move_to_end(key)
                return cached[1]
        if kind == mdl.VIOS_KIND:
            content = render.vios(obj, self.model, base, groups)
        elif kind == mdl.LPAR_KIND:
            content = render.lpar(obj, self.model, base, groups)
        else:
            content = render.system(obj, self.model, base)
        elem = render.entry(obj.uuid, kind, self_href, content,
                            render.UOM_TYPE % kind, etag=obj.etag)
        with self._cache_lock:
            self._cache[key] = (obj.etag, elem)
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return elem

    def _objects(self, kind, sysm):
        if kind == mdl.SYSTEM_KIND:
            return self.model.system_states()
        return self.model.partition_states(kind, sysm)

    def _find(self, kind, sysm, uuid):
        if kind == mdl.SYSTEM_KIND:
            obj = self.model.find_system(uuid)
            if obj is not None and obj.uuid.lower() != uuid.lower():
                obj = None
        else:
            obj = self.model.find_partition(kind, uuid, sysm)
        if obj is None:
            raise mdl.SimulatorError(404, '%s %s not found' % (kind, uuid))
        return obj

    def _entry_reply(self, obj, kind, self_href, groups, base, status=200):
        elem = self._entry_elem(obj, kind, self_href, groups, base)
        return _Reply(status, render.tostring(elem), {
            'Content-Type': 'application/atom+xml', 'etag': obj.etag})

    def _feed_reply(self, objs, kind, coll, query, groups, headers, base,
                    feed_href):
        etag = str(zlib.crc32(' '.join('%s:%s' % (o.uuid, o.etag)
                                       for o in objs).encode()))
        if not objs:
            return _Reply(204)
        if headers.get('If-None-Match') == etag:
            return _Reply(304, headers={'etag': etag})
        entries = [self._entry_elem(obj, kind,
                                    self._self_href(coll, obj.uuid, query),
                                    groups, base) for obj in objs]
        # The cached entries are lent to the feed for serialisation and
        # taken back (the model lock is held), which spares copying large
        # VIOS trees on every read.
        feed = render.feed(feed_href, entries)
        try:
            body = render.tostring(feed)
        finally:
            for elem in entries:
                feed.remove(elem)
        return _Reply(200, body, {'Content-Type': 'application/atom+xml',
                                  'etag': etag})

    # -- reads -----------------------------------------------------------
    def _feed(self, kind, sysm, coll, query, groups, headers, base):
        with self.model.lock:
            objs = self._objects(kind, sysm)
            return self._feed_reply(objs, kind, coll, query, groups,
                                    headers, base, coll + (
                                        '?' + query if query else ''))

    def _search(self, kind, sysm, expr, coll, query, groups, base):
        match = _SEARCH_RE.match(expr)
        if not match:
            raise mdl.SimulatorError(400, 'Malformed search %r' % expr)
        key, op, value = match.groups()
        attr = _SEARCH_KEYS[kind].get(key)
        if attr is None:
            raise mdl.SimulatorError(400, 'Unsupported search key %s for %s'
                                     % (key, kind))
        with self.model.lock:
            objs = [o for o in self._objects(kind, sysm)
                    if (str(getattr(o, attr)) == value) == (op == '==')]
            return self._feed_reply(objs, kind, coll, query, groups, {},
                                    base, '%s/search/%s' % (coll, expr))

    def _get_entry(self, kind, sysm, uuid, coll, query, groups, headers,
                   base):
        if self.lenient_nested and kind != mdl.SYSTEM_KIND:
            sysm = None
        with self.model.lock:
            obj = self._find(kind, sysm, uuid)
            if headers.get('If-None-Match') == obj.etag:
                return _Reply(304, headers={'etag': obj.etag})
            return self._entry_reply(obj, kind,
                                     self._self_href(coll, uuid, query),
                                     groups, base)

    def _vfc_adapters(self, sysm, lpar_uuid, rest, coll, query, base):
        with self.model.lock:
            lpar = self._find(mdl.LPAR_KIND, sysm, lpar_uuid)
            child = '%s/%s/%s' % (coll, lpar_uuid, _VFC_CHILD)
            entries = []
            for vios, m in self.model.client_maps(lpar):
                auuid = render.client_adapter_uuid(lpar, m.client_slot)
                if rest and rest[0].lower() != auuid:
                    continue
                entries.append(render.entry(
                    auuid, _VFC_CHILD,
                    '%s/%s%s' % (child, auuid, '?' + query if query else ''),
                    render.vfc_client_adapter(lpar, vios, m),
                    render.UOM_TYPE % _VFC_CHILD, etag=lpar.etag))
            if rest:
                if not entries:
                    raise mdl.SimulatorError(404, 'No such client adapter')
                return _Reply(200, render.tostring(entries[0]), {
                    'Content-Type': 'application/atom+xml',
                    'etag': lpar.etag})
            if not entries:
                return _Reply(204)
            return _Reply(200, render.tostring(render.feed(child, entries)),
                          {'Content-Type': 'application/atom+xml'})

    def _quick(self, method, kind, sysm, uuid, rest, base):
        """``<partition>/quick[/All|/<Property>]``: small JSON replies.

        ``All`` (or no property) is a JSON object; one property is its bare
        JSON value (a string in double quotes), which pypowervm's callers
        ``json.loads``.  Errors stay Atom HttpErrorResponses.
        """
        if method != 'GET':
            raise mdl.SimulatorError(405, 'The quick API supports GET only')
        with self.model.lock:
            props = render.quick_properties(self._find(kind, sysm, uuid),
                                            base)
        name = rest[0] if rest else 'All'
        if name == 'All':
            value = props
        elif name in props:
            value = props[name]
        else:
            raise mdl.SimulatorError(
                400, 'Unknown quick property %s of %s (known: %s)'
                % (name, kind, ', '.join(sorted(props))))
        return _Reply(200, json.dumps(value).encode(),
                      {'Content-Type': 'application/json'})

    # -- writes ----------------------------------------------------------
    def _update(self, kind, sysm, uuid, coll, query, groups, body, headers,
                base):
        if_match = headers.get('If-Match')
        with self.model.lock:
            obj = self._find(kind, sysm, uuid)
            if kind == mdl.VIOS_KIND:
                posted = render.parse_vios_update(body, groups)
                self.model.update_vios(obj, if_match, posted)
            elif kind == mdl.LPAR_KIND:
                self.model.update_lpar(obj, if_match, render.parse_lpar(body))
            else:
                raise mdl.SimulatorError(
                    400, 'Updating a ManagedSystem is not simulated')
            return self._entry_reply(obj, kind,
                                     self._self_href(coll, uuid, query),
                                     groups, base)

    def _create_lpar(self, sysm, coll, query, body, base):
        fields = render.parse_lpar(body)
        with self.model.lock:
            if sysm is None:
                systems = self.model.system_states()
                if len(systems) != 1:
                    raise mdl.SimulatorError(
                        400, 'Create the partition under '
                        'ManagedSystem/<uuid>/LogicalPartition: this console '
                        'manages %d systems' % len(systems))
                sysm = systems[0]
            lpar = self.model.create_lpar(sysm, fields)
            return self._entry_reply(
                lpar, mdl.LPAR_KIND, self._self_href(coll, lpar.uuid, query),
                render.Groups(None), base)

    def _delete(self, kind, sysm, uuid, headers):
        if kind != mdl.LPAR_KIND:
            raise mdl.SimulatorError(400, 'Deleting a %s is not simulated'
                                     % kind)
        with self.model.lock:
            obj = self._find(kind, sysm, uuid)
            self.model.delete_partition(obj, headers.get('If-Match'))
        return _Reply(204)

    # -- jobs ------------------------------------------------------------
    def _job(self, method, kind, sysm, uuid, operation, body, base):
        if method == 'GET':
            self.model.job_target(kind, uuid, operation, sysm)
            req = render.job_request(operation, kind)
            elem = render.entry(
                str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, operation)),
                'JobRequest', None, req, render.WEB_TYPE % 'JobRequest')
            return _Reply(200, render.tostring(elem), {
                'Content-Type': 'application/atom+xml'})
        if method != 'PUT':
            raise mdl.SimulatorError(405, 'Jobs are read (GET) and run (PUT)')
        op, group, params = render.parse_job_request(body)
        if op != operation:
            raise mdl.SimulatorError(
                400, 'JobRequest operation %s does not match the URI (%s)'
                % (op, operation))
        fail = self._faults.check_job(operation)
        job = self.model.run_job(kind, uuid, operation, params,
                                 fail_message=fail, polls=self.job_polls,
                                 sysm=sysm)
        return self._job_reply(job, base)

    def _job_reply(self, job, base):
        status = mdl.JOB_RUNNING if job.polls_left > 0 else None
        elem = render.entry(
            str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, 'job/' + job.job_id)),
            'JobResponse', '%s%sjobs/%s' % (base, _UOM, job.job_id),
            render.job_response(job, base, status),
            render.WEB_TYPE % 'JobResponse')
        return _Reply(200, render.tostring(elem), {
            'Content-Type': 'application/atom+xml'})

    def _jobs(self, method, segs, base):
        if len(segs) < 2:
            raise mdl.SimulatorError(404, 'Give a job ID')
        job = self.model.get_job(segs[1])
        if job is None:
            raise mdl.SimulatorError(404, 'Job %s not found' % segs[1])
        if method == 'DELETE' and len(segs) == 2:
            if job.polls_left > 0:
                raise mdl.SimulatorError(
                    400, 'Job %s is running and cannot be deleted'
                    % job.job_id)
            self.model.delete_job(job.job_id)
            return _Reply(204)
        if method == 'GET' and len(segs) == 2:
            with self.model.lock:
                if job.polls_left > 0:
                    job.polls_left -= 1
            return self._job_reply(job, base)
        if method == 'POST' and segs[2:] == ['cancel']:
            with self.model.lock:
                job.polls_left = 0
            return self._job_reply(job, base)
        raise mdl.SimulatorError(405, '%s not supported on jobs' % method)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def format_conf(sim, system_name):
    """The ``[powervm]`` nova.conf snippet for one simulated system."""
    conf = sim.powervm_conf(system_name)
    lines = ['# nova-compute for managed system %s' % system_name,
             '[powervm]']
    for key, value in conf.items():
        if isinstance(value, list):
            value = ','.join(value)
        lines.append('%s = %s' % (key, value))
    return '\n'.join(lines) + '\n'


def serve_forever(topology=None, port=0, out=None, stop_event=None,
                  topology_file=None):
    """Serve on 127.0.0.1 until Ctrl-C, SIGTERM or ``stop_event`` is set.

    :param topology: a topology dict (default: ``default_topology()``).
    :param topology_file: or a JSON file holding one.
    :param out: where to print the listening URL and, per managed system,
                the ``[powervm]`` nova.conf options (default: stdout).
    :returns: the stopped :class:`Simulator` (its instruments stay
              readable).
    """
    if topology_file:
        with open(topology_file) as fh:
            topology = json.load(fh)
    out = out or sys.stdout
    stop_event = stop_event or threading.Event()
    sim = Simulator(topology, port=port).start()
    try:
        out.write('PowerVM REST simulator (%s) listening on %s\n\n'
                  % (sim.console, sim.url))
        for system in sim.model.systems():
            out.write(format_conf(sim, system.name) + '\n')
        out.flush()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *a: stop_event.set())
        try:
            while not stop_event.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        sim.stop()
    return sim


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova_npiv.simulator',
        description='Serve the embedded PowerVM REST simulator on loopback.')
    parser.add_argument('--port', type=int, default=0,
                        help='TCP port on 127.0.0.1 (default: any free port)')
    parser.add_argument('--topology', metavar='FILE',
                        help='JSON topology spec (default: two NovaLink '
                             'systems, two VIOSes each)')
    parser.add_argument('--console', choices=topo.CONSOLES,
                        help='with the default topology: novalink or hmc')
    parser.add_argument('--existing-mappings', type=int, default=0,
                        help='with the default topology: pre-populated vFC '
                             'mappings per system')
    args = parser.parse_args(argv)
    spec = None
    if not args.topology:
        spec = topo.default_topology(
            console=args.console or topo.CONSOLE_NOVALINK,
            existing_mappings=args.existing_mappings)
    serve_forever(spec, port=args.port, topology_file=args.topology)
    return 0
