"""The request handlers of ``/rest/api/uom`` (moto's ``responses``).

:class:`Responses` answers one routed request (see
:mod:`~nova_npiv.simulator.urls`) from the model: feeds, entries and
searches with their etags, updates, LPAR create and delete, jobs, the quick
API and the vFC client adapter children.  It reads bodies with ``parse``,
renders with ``render`` and keeps the rendered entries of unchanged objects
in an :class:`EntryCache`.  Authentication, faults and the instruments are
the server's.
"""

import collections
import dataclasses
import json
import re
import threading
import urllib.parse
import uuid as uuidlib
import zlib

from nova_npiv.simulator import dlpar
from nova_npiv.simulator import parse
from nova_npiv.simulator import render
from nova_npiv.simulator import render_jobs
from nova_npiv.simulator import responses_console
from nova_npiv.simulator import responses_pools
from nova_npiv.simulator import vocab
from nova_npiv.simulator.replies import atom_reply
from nova_npiv.simulator.replies import Reply
from nova_npiv.simulator.vocab import SimulatorError

UOM = '/rest/api/uom/'
_SEARCH_KEYS = {
    vocab.LPAR_KIND: {'PartitionName': 'name', 'PartitionID': 'id'},
    vocab.VIOS_KIND: {'PartitionName': 'name', 'PartitionID': 'id'},
    vocab.SYSTEM_KIND: {'SystemName': 'name'},
}
_SEARCH_RE = re.compile(r"^\((\w+)(==|!=)'?(.*?)'?\)$")
_CACHE_SIZE = 1024


@dataclasses.dataclass
class Request:
    """One routed request.  ``sysm`` is the system of a nested path."""
    method: str
    path: str
    query: str
    body: bytes
    headers: object
    base: str            # http://host:port as the client addressed us
    sysm: object = None
    prefix: str = UOM    # UOM, or UOM + 'ManagedSystem/<uuid>/'
    #: An armed dlpar_fail/slow_dlpar fault that matched this request.
    dlpar_fault: object = None

    @property
    def groups(self):
        params = urllib.parse.parse_qs(self.query, keep_blank_values=True)
        return vocab.Groups(params['group'][0] if 'group' in params
                            else None)

    def coll(self, kind):
        return self.base + self.prefix + kind

    def self_href(self, kind, uuid):
        return '%s/%s%s' % (self.coll(kind), uuid,
                            '?' + self.query if self.query else '')


class EntryCache(object):
    """Rendered Atom entries, kept while the object's etag holds.

    Only the current version of each (object, view) is kept: a VIOS with
    thousands of mappings renders to a large tree.
    """

    def __init__(self, size=_CACHE_SIZE):
        self.size = size
        self._lock = threading.Lock()
        self._entries = collections.OrderedDict()

    def get(self, key, etag):
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == etag:
                self._entries.move_to_end(key)
                return cached[1]
        return None

    def put(self, key, etag, elem):
        with self._lock:
            self._entries[key] = (etag, elem)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class Responses(responses_console.ConsoleHandlers,
                responses_pools.PoolHandlers):
    """The handlers; each takes the :class:`Request` and the route's args.

    :param model: the :class:`~nova_npiv.simulator.model.Model`.
    :param job_fault: ``operation -> failure message or None`` (the
                      server's armed job faults).
    :param job_polls: ``() -> int``, how many polls a new job answers
                      RUNNING before its outcome.
    :param job_seconds: ``() -> float``, how long a new job's work takes
                        (0: done during the PUT).
    """

    def __init__(self, model, job_fault=None, job_polls=None,
                 lenient_nested=None, job_seconds=None, dlpar_seconds=None):
        self.model = model
        self.dlpar_seconds = dlpar_seconds or (lambda: 0.0)
        self.job_fault = job_fault or (lambda operation: None)
        self.job_polls = job_polls or (lambda: 0)
        self.job_seconds = job_seconds or (lambda: 0.0)
        #: A lenient HMC serves a nested entry GET of a partition on any
        #: system (see ``Simulator.lenient_nested``).
        self.lenient_nested = lenient_nested or (lambda: False)
        self.cache = EntryCache()

    # -- lookups and rendering -------------------------------------------
    def find(self, kind, sysm, uuid):
        if kind == vocab.SYSTEM_KIND:
            obj = self.model.find_system(uuid)
            if obj is not None and obj.uuid.lower() != uuid.lower():
                obj = None
        else:
            obj = self.model.find_partition(kind, uuid, sysm)
        if obj is None:
            raise SimulatorError(404, '%s %s not found' % (kind, uuid))
        return obj

    def _objects(self, kind, sysm):
        if kind == vocab.SYSTEM_KIND:
            return self.model.system_states()
        return self.model.partition_states(kind, sysm)

    def entry_elem(self, obj, kind, self_href, groups, base):
        """The Atom entry of one object, from the cache while it holds."""
        key = (kind, obj.uuid, groups.key, self_href)
        elem = self.cache.get(key, obj.etag)
        if elem is not None:
            return elem
        if kind == vocab.VIOS_KIND:
            content = render.vios(obj, self.model, base, groups)
        elif kind == vocab.LPAR_KIND:
            content = render.lpar(obj, self.model, base, groups)
        else:
            content = render.system(obj, self.model, base)
        elem = render.entry(obj.uuid, kind, self_href, content,
                            vocab.UOM_TYPE % kind, etag=obj.etag)
        self.cache.put(key, obj.etag, elem)
        return elem

    def _entry_reply(self, req, obj, kind, groups=None, status=200):
        elem = self.entry_elem(obj, kind, req.self_href(kind, obj.uuid),
                               groups or req.groups, req.base)
        return atom_reply(elem, status, etag=obj.etag)

    def _feed_reply(self, req, objs, kind, headers, feed_href):
        etag = str(zlib.crc32(' '.join('%s:%s' % (o.uuid, o.etag)
                                       for o in objs).encode()))
        if not objs:
            return Reply(204)
        if headers.get('If-None-Match') == etag:
            return Reply(304, headers={'etag': etag})
        groups = req.groups
        entries = [self.entry_elem(obj, kind, req.self_href(kind, obj.uuid),
                                   groups, req.base) for obj in objs]
        # The cached entries are lent to the feed for serialisation and
        # taken back (the model lock is held), which spares copying large
        # VIOS trees on every read.
        feed = render.feed(feed_href, entries)
        try:
            body = render.tostring(feed)
        finally:
            for elem in entries:
                feed.remove(elem)
        return Reply(200, body, {'Content-Type': 'application/atom+xml',
                                 'etag': etag})

    # -- answers for paths that exist but are not served --------------------
    def not_allowed(self, req, kind, uuid=None):
        raise SimulatorError(405, '%s not supported on %s'
                             % (req.method, req.path))

    def search_not_allowed(self, req, kind):
        raise SimulatorError(405, 'Search supports GET only')

    def unknown_child(self, req, kind, uuid):
        # A child, suffix or operation the simulator lacks: 404 only when
        # the object itself does not exist.
        with self.model.lock:
            self.find(kind, req.sysm, uuid)
        raise vocab.not_simulated('%s %s' % (req.method,
                                             req.path[len(UOM):]))

    def unknown_type(self, req, kind):
        raise vocab.not_simulated('Resource type %s' % kind)

    def uom_root(self, req):
        raise vocab.not_simulated(req.path)

    # -- reads -----------------------------------------------------------
    def feed(self, req, kind):
        coll = req.coll(kind)
        with self.model.lock:
            objs = self._objects(kind, req.sysm)
            if kind == vocab.VIOS_KIND:
                objs = self._healthy(req, objs)
            return self._feed_reply(req, objs, kind, req.headers, coll + (
                '?' + req.query if req.query else ''))

    @staticmethod
    def _healthy(req, vioses, skip=None):
        """The VIOSes a read may render: one in error fails the read.

        A console cannot assemble a VIOS in error, and a feed holding one
        fails whole (IBM's HMC client adds ``ignoreError=true`` to VIOS
        feeds to skip such VIOSes instead, which the console honours).  The
        reply's text is assumed, not captured.
        """
        params = urllib.parse.parse_qs(req.query)
        if skip is None:
            skip = params.get('ignoreError', [''])[0].lower() == 'true'
        out = []
        for vios in vioses:
            if getattr(vios, 'error', None) is None:
                out.append(vios)
            elif not skip:
                raise SimulatorError(
                    500, 'Unable to retrieve the data of the Virtual I/O '
                    'Server %s (ID %d): %s' % (vios.name, vios.id,
                                               vios.error))
        return out

    def search(self, req, kind, expr):
        match = _SEARCH_RE.match(expr)
        if not match:
            raise SimulatorError(400, 'Malformed search %r' % expr)
        key, op, value = match.groups()
        attr = _SEARCH_KEYS[kind].get(key)
        if attr is None:
            raise SimulatorError(400, 'Unsupported search key %s for %s'
                                 % (key, kind))
        with self.model.lock:
            objs = [o for o in self._objects(kind, req.sysm)
                    if (str(getattr(o, attr)) == value) == (op == '==')]
            return self._feed_reply(req, objs, kind, {}, '%s/search/%s'
                                    % (req.coll(kind), expr))

    def get_entry(self, req, kind, uuid):
        sysm = req.sysm
        if self.lenient_nested() and kind != vocab.SYSTEM_KIND:
            sysm = None
        with self.model.lock:
            obj = self.find(kind, sysm, uuid)
            if kind == vocab.VIOS_KIND:
                self._healthy(req, [obj], skip=False)
            if req.headers.get('If-None-Match') == obj.etag:
                return Reply(304, headers={'etag': obj.etag})
            return self._entry_reply(req, obj, kind)

    def vfc_client_adapters(self, req, kind, uuid, adapter=None):
        child_kind = vocab.VFC_CLIENT_KIND
        with self.model.lock:
            lpar = self.find(vocab.LPAR_KIND, req.sysm, uuid)
            if req.method != 'GET':
                # Client adapters change through the VIOS mappings here; a
                # write to the child is not served (nor read as a GET).
                raise vocab.not_simulated('%s of a %s' % (req.method,
                                                          child_kind))
            child = '%s/%s/%s' % (req.coll(kind), uuid, child_kind)
            entries = []
            for vios, m in self.model.client_maps(lpar):
                auuid = render.client_adapter_uuid(lpar, m.client_slot)
                if adapter is not None and adapter.lower() != auuid:
                    continue
                entries.append(render.entry(
                    auuid, child_kind, '%s/%s%s' % (
                        child, auuid, '?' + req.query if req.query else ''),
                    render.vfc_client_adapter(lpar, vios, m),
                    vocab.UOM_TYPE % child_kind, etag=lpar.etag))
            if adapter is not None:
                if not entries:
                    raise SimulatorError(404, 'No such client adapter')
                return atom_reply(entries[0], etag=lpar.etag)
            if not entries:
                return Reply(204)
            return atom_reply(render.feed(child, entries))

    def quick(self, req, kind, uuid, prop=None):
        """``<partition>/quick[/All|/<Property>]``: small JSON replies.

        ``All`` (or no property) is a JSON object; one property is its bare
        JSON value (a string in double quotes), which pypowervm's callers
        ``json.loads``.  Errors stay Atom HttpErrorResponses.
        """
        if req.method != 'GET':
            raise SimulatorError(405, 'The quick API supports GET only')
        with self.model.lock:
            props = render.quick_properties(self.find(kind, req.sysm, uuid),
                                            req.base)
        name = prop or 'All'
        if name == 'All':
            value = props
        elif name in props:
            value = props[name]
        else:
            raise SimulatorError(
                400, 'Unknown quick property %s of %s (known: %s)'
                % (name, kind, ', '.join(sorted(props))))
        return Reply(200, json.dumps(value).encode(),
                     {'Content-Type': 'application/json'})

    # -- writes ----------------------------------------------------------
    def update(self, req, kind, uuid):
        if_match = req.headers.get('If-Match')
        groups = req.groups
        with self.model.lock:
            obj = self.find(kind, req.sysm, uuid)
            if kind != vocab.SYSTEM_KIND and not if_match:
                # A console takes an update only against the version it was
                # read at: without If-Match it cannot tell a lost update.
                raise SimulatorError(
                    400, 'An update of a %s must carry If-Match with the '
                    'etag it was read at' % kind)
            outcome = None
            if kind == vocab.VIOS_KIND:
                posted = parse.parse_vios_update(req.body, groups)
                outcome = self.model.update_vios(
                    obj, if_match, posted, dlpar_seconds=self.dlpar_seconds(),
                    dlpar_fault=req.dlpar_fault)
            elif kind == vocab.LPAR_KIND:
                self.model.update_lpar(obj, if_match,
                                       parse.parse_lpar(req.body))
            else:
                raise SimulatorError(
                    400, 'Updating a ManagedSystem is not simulated')
            reply = (self._entry_reply(req, obj, kind, groups)
                     if outcome is None or outcome.error is None else None)
        # The DLPAR time passes without the lock: the rest of the console
        # answers meanwhile, only this update's reply waits.
        dlpar.finish(outcome)
        if outcome is not None:
            reply.dlpar = len(outcome.operations)
        return reply

    def create_lpar(self, req, kind):
        fields = parse.parse_lpar(req.body)
        with self.model.lock:
            sysm = req.sysm
            if sysm is None:
                systems = self.model.system_states()
                if len(systems) != 1:
                    raise SimulatorError(
                        400, 'Create the partition under '
                        'ManagedSystem/<uuid>/LogicalPartition: this console '
                        'manages %d systems' % len(systems))
                sysm = systems[0]
            lpar = self.model.create_lpar(sysm, fields)
            return self._entry_reply(req, lpar, vocab.LPAR_KIND,
                                     vocab.Groups(None))

    def delete(self, req, kind, uuid):
        with self.model.lock:
            obj = self.find(kind, req.sysm, uuid)
            if kind == vocab.SYSTEM_KIND:
                # A managed system leaves a console's management by other
                # means (an HMC's rmsysconn); its object is not deleted.
                raise SimulatorError(405, 'DELETE not supported on %s'
                                     % req.path)
            if kind != vocab.LPAR_KIND:
                # A console deletes a VIOS partition too; the simulator
                # does not (and never answers 404 for an object it has).
                raise vocab.not_simulated('DELETE of a %s' % kind)
            self.model.delete_partition(obj, req.headers.get('If-Match'))
        return Reply(204)

    # -- jobs ------------------------------------------------------------
    def job(self, req, kind, uuid, operation):
        if req.method == 'GET':
            self.model.job_target(kind, uuid, operation, req.sysm)
            elem = render.entry(
                str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, operation)),
                'JobRequest', None, render_jobs.job_request(operation, kind),
                vocab.WEB_TYPE % 'JobRequest')
            return atom_reply(elem)
        if req.method != 'PUT':
            raise SimulatorError(405, 'Jobs are read (GET) and run (PUT)')
        op, _group, params = parse.parse_job_request(req.body)
        if op != operation:
            raise SimulatorError(
                400, 'JobRequest operation %s does not match the URI (%s)'
                % (op, operation))
        fail = self.job_fault(operation)
        job = self.model.run_job(kind, uuid, operation, params,
                                 fail_message=fail, polls=self.job_polls(),
                                 sysm=req.sysm,
                                 seconds=self._seconds(operation))
        return self._job_reply(job, req.base)

    def _seconds(self, operation):
        """``job_seconds``: one duration, or ``{operation: seconds}`` with
        ``'*'`` for the others."""
        seconds = self.job_seconds()
        if isinstance(seconds, dict):
            return float(seconds.get(operation, seconds.get('*', 0.0)))
        return seconds

    def _job_reply(self, job, base):
        # An asynchronous job answers its own status (NOT_STARTED, then
        # RUNNING); ``job_polls`` makes a finished one answer RUNNING.
        status = (vocab.JOB_RUNNING if job.polls_left > 0 and
                  job.pending is None else None)
        elem = render.entry(
            str(uuidlib.uuid5(uuidlib.NAMESPACE_OID, 'job/' + job.job_id)),
            'JobResponse', '%s%sjobs/%s' % (base, UOM, job.job_id),
            render_jobs.job_response(job, base, status),
            vocab.WEB_TYPE % 'JobResponse')
        return atom_reply(elem)

    def _job_record(self, job_id):
        job = self.model.get_job(job_id)
        if job is None:
            raise SimulatorError(404, 'Job %s not found' % job_id)
        return job

    def job_without_id(self, req):
        raise SimulatorError(404, 'Give a job ID')

    def job_delete(self, req, job_id):
        job = self._job_record(job_id)
        if job.polls_left > 0 or job.pending is not None:
            raise SimulatorError(400, 'Job %s is running and cannot be '
                                 'deleted' % job.job_id)
        self.model.delete_job(job.job_id)
        return Reply(204)

    def job_poll(self, req, job_id):
        job = self._job_record(job_id)
        with self.model.lock:
            if job.polls_left > 0:
                job.polls_left -= 1
                if job.polls_left == 0 and job.pending is not None:
                    # An asynchronous job with counted polls: its work is
                    # done at its last one, whatever the clock says.
                    self.model.job_service.finish(job.job_id)
            self.model.job_service.poll(job)
            return self._job_reply(job, req.base)

    def job_cancel(self, req, job_id):
        job = self._job_record(job_id)
        with self.model.lock:
            job.polls_left = 0
            self.model.job_service.cancel(job)
            return self._job_reply(job, req.base)

    def job_not_allowed(self, req, job_id):
        self._job_record(job_id)
        raise SimulatorError(405, '%s not supported on jobs' % req.method)
