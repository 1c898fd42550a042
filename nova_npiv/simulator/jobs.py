"""The simulated job service: ``<object>/do/<Operation>`` runs.

A job is run to completion when it is PUT and its record kept for polling
until it is DELETEd (the HTTP layer may make polls answer RUNNING first);
or, given ``seconds``, asynchronously as a console runs it: the PUT answers
NOT_STARTED, polls answer RUNNING, and the work is done ``seconds`` later
(meanwhile a partition being powered on is ``starting``, one being
migrated ``migrating running``/``migrating not active`` with MigrationState
``Migration_Starting``).  Cancelling a job whose work is not done yet stops
it (it ends COMPLETED_WITH_ERROR; the wording is assumed), except a
Migrate: cancelling a job does not stop a partition migration, a
MigrateAbort does.  A migration that fails part way (an injected
:class:`~vocab.MidwayFailure`) leaves the partition on the source,
``Migration_Failed`` and still ``migrating``, until a MigrateRecover.
Each operation is a ``_job_<Operation>`` method; a job that cannot do its
work raises :class:`~nova_npiv.simulator.vocab.JobFailure` and ends
COMPLETED_WITH_ERROR with ``returnCode`` 1 and the message as ``result`` in
its Results, as job_response_completed_failed.txt shows a console doing it.
The service works on the model's live state under its lock, through the
model's public methods.
"""

import collections
import dataclasses
import itertools
import threading

from nova_npiv.simulator import consoles
from nova_npiv.simulator import state
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import JobFailure
from nova_npiv.simulator.vocab import MIGRATING_NOT_ACTIVE
from nova_npiv.simulator.vocab import MIGRATING_RUNNING
from nova_npiv.simulator.vocab import NOT_ACTIVATED
from nova_npiv.simulator.vocab import NOT_MIGRATING
from nova_npiv.simulator.vocab import RUNNING
from nova_npiv.simulator.vocab import SimulatorError
from nova_npiv.simulator.vocab import STARTING

# Codes pypowervm's power tasks look for to treat a no-op as success.
ALREADY_OFF = {'hmc': 'HSCL1558', 'novalink': 'PVME01050901'}
ALREADY_ON = {'hmc': 'HSCL3681', 'novalink': 'PVME01042026'}
#: What a console says of a migration of a partition RMC does not reach
#: (HMC wording from IBM's message reference; not captured, and the
#: NovaLink wording is assumed the same).
NO_RMC = ('HSCLA246 The management console cannot communicate with '
          'partition %s. Either the network connection is not available or '
          'the partition does not have a level of software that is capable '
          'of supporting this operation. Verify the correct network and '
          'setup of the partition, and try the operation again.')
#: Operations whose effect is immediate even with ``seconds`` (a console
#: stops a migration as soon as it accepts the abort).
_IMMEDIATE = ('MigrateAbort',)


class JobService(object):
    """Runs and keeps jobs for one :class:`~nova_npiv.simulator.model.Model`.

    Call with the model lock held (the model's job methods take it).
    """

    def __init__(self, model):
        self.model = model
        self._seq = itertools.count(1)
        self._jobs = collections.OrderedDict()

    def target(self, kind, uuid, operation, sysm=None):
        """The object a job runs against.

        SimulatorError(404) when the object does not exist (under ``sysm``
        if given), :func:`~vocab.not_simulated` for an operation the
        simulator does not implement on an object that does.
        """
        if kind == vocab.SYSTEM_KIND:
            target = self.model.find_system(uuid)
            if target is not None and target.uuid.lower() != \
                    str(uuid).lower():
                target = None
        else:
            target = self.model.find_partition(kind, uuid, sysm)
        if target is None:
            raise SimulatorError(404, '%s %s not found' % (kind, uuid))
        if operation not in vocab.JOB_OPERATIONS.get(kind, ()):
            raise vocab.not_simulated('Job %s on %s' % (operation, kind))
        return target

    def run(self, kind, uuid, operation, params, fail_message=None,
            polls=0, sysm=None, seconds=0.0):
        """Run a job; ``params`` is the list of (name, value) parameters.

        ``seconds`` > 0: the work is done that much later, in a timer
        thread (which calls :meth:`Model.finish_job`).
        """
        target = self.target(kind, uuid, operation, sysm)
        job = state.Job('%d' % (1500000000000 + next(self._seq)),
                        operation, kind, uuid, list(params), polls_left=polls)
        self._jobs[job.job_id] = job
        if seconds > 0 and operation not in _IMMEDIATE:
            job.status = vocab.JOB_NOT_STARTED
            job.pending = (target, fail_message, self._begin(target, job))
            job.timer = threading.Timer(seconds, self.model.finish_job,
                                        (job.job_id,))
            job.timer.daemon = True
            job.timer.start()
        else:
            self._complete(job, target, fail_message)
        return job

    def _begin(self, target, job):
        """Show the job under way; what restores the state before its work.

        A Migrate the console would refuse outright (its validation fails)
        is never shown migrating: it fails when its work is done.
        """
        if job.operation == 'PowerOn' and target.state == NOT_ACTIVATED:
            self.model.set_state(target, STARTING)
            return lambda: self.model.set_state(target, NOT_ACTIVATED)
        if job.operation == 'Migrate':
            params = dict(job.params)
            try:
                peer, system = consoles.migration_target(self.model, target,
                                                         params)
                with consoles.locked(peer):
                    self._plan_migration(target, params, system)
            except JobFailure:
                return None
            before = target.state
            self.model.set_migration(target, vocab.MIGRATION_STARTING,
                                     self._migrating(before))
            return lambda: self.model.set_migration(target, NOT_MIGRATING,
                                                    before)
        return None

    @staticmethod
    def _migrating(state):
        return MIGRATING_RUNNING if state == RUNNING else MIGRATING_NOT_ACTIVE

    def _stopped_part_way(self, lpar):
        """A migration failed mid-way: left on the source to recover."""
        if lpar.migration_state != NOT_MIGRATING or lpar.state not in (
                RUNNING, NOT_ACTIVATED):
            return
        lpar.pre_migration_state = lpar.state
        self.model.set_migration(lpar, vocab.MIGRATION_FAILED,
                                 self._migrating(lpar.state))

    def _complete(self, job, target, fail_message):
        try:
            if fail_message is not None:
                if (isinstance(fail_message, vocab.MidwayFailure) and
                        job.operation == 'Migrate'):
                    self._stopped_part_way(target)
                raise JobFailure(fail_message)
            job.results = getattr(self, '_job_' + job.operation)(
                target, dict(job.params)) or {}
            job.status = vocab.JOB_OK
        except JobFailure as exc:
            self._fail(job, str(exc))

    @staticmethod
    def _fail(job, message):
        job.status = vocab.JOB_ERROR
        job.message = message
        job.results = {'returnCode': '1', 'result': message}

    def _undo_begin(self, job):
        target, fail_message, restore = job.pending
        job.pending = None
        if restore is not None:
            restore()
        return target, fail_message

    def finish(self, job_id):
        """Do the work of an asynchronous job (its timer calls this, or
        its last counted poll)."""
        job = self._jobs.get(job_id)
        if job is None or job.pending is None:
            return   # deleted or cancelled meanwhile
        if job.timer is not None:
            job.timer.cancel()   # done at its last counted poll instead
        target, fail_message = self._undo_begin(job)
        self._complete(job, target, fail_message)

    def poll(self, job):
        """A job polled: one not started before is running now."""
        if job.pending is not None:
            job.status = vocab.JOB_RUNNING

    def cancel(self, job):
        """Stop a job whose work is not done; a Migrate goes on."""
        if job.pending is None or job.operation == 'Migrate':
            return
        self._stop(job, 'Job %s (%s) was cancelled before it completed'
                   % (job.job_id, job.operation))

    def _stop(self, job, message):
        job.timer.cancel()
        self._undo_begin(job)
        self._fail(job, message)

    def _migration_under_way(self, lpar):
        for job in self._jobs.values():
            if (job.operation == 'Migrate' and job.pending is not None and
                    job.target_uuid.upper() == lpar.uuid.upper()):
                return job
        return None

    def get(self, job_id):
        return self._jobs.get(job_id)

    def delete(self, job_id):
        return self._jobs.pop(job_id, None) is not None

    def records(self):
        return [dataclasses.replace(j) for j in self._jobs.values()]

    def _job_GetNextWWPNs(self, sysm, params):
        raw = params.get('numberPairsRequested', '1')
        try:
            count = int(raw)
        except ValueError:
            raise JobFailure('numberPairsRequested must be a number, not %r'
                             % raw)
        if not 1 <= count <= vocab.MAX_WWPN_PAIRS:
            raise JobFailure('numberPairsRequested must be between 1 and %d, '
                             'not %d' % (vocab.MAX_WWPN_PAIRS, count))
        try:
            pairs = self.model.allocate_pairs(sysm, count)
        except SimulatorError as exc:
            raise JobFailure(exc.message)
        self.model.touch(sysm)
        return {'wwpnList': ','.join(w.upper() for w in pairs)}

    def _job_PowerOn(self, part, params):
        if part.state == RUNNING:
            raise JobFailure('%s: partition %s is already running'
                             % (ALREADY_ON[self.model.console], part.name))
        if part.state != NOT_ACTIVATED:
            raise JobFailure('Partition %s cannot be powered on from state '
                             '%s' % (part.name, part.state))
        if part.memory_mb > part.system.memory_free_mb():
            raise JobFailure('Not enough memory on managed system %s to '
                             'activate %s (%d MB needed, %d MB free)'
                             % (part.system.name, part.name, part.memory_mb,
                                part.system.memory_free_mb()))
        free = part.system.proc_units_free()
        if part.proc_units > free + 1e-9:
            if getattr(part, 'dedicated', False):
                need = 'Not enough dedicated processors (%d needed, %d free)' \
                    % (round(part.proc_units), int(free))
            else:
                need = ('Not enough processing units in the shared pool '
                        '(%.2f needed, %.2f free)' % (part.proc_units, free))
            raise JobFailure('%s on managed system %s to activate %s'
                             % (need, part.system.name, part.name))
        self.model.power_up(part)

    def _job_PowerOff(self, part, params):
        if part.is_mgmt:
            raise JobFailure('The management partition cannot be powered '
                             'off through the API')
        restart = str(params.get('restart', '')).lower() == 'true'
        if part.state == NOT_ACTIVATED:
            raise JobFailure('%s: partition %s is already powered off'
                             % (ALREADY_OFF[self.model.console], part.name))
        if part.state in (MIGRATING_RUNNING, MIGRATING_NOT_ACTIVE):
            raise JobFailure('Partition %s cannot be powered off from state '
                             '%s' % (part.name, part.state))
        if restart:
            self.model.power_up(part)
        else:
            self.model.set_state(part, NOT_ACTIVATED)

    def _job_CloseVterm(self, lpar, params):
        # Closing where no session is open is a no-op that succeeds
        # (nova-powervm ran it before every delete without checking).
        lpar.vterm_open = False

    def _job_MigrateValidate(self, lpar, params):
        peer, target = consoles.migration_target(self.model, lpar, params)
        with consoles.locked(peer):
            self._plan_migration(lpar, params, target)

    def _job_MigrateAbort(self, lpar, params):
        """Stop a migration under way: the partition stays on the source."""
        job = self._migration_under_way(lpar)
        if job is None:
            raise JobFailure('Partition %s has no partition migration in '
                             'progress to stop (MigrationState %s)'
                             % (lpar.name, lpar.migration_state))
        self._stop(job, 'HSCL3659 The partition migration of %s was stopped '
                   'by a MigrateAbort request' % lpar.name)

    def _job_MigrateRecover(self, lpar, params):
        """Recover a migration that stopped part way (Force: accepted)."""
        if self._migration_under_way(lpar) is not None:
            raise JobFailure('The partition migration of %s is in progress; '
                             'stop it (MigrateAbort) before recovering'
                             % lpar.name)
        if lpar.migration_state == NOT_MIGRATING:
            raise JobFailure('Partition %s has no failed partition migration '
                             'to recover' % lpar.name)
        restore = lpar.pre_migration_state or NOT_ACTIVATED
        lpar.pre_migration_state = None
        self.model.set_migration(lpar, NOT_MIGRATING, restore)

    def _job_Migrate(self, lpar, params):
        peer, target = consoles.migration_target(self.model, lpar, params)
        with consoles.locked(peer):
            target, plan = self._plan_migration(lpar, params, target)
            self._migrate(lpar, target, plan, peer)

    def _plan_migration(self, lpar, params, target):
        src = lpar.system
        tname = target.name
        if target is src:
            raise JobFailure('Partition %s is already on managed system %s'
                             % (lpar.name, tname))
        if lpar.is_mgmt:
            raise JobFailure('The management partition cannot migrate')
        if lpar.migration_state != NOT_MIGRATING:
            raise JobFailure('Partition %s cannot migrate: its MigrationState '
                             'is %s' % (lpar.name, lpar.migration_state))
        if lpar.state not in (RUNNING, NOT_ACTIVATED):
            raise JobFailure('Partition %s cannot migrate from state %s'
                             % (lpar.name, lpar.state))
        if lpar.state == RUNNING and lpar.rmc_state != vocab.RMC_ACTIVE:
            raise JobFailure(NO_RMC % lpar.name)
        if any(p.name == lpar.name for p in target.partitions()):
            raise JobFailure('A partition named %s already exists on %s'
                             % (lpar.name, tname))
        if lpar.state == RUNNING and lpar.memory_mb > target.memory_free_mb():
            raise JobFailure('Not enough memory on %s for %s'
                             % (tname, lpar.name))
        adapters = collections.OrderedDict(
            (m.client_slot, (vios, m))
            for vios, m in self.model.client_maps(lpar))
        raw = params.get('VirtualFCMappings')
        entries = [e.strip() for e in raw.split(',') if e.strip()] \
            if raw else []
        plan = []
        usage = collections.Counter()
        if entries:
            if len(entries) != len(adapters):
                raise JobFailure(
                    'VirtualFCMappings has %d entries but partition %s has %d '
                    'virtual FC client adapters (slots %s)'
                    % (len(entries), lpar.name, len(adapters),
                       ','.join(str(s) for s in adapters) or 'none'))
            for entry in entries:
                plan.append(self._plan_entry(lpar, target, adapters, entry,
                                             plan, usage))
        else:
            for slot, (vios, m) in adapters.items():
                plan.append(self._auto_entry(target, slot, vios, m, usage))
        for (tv, pname), n in usage.items():
            port = tv.ports[pname]
            if port.available < n:
                raise JobFailure(tv.no_capacity_msg(port))
        return target, plan

    def _plan_entry(self, lpar, target, adapters, entry, plan, usage):
        parts = entry.split('/')
        if len(parts) < 3:
            raise JobFailure('Malformed VirtualFCMappings entry %r' % entry)
        parts += [''] * (5 - len(parts))
        slot_s, vname, vid, vslot, pname = parts[:5]
        try:
            slot = int(slot_s)
        except ValueError:
            raise JobFailure('Malformed client slot in %r' % entry)
        if slot not in adapters:
            raise JobFailure('Partition %s has no virtual FC client adapter '
                             'in slot %d (entry %r)' % (lpar.name, slot,
                                                        entry))
        if any(p[0] == slot for p in plan):
            raise JobFailure('Client slot %d is mapped twice' % slot)
        if not vname and not vid:
            raise JobFailure('Entry %r names no VIOS' % entry)
        tv = None
        for v in target.vioses.values():
            if (not vname or v.name == vname) and (
                    not vid or str(v.id) == vid):
                tv = v
                break
        if tv is None:
            raise JobFailure('No VIOS %s on managed system %s (entry %r)'
                             % (vname or vid, target.name, entry))
        if tv.state != RUNNING:
            raise JobFailure('VIOS %s on %s is not active' % (tv.name,
                                                              target.name))
        src_vios, src_map = adapters[slot]
        if pname:
            if pname not in tv.ports:
                raise JobFailure('VIOS %s on %s has no FC port %s (entry %r)'
                                 % (tv.name, target.name, pname, entry))
        else:
            pname = self._pick_port(tv, src_vios, src_map, usage)
        server_slot = None
        if vslot:
            try:
                server_slot = int(vslot)
            except ValueError:
                raise JobFailure('Malformed VIOS slot in %r' % entry)
            if server_slot in tv.slot_use or any(
                    p[2] is tv and p[4] == server_slot for p in plan):
                raise JobFailure('Slot %d of VIOS %s is in use'
                                 % (server_slot, tv.name))
        usage[(tv, pname)] += 1
        return (slot, src_map, tv, pname, server_slot)

    def _pick_port(self, tv, src_vios, src_map, usage):
        fabric = None
        if src_map.port and src_map.port in src_vios.ports:
            fabric = src_vios.ports[src_map.port].fabric
        best = None
        for port in tv.ports.values():
            if fabric is not None and port.fabric != fabric:
                continue
            free = port.available - usage[(tv, port.name)]
            if free > 0 and (best is None or free > best[0]):
                best = (free, port.name)
        if best is None:
            raise JobFailure('VIOS %s has no FC port with NPIV capacity on '
                             'fabric %s' % (tv.name, fabric))
        return best[1]

    def _auto_entry(self, target, slot, src_vios, src_map, usage):
        per_vios = collections.Counter(v for (v, _p) in usage.elements())
        for tv in sorted((v for v in target.vioses.values()
                          if v.state == RUNNING),
                         key=lambda v: (per_vios[v], v.id)):
            try:
                pname = self._pick_port(tv, src_vios, src_map, usage)
            except JobFailure:
                continue
            usage[(tv, pname)] += 1
            return (slot, src_map, tv, pname, None)
        raise JobFailure('No VIOS on %s can host the virtual FC adapter in '
                         'slot %d' % (target.name, slot))

    def _migrate(self, lpar, target, plan, peer):
        """Move ``lpar`` to ``target``, a system of console ``peer``
        (this console's model, or another's: see consoles.hand_over)."""
        src = lpar.system
        for vios, m in self.model.client_maps(lpar):
            self.model.drop_map(src, vios, m)
        # Server adapters still pointing at the old id (orphans) stay behind.
        taken = (lpar.id in target.ids or lpar.id in target.client_maps
                 or lpar.id in target.reserved_ids)
        new_id = peer.next_part_id(target) if taken else lpar.id
        del src.lpars[lpar.uuid]
        self.model.forget_id(src, lpar.id)
        consoles.hand_over(self.model, lpar, peer, target)
        lpar.system = target
        lpar.id = new_id
        target.lpars[lpar.uuid] = lpar
        target.ids[new_id] += 1
        for slot, src_map, tv, pname, server_slot in plan:
            peer.add_map(target, tv, lpar, pname, src_map.wwpns, slot,
                         server_slot=server_slot,
                         href=peer.lpar_href(target, lpar),
                         flipped=not src_map.flipped)
        self.model.touch(src)
        peer.touch(lpar, target)
