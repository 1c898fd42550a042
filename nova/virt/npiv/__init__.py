"""Entry point for nova's driver loader.

nova 34 only loads ``nova.virt.<compute_driver>``; this module lets
``compute_driver = npiv.NPIVDriver`` reach the driver that lives in
:mod:`nova_npiv`.  Only this directory is installed into nova's namespace:
nova's own ``nova/__init__.py`` and ``nova/virt/__init__.py`` stay untouched.
"""

from nova_npiv.driver import NPIVDriver

__all__ = ['NPIVDriver']
