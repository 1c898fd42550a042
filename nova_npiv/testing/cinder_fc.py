"""A Cinder FC volume backend that zones like a real one, without an array.

Three plug-ins for cinder-volume, configured in cinder.conf::

    [DEFAULT]
    zoning_mode = fabric
    [fc-zone-manager]
    zone_driver = nova_npiv.testing.cinder_fc.SimZoneDriver
    fc_san_lookup_service = nova_npiv.testing.cinder_fc.SimLookupService
    fc_fabric_names = A,B
    npiv_sim_url = http://127.0.0.1:PORT      (the simulator: name servers)
    npiv_fabric_targets = A:500507680b2155a0,B:500507680b2255a0
    npiv_array_state = /path/array.json
    [fc]
    volume_driver = nova_npiv.testing.cinder_fc.NPIVTestFCDriver
    volume_backend_name = fc

Like Cinder's FC drivers with a fabric lookup service (e.g. Storwize's),
``initialize_connection`` builds the initiator_target_map from the
initiators the fabrics see logged in, and zones only those: a WWPN that is
not logged in when Cinder is asked cannot be zoned, which is why the plugin
stages WWPNs before the LPAR exists.
"""

from cinder import exception
from cinder.volume import driver
from cinder.zonemanager.drivers import fc_zone_driver
from cinder.zonemanager import fc_san_lookup_service
from cinder.zonemanager import utils as fczm_utils
from oslo_config import cfg
from oslo_log import log as logging

from nova_npiv.testing import fabric

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

GROUP = 'fc-zone-manager'
OPTS = [
    cfg.StrOpt('npiv_sim_url', default='http://127.0.0.1:12443',
               help='The nova-npiv simulator whose /fabric/logins stands in '
                    'for the fabrics\' name servers.'),
    cfg.ListOpt('npiv_fabric_targets', default=[],
                help='FABRIC:WWPN|WWPN,... the array\'s target ports on '
                     'each fabric.'),
    cfg.StrOpt('npiv_array_state', default='/var/lib/cinder/npiv-array.json',
               help='JSON file with the array\'s LUNs, presentations and '
                    'the fabrics\' zones.'),
]
CONF.register_opts(OPTS, group=GROUP)

#: Capacity the test array reports to the scheduler.
CAPACITY_GB = 1024


def _targets():
    return fabric.parse_targets(CONF[GROUP].npiv_fabric_targets)


def _state():
    return fabric.ArrayState(CONF[GROUP].npiv_array_state)


class SimLookupService(fc_san_lookup_service.FCSanLookupService):
    """Name-server lookup against the simulator's fabrics."""

    def get_device_mapping_from_network(self, initiator_list, target_list):
        logins = fabric.NameServer(CONF[GROUP].npiv_sim_url).logins()
        wanted = {fabric.norm(t) for t in target_list}
        targets = {f: [t for t in ts if t in wanted]
                   for f, ts in _targets().items()}
        return fabric.device_map(initiator_list,
                                 {f: ts for f, ts in targets.items() if ts},
                                 logins)


class SimZoneDriver(fc_zone_driver.FCZoneDriver):
    """Zones in the array-state file, one per initiator and fabric."""

    VERSION = '1.0'

    def get_san_context(self, target_wwn_list):
        wanted = {fabric.norm(t) for t in target_wwn_list}
        return {f: [t for t in ts if t in wanted]
                for f, ts in _targets().items() if wanted & set(ts)}

    def add_connection(self, fabric_name, initiator_target_map,
                       host_name=None, storage_system=None):
        _state().add_zones(fabric_name, initiator_target_map)
        LOG.info('Zoned on fabric %s: %s', fabric_name,
                 sorted(initiator_target_map))

    def delete_connection(self, fabric_name, initiator_target_map,
                          host_name=None, storage_system=None):
        _state().delete_zones(fabric_name, initiator_target_map)
        LOG.info('Unzoned on fabric %s: %s', fabric_name,
                 sorted(initiator_target_map))


class NPIVTestFCDriver(driver.VolumeDriver):
    """LUNs of a virtual array, presented over FC through zoned fabrics."""

    VERSION = '1.0'
    # Not a vendor driver: Cinder's CI marker.
    CI_WIKI_NAME = 'nova-npiv'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lookup = None

    def do_setup(self, context):
        self.lookup = fczm_utils.create_lookup_service()
        if self.lookup is None:
            raise exception.VolumeDriverException(
                message='NPIVTestFCDriver needs zoning_mode = fabric: it '
                        'zones through the FC zone manager')

    def check_for_setup_error(self):
        _targets()
        fabric.NameServer(CONF[GROUP].npiv_sim_url).logins()

    def _update_volume_stats(self):
        used = _state().used_gb()
        self._stats = {
            'volume_backend_name': (
                self.configuration.safe_get('volume_backend_name') or 'fc'),
            'vendor_name': 'nova-npiv',
            'driver_version': self.VERSION,
            'storage_protocol': 'FC',
            'total_capacity_gb': CAPACITY_GB,
            'free_capacity_gb': CAPACITY_GB - used,
            'reserved_percentage': 0,
            'multiattach': False,
        }

    def get_volume_stats(self, refresh=False):
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats

    def create_volume(self, volume):
        lun = _state().create_lun(volume.id, volume.size)
        return {'provider_location': 'lun:%d' % lun}

    def delete_volume(self, volume):
        _state().delete_lun(volume.id)

    def extend_volume(self, volume, new_size):
        _state().resize_lun(volume.id, new_size)

    # FC needs no export: access is LUN masking plus zoning, both done when
    # a host connects.
    def create_export(self, context, volume, connector):
        return None

    def ensure_export(self, context, volume):
        return None

    def remove_export(self, context, volume):
        return None

    def initialize_connection(self, volume, connector):
        initiators = (connector or {}).get('wwpns')
        if not initiators:
            raise exception.InvalidConnectorException(missing='wwpns')
        targets = [t for ts in _targets().values() for t in ts]
        dev_map = self.lookup.get_device_mapping_from_network(initiators,
                                                              targets)
        i_t_map = fabric.initiator_target_map(dev_map)
        if not i_t_map:
            raise exception.VolumeBackendAPIException(
                data='none of the initiator WWPNs %s of host %s is logged in '
                     'to a fabric (%s): nothing can be zoned to volume %s' % (
                         ', '.join(sorted(initiators)),
                         connector.get('host'),
                         ', '.join(sorted(_targets())), volume.id))
        state = _state()
        state.present(volume.id, sorted(i_t_map))
        info = {
            'driver_volume_type': 'fibre_channel',
            'data': {
                'target_discovered': False,
                'target_lun': state.lun(volume.id),
                'target_wwn': sorted({t for ts in i_t_map.values()
                                      for t in ts}),
                'initiator_target_map': i_t_map,
                'volume_id': volume.id,
            },
        }
        fczm_utils.add_fc_zone(info)
        return info

    def terminate_connection(self, volume, connector, **kwargs):
        state = _state()
        if connector is None:
            # Force detach: every presentation of the volume goes.
            initiators = state.read()['presented'].get(volume.id, [])
        else:
            initiators = [fabric.norm(w) for w in connector.get('wwpns', ())]
        unused = state.unpresent(volume.id, initiators)
        info = {'driver_volume_type': 'fibre_channel', 'data': {}}
        if unused:
            targets = sorted({t for ts in _targets().values() for t in ts})
            info['data'] = {'target_wwn': targets,
                            'initiator_target_map': {
                                i: targets for i in unused}}
            fczm_utils.remove_fc_zone(info)
        return info
