"""Live migration between two management consoles (NovaLink to NovaLink,
HMC to HMC).

A NovaLink manages only the system it runs on, so the platform migrates a
partition from one NovaLink to another console to console: the source
console's Migrate job names the remote console and the user it logs on to
there (``TargetRemoteHMCIPAddress``, ``TargetRemoteHMCUserID``), and the
remote console must already trust the source console's public SSH key.
Only systems of one HMC migrate without that (DESIGN §5).

In nova's order (the calls are the driver's):

1. destination, ``check_can_live_migrate_destination``: :func:`advertise`
   its console's address and user in the migrate data;
2. source, ``check_can_live_migrate_source``: :func:`offer_key`, the
   source console's public key, in ``system_metadata`` (the migrate data
   is a libvirt object nova's conductor knows; it has no field for a key);
3. destination, ``pre_live_migration``: :func:`trust_source`, adds that
   key to its own console's authorized keys, through the
   management-console API with pypowervm's helper.  The destination does
   it because only it holds credentials for its console: the source host
   can log on to its own console only;
4. source, ``live_migration``: :func:`migration_kwargs` for pypowervm's
   ``migrate_lpar`` (and ``MigrateValidate``): none when the destination
   system is on the source's own console.

Where the destination system is is decided by the source console's own
ManagedSystem feed: a system it manages migrates on it.
"""

import ipaddress
import json

from nova import objects
from oslo_config import cfg
from oslo_log import log as logging
from pypowervm.tasks import management_console as pvm_mgmt
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

#: The user a NovaLink's peers migrate through: its REST server's user
#: (nova-powervm always named it; pypowervm's captured NovaLink key is
#: ``wlp@...``).
NOVALINK_USER = 'wlp'
KEY_PREFIX = 'npiv_lpm_source_key'
_MAX_VALUE = 255
_SEP = '@'


# -- what this host's console is, for the other consoles ----------------------

def _loopback(host):
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def own_address(conf=CONF):
    """The address other consoles reach this host's console at.

    ``console_address`` if set; else the REST ``host`` unless it is a
    loopback name (nova-compute on the NovaLink partition itself talks to
    ``localhost``), then nova's ``my_ip``, as nova-powervm advertised.
    """
    group = conf[npiv_conf.GROUP]
    if group.console_address:
        return group.console_address
    if not _loopback(group.host):
        return group.host
    return conf.my_ip


def own_user(adapter, conf=CONF):
    """The console user other consoles migrate through."""
    group = conf[npiv_conf.GROUP]
    if group.console_migration_user:
        return group.console_migration_user
    if getattr(adapter.session, 'mc_type', 'HMC') == 'HMC':
        return group.username
    return NOVALINK_USER


def advertise(data, adapter, conf=CONF):
    """Destination: put ``user@address`` of this console in the migrate
    data, in the field nova's object has for "where the source connects
    to" (``target_connect_addr``)."""
    data.target_connect_addr = '%s%s%s' % (own_user(adapter, conf), _SEP,
                                           own_address(conf))
    return data


def destination(instance, data):
    """``(address, user)`` the destination advertised.

    :raises LiveMigrationDataError: when it advertised none (a destination
        host of an older version, or a foreign driver).
    """
    value = None
    if data is not None and 'target_connect_addr' in data:
        value = data.target_connect_addr
    user, sep, address = (value or '').rpartition(_SEP)
    if not (sep and user and address):
        raise exception.LiveMigrationDataError(
            instance=instance.uuid,
            reason='the destination did not say which management console '
                   'and user to migrate to (migrate data %r)' % (value,))
    return address, user


def manages(adapter, system_name):
    """Whether this host's console manages the system ``system_name``."""
    return any(sys_w.system_name == system_name
               for sys_w in pvm_ms.System.get(adapter))


# -- the source console's public key, in system_metadata ----------------------

def _key_names(sysmeta):
    return sorted((k for k in sysmeta
                   if k == KEY_PREFIX or k.startswith(KEY_PREFIX + '#')),
                  key=lambda k: int(k.split('#')[1]) if '#' in k else 0)


def _get_key(instance):
    names = _key_names(instance.system_metadata)
    if not names:
        return None
    try:
        return json.loads(''.join(instance.system_metadata[k]
                                  for k in names))
    except ValueError as err:
        raise exception.LiveMigrationDataError(
            instance=instance.uuid,
            reason='%s is not valid JSON: %s' % (KEY_PREFIX, err))


def forget_key(instance):
    """Drop the recorded key; True if there was one (then save)."""
    names = _key_names(instance.system_metadata)
    for name in names:
        del instance.system_metadata[name]
    return bool(names)


def offer_key(adapter, instance):
    """Source: record this console's public SSH key for the destination."""
    key = pvm_mgmt.get_public_key(adapter)
    if not key:
        raise exception.LiveMigrationDataError(
            instance=instance.uuid,
            reason='the management console has no public SSH key to offer '
                   'the destination console')
    forget_key(instance)
    text = json.dumps(key)
    for index in range(0, len(text), _MAX_VALUE):
        name = KEY_PREFIX + ('#%d' % (index // _MAX_VALUE) if index else '')
        instance.system_metadata[name] = text[index:index + _MAX_VALUE]
    instance.save()


def trust_source(adapter, context, instance, source_system):
    """Destination: make this console trust the source console's key.

    Nothing to do when the source system is on this console.  The key is
    read from the instance nova passed or, when the source recorded it after
    that copy was loaded, from the database.  pypowervm's helper adds it
    only if it is not there yet (one etag-checked update).
    """
    if manages(adapter, source_system):
        if forget_key(instance):
            instance.save()
        return
    key = _get_key(instance)
    if key is None:
        fresh = objects.Instance.get_by_uuid(
            context, instance.uuid, expected_attrs=['system_metadata'])
        key = _get_key(fresh)
    if not key:
        raise exception.LiveMigrationDataError(
            instance=instance.uuid,
            reason='the source host recorded no public SSH key of its '
                   'management console, which the console of this host '
                   'must trust to take the partition')
    pvm_mgmt.add_authorized_key(adapter, key)
    LOG.info('The management console of this host trusts the one of '
             'system %s now (key %s...)', source_system, key[:24],
             instance=instance)
    if forget_key(instance):
        instance.save()


def migration_kwargs(adapter, instance, system_name, data):
    """Source: the remote-console arguments of ``migrate_lpar``.

    Empty when ``system_name`` is on this host's console (one HMC).
    """
    if manages(adapter, system_name):
        return {}
    address, user = destination(instance, data)
    return {'tgt_mgmt_svr': address, 'tgt_mgmt_usr': user}
