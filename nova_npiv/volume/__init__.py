"""Volume drivers, chosen by the ``driver_volume_type`` Cinder reports."""

from nova_npiv import exception
from nova_npiv.volume import npiv

_DRIVERS = {
    'fibre_channel': npiv.NPIVVolumeDriver,
}


def driver_class(connection_info):
    if not isinstance(connection_info, dict):
        raise exception.InvalidConnectionInfo(
            volume_id='unknown', field='connection_info',
            reason='is %s, not a dict' % type(connection_info).__name__)
    vol_type = connection_info.get('driver_volume_type')
    try:
        return _DRIVERS[vol_type]
    except (KeyError, TypeError):
        raise exception.VolumeDriverNotFound(type=vol_type)


def build(adapter, system_uuid, instance, connection_info, stg_ftsk=None,
          **kwargs):
    """The volume driver for ``connection_info``."""
    cls = driver_class(connection_info)
    return cls(adapter, system_uuid, instance, connection_info,
               stg_ftsk=stg_ftsk, **kwargs)
