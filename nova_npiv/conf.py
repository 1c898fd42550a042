"""Configuration of the plugin, all in nova.conf's ``[powervm]`` group.

Fabric port options are dynamic (``fabric_<name>_port_wwpns``, one per name in
``fabrics``): they can only be registered once ``fabrics`` has been read, so
:func:`register_fabric_opts` is called after the config files are parsed and
:func:`list_opts` asks the generator's own config for the fabric names.
"""

import collections

from oslo_config import cfg

from nova_npiv import exception
from nova_npiv import wwpn as wwpn_util

GROUP = 'powervm'

STAGING_AUTO = 'auto'
STAGING_NONE = 'none'

#: Upper bound of ``ports_per_fabric``: the platform hands out at most eight
#: WWPN pairs per allocation job, and one job must cover a whole fabric.
MAX_PORTS_PER_FABRIC = 8

console_opts = [
    cfg.HostAddressOpt(
        'host', default='localhost',
        help='Management console (HMC or NovaLink) REST API host.'),
    cfg.PortOpt(
        'port', default=None,
        help='Management console REST API port. Default: 12443 for https, '
             '12080 for http.'),
    cfg.StrOpt(
        'protocol', default='https', choices=['https', 'http'],
        help='Protocol for the management console REST API. Plain http is '
             'only sensible against the embedded simulator on loopback.'),
    cfg.StrOpt(
        'username', default='hscroot',
        help='User name for the management console.'),
    cfg.StrOpt(
        'password', secret=True,
        help='Password for the management console. Never logged.'),
    cfg.BoolOpt(
        'verify_tls', default=True,
        help='Verify the management console TLS certificate. Turn off only '
             'for a lab console with a self-signed certificate.'),
    cfg.StrOpt(
        'ca_path',
        help='CA bundle (file or directory) used to verify the management '
             'console certificate instead of the system store.'),
    cfg.HostAddressOpt(
        'console_address',
        help='Address at which other management consoles reach this '
             "host's console, for a live migration to this host from "
             'another console (NovaLink to NovaLink, HMC to HMC): the '
             "source console's TargetRemoteHMCIPAddress. Default: the "
             "'host' option, or nova's my_ip when that is a loopback name "
             '(nova-compute on the NovaLink partition itself).'),
    cfg.StrOpt(
        'console_migration_user',
        help="User of this host's console that another console logs on to "
             'for a live migration to this host (TargetRemoteHMCUserID). '
             "Default: 'wlp' on a NovaLink, the 'username' option on an "
             'HMC.'),
    cfg.IntOpt(
        'conn_timeout', default=60, min=1,
        help='Seconds to wait for the management console to answer a read '
             '(GET) or one request of a job (its template, submission, '
             'status polls, cancel). A request that takes longer fails '
             'with an error naming it.'),
    cfg.IntOpt(
        'update_timeout', default=300, min=1,
        help='Seconds to wait for the management console to answer a write: '
             'a VIOS or partition update (POST), a partition create (PUT) '
             'or delete. pypowervm alone would wait up to an hour for an '
             'update, holding the per-system VIOS serialisation meanwhile; '
             'nothing else on the managed system waits behind a hung '
             'update longer than this.'),
    cfg.IntOpt(
        'job_timeout', default=1800, min=1,
        help='Seconds a job (power on/off, WWPN allocation, closing a '
             'virtual terminal, partition migration and its validation, '
             'abort and recovery) may take from its submission to its end. '
             'Past it the job is cancelled and the operation fails with an '
             'error naming the job; a partition migration, which a cancel '
             'does not stop, is aborted.'),
    cfg.FloatOpt(
        'job_poll_interval', default=1.0, min=0.01,
        help='Seconds between two status reads (polls) of a job the '
             'management console answered NOT_STARTED or RUNNING. The '
             "default is pypowervm's own fixed interval: a console runs a "
             'job for seconds to minutes, and each poll is a request it '
             'answers. A shorter interval makes short jobs (a simulator, a '
             'quick power-off) end sooner, at the price of more requests.'),
    cfg.IntOpt(
        'lpm_settle_timeout', default=600, min=0,
        help='After a live migration\'s Migrate job failed, timed out or '
             'lost its reply: seconds to wait for the platform to stop '
             'migrating the partition (it is then found on the destination, '
             'or recovered on the source) before nova may roll back.  Past '
             'it the instance is put in ERROR and nothing is rolled back: '
             'the operator decides where it runs.'),
    cfg.FloatOpt(
        'lpm_settle_interval', default=5.0, min=0.01,
        help='Seconds between reads of a partition whose migration is '
             'settling (see lpm_settle_timeout).'),
    cfg.IntOpt(
        'logon_timeout', default=60, min=1,
        help='Seconds to wait for the management console to answer one '
             'logon (or logoff) request.'),
    cfg.IntOpt(
        'logon_retries', default=30, min=0,
        help='How many more times the logon is tried when the management '
             'console cannot be reached, does not answer in time or answers '
             'that it is not ready (HTTP 404, 502, 503), e.g. a NovaLink '
             'REST server still starting after a reboot. A refused logon '
             '(bad user or password) is never retried. Then nova-compute '
             'fails to start with an error naming the console.'),
    cfg.IntOpt(
        'logon_retry_interval', default=10, min=0,
        help='Seconds between two logon tries. With the defaults, a console '
             'gets about 5 minutes (plus the tries themselves) to come up.'),
    cfg.IntOpt(
        'vios_busy_retries', default=3, min=0,
        help='How many times a request that a busy Virtual I/O Server '
             'refused (HTTP 500 HSCL3205 / VIOS0014, or 503) is sent again, '
             "by pypowervm's VIOS-busy retry helper. 0: never."),
    cfg.FloatOpt(
        'vios_busy_retry_delay', default=5.0, min=0,
        help='Seconds before the first resend of a busy-VIOS request; the '
             'nth resend waits n times this (5, 10, 15 s by default). The '
             'waits count towards the time a VIOS update holds the '
             "managed system's VIOS serialisation."),
    cfg.IntOpt(
        'max_reply_mb', default=128, min=1,
        help='Largest management console reply accepted, in MiB. A bigger '
             'one is refused before it is parsed or logged. The VIOS and '
             'partition feeds of one managed system with 5000 vFC mappings '
             'are about 11 MiB each.'),
    cfg.IntOpt(
        'undo_retry_seconds', default=15, min=0,
        help='How long the undo of a failed operation (a spawn rollback, a '
             'staging undo, the map-back of a failed delete) keeps trying '
             'while the management console cannot be reached, e.g. a '
             'NovaLink REST server restarting, or cannot assemble the VIOS '
             'feed (a VIOS in error). Past it the undo gives up and '
             'the leftovers are what nova-npiv audit reports.'),
    cfg.StrOpt(
        'managed_system',
        help='Name, serial number or UUID of the managed system (CEC) this '
             'nova-compute service drives. Required when the console '
             'manages more than one system.'),
]

npiv_opts = [
    cfg.ListOpt(
        'fabrics', default=['A'],
        help='Names of the SAN fabrics cabled to the Virtual I/O Servers. '
             'Each name needs a fabric_<name>_port_wwpns option.'),
    cfg.IntOpt(
        'ports_per_fabric', default=1, min=1, max=MAX_PORTS_PER_FABRIC,
        help='Physical FC ports (and so virtual FC client adapters) given '
             'to each instance on each fabric.'),
    cfg.StrOpt(
        'staging_partition', default=STAGING_AUTO,
        help="Partition that hosts an instance's virtual FC adapters "
             "before the instance's LPAR exists, so that its WWPNs log in "
             "and the SAN can be zoned early. 'auto': the NovaLink "
             "management partition when there is one, otherwise none; "
             "'none': never stage; any other value: the name of a "
             "partition on the managed system."),
]

#: nova-powervm's default share of a physical processor per shared vCPU.
DEF_PROC_UNITS_FACTOR = 0.1

lpar_opts = [
    cfg.FloatOpt(
        'proc_units_factor', default=DEF_PROC_UNITS_FACTOR, min=0.05,
        max=1.0,
        help='Processing units per virtual processor given to an LPAR with '
             'shared processors whose flavor does not set '
             'powervm:proc_units (0.05 to 1.0). Only flavors that ask for '
             'shared processors (powervm:dedicated_proc=false or a shared '
             'processor extra spec) get them: by default an LPAR has '
             'dedicated processors, one per vCPU.'),
]

ALL_OPTS = console_opts + npiv_opts + lpar_opts


def fabric_opt_name(fabric):
    return 'fabric_%s_port_wwpns' % fabric


def _fabric_opt(fabric):
    return cfg.ListOpt(
        fabric_opt_name(fabric), default=[],
        help='Physical FC port WWPNs of the Virtual I/O Servers that are '
             'cabled to fabric %s (case and colons do not matter).' % fabric)


def register_opts(conf=cfg.CONF):
    conf.register_opts(ALL_OPTS, group=GROUP)


def proc_units_factor(conf=cfg.CONF):
    register_opts(conf)
    return conf[GROUP].proc_units_factor


def register_fabric_opts(conf=cfg.CONF):
    """Register ``fabric_<name>_port_wwpns`` for every configured fabric."""
    register_opts(conf)
    for fabric in conf[GROUP].fabrics:
        conf.register_opt(_fabric_opt(fabric), group=GROUP)


def fabric_names(conf=cfg.CONF):
    register_fabric_opts(conf)
    names = [f.strip() for f in conf[GROUP].fabrics]
    if not names or any(not f for f in names):
        raise exception.NPIVConfigError(
            option='[%s] fabrics' % GROUP,
            reason='must list at least one non-empty fabric name')
    if len(set(names)) != len(names):
        raise exception.NPIVConfigError(
            option='[%s] fabrics' % GROUP, reason='fabric names repeat')
    return names


def fabric_ports(fabric, conf=cfg.CONF):
    """Normalised physical port WWPNs configured for ``fabric``."""
    register_fabric_opts(conf)
    option = '[%s] %s' % (GROUP, fabric_opt_name(fabric))
    raw = conf[GROUP].get(fabric_opt_name(fabric)) or []
    ports = []
    for value in raw:
        try:
            ports.append(wwpn_util.normalize(value))
        except ValueError as err:
            raise exception.NPIVConfigError(option=option, reason=str(err))
    if not ports:
        raise exception.NPIVConfigError(
            option=option, reason='fabric %s has no physical ports' % fabric)
    return ports


def all_fabric_ports(conf=cfg.CONF):
    """``{fabric: [port wwpn, ...]}`` for every configured fabric."""
    mapping = {f: fabric_ports(f, conf) for f in fabric_names(conf)}
    seen = {}
    for fabric, ports in mapping.items():
        for port in ports:
            if port in seen and seen[port] != fabric:
                raise exception.NPIVConfigError(
                    option='[%s] %s' % (GROUP, fabric_opt_name(fabric)),
                    reason='port %s is also configured on fabric %s'
                    % (port, seen[port]))
            seen[port] = fabric
    return mapping


def validated_ports_per_fabric(conf=cfg.CONF):
    """``ports_per_fabric``, with a bad value reported as NPIVConfigError.

    oslo.config checks min/max only when the option is read, and then raises
    ``ConfigFileValueError`` whose text names neither the group nor what the
    bound means; nova-compute should fail with the option named instead.
    """
    register_opts(conf)
    option = '[%s] ports_per_fabric' % GROUP
    try:
        value = conf[GROUP].ports_per_fabric
    except ValueError as err:
        raise exception.NPIVConfigError(
            option=option,
            reason='must be an integer from 1 to %d (%s)'
            % (MAX_PORTS_PER_FABRIC, err))
    if not 1 <= value <= MAX_PORTS_PER_FABRIC:
        raise exception.NPIVConfigError(
            option=option, reason='is %d, must be from 1 to %d'
            % (value, MAX_PORTS_PER_FABRIC))
    return value


class NPIVSettings(collections.namedtuple(
        'NPIVSettings', 'host fabrics ports ports_per_fabric staging')):
    """The validated NPIV configuration of one nova-compute service.

    Read once, when the service starts, so that a bad option stops
    nova-compute at once instead of failing the first spawn, and so that
    several compute services in one process (nova's functional tests) can
    each keep their own managed system's ports.
    """

    def fabric_of(self, port_wwpn):
        port = wwpn_util.normalize(port_wwpn)
        for fabric, ports in self.ports.items():
            if port in ports:
                return fabric
        return None


def load_settings(conf=cfg.CONF, host=None):
    ports = all_fabric_ports(conf)
    return NPIVSettings(
        host=host or conf.host,
        fabrics=list(ports),
        ports=ports,
        ports_per_fabric=validated_ports_per_fabric(conf),
        staging=conf[GROUP].staging_partition)


def list_opts():
    """Options for oslo-config-generator.

    The fabric port options depend on ``fabrics``; the sample shows one per
    default fabric so that operators see the option's name and help.
    """
    fabric_opts = [_fabric_opt(f) for f in npiv_opts[0].default]
    return [(GROUP, ALL_OPTS + fabric_opts)]


register_opts()
