"""The handlers of ``/rest/api/uom/ManagementConsole``.

Each console serves one ManagementConsole object: its identity, managed
systems, network address, public SSH key and authorized keys.  An update
(POST with If-Match, as pypowervm's ``add_authorized_key`` sends it) may
change the authorized keys only; every other child is the console's own.
:class:`ConsoleHandlers` is mixed into
:class:`~nova_npiv.simulator.responses.Responses`.
"""

from nova_npiv.simulator import render
from nova_npiv.simulator import render_console
from nova_npiv.simulator import replies
from nova_npiv.simulator.vocab import SimulatorError


def _find(model, uuid):
    if uuid.lower() != model.mc.uuid.lower():
        raise SimulatorError(404, 'ManagementConsole %s not found' % uuid)
    return model.mc


def atom_reply(elem, etag):
    return replies.atom_reply(elem, etag=etag)


class ConsoleHandlers(object):
    """The ManagementConsole handlers of a console's ``Responses``."""

    def console_feed(self, req):
        model = self.model
        with model.lock:
            ent = render_console.entry(model, req.base)
            href = '%s%s%s' % (req.base, req.prefix, render_console.KIND)
            return atom_reply(render.feed(href, [ent]), model.mc.etag)

    def console_get(self, req, uuid):
        model = self.model
        with model.lock:
            mc = _find(model, uuid)
            return atom_reply(render_console.entry(model, req.base),
                              mc.etag)

    def console_update(self, req, uuid):
        model = self.model
        if_match = req.headers.get('If-Match')
        if not if_match:
            raise SimulatorError(400, 'An update of a ManagementConsole must '
                                 'carry If-Match with the etag it was read at')
        keys = render_console.parse_authorized_keys(req.body)
        with model.lock:
            mc = _find(model, uuid)
            model.check_etag(mc, if_match)
            if keys is not None and keys != mc.authorized_keys:
                mc.set_authorized_keys(keys)
                model.touch(mc)
            return atom_reply(render_console.entry(model, req.base),
                              mc.etag)

    def console_not_allowed(self, req, uuid=None):
        raise SimulatorError(405, '%s not supported on %s'
                             % (req.method, req.path))
