"""Fault injection for the simulator's HTTP layer and job service.

A fault counts the requests that match it from the moment it is armed and
fires on exactly the ``nth`` of them (and the ``times - 1`` that follow), so a
test can aim at "the second VIOS POST" without caring what else is sent.
"""

import re
import threading

KIND_STATUS = 'status'
KIND_DROP = 'drop'
KIND_412 = '412'
KIND_DELAY = 'delay'
#: The request is carried out, then the connection is closed without a
#: reply: the change landed but the client cannot know.
KIND_LOST_REPLY = 'lost_reply'
#: The request is not carried out; the reply is ``status`` with ``body``
#: (bytes) and ``headers`` as they are: malformed, hostile or oversized
#: documents, redirects.
KIND_BODY = 'body'
#: The console goes away: the connection closes without the request being
#: carried out, and the simulator stops listening for ``delay`` seconds
#: (every connection refused), then listens again on the same port.
KIND_OUTAGE = 'outage'
KINDS = (KIND_STATUS, KIND_DROP, KIND_412, KIND_DELAY, KIND_LOST_REPLY,
         KIND_BODY, KIND_OUTAGE)


class Fault(object):
    """One armed fault; ``hits`` lists the (method, path) it fired on."""

    def __init__(self, method=None, path=None, nth=1, kind=KIND_STATUS,
                 status=500, times=1, message=None, delay=0.0, body=None,
                 content_type='application/atom+xml', headers=None):
        if kind not in KINDS:
            raise ValueError('fault kind must be one of %s' % ', '.join(KINDS))
        if nth < 1 or times < 1:
            raise ValueError('nth and times must be >= 1')
        self.method = method.upper() if method else None
        self.pattern = path
        self._regex = re.compile(path) if path else None
        self.nth = nth
        self.kind = kind
        self.status = 412 if kind == KIND_412 else int(status)
        self.times = times
        self.message = message
        self.delay = float(delay)
        if kind == KIND_BODY and not isinstance(body, bytes):
            raise ValueError("a 'body' fault needs body=<bytes>")
        if kind == KIND_OUTAGE and not self.delay > 0:
            raise ValueError("an 'outage' fault needs delay=<seconds> > 0")
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.seen = 0
        self.hits = []

    def matches(self, method, path):
        if self.method and self.method != method.upper():
            return False
        return self._regex is None or bool(self._regex.search(path))

    @property
    def done(self):
        return self.seen >= self.nth + self.times - 1

    def __repr__(self):
        return ('Fault(%s %s nth=%d kind=%s times=%d hits=%d)'
                % (self.method or '*', self.pattern or '*', self.nth,
                   self.kind, self.times, len(self.hits)))


class JobFault(object):
    """Makes the nth run(s) of a job operation fail."""

    def __init__(self, operation, nth=1, message=None, times=1):
        if nth < 1 or times < 1:
            raise ValueError('nth and times must be >= 1')
        self.operation = operation
        self.nth = nth
        self.times = times
        self.message = message or ('Injected failure of job %s' % operation)
        self.seen = 0
        self.hits = 0

    @property
    def done(self):
        return self.seen >= self.nth + self.times - 1


class FaultPlan(object):
    """The armed faults; thread-safe, consulted once per request."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._job_faults = []

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_job(self, job_fault):
        with self._lock:
            self._job_faults.append(job_fault)
        return job_fault

    def clear(self):
        with self._lock:
            self._faults = []
            self._job_faults = []

    @property
    def active(self):
        with self._lock:
            return list(self._faults) + list(self._job_faults)

    def check(self, method, path):
        """The fault to apply to this request, if any.

        Every armed fault that matches counts the request, even when an
        earlier fault already fires on it.
        """
        with self._lock:
            fired = None
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                fault.seen += 1
                if fault.nth <= fault.seen < fault.nth + fault.times:
                    fault.hits.append((method, path))
                    if fired is None:
                        fired = fault
                if fault.done:
                    self._faults.remove(fault)
            return fired

    def check_job(self, operation):
        """The failure message for this run of ``operation``, if any."""
        with self._lock:
            fired = None
            for jf in list(self._job_faults):
                if jf.operation != operation:
                    continue
                jf.seen += 1
                if jf.nth <= jf.seen < jf.nth + jf.times:
                    jf.hits += 1
                    if fired is None:
                        fired = jf.message
                if jf.done:
                    self._job_faults.remove(jf)
            return fired
