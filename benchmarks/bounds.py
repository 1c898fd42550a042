"""The declared bound of each measured operation: the requests it inherently
needs, each with its reason (DESIGN §8), independent of what the code sends.

An operation's bound is this list, with ``V`` the number of VIOSes that
carry the instance's ports (one update each, whatever the number of volumes
and fabrics) and ``J`` the WWPN jobs (at most eight pairs per job).  What a
bound leaves out on purpose:

* job templates (``GET .../do/<Operation>``): static, read once per session
  (``nova_npiv.job_requests``); the benchmark warms each session first;
* finished-job ``DELETE jobs/<id>``: pypowervm ignores its outcome, so it is
  sent off the operation's path; it is counted, in a column of its own, and
  must not exceed one per job run;
* a job's polls (``GET jobs/<id>``): inherent to an asynchronous job, the
  way a console runs every job, but their number is the console's time
  divided by ``[powervm] job_poll_interval`` (``nova_npiv.job_wait``), not
  something the driver chooses per operation; they are counted in a column
  of their own, and more than :func:`polls_expected` is noted.

``seq`` is the bound on sequential round trips: requests that can only be
sent once the previous one has answered (the POSTs to several VIOSes go in
parallel and count once).
"""

import math

#: Why a VIOS an operation does not change is read (one VIOS, not the feed).
_UNTOUCHED = ('a VIOS the remembered feed says carries nothing of the '
              'instance: nothing (no POST\'s etag check) proves that still '
              'holds, so it is read again (If-None-Match)')

#: operation -> [(method kind, count expression, reason)], seq bound.
#: A count expression is evaluated with V (touched VIOSes), N (VIOSes of
#: the system) and J (jobs).
BOUNDS = {
    'connector, first': ([
        ('PUT job:GetNextWWPNs', 'J',
         'the WWPN pairs of every fabric come from the platform, at most '
         '8 pairs per job'),
        ('GET VirtualIOServer', '1',
         'ports are chosen on the VIOSes\' NPIV capacity: one feed for all '
         'fabrics, read unless the last update\'s replies are at hand '
         '(then 0; their etags are checked by the POST)'),
        ('POST VirtualIOServer', 'V',
         'staging mappings, so the WWPNs log in before the LPAR exists: one '
         'update per touched VIOS'),
    ], '2 + J'),
    'connector, later': ([], '0'),
    'spawn': ([
        ('PUT LogicalPartition', '1', 'the LPAR create'),
        ('GET VirtualIOServer', 'N - V', _UNTOUCHED),
        ('POST VirtualIOServer', 'V',
         'staging swapped for instance mappings in one update per touched '
         'VIOS, written on the etags of the connector\'s replies (a GET '
         'only after a 412)'),
        ('PUT job:PowerOn', '1', 'the power-on job'),
    ], '3 + (N > V)'),
    'attach (running)': ([], '0'),
    'detach': ([], '0'),
    'delete': ([
        ('GET LogicalPartition', '1',
         'the instance\'s partition, proved by UUID, and its state'),
        ('PUT job:PowerOff', '1', 'the power-off job'),
        ('GET VirtualIOServer', 'N - V', _UNTOUCHED),
        ('POST VirtualIOServer', 'V',
         'instance and staging mappings removed, one update per touched '
         'VIOS, on the etags the last update left'),
        ('PUT job:CloseVterm', '1',
         'a console refuses to delete a partition with an open terminal'),
        ('DELETE LogicalPartition', '1', 'the LPAR delete'),
    ], '5 + (N > V)'),
    'LM: checks (both hosts)': ([
        ('GET VirtualIOServer', '2',
         "each host's feed: the destination's for the ports it offers the "
         "partner WWPNs, the source's for the client slots of "
         "MigrateValidate's VirtualFCMappings"),
        ('GET LogicalPartition', '1',
         "the partition's RMC state, DLPAR capability and MigrationState "
         "(pypowervm's can_lpm), before nova commits"),
        ('GET ManagedSystem', '1',
         'whether the destination system is on the source\'s own console: '
         'only then can MigrateValidate run before nova commits'),
        ('GET ManagementConsole', '1',
         'the source console\'s public key, offered to the destination '
         'in system_metadata'),
        ('PUT job:MigrateValidate', '1',
         'the platform\'s own check, with the real mappings'),
        ('GET job:MigrateValidate', '1',
         'its template, read by the first migration of a session'),
    ], '7'),
    'LM: destination connector': ([
        ('GET VirtualIOServer', '1',
         'ports for the partner WWPNs, chosen on current capacity'),
        ('POST VirtualIOServer', 'V', 'partner WWPNs staged here'),
    ], '2'),
    'LM: pre_live_migration': ([
        ('GET VirtualIOServer', '1',
         'the feed that decides the destination ports of the Migrate job'),
        ('POST VirtualIOServer', 'V',
         'partner staging removed before the platform moves the adapters'),
        ('GET ManagedSystem', '1',
         'whether the source system is on this console; if not, the '
         'source console\'s key is added to this console\'s trust'),
    ], '3'),
    'LM: live_migration (source)': ([
        ('GET LogicalPartition', '1', 'where the partition is, its state'),
        ('GET VirtualIOServer', '1',
         'the client slots of the source mappings, for VirtualFCMappings'),
        ('GET ManagedSystem', '1',
         'whether the target system is on this console: the Migrate job '
         'names the remote console only when it is not'),
        ('PUT job:Migrate', '1', 'the Migrate job'),
        ('GET job:Migrate', '1',
         'the Migrate template, read by the first migration of a session '
         '(the benchmark migrates once per session)'),
    ], '5'),
    'LM: post at destination': ([
        ('GET LogicalPartition', '1', 'the partition, now on this system'),
        ('GET VirtualIOServer', '1', 'the ports the platform mapped it to'),
    ], '2'),
}

#: Requests that are the session's housekeeping, off an operation's path.
DEFERRED = 'DELETE jobs'
#: A job's status reads while the console runs it.
POLLS = 'GET jobs'
#: Job runs: each may leave one deferred DELETE.
_JOB_PUT = 'PUT job:'


def _eval(expr, vioses, jobs, total):
    return int(eval(expr, {'__builtins__': {}},
                    {'V': vioses, 'J': jobs, 'N': total}))


def jobs_for(pairs):
    return int(math.ceil(pairs / 8.0)) if pairs else 0


def polls_expected(job_runs, job_seconds, interval):
    """Polls ``job_runs`` jobs of ``job_seconds`` each need at ``interval``.

    The first poll comes one interval after the PUT; one more poll than the
    quotient covers a job that ends just after a poll.
    """
    if not job_seconds:
        return 0
    return job_runs * (int(math.ceil(job_seconds / interval)) + 1)


def bound(operation, vioses, jobs=0, total=None):
    """{kind: count}, total and sequential bound of ``operation``.

    ``total``: the VIOSes of the system (default ``vioses``: all touched).
    """
    total = vioses if total is None else total
    requests, seq = BOUNDS[operation]
    kinds = {}
    for kind, count, _ in requests:
        kinds[kind] = kinds.get(kind, 0) + _eval(count, vioses, jobs, total)
    kinds = {k: v for k, v in kinds.items() if v}
    return kinds, sum(kinds.values()), _eval(seq, vioses, jobs, total)


def excess(operation, by_kind, vioses, jobs=0, total=None):
    """What ``by_kind`` (on-path requests) sends beyond the bound, in words."""
    kinds, _total, _seq = bound(operation, vioses, jobs, total)
    over = []
    for kind, count in sorted(by_kind.items()):
        if count > kinds.get(kind, 0):
            over.append('%s %d > %d' % (kind, count, kinds.get(kind, 0)))
    return over


def table():
    """Rows (operation, request, count, reason) of the declared bounds."""
    rows = []
    for operation, (requests, seq) in BOUNDS.items():
        if not requests:
            rows.append([operation, 'none', '0', 'nothing to send: the '
                         'records say everything is in place'])
        for kind, count, reason in requests:
            rows.append([operation, kind, count, reason])
        rows.append([operation, '(sequential)', seq, ''])
    return rows
