"""The route table of ``/rest/api/uom``: (method, path regex) -> handler.

Like moto's ``url_paths``: adding an endpoint is one row here plus one
handler in :mod:`~nova_npiv.simulator.responses`.  Rows are tried in order
and the first whose method and regex match wins; ``ANY`` rows after the
specific ones give the "method not allowed" and "not simulated" answers of
a path that exists.  Paths are matched without the ``/rest/api/uom/``
prefix and, for partitions nested as ``ManagedSystem/<uuid>/<Kind>/...``,
without that prefix either (see :data:`NESTED`); every segment is
URL-decoded, a ``/`` inside one kept as ``%2F``.
"""

import collections
import re
import urllib.parse

from nova_npiv.simulator import responses

ANY = None

Route = collections.namedtuple('Route', 'method regex handler')
Match = collections.namedtuple('Match', 'handler args nested_system rest')

_KIND = r'(?P<kind>ManagedSystem|LogicalPartition|VirtualIOServer)'
_PART = r'(?P<kind>LogicalPartition|VirtualIOServer)'
_UUID = r'(?P<uuid>[^/]+)'
_JOB = r'(?P<job_id>[^/]+)'

#: ``ManagedSystem/<uuid>/`` in front of a partition type: the request is
#: answered for that system only.
NESTED = re.compile(r'ManagedSystem/(?P<system>[^/]+)/'
                    r'(?=(LogicalPartition|VirtualIOServer)(/|$))')

_R = responses.Responses
_TABLE = (
    # The job service.
    (ANY, r'jobs', _R.job_without_id),
    ('DELETE', r'jobs/' + _JOB, _R.job_delete),
    ('GET', r'jobs/' + _JOB, _R.job_poll),
    ('POST', r'jobs/' + _JOB + r'/cancel', _R.job_cancel),
    (ANY, r'jobs/' + _JOB + r'(/.*)?', _R.job_not_allowed),
    # Collections.
    ('GET', _KIND, _R.feed),
    ('PUT', r'(?P<kind>LogicalPartition)', _R.create_lpar),
    (ANY, _KIND, _R.not_allowed),
    ('GET', _KIND + r'/search/(?P<expr>[^/]+)', _R.search),
    (ANY, _KIND + r'/search(/.*)?', _R.search_not_allowed),
    # Operations and children of one object.
    (ANY, _KIND + '/' + _UUID + r'/do/(?P<operation>[^/]+)', _R.job),
    (ANY, _PART + '/' + _UUID + r'/quick(/(?P<prop>[^/]+))?', _R.quick),
    (ANY, r'(?P<kind>LogicalPartition)/' + _UUID +
     r'/VirtualFibreChannelClientAdapter(/(?P<adapter>[^/]+))?',
     _R.vfc_client_adapters),
    # A managed system's shared processor pools (read-only).
    ('GET', r'ManagedSystem/' + _UUID + r'/SharedProcessorPool',
     _R.pool_feed),
    ('GET', r'ManagedSystem/' + _UUID + r'/SharedProcessorPool/'
     r'(?P<pool>[^/]+)', _R.pool_get),
    (ANY, r'ManagedSystem/' + _UUID + r'/SharedProcessorPool(/[^/]+)?',
     _R.pool_not_allowed),
    # One object.
    ('GET', _KIND + '/' + _UUID, _R.get_entry),
    ('POST', _KIND + '/' + _UUID, _R.update),
    ('DELETE', _KIND + '/' + _UUID, _R.delete),
    (ANY, _KIND + '/' + _UUID, _R.not_allowed),
    (ANY, _KIND + '/' + _UUID + r'/.+', _R.unknown_child),
    # The console itself (its SSH keys: remote migration).
    ('GET', r'ManagementConsole', _R.console_feed),
    ('GET', r'ManagementConsole/' + _UUID, _R.console_get),
    ('POST', r'ManagementConsole/' + _UUID, _R.console_update),
    (ANY, r'ManagementConsole(/' + _UUID + ')?', _R.console_not_allowed),
    # Everything else under /rest/api/uom exists on a console.
    (ANY, r'', _R.uom_root),
    (ANY, r'(?P<kind>[^/]+)(/.*)?', _R.unknown_type),
)

ROUTES = tuple(Route(method, re.compile(regex + r'\Z'), handler)
               for method, regex, handler in _TABLE)


def local_path(path_after_uom):
    """The decoded segments of a path, joined again for matching."""
    segs = [urllib.parse.unquote(s) for s in path_after_uom.split('/') if s]
    return '/'.join(s.replace('/', '%2F') for s in segs)


def resolve(method, path_after_uom, routes=ROUTES):
    """The :class:`Match` for a request, or None when no row matches.

    ``nested_system`` is the system key of a nested path (None at the
    root); ``args`` are the handler's keyword arguments, decoded.
    """
    local = local_path(path_after_uom)
    system = None
    nested = NESTED.match(local)
    if nested is not None:
        system = _decode(nested.group('system'))
        local = local[nested.end():]
    for route in routes:
        if route.method is not None and route.method != method:
            continue
        found = route.regex.match(local)
        if found is not None:
            args = {k: _decode(v) for k, v in found.groupdict().items()
                    if v is not None}
            return Match(route.handler, args, system, local)
    return None


def _decode(value):
    return value.replace('%2F', '/')
