"""Fault injection across every REST request of an operation.

A clean run of a :mod:`scenario <nova_npiv.testing.scenarios>` teaches the
operation's REST request sequence (from ``sim.request_log``); the
operation is then re-run in a fresh world once per request index and fault
kind, with exactly that request failing, and every run is judged
(:func:`judge`, on :mod:`nova_npiv.testing.invariants`).  Faults are aimed
by position in the learned sequence rather than by guessing which requests
matter: every request is a place the console can fail, and an operation
whose sequence changes shows up as a fault that never fired.  A failed run
is then retried without faults and must complete.

Shared by the fault-matrix tests and ``benchmarks/fault_matrix.py``.
"""

import collections
import contextlib
import re
import time

from nova_npiv import job_requests
from nova_npiv.testing import invariants


#: Fault kinds of the matrix.  'job' only applies to job runs (PUT .../do/X),
#: 'job_midway' to Migrate job runs (the migration stops part way, leaving
#: the partition Migration_Failed until recovered) and '412x3' only to entry
#: updates (POST with If-Match): nothing else can meet an etag conflict.
KIND_500 = '500'
KIND_DROP = 'drop'
KIND_412 = '412x3'
KIND_JOB = 'job'
KIND_MIDWAY = 'job_midway'
KIND_LOST = 'lost_reply'
#: Hostile replies instead of carrying the request out (200 OK).
KIND_GARBAGE = 'bad_xml'
KIND_DTD = 'entities'
#: The strict console's own failures (issue 13): a busy VIOS (HTTP 500
#: HSCL3205/VIOS0014, at VIOS writes), a job that answers NOT_STARTED and
#: ends COMPLETED_WITH_ERROR on a later poll (job runs; every job of that
#: run is asynchronous), a VIOS that goes into error for VIOS_ERROR_SECONDS
#: (at VIOS feed reads), and a DLPAR that fails or takes SLOW_DLPAR_SECONDS
#: more (at the VIOS writes that add or remove client adapters of a running
#: partition in the clean run).
KIND_BUSY = 'vios_busy'
KIND_JOB_MID = 'job_mid'
KIND_VIOS_ERROR = 'vios_error'
KIND_DLPAR_FAIL = 'dlpar_fail'
KIND_SLOW_DLPAR = 'slow_dlpar'
#: RMC of every running client LPAR lost at the request (any request: a
#: partition's RSCT daemons or network can go away at any moment) until the
#: operator brings it back, before the retry.  The VIOSes and the
#: management partition keep theirs (pypowervm's ``can_modify_io`` does not
#: ask RMC of the management partition; a VIOS without RMC is
#: ``vios_error``'s business).
KIND_RMC_DOWN = 'rmc_down'
CONSOLE_KINDS = (KIND_BUSY, KIND_JOB_MID, KIND_VIOS_ERROR, KIND_DLPAR_FAIL,
                 KIND_SLOW_DLPAR, KIND_RMC_DOWN)
KINDS = (KIND_500, KIND_DROP, KIND_412, KIND_JOB, KIND_MIDWAY, KIND_LOST,
         KIND_GARBAGE, KIND_DTD) + CONSOLE_KINDS
#: Seconds an asynchronous job of a ``job_mid`` run takes.
JOB_SECONDS = 0.2
#: Every other run's jobs are asynchronous too (the simulator's default),
#: but end at their first poll whatever the clock says (``job_polls``): a
#: fault is aimed at the nth request, so how many polls a job gets must
#: not depend on how loaded the machine is.
COUNTED_JOB_SECONDS = 3600
COUNTED_JOB_POLLS = 1
VIOS_ERROR_SECONDS = 1.0
SLOW_DLPAR_SECONDS = 0.5
#: The console unreachable: the request is not carried out, its connection
#: closes, and every connection is refused for OUTAGE_SECONDS; then the
#: console is back (same sessions).  Not in KINDS: see :func:`outage_matrix`.
KIND_OUTAGE = 'outage'
OUTAGE_SECONDS = 2.0

_BODIES = {
    KIND_GARBAGE: b'<feed xmlns="http://www.w3.org/2005/Atom"><entry>',
    KIND_DTD: (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">'
               b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
               b'<feed xmlns="http://www.w3.org/2005/Atom">&b;</feed>'),
}

COMPLETED = 'completed'
UNCHANGED = 'failed, unchanged'
ROLLED_BACK = 'failed, rolled back'
#: Double faults only: not a clean rollback (the revert met the second
#: fault), but the VIOSes, LPARs and metadata agree, and nothing else on the
#: console changed.
CONSISTENT = 'failed, consistent'
KEPT = (COMPLETED, UNCHANGED, ROLLED_BACK, CONSISTENT)
VIOLATED = 'VIOLATED'
NOT_FIRED = 'fault never fired'

_JOB_RUN = re.compile(r'/do/(\w+)$')
_VIOS_WRITE = re.compile(r'/VirtualIOServer/[^/]+$')
_VIOS_FEED = re.compile(r'/VirtualIOServer$')
_JOB_ID = re.compile(r'^(/rest/api/uom/jobs/)\d+')


# --------------------------------------------------------------------------
# Aiming faults at a learned request sequence

Target = collections.namedtuple('Target', 'index method path regex nth job '
                                'dlpar', defaults=(0,))


def targets(records):
    """One Target per request: how to hit exactly it in a re-run."""
    out = []
    seen = collections.Counter()
    for index, rec in enumerate(records):
        regex = '^%s$' % re.escape(rec.path)
        if _JOB_ID.match(rec.path):
            regex = '^%s[^/]+$' % re.escape(_JOB_ID.match(rec.path).group(1))
        seen[(rec.method, regex)] += 1
        job = None
        match = _JOB_RUN.search(rec.path)
        if rec.method == 'PUT' and match:
            seen[('job', match.group(1))] += 1
            job = (match.group(1), seen[('job', match.group(1))])
        out.append(Target(index, rec.method, rec.path, regex,
                          seen[(rec.method, regex)], job,
                          getattr(rec, 'dlpar', 0)))
    return out


def is_poll(target):
    """A job's status read.  No fault is aimed at one: the job goes on on
    the console while the operation fails, and what its undo then meets
    depends on the clock, not on the request order (a failed poll is the
    job waiter's test, tests/unit/test_job_wait.py)."""
    return target.method == 'GET' and bool(_JOB_ID.match(target.path))


def _applies(kind, target):
    if is_poll(target):
        return False
    if kind in (KIND_JOB, KIND_JOB_MID):
        return bool(target.job)
    if kind == KIND_MIDWAY:
        return bool(target.job) and target.job[0] == 'Migrate'
    if kind == KIND_412:
        return target.method == 'POST'
    if kind == KIND_BUSY:
        return target.method == 'POST' and bool(
            _VIOS_WRITE.search(target.path))
    if kind == KIND_VIOS_ERROR:
        return target.method == 'GET' and bool(_VIOS_FEED.search(
            target.path))
    if kind in (KIND_DLPAR_FAIL, KIND_SLOW_DLPAR):
        return target.dlpar > 0
    return True


def kinds_for(target, kinds=KINDS):
    return [k for k in kinds if _applies(k, target)]


def arm(sim, target, kind):
    if kind in (KIND_JOB, KIND_MIDWAY):
        return sim.fail_job(target.job[0], nth=target.job[1],
                            midway=kind == KIND_MIDWAY)
    if kind == KIND_JOB_MID:
        sim.job_seconds = JOB_SECONDS
        sim.job_polls = 0
        return sim.fail_job(target.job[0], nth=target.job[1])
    if kind in (KIND_BUSY, KIND_DLPAR_FAIL):
        return sim.inject_fault(target.method, target.regex, nth=target.nth,
                                kind=kind)
    if kind in (KIND_VIOS_ERROR, KIND_SLOW_DLPAR):
        return sim.inject_fault(
            target.method, target.regex, nth=target.nth, kind=kind,
            delay=(VIOS_ERROR_SECONDS if kind == KIND_VIOS_ERROR
                   else SLOW_DLPAR_SECONDS))
    if kind == KIND_RMC_DOWN:
        return sim.inject_fault(target.method, target.regex, nth=target.nth,
                                kind=kind)
    if kind == KIND_OUTAGE:
        return sim.inject_fault(target.method, target.regex, nth=target.nth,
                                kind='outage', delay=OUTAGE_SECONDS)
    if kind in _BODIES:
        return sim.inject_fault(target.method, target.regex, nth=target.nth,
                                kind='body', status=200,
                                body=_BODIES[kind])
    if kind == KIND_LOST and target.job:
        # The job was accepted, its reply lost: the driver never polls it.
        # Its work is done with the PUT, as a console would do it in its
        # own time, so the undo meets the same world in every run.
        sim.job_seconds = {target.job[0]: 0.0, '*': COUNTED_JOB_SECONDS}
    fault_kind = {KIND_500: 'status', KIND_DROP: 'drop', KIND_412: '412',
                  KIND_LOST: 'lost_reply'}[kind]
    return sim.inject_fault(target.method, target.regex, nth=target.nth,
                            kind=fault_kind, status=500,
                            times=3 if kind == KIND_412 else 1)


def _fired(fault):
    hits = fault.hits
    return bool(hits if isinstance(hits, list) else hits)


# --------------------------------------------------------------------------
# Running


Learned = collections.namedtuple('Learned', 'scenario requests targets '
                                 'before after seconds')

Result = collections.namedtuple(
    'Result', 'scenario kind target outcome error problems retried seconds '
    'second requests', defaults=(None, None))

#: ``retry`` of :func:`run_one`: after a failure, delete the instance (what
#: an operator does with an instance left in ERROR) instead of running the
#: operation again.
RETRY_DELETE = 'delete'

#: The fault kinds of double-fault runs, first and second.
DOUBLE_FIRST = (KIND_500, KIND_LOST)
DOUBLE_SECOND = (KIND_500, KIND_LOST)


def names_request(result):
    """Whether the error of a failed run names the request that failed."""
    text = str(result.error)
    target = result.target
    return target.path in text or bool(target.job and
                                       "'%s'" % target.job[0] in text)


@contextlib.contextmanager
def _jobs_deleted_in_place():
    """Finished jobs' DELETEs in the request order (see
    ``JobRequests.inline``): the nth request is the same one in every run."""
    saved = job_requests.JobRequests.inline
    job_requests.JobRequests.inline = True
    try:
        yield
    finally:
        job_requests.JobRequests.inline = saved


def _counted_jobs(world):
    world.sim.job_seconds = COUNTED_JOB_SECONDS
    world.sim.job_polls = COUNTED_JOB_POLLS
    return world


def learn(sc):
    """Run ``sc`` cleanly: its requests and its start and end states."""
    with _jobs_deleted_in_place():
        return _learn(sc)


def _learn(sc):
    started = time.monotonic()
    world = _counted_jobs(sc.world())
    try:
        sc.prepare(world)
        # Finished jobs are deleted after the operation that ran them
        # (job_requests): each step's DELETEs are counted with it.
        job_requests.drain_all()
        before = invariants.snapshot(world)
        world.sim.reset_counters()
        sc.operate(world)
        job_requests.drain_all()
        records = world.sim.request_log
        after = invariants.snapshot(world)
        problems = (sc.done(world) +
                    invariants.consistency_problems(world, sc.fabrics) +
                    invariants.console_problems(world, before, after))
        if problems:
            raise AssertionError('%s: clean run is wrong: %s'
                                 % (sc.name, '; '.join(problems)))
    finally:
        world.close()
    return Learned(sc, records, targets(records), before, after,
                   time.monotonic() - started)


def judge(sc, world, learned, error):
    """(outcome, problems) of one run."""
    state = invariants.snapshot(world)
    problems = list(world.notes)
    problems += invariants.consistency_problems(world, sc.fabrics)
    problems += invariants.console_problems(
        world, learned.before, state,
        invariants.recorded_wwpns(learned.after))
    if error is None:
        outcome = COMPLETED
        if state != learned.after:
            problems += ['completed but differs from a clean run: %s' % d
                         for d in invariants.describe_diff(learned.after,
                                                           state)]
        problems += sc.done(world)
    elif state == learned.before:
        outcome = UNCHANGED
    else:
        outcome = ROLLED_BACK
        reasons = sc.rolled_back(world, learned.before)
        if reasons and world.double:
            outcome = CONSISTENT
        elif reasons:
            problems += reasons
            problems += ['vs before: %s' % d
                         for d in invariants.describe_diff(learned.before,
                                                           state)]
    return (VIOLATED if problems else outcome), problems


def run_one(sc, learned, target, kind, retry=True, plant=None,
            second=None):
    """Re-run ``sc`` with ``kind`` at ``target`` (see :func:`_run_one`)."""
    with _jobs_deleted_in_place():
        return _run_one(sc, learned, target, kind, retry=retry, plant=plant,
                        second=second)


def _run_one(sc, learned, target, kind, retry=True, plant=None,
             second=None):
    """Re-run ``sc`` with ``kind`` at ``target``; a Result.

    ``second``: (target, kind) of a second fault, aimed (by the request
    sequence of a run with the first fault alone) at a request of the
    revert or rollback that follows the first.
    ``plant(world)``, if given, runs between the operation and the judge:
    the tests of the judge plant there the damage a bug would leave.
    ``retry``: after a failure, run the operation again without faults
    (True) or delete the instance (:data:`RETRY_DELETE`); either must
    succeed.
    """
    started = time.monotonic()
    world = _counted_jobs(sc.world())
    try:
        sc.prepare(world)
        job_requests.drain_all()
        if invariants.snapshot(world) != learned.before:
            raise AssertionError('%s: the world is not deterministic'
                                 % sc.name)
        world.sim.reset_counters()
        fault = arm(world.sim, target, kind)
        fault2 = arm(world.sim, *second) if second else None
        # The revert or rollback meets the outage, or the VIOS in error,
        # too: it cannot be clean.
        world.double = bool(second) or kind in (KIND_OUTAGE,
                                                KIND_VIOS_ERROR)
        error = None
        try:
            sc.operate(world)
        except Exception as err:
            error = err
        job_requests.drain_all()
        requests = world.sim.request_log
        if not _fired(fault) or (second and not _fired(fault2)):
            return Result(sc.name, kind, target, NOT_FIRED, error,
                          ['the request sequence changed'], None,
                          time.monotonic() - started, second, requests)
        if plant is not None:
            plant(world)
        outcome, problems = judge(sc, world, learned, error)
        retried = None
        if not world.sim.wait_listening(OUTAGE_SECONDS + 30):
            raise AssertionError('the console outage did not end')
        if error is not None and retry:
            world.sim.clear_faults()
            _counted_jobs(world)
            _vioses_back(world)
            _rmc_back(world)
            world.notes = []
            if retry == RETRY_DELETE:
                retried = retried_delete(world, learned)
            else:
                retried = _retried(sc, world, learned)
        return Result(sc.name, kind, target, outcome, error, problems,
                      retried, time.monotonic() - started, second, requests)
    finally:
        world.close()


def _vioses_back(world):
    """Every VIOS out of error, as an operator brings them back before
    trying again."""
    model = world.sim.model
    for vios in model.vioses():
        model.set_vios_error(vios.system, vios.name, None)


def _rmc_back(world):
    """RMC back on every console's partitions (the operator restarted
    their RSCT daemons) before trying again."""
    for sim in getattr(world.sim, 'consoles', [world.sim]):
        sim.model.set_rmc_down(False)


def _retried(sc, world, learned):
    try:
        sc.retry(world)
    except Exception as err:
        return ['retry failed: %s: %s' % (type(err).__name__, err)]
    return (sc.done(world) +
            invariants.consistency_problems(world, sc.fabrics) +
            invariants.console_problems(world, learned.before,
                                        invariants.snapshot(world)))


def retried_delete(world, learned):
    """Problems unless deleting the instance now (no faults) leaves
    nothing of it and everything else as it was before the operation."""
    try:
        world.destroy(host=world.inst.host)
    except Exception as err:
        return ['retried delete failed: %s: %s' % (type(err).__name__, err)]
    return (invariants.gone(world) + invariants.unmapped_with_wwpns(world) +
            invariants.consistency_problems(world) +
            invariants.console_problems(world, learned.before,
                                        invariants.snapshot(world)))


def _aimed(sc, learned, indexes):
    """The indexes asked for, else those the scenario aims at (all but
    what it says a fault cannot be judged at, see ``Scenario.aimed``)."""
    if indexes is not None:
        return indexes
    return sc.aimed(learned.targets)


def matrix(sc, learned, kinds=KINDS, indexes=None, retry=True):
    """Results of every (index, kind) combination asked for."""
    indexes = _aimed(sc, learned, indexes)
    results = []
    for target in learned.targets:
        if indexes is not None and target.index not in indexes:
            continue
        for kind in kinds_for(target, kinds):
            results.append(run_one(sc, learned, target, kind, retry=retry))
    return results


def double_matrix(sc, learned, first=DOUBLE_FIRST, second=DOUBLE_SECOND,
                  singles=None, indexes=None, follow=None):
    """Results of every fault pair: a first fault at request i, then a
    second at each request j > i of the revert or rollback that follows.

    Only first faults that make the operation fail have a revert to aim
    at.  ``singles``: results of :func:`matrix` already run (their request
    sequences are reused); ``follow``: only the j - i asked for (the
    unit suite's sample).
    """
    indexes = _aimed(sc, learned, indexes)
    known = {(r.target.index, r.kind): r for r in singles or ()
             if r.second is None}
    results = []
    for target in learned.targets:
        if indexes is not None and target.index not in indexes:
            continue
        for kind in kinds_for(target, first):
            single = known.get((target.index, kind))
            if single is None:
                single = run_one(sc, learned, target, kind, retry=False)
            if single.outcome == NOT_FIRED or single.error is None:
                continue
            for later in targets(single.requests)[target.index + 1:]:
                if follow is not None and \
                        later.index - target.index not in follow:
                    continue
                for kind2 in kinds_for(later, second):
                    results.append(run_one(sc, learned, target, kind,
                                           retry=RETRY_DELETE,
                                           second=(later, kind2)))
    return results


def outage_matrix(sc, learned, indexes=None):
    """Results of the console going away at each request (see
    :data:`KIND_OUTAGE`), judged like double faults: the revert meets the
    outage too; then, the console back, a retried delete."""
    indexes = _aimed(sc, learned, indexes)
    return [run_one(sc, learned, target, KIND_OUTAGE, retry=RETRY_DELETE)
            for target in learned.targets
            if (indexes is None or target.index in indexes) and
            not is_poll(target)]


def pair_label(result):
    """'500 -> lost_reply' of a double-fault result."""
    return '%s -> %s' % (result.kind, result.second[1])


def label(target):
    path = re.sub(r'[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}', '<uuid>', target.path)
    path = re.sub(r'/jobs/\d+', '/jobs/<id>', path)
    return '#%d %s %s' % (target.index, target.method,
                          path.replace('/rest/api/uom', ''))


def format_result(res):
    text = '%s, %s at %s' % (res.scenario, res.kind, label(res.target))
    if res.second:
        text += ', then %s at %s' % (res.second[1], label(res.second[0]))
    text += ': %s' % res.outcome
    if res.error is not None:
        text += ' (%s)' % type(res.error).__name__
    for problem in res.problems:
        text += '\n    - %s' % problem
    if res.retried:
        text += '\n    retry: %s' % '; '.join(res.retried)
    return text
