"""What a handler answers: a status, a body and headers.

Below the handlers of every resource kind (:mod:`.responses`,
:mod:`.responses_console`) and the server, so that each can build a reply
without importing the others.
"""

from nova_npiv.simulator import render


class Reply(object):
    """What the server sends back; ``body`` may be the server's DROP."""
    __slots__ = ('status', 'headers', 'body', 'fault', 'dlpar')

    def __init__(self, status, body=b'', headers=None, fault=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.fault = fault
        #: DLPAR operations the request did (see ``dlpar``).
        self.dlpar = 0


def atom_reply(elem, status=200, etag=None):
    headers = {'Content-Type': 'application/atom+xml'}
    if etag is not None:
        headers['etag'] = etag
    return Reply(status, render.tostring(elem), headers)
