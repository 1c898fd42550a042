"""Adapter helpers that take the console's job bookkeeping off each job.

Every pypowervm job costs four requests: GET the ``JobRequest`` template
(``.../do/<Operation>``), PUT it with parameters, poll, and DELETE the
finished job (``Job.run_job`` -> ``delete_job``).  Two of them need not be
on an operation's path:

* The template is static: ``OperationName`` and ``GroupName`` and an empty
  ``JobParameters`` (pypowervm's captured ``job_request_power_off.txt``),
  the same for every partition or system of a kind.  Read once per
  session, it is answered from memory afterwards; each caller gets a
  Response of its own, parsed from the same body, so no caller sees
  another's parameters.  Callers that miss it together (a burst of first
  connector calls after a start) wait for the one read of it, not each
  send their own.
* The DELETE cleans a finished job's record off the console.  pypowervm
  sends it after the job has ended and ignores its outcome (``delete_job``
  logs an error and goes on), so nothing the operation does depends on it.
  It is still sent, every one of them (a console keeps job records until
  they are deleted or it purges them; we do not rely on the purge), but by
  a worker of this session, after the operation has its answer.

The helpers sit outermost in the adapter's stack (console.build_adapter),
so a deferred DELETE still goes through the VIOS-busy and logging helpers.
"""

import collections
import queue
import re
import threading
import weakref

from lxml import etree
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm import const as pvm_const

LOG = logging.getLogger(__name__)

_UUID = re.compile(pvm_const.UUID_REGEX)
_JOB_TEMPLATE = re.compile(r'/do/[A-Za-z]+$')
_JOB_RECORD = re.compile(r'/rest/api/uom/jobs/[^/?]+$')
#: Every live instance, for :func:`drain_all`.
_ALL = weakref.WeakSet()


def _bare(path):
    return path.split('?', 1)[0]


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _an_entry(body):
    """Whether ``body`` is a well-formed Atom entry: only such a template
    is kept.  A malformed reply (the console's, or one cut short) fails
    its caller, and must not fail every later job of the session."""
    if not body:
        return False
    if isinstance(body, str):
        body = body.encode('utf-8')
    try:
        root = etree.fromstring(body, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return False
    return etree.QName(root).localname == 'entry'


class JobRequests(object):
    """Template cache and deferred job clean-up of one adapter (session)."""

    #: Send each finished job's DELETE in place instead (its failure still
    #: only logged): for the fault matrix, which aims a fault at the nth
    #: request and needs an order of requests no thread decides.
    inline = False

    def __init__(self):
        self._templates = {}
        self._lock = threading.Lock()
        #: One lock per template key: who misses waits for the read under
        #: way instead of sending another.
        self._reading = collections.defaultdict(threading.Lock)
        self._queue = queue.Queue()
        self._worker = None
        #: Requests answered from the cache / deferred: what the benchmark
        #: reports next to the calls it counts.
        self.templates_served = 0
        self.deletes_deferred = 0
        _ALL.add(self)

    def helpers(self):
        return [self.template_helper, self.delete_helper]

    # -- job templates ---------------------------------------------------

    @staticmethod
    def _template_key(method, path, kwds):
        if method != 'GET' or not _JOB_TEMPLATE.search(_bare(path)):
            return None
        # The template is the same for every target of a kind: the key is
        # the path's shape with the UUIDs taken out.
        return (_UUID.sub('*', _bare(path)),
                (kwds.get('headers') or {}).get('Accept'))

    def template_helper(self, func):
        def wrapper(method, path, **kwds):
            key = self._template_key(method, path, kwds)
            if key is None:
                return func(method, path, **kwds)
            cached = self._cached(key)
            if cached is None:
                with self._lock:
                    reading = self._reading[key]
                with reading:
                    cached = self._cached(key)
                    if cached is None:
                        resp = func(method, path, **kwds)
                        if getattr(resp, 'status', None) == 200 and \
                                _an_entry(resp.body):
                            with self._lock:
                                self._templates[key] = resp
                        return resp
            with self._lock:
                self.templates_served += 1
            return pvm_adpt.Response(
                method, path, cached.status, cached.reason,
                dict(cached.headers), reqheaders=kwds.get('headers'),
                body=cached.body)
        return wrapper

    def _cached(self, key):
        with self._lock:
            return self._templates.get(key)

    # -- finished-job clean-up -------------------------------------------

    def delete_helper(self, func):
        def wrapper(method, path, **kwds):
            if method != 'DELETE' or not _JOB_RECORD.search(_bare(path)):
                return func(method, path, **kwds)
            if self.inline:
                self._send(func, method, path, kwds)
            else:
                self._defer(func, method, path, kwds)
            # What the console answers a DELETE; pypowervm reads nothing
            # from it.
            return pvm_adpt.Response(method, path, 204, 'No Content', {},
                                     reqheaders=kwds.get('headers'))
        return wrapper

    def _defer(self, func, method, path, kwds):
        with self._lock:
            self.deletes_deferred += 1
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name='npiv-job-cleanup', daemon=True)
                self._worker.start()
        self._queue.put((func, method, path, kwds))

    def _work(self):
        while True:
            func, method, path, kwds = self._queue.get()
            try:
                self._send(func, method, path, kwds)
            finally:
                self._queue.task_done()

    @staticmethod
    def _send(func, method, path, kwds):
        try:
            func(method, path, **kwds)
        except Exception as err:
            # What pypowervm's delete_job does with a failed DELETE: the
            # job has ended; its record is the console's to purge.
            LOG.warning('Could not delete finished job %s: %s', path, err)

    def drain(self):
        """Wait until every deferred DELETE has been sent (tests, bench)."""
        self._queue.join()


def of(adapter):
    """The adapter's :class:`JobRequests`, or None (not built by us)."""
    return getattr(adapter, 'npiv_job_requests', None)


def drain(adapter):
    jr = of(adapter)
    if jr is not None:
        jr.drain()


def drain_all():
    """Wait for the deferred DELETEs of every session of this process."""
    for jr in list(_ALL):
        jr.drain()

