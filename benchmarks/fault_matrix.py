"""nova-npiv fault-injection matrix on the embedded simulator (issue 7).

For spawn (connector + spawn, 2 volumes on 2 fabrics), attach, attach to a
fabric configured after the boot, detach, delete, delete before spawn, live
migration, resize and resize revert: learn the operation's REST request
sequence from a clean run, then re-run it in a fresh simulator once per
request index and fault kind with exactly that request failing:

* ``500``: HTTP 500 instead of the reply; nothing done;
* ``drop``: the connection closes before the request is carried out;
* ``412x3``: three etag conflicts in a row, then the request goes through;
* ``job``: the job ends COMPLETED_WITH_ERROR (job runs only);
* ``lost_reply``: the request is carried out, then the connection closes
  before the reply (the change landed; the driver cannot know);
* ``bad_xml``, ``entities``: instead of carrying the request out, the
  console answers 200 with malformed XML, or with a document declaring
  entities (refused unparsed);
* the strict console's own failures (issues 13 and 14): ``vios_busy`` (HTTP
  500 HSCL3205/VIOS0014 at a VIOS write, which pypowervm's busy helper
  retries), ``job_mid`` (every job of the run asynchronous, the aimed one
  answering NOT_STARTED and ending COMPLETED_WITH_ERROR on a later poll),
  ``vios_error`` (at a VIOS feed read, a VIOS goes into error for a second:
  the read and what follows meet it; judged like double faults),
  ``dlpar_fail`` and ``slow_dlpar`` (at the VIOS writes that added or
  removed client adapters of a running partition in the clean run: the
  DLPAR fails leaving everything as it was, or takes half a second more),
  ``rmc_down`` (at any request, RMC of the client partitions is lost
  until brought back before the retry).

Each run must keep the invariant (see ``nova_npiv/testing/invariants.py``):
completed as a clean run does, or failed with everything as before or as
the operation's clean rollback leaves it; metadata agreeing with the VIOSes,
no staging leftover, no orphan, NPIV capacity unchanged.  Failed runs are
retried without faults, as nova would (reschedule, repeated delete, another
migration), and the retry must complete.

Double faults: for every first fault (HTTP 500 or a lost reply) that makes
the operation fail, a second fault (HTTP 500 or a lost reply) at each
request j of the revert or rollback that follows (j taken from the request
sequence of the run with the first fault alone).  The revert cannot be
clean then; each run must end completed, or with the VIOSes, LPARs and
metadata agreeing (nothing claims a mapping that is not there, nothing is
mapped that nothing claims) and nothing else on the console changed; and a
retried delete (no faults) must leave nothing of the instance.

Console outage: at each request, the console goes away (that request is
not carried out, then every connection is refused for ``--outage-seconds``,
default 2) and comes back; judged like double faults, the retried delete
running once the console is back.

Run: ``tox -e faults`` or, from the checkout's root (so that its
``nova_npiv`` is the one judged), ``python -m benchmarks.fault_matrix
[--only OP] [--kinds 500,drop] [--double 500,lost_reply:500,lost_reply |
--no-double] [--outage-seconds 2 | --no-outage] [--no-retry] [-v]``.  Exit
status 1 if any combination broke the invariant or a retry did not
complete.
"""

import argparse
import collections
import os
import sys
import time

# nova runs on native threads when asked to, and the embedded simulator (a
# threaded HTTP server) needs them: the mode is chosen before anything
# imports eventlet, as tests/__init__.py does for the test suite.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402

from nova_npiv.cmd import tables  # noqa: E402
from nova_npiv.testing import matrix  # noqa: E402
from nova_npiv.testing import scenarios  # noqa: E402

CONF = cfg.CONF


def _quiet_logs():
    logging.register_options(CONF)
    CONF([], project='nova', default_config_files=[])
    CONF.set_default('default_log_levels', [
        'nova=CRITICAL', 'nova_npiv=CRITICAL', 'pypowervm=CRITICAL',
        'taskflow=CRITICAL', 'stevedore=CRITICAL', 'urllib3=CRITICAL',
        'oslo_concurrency=CRITICAL', 'oslo_utils=CRITICAL'])
    logging.setup(CONF, 'nova-npiv-faults')


def run(out, only=None, kinds=matrix.KINDS, retry=True, verbose=False,
        double=(matrix.DOUBLE_FIRST, matrix.DOUBLE_SECOND),
        outage=True):
    started = time.monotonic()
    rows = []
    broken = []
    retry_failed = []
    per_kind = collections.Counter()
    per_kind_ok = collections.Counter()
    total = kept = 0
    all_results = []
    doubles = []
    outages = []
    for sc in scenarios.SCENARIOS:
        if only and sc.name not in only:
            continue
        learned = matrix.learn(sc)
        results = matrix.matrix(sc, learned, kinds=kinds, retry=retry)
        all_results.extend(results)
        if double:
            doubles.append((sc, matrix.double_matrix(
                sc, learned, first=double[0], second=double[1],
                singles=results)))
        if outage:
            outages.append((sc, matrix.outage_matrix(sc, learned)))
        outcomes = collections.Counter(r.outcome for r in results)
        ok = sum(1 for r in results if r.outcome in (
            matrix.COMPLETED, matrix.UNCHANGED, matrix.ROLLED_BACK))
        failed = [r for r in results if r.error is not None]
        recovered = [r for r in failed if r.retried == []]
        rows.append([
            sc.name, len(learned.requests),
            ' '.join('%s:%d' % (k, len([r for r in results if r.kind == k]))
                     for k in kinds) if results else '-',
            len(results), ok, outcomes[matrix.COMPLETED],
            outcomes[matrix.UNCHANGED], outcomes[matrix.ROLLED_BACK],
            outcomes[matrix.VIOLATED] + outcomes[matrix.NOT_FIRED],
            '%d/%d' % (len(recovered), len(failed)) if retry else '-',
            '%.1f' % sum(r.seconds for r in results)])
        total += len(results)
        kept += ok
        for r in results:
            per_kind[r.kind] += 1
            if r.outcome in (matrix.COMPLETED, matrix.UNCHANGED,
                             matrix.ROLLED_BACK):
                per_kind_ok[r.kind] += 1
            if r.outcome in (matrix.VIOLATED, matrix.NOT_FIRED):
                broken.append(r)
            elif r.retried:
                retry_failed.append(r)
            if verbose:
                out.write(matrix.format_result(r) + '\n')
        out.flush()
    out.write('\n== Fault matrix: operations x fault kinds x request indexes '
              '==\n')
    out.write(tables.render(
        ['operation', 'requests', 'runs per kind', 'runs', 'kept',
         'completed', 'unchanged', 'rolled back', 'broken',
         'retry ok', 's'], rows) + '\n')
    out.write('\nper kind: %s\n' % ', '.join(
        '%s %d/%d' % (k, per_kind_ok[k], per_kind[k]) for k in kinds))
    out.write('\n%d combinations tried, %d kept the invariant, %d did not.\n'
              % (total, kept, total - kept))
    failed = [r for r in all_results if r.error is not None]
    unnamed = [r for r in failed if not matrix.names_request(r)]
    out.write('errors naming the failing request (path, or job): %d/%d\n'
              % (len(failed) - len(unnamed), len(failed)))
    if verbose:
        for r in unnamed:
            out.write('  not named: %s: %s: %s\n' % (
                matrix.label(r.target), r.kind,
                str(r.error).splitlines()[0][:160]))
    if double:
        broken += _double_report(out, doubles, verbose)
        retry_failed += [r for _sc, rs in doubles for r in rs
                         if r.outcome in matrix.KEPT and r.retried]
    if outage:
        broken += _outage_report(out, outages, verbose)
        retry_failed += [r for _sc, rs in outages for r in rs
                         if r.outcome in matrix.KEPT and r.retried]
    if broken:
        out.write('\nCombinations that broke the invariant:\n')
        for r in broken:
            out.write(matrix.format_result(r) + '\n')
    if retry_failed:
        out.write('\nKept the invariant, but the retry did not complete:\n')
        for r in retry_failed:
            out.write(matrix.format_result(r) + '\n')
    out.write('\ntotal %.0f s\n' % (time.monotonic() - started))
    return 1 if broken or retry_failed else 0


def _double_report(out, doubles, verbose):
    """Print the double-fault table; the results that broke the invariant."""
    rows = []
    broken = []
    total = kept = 0
    for sc, results in doubles:
        by_pair = collections.OrderedDict()
        for r in results:
            by_pair.setdefault(matrix.pair_label(r), []).append(r)
        for pair, rs in by_pair.items():
            outcomes = collections.Counter(r.outcome for r in rs)
            ok = sum(outcomes[o] for o in matrix.KEPT)
            failed = [r for r in rs if r.error is not None]
            rows.append([
                sc.name, pair, len(rs), ok, outcomes[matrix.COMPLETED],
                outcomes[matrix.UNCHANGED], outcomes[matrix.ROLLED_BACK],
                outcomes[matrix.CONSISTENT], len(rs) - ok,
                '%d/%d' % (len([r for r in failed if r.retried == []]),
                           len(failed)),
                '%.1f' % sum(r.seconds for r in rs)])
            total += len(rs)
            kept += ok
        for r in results:
            if r.outcome not in matrix.KEPT:
                broken.append(r)
            if verbose:
                out.write(matrix.format_result(r) + '\n')
    out.write('\n== Double faults: a fault at request i, then one at each '
              'request j of the revert or rollback ==\n')
    out.write(tables.render(
        ['operation', 'first -> second', 'runs', 'kept', 'completed',
         'unchanged', 'rolled back', 'consistent', 'broken',
         'retried delete ok', 's'], rows) + '\n')
    out.write('\n%d fault pairs tried, %d kept the invariant, %d did not.\n'
              % (total, kept, total - kept))
    return broken


def _outage_report(out, outages, verbose):
    """Print the outage table; the results that broke the invariant."""
    rows = []
    broken = []
    for sc, rs in outages:
        if not rs:
            continue
        outcomes = collections.Counter(r.outcome for r in rs)
        ok = sum(outcomes[o] for o in matrix.KEPT)
        failed = [r for r in rs if r.error is not None]
        rows.append([
            sc.name, len(rs), ok, outcomes[matrix.COMPLETED],
            outcomes[matrix.UNCHANGED], outcomes[matrix.ROLLED_BACK],
            outcomes[matrix.CONSISTENT], len(rs) - ok,
            '%d/%d' % (len([r for r in failed if r.retried == []]),
                       len(failed)),
            '%.1f' % sum(r.seconds for r in rs)])
        broken += [r for r in rs if r.outcome not in matrix.KEPT]
        if verbose:
            for r in rs:
                out.write(matrix.format_result(r) + '\n')
    total = sum(len(rs) for _sc, rs in outages)
    out.write('\n== Console outage at each request (%.1f s refused, then '
              'back) ==\n' % matrix.OUTAGE_SECONDS)
    out.write(tables.render(
        ['operation', 'runs', 'kept', 'completed', 'unchanged',
         'rolled back', 'consistent', 'broken', 'retried delete ok', 's'],
        rows) + '\n')
    out.write('\n%d outages tried, %d kept the invariant, %d did not.\n'
              % (total, total - len(broken), len(broken)))
    return broken


def _pairs(text):
    first, _, second = text.partition(':')
    kinds = (tuple(k for k in first.split(',') if k),
             tuple(k for k in (second or first).split(',') if k))
    return kinds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', action='append',
                        choices=[sc.name for sc in scenarios.SCENARIOS],
                        help='operation(s) to run (default: all)')
    parser.add_argument('--kinds', default=','.join(matrix.KINDS),
                        help='comma-separated fault kinds (default: %s)'
                        % ','.join(matrix.KINDS))
    parser.add_argument('--no-retry', action='store_true',
                        help='do not retry failed operations')
    parser.add_argument('--double', default='%s:%s' % (
        ','.join(matrix.DOUBLE_FIRST), ','.join(matrix.DOUBLE_SECOND)),
        help='first:second fault kinds of the double-fault runs '
             '(default: %(default)s)')
    parser.add_argument('--no-double', action='store_true',
                        help='no double-fault runs')
    parser.add_argument('--outage-seconds', type=float,
                        default=matrix.OUTAGE_SECONDS,
                        help='how long the console refuses connections '
                             '(default: %(default)s)')
    parser.add_argument('--no-outage', action='store_true',
                        help='no console outage runs')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='print every combination')
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(',') if k)
    double = None if args.no_double else _pairs(args.double)
    unknown = [k for k in kinds + (double[0] + double[1] if double else ())
               if k not in matrix.KINDS]
    if unknown:
        parser.error('unknown fault kind(s) %s' % ', '.join(unknown))
    matrix.OUTAGE_SECONDS = args.outage_seconds
    _quiet_logs()
    sys.stdout.write('nova-npiv fault matrix on %s (%d cores), Python %s\n'
                     % (os.uname().machine, os.cpu_count(),
                        sys.version.split()[0]))
    return run(sys.stdout, only=args.only, kinds=kinds,
               retry=not args.no_retry, verbose=args.verbose, double=double,
               outage=not args.no_outage)


if __name__ == '__main__':
    sys.exit(main())
