"""Boot from volume, attach, detach, live-migrate and delete through nova.

Every step goes through nova's REST API and is checked against the VIOS state
of the simulated management console.
"""

from nova_npiv import fabric_meta
from tests.functional import nova_base
from tests.functional.nova_base import norm
from tests.functional.nova_base import uuids


class TestLifecycle(nova_base.NPIVServicesTestCase):

    def test_lifecycle(self):
        capacity_before = self.capacity()

        # 1. boot from two volumes on two fabrics
        server = self.boot_from_volumes([uuids.root_vol, uuids.data_vol])
        self.assertEqual('host-a', server['OS-EXT-SRV-ATTR:host'])
        lpar = [lp for lp in self.sim.model.lpars('sys-a')
                if lp.uuid == self.lpar_uuid(server)]
        self.assertEqual(1, len(lpar))
        self.assertEqual('running', lpar[0].state)

        records = self.fabric_records(server)
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.INST_MAPPED, records[fabric].state)
            self.assertEqual(1, len(records[fabric].port_map))
        maps = self.mappings_of(server, 'sys-a')
        self.assertEqual(2, len(maps))
        self.assertEqual({'A', 'B'}, {m.fabric for m in maps})
        # Fabrics are spread over the two VIOSes.
        self.assertEqual(2, len({m.vios for m in maps}))
        for m in maps:
            rec = records[m.fabric]
            phys, pair = rec.port_map[0]
            self.assertEqual(phys, m.port_wwpn.lower())
            self.assertEqual(norm(pair.split()), norm(m.wwpns))
        self.assertEqual([], self.staging_mappings())
        inst = self.instance(server)
        active = fabric_meta.active_wwpns(inst, ['A', 'B'])
        for vol in (uuids.root_vol, uuids.data_vol):
            connector = self.cinder.connectors[vol][-1]
            self.assertEqual(norm(active), norm(connector['wwpns']))
            self.assertEqual(fabric_meta.host_name(inst), connector['host'])

        # 2. attach a third volume: the vFC adapters exist, no VIOS update
        self.sim.reset_counters()
        self._attach_volume(server, uuids.third_vol)
        self.assertEqual(0, self.vios_posts())
        self.assertEqual(2, len(self.mappings_of(server, 'sys-a')))

        # 3. detach: the mappings stay, they carry the other volumes
        self._detach_volume(server, uuids.third_vol)
        self.assertEqual(0, self.vios_posts())
        self.assertEqual(2, len(self.mappings_of(server, 'sys-a')))

        # 4. live-migrate to the other system
        old_records = self.fabric_records(server)
        server = self._live_migrate(server, 'completed')
        self.assertEqual('host-b', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.mappings_of(server, 'sys-a'))
        self.assertEqual([], [lp for lp in self.sim.model.lpars('sys-a')
                              if lp.uuid == self.lpar_uuid(server)])
        maps = self.mappings_of(server, 'sys-b')
        self.assertEqual(2, len(maps))
        records = self.fabric_records(server)
        for fabric in ('A', 'B'):
            old_pair = old_records[fabric].port_map[0][1].split()
            new_phys, new_pair = records[fabric].port_map[0]
            self.assertEqual(list(reversed(old_pair)), new_pair.split())
            self.assertEqual(fabric_meta.INST_MAPPED, records[fabric].state)
            on_vios = [m for m in maps if m.fabric == fabric]
            self.assertEqual(1, len(on_vios))
            self.assertEqual(new_phys, on_vios[0].port_wwpn.lower())
            self.assertEqual(new_pair.split()[0], on_vios[0].logged_in)

        # Cinder was handed the partner WWPNs by the destination.
        inst = self.instance(server)
        for vol in (uuids.root_vol, uuids.data_vol):
            self.assertEqual(
                norm(fabric_meta.active_wwpns(inst, ['A', 'B'])),
                norm(self.cinder.connectors[vol][-1]['wwpns']))
        self.assertEqual([], self.staging_mappings())

        # 5. delete: nothing of the instance anywhere, capacity restored
        self._delete_server(server)
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if lp.uuid == self.lpar_uuid(server)])
        self.assertEqual([], self.staging_mappings())
        self.assertEqual(capacity_before, self.capacity())

    def test_image_backed_boot_is_refused(self):
        server = self._build_server(flavor_id=self.flavor_id,
                                    networks='none')
        server['availability_zone'] = 'nova:host-a'
        server = self.api.post_server({'server': server})
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('boots from Cinder Fibre Channel volumes only',
                      server['fault']['message'])
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if not lp.is_mgmt])

    def test_spawn_failure_leaks_nothing(self):
        capacity_before = self.capacity()
        # Fail the power-on job: by then the LPAR exists and is mapped.
        self.sim.fail_job('PowerOn', nth=1, message='HSCL1234 power on '
                          'failed')
        server = self.boot_from_volumes([uuids.root_vol], expected='ERROR')
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if not lp.is_mgmt])
        self.assertEqual(capacity_before, self.capacity())
        records = self.fabric_records(server)
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.UNMAPPED, records[fabric].state)

    def test_vios_post_failure_during_spawn_leaks_nothing(self):
        capacity_before = self.capacity()
        server = self.boot_from_volumes([uuids.root_vol])
        self._delete_server(server)
        # Staging costs one POST per VIOS (2), then the spawn's instance
        # mappings are POSTed per VIOS: the second of those fails after the
        # first landed.
        self.sim.inject_fault(method='POST', path='VirtualIOServer', nth=4,
                              kind='status', status=500)
        server = self.boot_from_volumes([uuids.root_vol2], expected='ERROR')
        self.assertEqual([], self.mappings_of(server))
        self.assertEqual([], self.staging_mappings())
        self.assertEqual([], [lp for lp in self.sim.model.lpars()
                              if not lp.is_mgmt])
        self.assertEqual(capacity_before, self.capacity())


class TestEvacuate(nova_base.NPIVServicesTestCase):

    def test_evacuate_and_old_host_clean_up(self):
        server = self.boot_from_volumes([uuids.root_vol])
        before = self.fabric_records(server)
        active = fabric_meta.active_wwpns(self.instance(server), ['A', 'B'])

        # host-a dies; the instance is rebuilt on host-b.
        self.computes['host-a'].stop()
        self.api.put_service_force_down(
            self.api.get_services(host='host-a',
                                  binary='nova-compute')[0]['id'], True)
        # Since microversion 2.95 an evacuated instance stays stopped.
        self._evacuate_server(server, expected_host='host-b',
                              expected_state='SHUTOFF')

        records = self.fabric_records(server)
        sys_b_ports = {p.wwpn.lower() for p in self.sim.model.ports('sys-b')}
        for fabric in ('A', 'B'):
            self.assertEqual(fabric_meta.INST_MAPPED, records[fabric].state)
            phys, pair = records[fabric].port_map[0]
            self.assertIn(phys, sys_b_ports)
            # Same WWPNs: the SAN zoning stays valid.
            self.assertEqual(before[fabric].port_map[0][1], pair)
        self.assertEqual(2, len(self.mappings_of(server, 'sys-b')))
        self.assertEqual(norm(active), norm(fabric_meta.active_wwpns(
            self.instance(server), ['A', 'B'])))
        self.assertEqual([], self.staging_mappings())

        # host-a comes back: it removes what it had, keeps host-b's record.
        self.restart_compute('host-a')
        self.api.put_service_force_down(
            self.api.get_services(host='host-a',
                                  binary='nova-compute')[0]['id'], False)
        self.assertEqual([], self.mappings_of(server, 'sys-a'))
        self.assertEqual([], self.lpars_of(server, 'sys-a'))
        self.assertEqual(records, self.fabric_records(server))
        self.assertEqual(2, len(self.mappings_of(server, 'sys-b')))


class TestPowerAndExtend(nova_base.NPIVServicesTestCase):

    def _state(self, server):
        return self.lpars_of(server, 'sys-a')[0].state

    def test_stop_start_reboot_and_extend(self):
        server = self.boot_from_volumes([uuids.root_vol])
        self.assertEqual('running', self._state(server))

        self._stop_server(server)
        self.assertEqual('not activated', self._state(server))
        self._start_server(server)
        self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self._state(server))
        self._reboot_server(server, hard=True)
        self.assertEqual('running', self._state(server))

        # Cinder tells nova the volume grew: the LUN is passed through, so
        # nothing changes on the VIOSes and the instance stays ACTIVE.
        self.sim.reset_counters()
        self.api.api_post('/os-server-external-events', {'events': [{
            'name': 'volume-extended', 'server_uuid': server['id'],
            'tag': uuids.root_vol}]})
        self._wait_for_instance_action_event(
            server, 'extend_volume', 'compute_extend_volume', 'success')
        self.assertEqual(0, self.vios_posts())
        self.assertEqual('ACTIVE', self._show_server(server)['status'])


class TestReschedule(nova_base.NPIVServicesTestCase):

    def test_failed_spawn_is_rescheduled_and_leaves_nothing_behind(self):
        capacity_before = self.capacity()
        # Whichever host the scheduler picks first fails to power on.
        self.sim.fail_job('PowerOn', nth=1, message='HSCL1234 power on '
                          'failed')
        server = self._build_server(flavor_id=self.flavor_id,
                                    networks='none')
        server.pop('imageRef')
        server['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': uuids.root_vol, 'source_type': 'volume',
            'destination_type': 'volume'}]
        server = self.api.post_server({'server': server})
        server = self._wait_for_state_change(server, 'ACTIVE')

        here = self.HOSTS[server['OS-EXT-SRV-ATTR:host']]
        other = [s for s in self.HOSTS.values() if s != here][0]
        self.assertEqual(2, len(self.mappings_of(server, here)))
        self.assertEqual([], self.mappings_of(server, other))
        self.assertEqual([], self.lpars_of(server, other))
        self.assertEqual([], self.staging_mappings())
        system_ports = {p.wwpn.lower() for p in self.sim.model.ports(here)}
        for rec in self.fabric_records(server).values():
            self.assertEqual(fabric_meta.INST_MAPPED, rec.state)
            self.assertIn(rec.port_map[0][0], system_ports)

        self._delete_server(server)
        self.assertEqual(capacity_before, self.capacity())
