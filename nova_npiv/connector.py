"""The volume connector Cinder sees for an NPIV instance.

os-brick describes the host; NPIV replaces the host's own HBA WWPNs with the
instance's and names a host object per instance, because every instance logs
in with WWPNs of its own.
"""

import platform
import sys

from os_brick.initiator.connectors import fibre_channel as brick_fc
from oslo_config import cfg

CONF = cfg.CONF


def properties(wwpns, host_name):
    props = brick_fc.FibreChannelConnector.get_connector_properties(None)
    # The host's own WWNNs describe its physical HBAs, not the instance.
    props.pop('wwnns', None)
    props.update({
        'platform': platform.machine(),
        'os_type': sys.platform,
        'ip': CONF.my_block_storage_ip,
        'host': host_name,
        'multipath': False,
        'enforce_multipath': False,
        'wwpns': list(wwpns),
    })
    return props
