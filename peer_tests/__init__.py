"""Code nobody here wrote, run against the simulator (``tox -e peer``).

Kept out of ``tests/`` so that ``stestr run`` (test_path=./tests) never
imports nova-powervm, which only the peer environment installs.
"""

# The same native-thread set-up as the main suite (see tests/__init__.py).
import tests  # noqa: F401
