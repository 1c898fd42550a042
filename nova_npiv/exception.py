"""Plugin errors, all nova exceptions so that nova reports them as faults."""

from nova import exception as nova_exc
from nova.i18n import _
from pypowervm import exceptions as pvm_exc


class NPIVConfigError(nova_exc.InvalidConfiguration):
    msg_fmt = _("Invalid configuration option %(option)s: %(reason)s")


class InvalidConnectionInfo(nova_exc.InvalidInput):
    msg_fmt = _("Invalid Fibre Channel connection_info for volume "
                "%(volume_id)s: field %(field)s %(reason)s")


class InvalidFlavorExtraSpec(nova_exc.InstanceUnacceptable):
    # An InstanceUnacceptable from prepare_for_spawn ends the build with
    # this message as the instance's fault, without a reschedule: another
    # host would refuse the same flavor.
    msg_fmt = _("Flavor %(flavor)s of instance %(instance)s: extra spec "
                "%(key)s=%(value)r %(reason)s")


class FlavorDoesNotFitHost(nova_exc.InstanceUnacceptable):
    msg_fmt = _("Flavor %(flavor)s of instance %(instance)s (extra specs "
                "%(keys)s) cannot shape an LPAR on managed system "
                "%(host)s: %(reason)s")


class CorruptFabricMetadata(nova_exc.NovaException):
    msg_fmt = _("Instance %(instance)s has corrupt NPIV metadata in "
                "system_metadata key %(key)s: %(reason)s")


class FabricPortsNotFound(nova_exc.NovaException):
    msg_fmt = _("Fabric %(fabric)s: configured physical port(s) %(ports)s "
                "are not on any active Virtual I/O Server of %(host)s")


class NoFabricCapacity(nova_exc.NovaException):
    msg_fmt = _("Fabric %(fabric)s: needs %(wanted)d physical port(s) with "
                "free NPIV capacity, only %(found)d available")


class PortDirectoryStale(nova_exc.NovaException):
    msg_fmt = _("Virtual I/O Server %(vios)s (%(uuid)s) is not in the "
                "physical FC ports this process last read: they are read "
                "again (ViosStorage) by the next operation")


class StagingSlotsExhausted(nova_exc.NovaException):
    msg_fmt = _("Staging partition %(name)s (%(uuid)s) has %(free)d free "
                "virtual slot(s) (MaximumVirtualIOSlots %(maximum)d, "
                "%(used)d used by vFC client adapters, %(reserved)d "
                "reserved), instance %(instance)s needs %(needed)d: nothing "
                "was staged; raise the partition's maximum virtual slots or "
                "delete instances that are staged but not spawned")


class ManagedSystemNotFound(nova_exc.NovaException):
    msg_fmt = _("Managed system %(name)s is not known to the management "
                "console (it has: %(known)s)")


class ConsoleReplyRefused(nova_exc.NovaException):
    msg_fmt = _("The management console's reply to %(method)s %(path)s is "
                "refused: %(reason)s")


class AmbiguousManagedSystem(nova_exc.NovaException):
    msg_fmt = _("The management console manages %(count)d systems "
                "(%(known)s): set [powervm] managed_system")


class StagingPartitionNotFound(nova_exc.NovaException):
    msg_fmt = _("Staging partition %(name)s named in [powervm] "
                "staging_partition does not exist on %(host)s")


class VolumeDriverNotFound(nova_exc.NovaException):
    msg_fmt = _("No volume driver for driver_volume_type %(type)s: only "
                "'fibre_channel' volumes are supported")


class ImageBootNotSupported(nova_exc.InvalidRequest):
    msg_fmt = _("nova-npiv boots from Cinder Fibre Channel volumes only; "
                "instance %(instance)s asks for an image-backed root disk")


class VolumeMappingFailed(nova_exc.NovaException):
    msg_fmt = _("Virtual FC mapping of instance %(instance)s failed: "
                "%(reason)s")


class PartitionNotDLPARCapable(nova_exc.NovaException):
    msg_fmt = _("LPAR %(lpar)s of instance %(instance)s is %(state)s and "
                "cannot have virtual FC adapters added or removed now: "
                "%(reason)s  Bring its RMC connection back (its RSCT "
                "daemons and network) or stop the instance, then try "
                "again.")


class LiveMigrationDataError(nova_exc.MigrationPreCheckError):
    msg_fmt = _("NPIV live migration data for instance %(instance)s is "
                "unusable: %(reason)s")


class LparNotDeleted(nova_exc.NovaException):
    msg_fmt = _("LPAR %(lpar)s of instance %(instance)s is still there after "
                "the console answered its delete with HTTP %(reply)s")


# Console outages are nova exceptions that name the request; they remain
# pypowervm's own classes too, which pypowervm's helpers and the plugin's
# retries catch.

class ConsoleTimeout(nova_exc.NovaException, pvm_exc.TimeoutError):
    msg_fmt = _("The management console did not answer %(method)s %(path)s "
                "within [powervm] %(option)s (%(timeout)s s): %(reason)s")


class ConsoleUnreachable(nova_exc.NovaException, pvm_exc.ConnectionError):
    msg_fmt = _("The management console could not be reached for "
                "%(method)s %(path)s: %(reason)s")


class ConsoleNotReady(nova_exc.NovaException, pvm_exc.ConnectionError):
    msg_fmt = _("The management console %(host)s did not take a logon in "
                "%(tries)d tries over %(seconds)d s ([powervm] logon_retries, "
                "logon_retry_interval): %(reason)s")


class ConsoleLogonRefused(nova_exc.NovaException, pvm_exc.Error):
    msg_fmt = _("The management console %(host)s refused the logon of user "
                "%(user)s ([powervm] username, password): %(reason)s")


class JobFailed(nova_exc.NovaException):
    msg_fmt = _("The management console's '%(operation)s' job on %(target)s "
                "failed: %(reason)s")


class JobTimedOut(JobFailed):
    msg_fmt = _("The management console's '%(operation)s' job on %(target)s "
                "did not end within [powervm] job_timeout (%(seconds)s s) "
                "and was cancelled")


class LiveMigrationUnsettled(nova_exc.NovaException):
    msg_fmt = _("The live migration of instance %(instance)s failed and the "
                "platform still reports its partition %(where)s after "
                "[powervm] lpm_settle_timeout (%(seconds)s s): nothing is "
                "rolled back; check the partition on the management console "
                "(%(reason)s)")
