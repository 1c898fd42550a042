"""nova-api's WSGI application for gunicorn.

nova parses ``sys.argv`` as its own command line (uwsgi passes
``--pyargv``); under gunicorn that would be gunicorn's options, so the
configuration comes from OS_NOVA_CONFIG_DIR/OS_NOVA_CONFIG_FILES only.
"""

import sys

sys.argv = sys.argv[:1]

from nova.wsgi import osapi_compute  # noqa: E402

application = osapi_compute.application
