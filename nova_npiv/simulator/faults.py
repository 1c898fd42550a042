"""Fault injection for the simulator's HTTP layer and job service.

A fault counts the requests that match it from the moment it is armed and
fires on exactly the ``nth`` of them (and the ``times - 1`` that follow), so a
test can aim at "the second VIOS POST" without caring what else is sent.

A busy VIOS (``vios_busy``) is the console refusing a request because the
Virtual I/O Server is in the middle of another, mutually exclusive one: HTTP
500 with an ``HttpErrorResponse`` whose message carries the HMC's
``HSCL3205`` or the VIOS's ``VIOS0014`` code (what pypowervm's
``HttpError.is_vios_busy`` looks for) in the words of the captured reply
``pypowervm/tests/data/fake_httperror.txt``.  Nothing is carried out, so a
client may send the same request again.  Besides the counted fault,
:class:`BusyVios` makes VIOS writes busy in the background: every Nth, or
each with a probability.
"""

import random
import re
import threading

from nova_npiv.simulator import vocab

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
#: The VIOS is busy: HTTP 500 with the busy reply; nothing is carried out.
KIND_BUSY = 'vios_busy'
#: The request goes on; if it is a VIOS update that adds or removes client
#: adapters of an active partition (DLPAR, see ``dlpar``), the DLPAR fails
#: (HTTP 500, nothing changed), or takes ``delay`` seconds more.  A request
#: that does no DLPAR is counted but left alone (the fault has no hits).
KIND_DLPAR_FAIL = 'dlpar_fail'
KIND_SLOW_DLPAR = 'slow_dlpar'
DLPAR_KINDS = (KIND_DLPAR_FAIL, KIND_SLOW_DLPAR)
#: From this request on a VIOS is in error (``Model.set_vios_error``): the
#: one the path names, else the first of the addressed (or first) managed
#: system; the request then meets it.  It stays in error for ``delay``
#: seconds, or (0) until cleared.
KIND_VIOS_ERROR = 'vios_error'
#: From this request on RMC is down on every running client LPAR of the
#: console (``Model.set_rmc_down``): the partitions' RSCT daemons or their
#: network are lost, as happens to a running partition at any moment.  A
#: DLPAR on such a partition and its migration are then refused.  It lasts
#: ``delay`` seconds, or (0) until ``set_rmc_down(False)``; the request
#: then meets it.
KIND_RMC_DOWN = 'rmc_down'
KINDS = (KIND_STATUS, KIND_DROP, KIND_412, KIND_DELAY, KIND_LOST_REPLY,
         KIND_BODY, KIND_OUTAGE, KIND_BUSY) + DLPAR_KINDS + (
             KIND_VIOS_ERROR, KIND_RMC_DOWN)

#: The busy codes pypowervm recognises (wrappers/http_error.py): HSCL3205
#: from an HMC, VIOS0014 from the VIOS itself, which is what a NovaLink
#: relays.  Which console uses which code is assumed, not captured.
BUSY_CODES = {'hmc': 'HSCL3205', 'novalink': 'VIOS0014'}
#: The ReasonCode of the captured busy reply.
BUSY_REASON = 'Unknown internal error.'
#: VIOS writes: a POST of a VirtualIOServer entry (its SELF path, at the
#: root or nested under a managed system).
_VIOS_WRITE = re.compile(r'/VirtualIOServer/[0-9A-Fa-f-]{36}$')


def busy_message(console, mtms, vios_id):
    """The Message of a busy reply, as fake_httperror.txt words it.

    :param console: ``hmc`` or ``novalink`` (chooses the code).
    :param mtms: the managed system's ``<type>-<model>*<serial>``.
    :param vios_id: the VIOS's partition id.
    """
    return ('Unexpected error occurred while updating VirtualIOServer '
            'information : %(mtms)s/%(id)s : %(code)s Unable to send command '
            'to VIOS at this moment. VIOS %(id)s*%(mtms)s is busy processing '
            'some other request. Please retry the operation after sometime.'
            % {'mtms': mtms, 'id': vios_id, 'code': BUSY_CODES[console]})


def put_in_error(model, vios, message, seconds=0.0):
    """Put ``vios`` (a live ViosState) in error, for ``seconds`` (0: until
    cleared), as a ``vios_error`` fault does; call without the model lock.

    Back out of error the VIOS is as it was: an error that is over is
    indistinguishable from none.
    """
    with model.lock:
        vios.error = message
        model.touch(vios)
    if seconds > 0:
        timer = threading.Timer(seconds, _out_of_error, (model, vios,
                                                         message))
        timer.daemon = True
        timer.start()


def rmc_lost(model, seconds=0.0):
    """RMC down on every running client LPAR, for ``seconds`` (0: until
    ``model.set_rmc_down(False)``), as an ``rmc_down`` fault does; call
    without the model lock."""
    model.set_rmc_down(True)
    if seconds > 0:
        timer = threading.Timer(seconds, model.set_rmc_down, (False,))
        timer.daemon = True
        timer.start()


def _out_of_error(model, vios, message):
    with model.lock:
        if vios.error == message:
            vios.error = None
            model.touch(vios)


class BusyVios(object):
    """Background busy VIOSes: VIOS writes answered busy now and then.

    ``every``: every Nth VIOS write is busy (0: never); ``probability``:
    otherwise each VIOS write is busy with this probability, drawn from a
    generator seeded with ``seed`` so that a run can be repeated.  Each
    busy reply is counted in ``hits``.
    """

    def __init__(self, every=0, probability=0.0, seed=1):
        every, probability = int(every), float(probability)
        if every < 0:
            raise ValueError('vios_busy every must be >= 0, not %d' % every)
        if not 0.0 <= probability <= 1.0:
            raise ValueError('vios_busy probability must be from 0 to 1, '
                             'not %s' % probability)
        self.every = every
        self.probability = probability
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.writes = 0
        self.hits = 0

    @classmethod
    def from_spec(cls, spec):
        """From a topology's ``vios_busy`` ({'every', 'probability',
        'seed'}), or None when the topology has none."""
        if not spec:
            return None
        if not isinstance(spec, dict):
            raise ValueError('topology: vios_busy must be a dict with '
                             'every, probability and/or seed, not %r'
                             % (spec,))
        unknown = set(spec) - {'every', 'probability', 'seed'}
        if unknown:
            raise ValueError('topology: vios_busy has unknown keys %s'
                             % ', '.join(sorted(unknown)))
        return cls(spec.get('every', 0), spec.get('probability', 0.0),
                   spec.get('seed', 1))

    @staticmethod
    def is_vios_write(method, path):
        return method == 'POST' and bool(_VIOS_WRITE.search(path))

    def fires(self, method, path):
        """Whether this request is answered busy."""
        if not self.is_vios_write(method, path):
            return False
        with self._lock:
            self.writes += 1
            busy = bool(self.every and self.writes % self.every == 0)
            if not busy and self.probability:
                busy = self._random.random() < self.probability
            if busy:
                self.hits += 1
            return busy


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
        if kind in (KIND_OUTAGE, KIND_SLOW_DLPAR) and not self.delay > 0:
            raise ValueError("an '%s' fault needs delay=<seconds> > 0"
                             % kind)
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
    """Makes the nth run(s) of a job operation fail.

    ``midway``: the failure strikes after the work began (see
    :class:`~nova_npiv.simulator.vocab.MidwayFailure`): a Migrate leaves
    its partition ``Migration_Failed`` until a MigrateRecover.
    """

    def __init__(self, operation, nth=1, message=None, times=1,
                 midway=False):
        if nth < 1 or times < 1:
            raise ValueError('nth and times must be >= 1')
        self.operation = operation
        self.nth = nth
        self.times = times
        if midway:
            self.message = vocab.MidwayFailure(
                message or (vocab.MIGRATION_STOPPED if operation == 'Migrate'
                            else 'Injected failure of job %s' % operation))
        else:
            self.message = message or ('Injected failure of job %s'
                                       % operation)
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
                    # A DLPAR fault hits only if the request does DLPAR:
                    # the DLPAR plan records that.
                    if fault.kind not in DLPAR_KINDS:
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
