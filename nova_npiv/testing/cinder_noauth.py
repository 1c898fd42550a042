"""Cinder's noauth pipeline, plus what keystonemiddleware does with a
service token.

Cinder lets a caller delete an in-use attachment only when the request
carries a service token with the ``service`` role (bug #2004555): that is
how nova proves the call is its own.  Without keystone nothing validates
tokens, so this filter, after Cinder's ``noauth``, gives the service role to
requests with an ``X-Service-Token`` (nova sends one with
``[service_user] send_service_user_token = true``).  For test deployments
on loopback only.
"""

import webob.dec


class ServiceTokenRoles(object):

    def __init__(self, app):
        self.app = app

    @classmethod
    def factory(cls, global_conf, **local_conf):
        return cls

    @webob.dec.wsgify
    def __call__(self, req):
        ctx = req.environ.get('cinder.context')
        if ctx is not None and req.headers.get('X-Service-Token'):
            ctx.service_roles = ['service']
        return req.get_response(self.app)
