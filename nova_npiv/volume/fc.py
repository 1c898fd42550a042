"""Fibre Channel volumes: the initiator WWPNs are what Cinder maps to."""

import abc

from nova_npiv import connection_info as conn_info
from nova_npiv.volume import base


class FibreChannelVolumeDriver(base.VolumeDriver, metaclass=abc.ABCMeta):

    @abc.abstractmethod
    def wwpns(self):
        """Initiator WWPNs the storage backend must map the volume to."""

    @abc.abstractmethod
    def host_name(self):
        """Host object name the storage backend should use."""

    def initiator_wwpns(self):
        """Every WWPN an ``initiator_target_map`` may legitimately name."""
        return self.wwpns()

    def validated_target(self):
        """The normalised FC target, or InvalidConnectionInfo.

        Called before anything changes so that bad input from Cinder leaves
        the VIOSes and the instance metadata untouched.
        """
        return conn_info.validate(self.connection_info,
                                  instance_wwpns=self.initiator_wwpns())
