"""What every volume driver shares: the storage FeedTask it queues work on.

The compute driver hands one FeedTask to all volume drivers of an operation,
so that a spawn with many volumes costs one VIOS feed read and one POST per
touched VIOS.  A volume driver used on its own (attach to a running instance)
builds its own FeedTask and executes it before returning.
"""

import abc

from nova_npiv import vios as npiv_vios


class VolumeDriver(metaclass=abc.ABCMeta):

    #: Extended attribute groups the volume driver's VIOS changes need.
    vios_xags = npiv_vios.XAGS_MAPPINGS

    def __init__(self, adapter, system_uuid, instance, connection_info,
                 stg_ftsk=None):
        self.adapter = adapter
        self.system_uuid = system_uuid
        self.instance = instance
        self.connection_info = connection_info or {}
        self._stg_ftsk = stg_ftsk
        self._own_ftsk = stg_ftsk is None

    @property
    def volume_id(self):
        data = self.connection_info.get('data') or {}
        return (self.connection_info.get('serial') or
                (data.get('volume_id') if isinstance(data, dict) else None) or
                'unknown')

    @property
    def stg_ftsk(self):
        if self._stg_ftsk is None:
            self._stg_ftsk = npiv_vios.feed_task(
                self.adapter, self.system_uuid,
                'volume_%s' % self.instance.uuid, xags=self.vios_xags)
        return self._stg_ftsk

    def reset_stg_ftsk(self, stg_ftsk=None):
        """Use a new FeedTask, e.g. for a revert after the shared one ran."""
        self._stg_ftsk = stg_ftsk
        self._own_ftsk = stg_ftsk is None

    def _run_own_ftsk(self):
        """Execute the FeedTask if this volume driver created it."""
        if self._own_ftsk and self._stg_ftsk is not None:
            ftsk, self._stg_ftsk = self._stg_ftsk, None
            ftsk.execute()

    def connect_volume(self):
        """Make the volume reachable by the instance."""
        self._connect_volume()
        self._run_own_ftsk()

    def disconnect_volume(self):
        """Make the volume unreachable by the instance (plain detach)."""
        self._disconnect_volume()
        self._run_own_ftsk()

    @abc.abstractmethod
    def _connect_volume(self):
        """Validate and queue the VIOS changes of a connect."""

    @abc.abstractmethod
    def rollback_connect(self):
        """Undo what a failed operation's connect_volume changed."""

    @abc.abstractmethod
    def _disconnect_volume(self):
        """Validate and queue the VIOS changes of a detach."""

    @abc.abstractmethod
    def extend_volume(self):
        """React to the volume having grown on the storage side."""
