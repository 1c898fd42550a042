"""placement's WSGI application behind its noauth2 strategy, for nova's
``[placement] auth_type = none`` (keystoneauth's "none" sends the token
``notused`` without roles): requests without X-Roles get the admin role,
which is what nova's service user has in a keystone deployment."""

from placement.wsgi import api


def application(environ, start_response):
    environ.setdefault('HTTP_X_ROLES', 'admin,service')
    return api.application(environ, start_response)
