"""Nova compute driver for one PowerVM managed system with NPIV volumes.

Instances boot from Cinder Fibre Channel volumes only: every instance gets
virtual FC client adapters with WWPNs of its own, mapped through the Virtual
I/O Servers onto physical ports of the configured fabrics.  Every operation
that changes VIOSes is one taskflow flow around one pypowervm FeedTask, so its
cost is one VIOS feed read and one POST per touched VIOS, and a failure
reverts what already landed.
"""

from nova.compute import power_state
from nova.compute import task_states
from nova import context as nova_context
from nova import exception as nova_exc
from nova import objects
from nova.virt import driver
from nova.virt import hardware
import nova.virt.node
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import excutils
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from taskflow.patterns import linear_flow as tf_lf

from nova_npiv import cold_migration
from nova_npiv import conf as npiv_conf
from nova_npiv import connector as npiv_connector
from nova_npiv import console
from nova_npiv import cross_cell
from nova_npiv import dlpar_ready
from nova_npiv import exception
from nova_npiv import heap
from nova_npiv import host_info
from nova_npiv import listing
from nova_npiv import move_recovery
from nova_npiv import recovery
from nova_npiv import remote_console
from nova_npiv import resize
from nova_npiv import staging as npiv_staging
from nova_npiv.tasks import base as tf_base
from nova_npiv.tasks import storage as tf_stg
from nova_npiv.tasks import vm as tf_vm
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv import volume
from nova_npiv.volume import migration as lpm
from nova_npiv.volume import placement

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

class NPIVDriver(driver.ComputeDriver):

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        supports_evacuate=True,
        supports_extend_volume=True,
        supports_multiattach=True,
    )

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        npiv_conf.register_fabric_opts(CONF)
        self.adapter = None
        self.host_wrapper = None
        self.system_uuid = None
        self.staging = None
        self.settings = None
        self._node_uuid = None
        #: Instances whose live migration nova asked to abort.
        self._aborted = set()

    # -- host ------------------------------------------------------------

    def init_host(self, host):
        """Log on, find our managed system and check the fabric ports."""
        self.settings = npiv_conf.load_settings(CONF, host=host)
        # A second init_host gets a new session: the old one is logged off
        # now, not from the garbage collector (see console.VerifiedSession).
        self.cleanup_host(host)
        self.adapter = console.build_adapter(CONF)
        self.host_wrapper = console.find_managed_system(self.adapter, CONF)
        self.system_uuid = self.host_wrapper.uuid
        self.staging = npiv_staging.StagingPartition(
            self.adapter, self.system_uuid, choice=self.settings.staging)
        # Resolved now: a staging partition named in nova.conf that does
        # not exist is a configuration error, not a failure of every spawn.
        self.staging.uuid  # noqa: B018
        heap.collect()
        self._check_fabric_ports()
        recovery.reconcile(
            host, self.adapter, self.host_wrapper, self.settings,
            self.staging,
            lambda inst: self._npiv(inst).migration.finish_after_restart())
        LOG.info('nova-npiv drives managed system %s (%s)',
                 self.host_wrapper.system_name, self.system_uuid)

    def _check_fabric_ports(self):
        feed = npiv_vios.read_feed(self.adapter, self.system_uuid,
                                   npiv_vios.XAGS_PORTS)
        if npiv_vios.FEEDS.enabled and feed:
            # The port directory: later FeedTasks leave the storage group
            # out (vios.feed_task).
            npiv_vios.FEEDS.note_ports(self.system_uuid, feed)
        present = placement.present_ports(npiv_vios.active(feed))
        for fabric, ports in self.settings.ports.items():
            missing = [p for p in ports if p not in present]
            if missing:
                raise exception.FabricPortsNotFound(
                    fabric=fabric, ports=', '.join(missing),
                    host=self.host_wrapper.system_name)

    def cleanup_host(self, host):
        if self.adapter is not None:
            try:
                self.adapter.session._logoff()
            except Exception:
                LOG.debug('Log off from the management console failed',
                          exc_info=True)

    def _refresh_host(self):
        self.host_wrapper = pvm_ms.System.get(self.adapter,
                                              uuid=self.system_uuid)
        return self.host_wrapper

    @property
    def nodename(self):
        return self.host_wrapper.system_name

    def get_available_nodes(self, refresh=False):
        return [self.nodename]

    @property
    def node_uuid(self):
        """The compute node's UUID: nova's local node identity.

        nova refuses to restart a compute service whose identity file
        ($state_path/compute_id) is missing, and only ironic is exempt; so
        the node UUID is nova's own, written on the first start and read on
        every later one, not the managed system's.  Resolved lazily (nova
        asks after its identity checks) and kept per driver, so that each
        service of an in-process test keeps its own.
        """
        if self._node_uuid is None:
            self._node_uuid = nova.virt.node.get_local_node_uuid()
        return self._node_uuid

    def get_nodenames_by_uuid(self, refresh=False):
        return {self.node_uuid: self.nodename}

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_host_uptime(self):
        return host_info.host_uptime()

    def _volume_ids(self, instance):
        bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(
            nova_context.get_admin_context(), instance.uuid)
        return [b.volume_id for b in bdms if b.is_volume]

    def get_diagnostics(self, instance):
        return host_info.legacy_diagnostics(self._lpar(instance),
                                            self._volume_ids(instance))

    def get_instance_diagnostics(self, instance):
        return host_info.instance_diagnostics(self._lpar(instance),
                                              self._volume_ids(instance))

    def get_available_resource(self, nodename):
        return host_info.available_resource(self._refresh_host(),
                                            self.node_uuid, self.nodename)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        """Inventory that PowerOn can honour: see host_info.inventory."""
        host_info.warn_ratios_once(CONF)
        provider_tree.update_inventory(nodename, host_info.inventory(
            self._capacity(self._refresh_host()), CONF.reserved_host_cpus,
            CONF.reserved_host_memory_mb))

    def _capacity(self, host_w):
        """The system's capacity; instance LPARs proven by their UUID."""
        lpars = pvm_lpar.LPAR.get(self.adapter, parent_type=pvm_ms.System,
                                  parent_uuid=self.system_uuid)
        return host_info.Capacity(host_w, lpars)

    def _instance_lpars(self):
        return listing.instance_lpars(self.adapter, self.system_uuid,
                                      self.staging)

    def list_instances(self):
        return [lpar.name for lpar in self._instance_lpars()]

    def list_instance_uuids(self):
        return listing.instance_uuids(self._instance_lpars(),
                                      self.settings.host)

    def instance_exists(self, instance):
        return vm.get(self.adapter, self.system_uuid, instance) is not None

    def get_info(self, instance, use_cache=True):
        lpar_w = vm.get(self.adapter, self.system_uuid, instance)
        if lpar_w is None:
            raise nova_exc.InstanceNotFound(instance_id=instance.uuid)
        return hardware.InstanceInfo(state=vm.to_power_state(lpar_w.state))

    # -- helpers ---------------------------------------------------------

    def _volume(self, instance, connection_info, stg_ftsk=None):
        """The volume driver of a volume nova names by its connection_info.

        An empty connection_info is bad input from nova or Cinder, not a
        request for the instance's volume driver (which is what :meth:`_npiv`
        without one means).
        """
        if not connection_info:
            raise exception.InvalidConnectionInfo(
                volume_id='unknown', field='connection_info',
                reason='is %r: no volume is described' % (connection_info,))
        return self._npiv(instance, connection_info, stg_ftsk)

    def _npiv(self, instance, connection_info=None, stg_ftsk=None,
              lpar_w=None):
        return volume.build(self.adapter, self.system_uuid, instance,
                            connection_info or
                            {'driver_volume_type': 'fibre_channel'},
                            stg_ftsk=stg_ftsk, staging=self.staging,
                            settings=self.settings,
                            lpar_uuid=lpar_w.uuid if lpar_w else None)

    def _lpar(self, instance):
        lpar_w = vm.get(self.adapter, self.system_uuid, instance)
        if lpar_w is None:
            raise nova_exc.InstanceNotFound(instance_id=instance.uuid)
        return lpar_w

    @staticmethod
    def _run(flow, instance):
        tf_base.run(flow, instance=instance)

    # -- instance lifecycle ----------------------------------------------

    def prepare_for_spawn(self, instance):
        """Refuse a flavor whose LPAR cannot be built, before nova goes on.

        nova calls this before it prepares the block devices, which is when
        the connector allocates the instance's WWPNs and stages them: a
        bad ``powervm:*`` extra spec stops the build here, with no LPAR,
        no mapping and no WWPN job, and (an ``InstanceUnacceptable``) no
        reschedule to a host that would refuse it too.
        """
        vm.build(self.adapter, instance, host_w=self.host_wrapper)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        bdms = driver.block_device_info_get_mapping(block_device_info)
        if not any(bdm.get('boot_index') == 0 for bdm in bdms):
            reason = exception.ImageBootNotSupported(
                instance=instance.uuid).format_message()
            raise nova_exc.BuildAbortException(instance_uuid=instance.uuid,
                                               reason=reason)
        if resize.arriving_cross_cell(instance, self.settings.host):
            cross_cell.arrive(self, instance, block_device_info, power_on)
            return
        # Bad extra specs are refused before anything is created; nova
        # already called prepare_for_spawn, this covers other callers.
        # The wrapper is the one the LPAR create sends (built once).
        built = vm.build(self.adapter, instance, host_w=self.host_wrapper)
        stg_ftsk = npiv_vios.feed_task(self.adapter, self.system_uuid,
                                       'spawn_%s' % instance.uuid,
                                       xags=npiv_vios.XAGS_PORTS)
        volumes = [self._volume(instance, bdm.get('connection_info'),
                                 stg_ftsk) for bdm in bdms]
        # Every volume is checked before anything is created.
        for npiv in volumes:
            npiv.validated_target()

        flow = tf_lf.Flow('spawn_%s' % instance.uuid)
        flow.add(tf_vm.Create(self.adapter, self.system_uuid, instance,
                              fabrics=self.settings.fabrics,
                              host_w=self.host_wrapper, built=built))
        for npiv in volumes:
            flow.add(tf_stg.ConnectVolume(npiv, lpar_from_flow=True))
        flow.add(stg_ftsk)
        if power_on:
            flow.add(tf_vm.PowerOn(instance))
        self._run(flow, instance)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        if resize.is_same_host_revert(context, instance, self.settings.host):
            # The "guest on the destination" is the instance's one LPAR;
            # finish_revert_migration reshapes it back.
            LOG.info('Revert of a resize on this host: the LPAR is kept',
                     instance=instance)
            return
        # After an evacuation the instance belongs to another host: clean up
        # here, but leave its metadata to the new owner.
        ours = instance.host in (None, self.settings.host)
        self._destroy(instance, ours)
        if ours and instance.task_state != task_states.RESIZE_REVERTING:
            cold_migration.remove_source(self, instance)

    def _destroy(self, instance, ours):
        npiv = self._npiv(instance)
        unknown = npiv.unidentifiable_staging()
        if unknown:
            # Reporting success would leak staging mappings nobody can
            # find again; nothing is changed, the error names the key.
            raise unknown[0]
        lpar_w = vm.get(self.adapter, self.system_uuid, instance)
        flow = tf_lf.Flow('destroy_%s' % instance.uuid)
        if lpar_w is not None:
            flow.add(tf_vm.PowerOff(lpar_w, hard=True))
        stg_ftsk = npiv_vios.feed_task(self.adapter, self.system_uuid,
                                       'destroy_%s' % instance.uuid)
        flow.add(tf_stg.UnmapInstance(
            self._npiv(instance, stg_ftsk=stg_ftsk, lpar_w=lpar_w),
            update_metadata=ours))
        flow.add(stg_ftsk)
        if lpar_w is not None:
            flow.add(tf_vm.CloseVterm(self.adapter, self.system_uuid, lpar_w))
            flow.add(tf_vm.Delete(self.adapter, self.system_uuid, instance,
                                  lpar_uuid=lpar_w.uuid))
        self._run(flow, instance)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        # After a live migration (migrate_data given) the instance and its
        # metadata belong to the destination.
        self._destroy(instance, migrate_data is None and
                      instance.host in (None, self.settings.host))

    def power_off(self, instance, timeout=0, retry_interval=0):
        vm.power_off(self._lpar(instance), hard=not timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        vm.power_on(self._lpar(instance))

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        # nova's advice after a failed finish_resize (or revert).
        if reboot_type == 'HARD' and move_recovery.recovered(
                self, instance, block_device_info):
            return
        lpar_w = self._lpar(instance)
        if lpar_w.state == 'not activated':
            vm.power_on(lpar_w)
        else:
            vm.power_off(lpar_w, hard=reboot_type == 'HARD', restart=True)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        """Start again an instance nova last saw running (nova's
        ``resume_guests_state_on_host_boot``).

        The vFC mappings are VIOS configuration and survive a restart of
        the managed system: only the partition has to be started.
        """
        lpar_w = self._lpar(instance)
        if vm.to_power_state(lpar_w.state) != power_state.RUNNING:
            vm.power_on(lpar_w)

    def poll_rebooting_instances(self, timeout, instances):
        """Finish reboots nova still sees in progress after ``timeout`` s.

        A reboot here returns only when the platform's job has ended, so an
        instance still rebooting is one whose nova-compute stopped during
        the call: it gets the hard reboot it was waiting for.
        """
        for instance in instances:
            LOG.warning('Reboot still in progress after %d s; rebooting '
                        'hard', timeout, instance=instance)
            try:
                self.reboot(None, instance, None, 'HARD')
            except nova_exc.InstanceNotFound:
                LOG.warning('No LPAR to reboot', instance=instance)
            except Exception as exc:
                # One instance's failure must not leave the others stuck.
                LOG.error('Hard reboot failed: %s', exc, instance=instance)

    # -- resize and cold migration ---------------------------------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        """Stop the LPAR; unmap it too when it leaves this host.

        No disk is copied (every disk is a Cinder volume).  On this host the
        vFC mappings stay (the LPAR is the same one afterwards); to another
        host they go, so the destination can map the same WWPNs
        (:mod:`nova_npiv.cold_migration`).
        """
        migration = resize.check_migration(context, instance,
                                           self.settings.host, self.nodename)
        if cold_migration.leaves_host(migration):
            cold_migration.leave(self, instance, migration, timeout)
        else:
            resize.power_off(self.adapter, self.system_uuid, instance,
                             timeout)
        return '[]'

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        """Reshape the LPAR to ``instance.flavor``, or build it here."""
        if cold_migration.leaves_host(migration):
            cold_migration.arrive(self, instance, block_device_info,
                                  power_on)
            return
        self._run(resize.reshape_flow(self.adapter, self.host_wrapper,
                                      instance, 'resize', power_on),
                  instance)

    def confirm_migration(self, context, migration, instance, network_info):
        """On one system old and new guest are the same LPAR, already in its
        new shape: nothing to clean.  Else the source LPAR goes."""
        if cold_migration.leaves_host(migration):
            cold_migration.confirm(self, instance)
            return
        LOG.info('Resize confirmed: nothing to clean up on the same '
                 'managed system', instance=instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        """Reshape the LPAR back, or map the source LPAR again: nova has
        restored the old flavor as ``instance.flavor`` before this call.
        After a cross-cell resize the source LPAR is gone: it is built
        again."""
        if resize.is_cross_cell(migration):
            cross_cell.come_back(self, instance, block_device_info, power_on)
            return
        if cold_migration.leaves_host(migration):
            cold_migration.come_back(self, instance, block_device_info,
                                     power_on)
            return
        self._run(resize.reshape_flow(self.adapter, self.host_wrapper,
                                      instance, 'resize_revert', power_on),
                  instance)

    # -- volumes ---------------------------------------------------------

    def get_volume_connector(self, instance):
        npiv = self._npiv(instance)
        return npiv_connector.properties(npiv.wwpns(),
                                         npiv.host_name())

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        npiv = self._volume(instance, connection_info)
        flow = tf_lf.Flow('attach_%s' % npiv.volume_id)
        flow.add(tf_stg.ConnectVolume(npiv))
        # A running LPAR without RMC cannot take the adapters: said before
        # anything is sent, or after the console refused.
        with dlpar_ready.explained(self.adapter, self.system_uuid, instance):
            if dlpar_ready.changes_adapters(npiv):
                dlpar_ready.require(self.adapter, self.system_uuid, instance)
            self._run(flow, instance)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        """A plain detach changes nothing on the VIOSes (state-machine row 5).

        So a stored connection_info that cannot be read must not make the
        volume undetachable: it is reported and the detach succeeds.
        """
        try:
            npiv = self._volume(instance, connection_info)
            npiv.validated_target()
        except (exception.InvalidConnectionInfo,
                exception.VolumeDriverNotFound) as err:
            LOG.warning('Detaching a volume of instance %s whose stored '
                        'connection_info is unusable (%s): nothing to '
                        'change on the VIOSes', instance.uuid,
                        err.format_message())
            return
        flow = tf_lf.Flow('detach_%s' % npiv.volume_id)
        flow.add(tf_stg.DisconnectVolume(npiv))
        self._run(flow, instance)

    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        self._volume(instance, connection_info).extend_volume()

    # -- live migration --------------------------------------------------

    def check_can_live_migrate_destination(self, context, instance,
                                           src_compute_info, dst_compute_info,
                                           block_migration=False,
                                           disk_over_commit=False):
        data = lpm.destination_check(instance, self.settings,
                                     block_migration)
        self._npiv(instance).migration.offer(self.nodename)
        return remote_console.advertise(data, self.adapter)

    def cleanup_live_migration_destination_check(self, context,
                                                 dest_check_data):
        pass

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data, block_device_info=None):
        """Our records, then the platform's checks (MigrateValidate)."""
        self._npiv(instance).migration.check_source(dest_check_data)
        remote_console.offer_key(self.adapter, instance)
        return dest_check_data

    def pre_live_migration(self, context, instance, block_device_info,
                           network_info, disk_info, migrate_data):
        """Destination: trust the source console, choose the ports the
        instance's adapters move to."""
        remote_console.trust_source(self.adapter, context, instance,
                                    instance.node)
        self._npiv(instance).migration.prepare_destination()
        return migrate_data

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration=False,
                       migrate_data=None):
        """Source: run the platform's Migrate job with the vFC mappings.

        A failure the platform settled back here is rolled back and not
        raised, as libvirt does (the instance stays ACTIVE here); one it did
        not settle is raised without rollback: nova puts it in ERROR.
        """
        try:
            self._npiv(instance).migration.migrate(context, dest,
                                                   migrate_data)
        except exception.LiveMigrationUnsettled:
            self._aborted.discard(instance.uuid)
            raise
        except Exception:
            LOG.exception('Live migration of %s failed; rolling back',
                          instance.uuid)
            status = ('cancelled' if instance.uuid in self._aborted
                      else 'failed')
            self._aborted.discard(instance.uuid)
            recover_method(context, instance, dest, migrate_data,
                           migration_status=status)
            return
        self._aborted.discard(instance.uuid)
        post_method(context, instance, dest, block_migration, migrate_data)

    def live_migration_abort(self, instance):
        """The platform's MigrateAbort; live_migration then rolls back."""
        self._aborted.add(instance.uuid)
        try:
            self._npiv(instance).migration.abort()
        except Exception:
            with excutils.save_and_reraise_exception():
                self._aborted.discard(instance.uuid)

    def live_migration_force_complete(self, instance):
        """PowerVM has no post-copy or pause-to-finish for a migration."""
        raise NotImplementedError(
            'PowerVM partition migration cannot be forced to complete; it '
            'ends by itself or is aborted')

    def post_live_migration(self, context, instance, block_device_info,
                            migrate_data=None):
        pass

    def post_live_migration_at_source(self, context, instance, network_info):
        """Nothing to do: the Migrate job took the vFC mappings along.

        Anything a faulty platform left behind is an orphan mapping to a
        partition that no longer exists here, which ``nova-npiv audit`` and
        the start-up reconciliation remove.
        """

    def post_live_migration_at_destination(self, context, instance,
                                           network_info,
                                           block_migration=False,
                                           block_device_info=None):
        self._npiv(instance).migration.adopt_after_migration()

    def rollback_live_migration_at_destination(self, context, instance,
                                               network_info,
                                               block_device_info,
                                               destroy_disks=True,
                                               migrate_data=None):
        # The source console's key, if pre_live_migration never used it
        # (saved with the rollback's own changes).
        remote_console.forget_key(instance)
        self._npiv(instance).migration.rollback_destination()

    def rollback_live_migration_at_source(self, context, instance,
                                          migrate_data):
        """Forget the destination's choice: nova calls no rollback there
        for shared-storage migrate data."""
        self._npiv(instance).migration.forget_targets(context)

    def get_instance_disk_info(self, instance, block_device_info=None):
        """No local disks: every disk is a Cinder FC volume."""
        return '[]'

    def plug_vifs(self, instance, network_info):
        """Networking is not this plugin's business (storage only).

        nova calls this on every start-up and live migration; PowerVM
        virtual networking belongs to a network plugin of its own.
        """

    def unplug_vifs(self, instance, network_info):
        """See :meth:`plug_vifs`."""
