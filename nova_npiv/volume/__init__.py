"""Volume adapters, chosen by the ``driver_volume_type`` Cinder reports."""

from nova_npiv import exception
from nova_npiv.volume import npiv

_ADAPTERS = {
    'fibre_channel': npiv.NPIVVolumeAdapter,
}


def adapter_class(connection_info):
    if not isinstance(connection_info, dict):
        raise exception.InvalidConnectionInfo(
            volume_id='unknown', field='connection_info',
            reason='is %s, not a dict' % type(connection_info).__name__)
    vol_type = connection_info.get('driver_volume_type')
    try:
        return _ADAPTERS[vol_type]
    except (KeyError, TypeError):
        raise exception.VolumeAdapterNotFound(type=vol_type)


def build(adapter, host_uuid, instance, connection_info, stg_ftsk=None,
          **kwargs):
    """The volume adapter for ``connection_info``."""
    cls = adapter_class(connection_info)
    return cls(adapter, host_uuid, instance, connection_info,
               stg_ftsk=stg_ftsk, **kwargs)
