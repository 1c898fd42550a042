"""The simulator's vocabulary: names every layer shares.

Object kinds, partition and job states, the XML namespaces and extended
attribute groups of the REST API, the errors a request can end in, and the
few lxml helpers both the reading (``parse``, ``capture``) and the writing
(``render``) side use.  It imports nothing of the simulator, so every other
module can import it.
"""

import re

from lxml import etree

RUNNING = 'running'
NOT_ACTIVATED = 'not activated'
#: A partition whose PowerOn job is under way.
STARTING = 'starting'
#: A partition a Migrate job is moving (pypowervm's LPARState values),
#: and one whose migration failed until MigrateRecover.
MIGRATING_RUNNING = 'migrating running'
MIGRATING_NOT_ACTIVE = 'migrating not active'
#: LogicalPartition ``MigrationState`` values pypowervm names
#: (wrappers/logical_partition.py).  The simulator shows
#: ``Migration_Starting`` for the whole move: the console's intermediate
#: values are not captured.
NOT_MIGRATING = 'Not_Migrating'
MIGRATION_STARTING = 'Migration_Starting'
MIGRATION_FAILED = 'Migration_Failed'
#: ResourceMonitoringControlState of a partition RMC talks to.
RMC_ACTIVE = 'active'
RMC_INACTIVE = 'inactive'
VIOS_KIND = 'VirtualIOServer'
LPAR_KIND = 'LogicalPartition'
SYSTEM_KIND = 'ManagedSystem'
VFC_CLIENT_KIND = 'VirtualFibreChannelClientAdapter'
#: Partition kinds, the types that nest under ``ManagedSystem/<uuid>/``.
PARTITION_KINDS = (LPAR_KIND, VIOS_KIND)
ROOT_KINDS = (SYSTEM_KIND, LPAR_KIND, VIOS_KIND)

JOB_OK = 'COMPLETED_OK'
JOB_RUNNING = 'RUNNING'
JOB_FAILED = 'FAILED_BEFORE_COMPLETION'
#: How a console ends most failed jobs: the reason is the ``result`` in
#: Results (job_response_completed_failed.txt), not a ResponseException.
JOB_ERROR = 'COMPLETED_WITH_ERROR'
JOB_NOT_STARTED = 'NOT_STARTED'

#: Operations the simulated job service knows, per target type.
JOB_OPERATIONS = {
    SYSTEM_KIND: ('GetNextWWPNs',),
    LPAR_KIND: ('PowerOn', 'PowerOff', 'MigrateValidate', 'Migrate',
                'MigrateRecover', 'MigrateAbort', 'CloseVterm'),
    VIOS_KIND: ('PowerOn', 'PowerOff'),
}
#: The platform hands out at most this many WWPN pairs per job.
MAX_WWPN_PAIRS = 8

#: Client slots 0 and 1 are the virtual serial adapters and slot 2 is where
#: deployers usually put the first network adapter.
FIRST_CLIENT_SLOT = 3
#: Low VIOS slots hold SEA trunk adapters and the like on real systems.
FIRST_SERVER_SLOT = 11

UUID_RE = re.compile(
    r'[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-'
    r'[0-9A-Fa-f]{12}')
WWPN_RE = re.compile(r'^[0-9a-f]{16}$')

ATOM_NS = 'http://www.w3.org/2005/Atom'
UOM_NS = 'http://www.ibm.com/xmlns/systems/power/firmware/uom/mc/2012_10/'
WEB_NS = 'http://www.ibm.com/xmlns/systems/power/firmware/web/mc/2012_10/'

UOM_TYPE = 'application/vnd.ibm.powervm.uom+xml; type=%s'
WEB_TYPE = 'application/vnd.ibm.powervm.web+xml; type=%s'

XAG_FC_MAPPING = 'ViosFCMapping'
XAG_STORAGE = 'ViosStorage'
XAG_SCSI_MAPPING = 'ViosSCSIMapping'
XAG_NETWORK = 'ViosNetwork'
VIOS_XAGS = frozenset((XAG_FC_MAPPING, XAG_STORAGE, XAG_SCSI_MAPPING,
                       XAG_NETWORK))

#: For request bodies and captured files alike: no entities, no network.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True,
                         huge_tree=True, remove_blank_text=True)


class SimulatorError(Exception):
    """An API request the platform would refuse.

    The HTTP layer turns it into an error reply carrying an
    ``HttpErrorResponse`` whose message pypowervm puts into its exception.
    """

    def __init__(self, status, message, reason=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or {
            400: 'Bad request', 404: 'Not found', 409: 'Conflict',
            412: 'Precondition failed', 500: 'Internal error'}.get(
                status, 'Error')


def not_simulated(what):
    """The error for an endpoint the console has but the simulator lacks.

    Answered the way NovaLink answers an operation it does not support:
    HTTP 500 "Internal Server Error" with an HttpErrorResponse (pypowervm
    issue #10: ``GET .../do/GetNextWWPNs`` on a NovaLink that lacks the
    operation).  That an HMC answers the same is assumed.  Never 404: every
    client reads 404 as "the object does not exist".
    """
    return SimulatorError(500, '%s is not implemented by the PowerVM REST '
                          'simulator' % what, reason='Internal Server Error')


class JobFailure(Exception):
    """A job that was accepted but failed; its message goes in the reply."""


#: What a console says of a migration that stopped part way (HMC wording
#: from IBM's message reference; not captured, NovaLink's assumed alike).
MIGRATION_STOPPED = ('HSCL365C The partition migration has been stopped '
                     'unexpectedly. Perform a migration recovery for this '
                     'partition, if necessary.')


class MidwayFailure(str):
    """An injected job failure that strikes after the work began.

    For a Migrate: the partition is left ``Migration_Failed`` on the source
    until a MigrateRecover, as a console leaves a migration that stopped
    part way.  Other operations fail as with a plain message.
    """


class Groups(object):
    """The extended attribute groups a request asked for.

    No ``group`` query parameter means the server's default, which is every
    group; ``group=None`` means the base object only.
    """

    def __init__(self, raw):
        self.raw = raw
        if raw is None or raw == 'All':
            self.names = None
        elif raw in ('', 'None'):
            self.names = frozenset()
        else:
            self.names = frozenset(g for g in raw.split(',') if g)

    def __contains__(self, name):
        return self.names is None or name in self.names

    @property
    def key(self):
        return 'ALL' if self.names is None else ','.join(sorted(self.names))


def uuid_from_href(href):
    """The last UUID in an href or path, with its case kept."""
    if not href:
        return None
    found = UUID_RE.findall(href.split('?', 1)[0])
    return found[-1] if found else None


def normalize_wwpn(value):
    return str(value).replace(':', '').strip().lower()


#: (namespace, tag) -> '{ns}tag', shared by the renderer's hot path.
QNAMES = {}


def qname(tag, ns=UOM_NS):
    """``{ns}tag``, interned: rendering a large feed asks for many."""
    try:
        return QNAMES[ns, tag]
    except KeyError:
        return QNAMES.setdefault((ns, tag), '{%s}%s' % (ns, tag))


def text(elem, path, ns=UOM_NS):
    """The stripped text at ``path`` (``A/B``) below ``elem``, or None."""
    if elem is None:
        return None
    qpath = '/'.join(qname(p, ns) for p in path.split('/'))
    found = elem.find(qpath)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def int_or_none(value):
    try:
        return int(value) if value not in (None, '') else None
    except ValueError:
        raise SimulatorError(400, 'Expected a number, got %r' % value)


#: The managed systems' logical memory block (``MemoryRegionSize``): partition
#: memory is allotted in multiples of it.
MEMORY_REGION_MB = 256
