import os

# nova 34 runs its services on native threads when asked to.  The embedded
# simulator is a threaded HTTP server that eventlet's monkey patching (which
# nova's functional fixtures would otherwise apply) would stall, so the mode
# is chosen here, before anything imports eventlet.
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

import hypothesis  # noqa: E402

# Property tests judge the code's answers, never its speed: on a loaded
# machine (CI's two cores shared with a deployment) input generation can be
# slow enough for hypothesis to call the test itself unhealthy.
hypothesis.settings.register_profile(
    'nova-npiv', suppress_health_check=[hypothesis.HealthCheck.too_slow],
    deadline=None)
hypothesis.settings.load_profile('nova-npiv')
