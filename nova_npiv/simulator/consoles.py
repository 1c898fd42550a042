"""Management consoles: identity, SSH trust, and migration between them.

A NovaLink manages only the system it runs on, so a partition migrating
from one NovaLink to another (or between two HMCs) goes console to console:
the source console's ``Migrate``/``MigrateValidate`` names the remote
console (``TargetRemoteHMCIPAddress``) and the user it logs on to there
(``TargetRemoteHMCUserID``), and the remote console must hold the source
console's public SSH key among its authorized keys (pypowervm's
``tasks/management_console``: ``get_public_key``, ``add_authorized_key``).

Each simulated console (a :class:`~nova_npiv.simulator.model.Model`) has a
:class:`ConsoleState`; consoles served by one process share nothing but a
:class:`Registry`, through which a source console finds the remote one and
hands the partition over.  The HSCL codes of the refusals below are
assumed (no capture shows them); the wording says what is wrong.
"""

import base64
import contextlib
import hashlib
import threading
import uuid as uuidlib

from nova_npiv.simulator.vocab import JobFailure

TGT_SYSTEM = 'TargetManagedSystemName'
TGT_CONSOLE = 'TargetRemoteHMCIPAddress'
TGT_USER = 'TargetRemoteHMCUserID'
#: How long a migration waits for the remote console's state lock; the
#: remote console may be busy migrating towards this one.
PEER_LOCK_SECONDS = 10.0


class ConsoleState(object):
    """What the ManagementConsole object of one console shows."""

    def __init__(self, spec, seed):
        self.kind = spec['console']
        self.name = spec['name']
        self.address = spec['address']
        self.ssh_user = spec['ssh_user']
        self.uuid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL,
                                      'nova-npiv-simulator/console/%s/%d'
                                      % (self.name, seed)))
        digest = hashlib.sha256(self.uuid.encode()).digest() * 8
        # The shape of an OpenSSH RSA public key line (not a usable key:
        # nothing here ever opens an SSH connection).
        self.public_key = 'ssh-rsa %s %s@%s' % (
            base64.b64encode(b'\x00\x00\x00\x07ssh-rsa' + digest).decode(),
            self.ssh_user, self.address)
        self.authorized_keys = list(spec['authorized_keys'])
        self.mtms = ('7042', 'CR9' if self.kind == 'hmc' else '42A',
                     '%07X' % (int(self.uuid[:7], 16) & 0xFFFFFFF))
        self.etag = None

    def trusts(self, public_key):
        return public_key.strip() in (k.strip() for k in
                                      self.authorized_keys)

    def set_authorized_keys(self, keys):
        """What an update POSTs; duplicates go, order stays."""
        out = []
        for key in keys:
            key = key.strip()
            if key and key not in out:
                out.append(key)
        self.authorized_keys = out


class Registry(object):
    """The consoles one process serves, so that they can find each other.

    Holds models, not servers: a Migrate job works on state only.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._models = []

    def register(self, model):
        with self._lock:
            if model not in self._models:
                self._models.append(model)
        model.registry = self

    def unregister(self, model):
        with self._lock:
            if model in self._models:
                self._models.remove(model)
        if model.registry is self:
            model.registry = None

    def models(self):
        with self._lock:
            return list(self._models)

    def at(self, address):
        """The consoles reachable at ``address`` (one IP may front several
        simulated consoles: they all listen on 127.0.0.1)."""
        return [m for m in self.models() if m.mc.address == address]


def _peers(model, address):
    registry = getattr(model, 'registry', None)
    if registry is None:
        return []
    return [m for m in registry.at(address) if m is not model]


def migration_target(model, lpar, params):
    """``(console model, system state)`` a migration of ``lpar`` goes to.

    The target system on this console needs no remote console; one on
    another needs both remote parameters, a console at that address that
    manages the system, the user that console migrates through, and its
    trust in this console's public key.  :class:`JobFailure` otherwise.
    """
    tname = params.get(TGT_SYSTEM)
    if not tname:
        raise JobFailure('%s is required' % TGT_SYSTEM)
    address, user = params.get(TGT_CONSOLE), params.get(TGT_USER)
    local = model.system_by_name(tname)
    if not address and not user:
        if local is None:
            raise JobFailure(
                'HSCLA27D Target managed system %s is not known to this '
                'management console (%s); to migrate to a system of '
                'another management console give %s and %s'
                % (tname, model.mc.name, TGT_CONSOLE, TGT_USER))
        return model, local
    if not address or not user:
        raise JobFailure(
            'HSCLA27E A remote migration needs both %s and %s (given: %s)'
            % (TGT_CONSOLE, TGT_USER, TGT_CONSOLE if address else TGT_USER))
    if address == model.mc.address and local is not None:
        return model, local
    candidates = _peers(model, address)
    if not candidates:
        raise JobFailure(
            'HSCLA27F Cannot connect to the remote management console %s: '
            'no management console answers at that address' % address)
    for peer in candidates:
        with locked(peer):
            target = peer.system_by_name(tname)
            if target is None:
                continue
            if user != peer.mc.ssh_user:
                raise JobFailure(
                    'HSCLA280 The remote management console %s (%s) refused '
                    'the logon of user %s' % (peer.mc.name, address, user))
            if not peer.mc.trusts(model.mc.public_key):
                raise JobFailure(
                    'HSCLA281 The remote management console %s (%s) does '
                    'not trust this management console (%s): its public '
                    'SSH key is not among the authorized keys of user %s '
                    'there' % (peer.mc.name, address, model.mc.name, user))
            if lpar.uuid.upper() in peer._parts:
                raise JobFailure(
                    'HSCLA284 A partition with UUID %s already exists on '
                    'the remote management console %s'
                    % (lpar.uuid, peer.mc.name))
            return peer, target
    raise JobFailure(
        'HSCLA282 Target managed system %s is not managed by the remote '
        'management console at %s' % (tname, address))


@contextlib.contextmanager
def locked(peer, seconds=PEER_LOCK_SECONDS):
    """Hold another console's lock (this one's is held already).

    Bounded: two consoles migrating towards each other at once would
    otherwise wait for each other forever.
    """
    if not peer.lock.acquire(timeout=seconds):
        raise JobFailure('HSCLA283 The remote management console %s is busy; '
                         'try the migration again' % peer.mc.name)
    try:
        yield
    finally:
        peer.lock.release()


def hand_over(source, lpar, peer, target):
    """Move ``lpar``'s record from console ``source`` to console ``peer``.

    Only the partition index is the consoles' own; the partition moves
    between the systems' records as in a migration on one console.
    """
    if peer is source:
        return
    del source._parts[lpar.uuid.upper()]
    peer._parts[lpar.uuid.upper()] = lpar


def fabric_logins(model):
    """The SAN's name servers: the logins of every console's systems (the
    fabric is shared; each console sees only its own systems)."""
    registry = getattr(model, 'registry', None)
    models = registry.models() if registry is not None else [model]
    if model not in models:
        models.append(model)
    out = {}
    for m in models:
        for fabric, wwpns in m.fabric_logins().items():
            out.setdefault(fabric, set()).update(wwpns)
    return {fabric: sorted(wwpns) for fabric, wwpns in sorted(out.items())}
