"""What the simulator records of each request: the request log's entry and
the resource kind it is counted under.

The benchmarks' round-trip tables are these counts, so the kind of a path
is decided in one place, apart from the server that serves it.
"""

import dataclasses
import re

_UOM = '/rest/api/uom/'
_LOGON = '/rest/api/web/Logon'
_KIND_RE = re.compile(r'^[A-Z][A-Za-z]+$')


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
    #: DLPAR operations of a VIOS update (client adapters added to or
    #: removed from active partitions).
    dlpar: int = 0
    #: time.monotonic() when the request arrived: which requests of an
    #: operation overlapped (sequential round trips, benchmarks).
    started: float = 0.0


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
