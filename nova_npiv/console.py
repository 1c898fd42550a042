"""Connection to the management console and the managed system we drive.

pypowervm only verifies the console certificate while logging on and sends
every later request with verification off; :class:`VerifiedSession` applies
the operator's choice (system store, a CA path, or off) to every request.

It never follows redirects (they would carry the session token, or the
logon body with the password, wherever the Location points), and refuses
replies that no console sends and that would cost the
service dearly: a document type declaration (lxml, as pypowervm sets it up,
expands internal entities; libxml2 stops a "billion laughs" amplification,
but nothing legitimate needs a DTD), and a body over ``max_reply_mb``
(pypowervm would parse it whole and, if unparseable, log it whole at ERROR).
"""

from oslo_config import cfg
from oslo_log import log as logging
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
import requests
from pypowervm.wrappers import managed_system as pvm_ms

from nova_npiv import conf as npiv_conf
from nova_npiv import exception

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


#: Markers of a document type declaration: a DTD is where entities live.
_DTD_MARKERS = ('<!DOCTYPE', '<!ENTITY')


class _NoRedirects(requests.Session):
    """A requests session that never follows a redirect.

    pypowervm sends the session token as a plain header (X-API-Session) and
    the password in the logon body; requests keeps both when it follows a
    redirect (a 307 or 308 re-sends the body), to whatever host and over
    whatever scheme the Location names.  The REST API does not redirect: a
    redirect is answered with an HttpError naming the request instead.
    """

    def get_redirect_target(self, resp):
        return None


class _RequestsWithoutRedirects(object):
    """The ``requests`` module as pypowervm.adapter sees it.

    pypowervm builds a ``requests.Session()`` inside every request, so the
    only way to choose its class is the module it looks the name up in.
    """

    Session = _NoRedirects

    def __getattr__(self, name):
        return getattr(requests, name)


def _refuse_redirects():
    if not isinstance(pvm_adpt.requests, _RequestsWithoutRedirects):
        pvm_adpt.requests = _RequestsWithoutRedirects()


class VerifiedSession(pvm_adpt.Session):

    def __init__(self, tls_verify, max_reply_bytes=None, **kwargs):
        self._tls_verify = tls_verify
        self._max_reply = max_reply_bytes
        # Before the logon, whose body carries the password.
        _refuse_redirects()
        # certpath=None: pypowervm's own per-host certificate file lookup is
        # replaced by tls_verify.
        super().__init__(certpath=None, **kwargs)

    def request(self, method, path, *args, **kwargs):
        kwargs['verify'] = self._tls_verify
        try:
            resp = super().request(method, path, *args, **kwargs)
        except (exception.ConsoleTimeout, exception.ConsoleUnreachable):
            raise   # A nested request (a re-logon) named it already.
        except pvm_exc.TimeoutError as err:
            raise exception.ConsoleTimeout(
                method=method, path=path.split('?', 1)[0],
                timeout=(self.timeout if kwargs.get('timeout', -1) == -1
                         else kwargs['timeout']), reason=err)
        except pvm_exc.ConnectionError as err:
            raise exception.ConsoleUnreachable(
                method=method, path=path.split('?', 1)[0], reason=err)
        self._check_reply(method, path, resp)
        return resp

    def __del__(self):
        """No logoff from the garbage collector.

        pypowervm logs off (a blocking DELETE) when a Session is collected,
        in whatever thread the collector happens to run: one that holds a
        lock the reply depends on waits forever (an in-process console
        such as the embedded simulator stops answering every later request;
        an eventlet hub blocks).  The owner logs off explicitly: the driver
        in ``cleanup_host`` and when ``init_host`` replaces its adapter,
        the command line when it is done; the console expires the rest.
        """

    def _check_reply(self, method, path, resp):
        body = getattr(resp, 'body', None)
        path = path.split('?', 1)[0]
        if not body:
            # pypowervm reports an empty GET, but takes an empty create or
            # update reply for a document and fails later on, without
            # saying which request it was (KeyError 'entry').
            if method in ('PUT', 'POST') and resp.status == 200:
                raise exception.ConsoleReplyRefused(
                    method=method, path=path, reason='the reply is empty')
            return
        if self._max_reply and len(body) > self._max_reply:
            raise exception.ConsoleReplyRefused(
                method=method, path=path,
                reason='%d bytes, more than [powervm] max_reply_mb (%d MiB)'
                % (len(body), self._max_reply >> 20))
        for marker in _DTD_MARKERS:
            if marker in body:
                raise exception.ConsoleReplyRefused(
                    method=method, path=path,
                    reason='it carries a document type declaration (%s); '
                           'entities are never expanded' % marker)


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
        auditmemento='nova-npiv', max_reply_bytes=opts.max_reply_mb << 20)
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
