"""Connection to the management console and the managed system we drive.

pypowervm only verifies the console certificate while logging on and sends
every later request with verification off; :class:`VerifiedSession` applies
the operator's choice (system store, a CA path, or off) to every request.
"""

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


class VerifiedSession(pvm_adpt.Session):

    def __init__(self, tls_verify, **kwargs):
        self._tls_verify = tls_verify
        # certpath=None: pypowervm's own per-host certificate file lookup is
        # replaced by tls_verify.
        super().__init__(certpath=None, **kwargs)

    def request(self, method, path, *args, **kwargs):
        kwargs['verify'] = self._tls_verify
        return super().request(method, path, *args, **kwargs)


def tls_verify(conf=CONF):
    opts = conf[npiv_conf.GROUP]
    if opts.protocol == 'http' or not opts.verify_tls:
        return False
    return opts.ca_path or True


def build_adapter(conf=CONF):
    """A logged-on pypowervm Adapter for the configured console."""
    opts = conf[npiv_conf.GROUP]
    if opts.protocol == 'https' and not opts.verify_tls:
        LOG.warning('TLS verification of the management console %s is off',
                    opts.host)
    session = VerifiedSession(
        tls_verify(conf), host=opts.host, port=opts.port,
        protocol=opts.protocol, username=opts.username,
        password=opts.password or '', timeout=opts.conn_timeout,
        auditmemento='nova-npiv')
    return pvm_adpt.Adapter(session)


def find_managed_system(adapter, conf=CONF):
    """The System wrapper of the managed system this service drives."""
    wanted = conf[npiv_conf.GROUP].managed_system
    systems = pvm_ms.System.get(adapter)
    names = ', '.join(sorted(s.system_name for s in systems)) or 'none'
    if not wanted:
        if len(systems) != 1:
            raise exception.AmbiguousManagedSystem(count=len(systems),
                                                   known=names)
        return systems[0]
    for system in systems:
        if wanted in (system.system_name, system.uuid,
                      getattr(system.mtms, 'serial', None)):
            return system
    raise exception.ManagedSystemNotFound(name=wanted, known=names)
