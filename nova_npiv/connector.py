"""The volume connector Cinder sees for an NPIV instance.

The keys are os-brick's host connector properties (platform, os_type, ip,
host, multipath, enforce_multipath, wwpns), so every Cinder FC driver
understands them.  os-brick's own FC connector is not asked: it reports the
compute host's physical HBAs, and with NPIV the initiators are the instance's
virtual WWPNs, logged in through the VIOSes, never the host's.  ``host`` names
a host object per instance for the same reason.
"""

import platform
import sys

from oslo_config import cfg

CONF = cfg.CONF


def properties(wwpns, host_name):
    return {
        'platform': platform.machine(),
        'os_type': sys.platform,
        'ip': CONF.my_block_storage_ip,
        'host': host_name,
        'multipath': False,
        'enforce_multipath': False,
        'wwpns': list(wwpns),
    }
