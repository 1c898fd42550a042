"""Cinder as the in-process runs see it: FC connection_info, nothing else.

The demo, the benchmarks, the fault matrix and the tests all need what a
Cinder FC volume driver hands nova for a connector.  One builder makes it,
so a change to the shape (a new key, a different target list) reaches
every caller at once instead of drifting between copies.  Only plain data
here: no nova, no Cinder import, so any process may use it.
"""

#: Target ports of the stand-in storage array, one per fabric.
ARRAY_TARGETS = ('500507680b2155a0', '500507680b2255a0')


def fc_connection_info(volume_id, wwpns=None, targets=ARRAY_TARGETS, lun=1,
                       **data):
    """Cinder's FC ``connection_info`` for ``volume_id``.

    :param wwpns: the initiators the volume is zoned to; they become the
        ``initiator_target_map`` (each to every target).  None: no map, as
        Cinder drivers without a fabric lookup send.  No check is made on
        any value: the tests hand malformed ones on purpose.
    :param data: further keys of ``data`` (e.g. ``attachment_id``).
    """
    fields = {'volume_id': volume_id, 'target_discovered': False,
              'target_wwn': list(targets), 'target_lun': lun}
    if wwpns is not None:
        fields['initiator_target_map'] = {w: list(targets) for w in wwpns}
    fields.update(data)
    return {'driver_volume_type': 'fibre_channel', 'serial': volume_id,
            'data': fields}


class FakeCinder(object):
    """Just enough of Cinder for the driver: a LUN per volume and the FC
    connection_info of a volume for a connector, zoned to its WWPNs."""

    def __init__(self):
        self.luns = {}

    def connection_info(self, volume_id, connector):
        lun = self.luns.setdefault(volume_id, len(self.luns) + 1)
        return fc_connection_info(volume_id, connector['wwpns'], lun=lun)

    def bdm(self, volume_id, boot_index, connector):
        """A block device mapping of nova's ``block_device_info``."""
        return {'boot_index': boot_index,
                'mount_device': '/dev/sd%s' % chr(ord('a') + boot_index % 26),
                'connection_info': self.connection_info(volume_id,
                                                        connector)}
