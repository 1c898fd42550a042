"""NPIV live-migration data crosses nova's RPC without this plugin.

nova's conductor relays the migrate_data object and the instance between the
two compute hosts but never imports nova_npiv.  The data must therefore
survive nova's own RPC serialisation in such a process.
"""

import json
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures
from nova.compute import task_states
from nova import context as nova_context
from nova import objects
from nova.objects import base as obj_base
from oslo_config import cfg
from oslo_serialization import jsonutils
import testtools

from nova_npiv import fabric_meta
from nova_npiv.volume import migration as migration_data
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv.testing import fake_cinder
from nova_npiv.testing import harness
from nova_npiv import conf as npiv_conf
from nova_npiv import driver as npiv_driver

CONF = cfg.CONF

# What runs in the process that stands for the conductor.
_RELAY = textwrap.dedent('''
    import json, sys
    from nova import context, objects
    from nova.objects import base
    from oslo_serialization import jsonutils
    objects.register_all()
    ser = base.NovaObjectSerializer()
    ctxt = context.get_admin_context()
    doc = jsonutils.loads(sys.stdin.read())
    inst = ser.deserialize_entity(ctxt, doc['instance'])
    data = ser.deserialize_entity(ctxt, doc['migrate_data'])
    assert not [m for m in sys.modules if m.startswith('nova_npiv')]
    out = {'instance': ser.serialize_entity(ctxt, inst),
           'migrate_data': ser.serialize_entity(ctxt, data),
           'class': type(data).__name__}
    sys.stdout.write(jsonutils.dumps(out))
''')


class TestMigrationDataRelay(testtools.TestCase):

    def test_round_trip_through_a_process_without_the_plugin(self):
        objects.register_all()
        ctxt = nova_context.get_admin_context()
        inst = objects.Instance(uuid='3f0c0a38-6f3c-4b7e-9d46-0c6a1d0e9a01',
                                system_metadata={})
        port_map = [('10000090fa9e5000',
                     'c0507600ae370000 c0507600ae370001')]
        fabric_meta.set_fabric(inst, 'A', fabric_meta.INST_MAPPED, port_map)
        targets = {'A': ['vios-b1/1//fcs0'], 'B': ['vios-b2/2//fcs1']}
        migration_data.set_targets(inst, targets)
        drv = npiv_driver.NPIVDriver(None)
        drv.settings = npiv_conf.NPIVSettings(
            host='host-b', fabrics=['A', 'B'],
            ports={'A': ['10000090fa9e5004'], 'B': ['10000090fa9e5007']},
            ports_per_fabric=1, staging='auto')
        drv.host_wrapper = mock.Mock(system_name='sys-b')
        # The destination's offer (its console is not needed here).
        offered = {'A': ['vios-b1/1//fcs2']}
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.volume.migration.NPIVMigration.targets',
            return_value=offered))
        # A NovaLink's session (the user it advertises is wlp).
        drv.adapter = mock.Mock(session=mock.Mock(mc_type='PVM'))
        data = drv.check_can_live_migrate_destination(ctxt, inst, None, None)

        ser = obj_base.NovaObjectSerializer()
        doc = jsonutils.dumps({'instance': ser.serialize_entity(ctxt, inst),
                               'migrate_data': ser.serialize_entity(ctxt,
                                                                    data)})
        proc = subprocess.run([sys.executable, '-c', _RELAY], input=doc,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
        back = json.loads(proc.stdout)
        self.assertEqual('LibvirtLiveMigrateData', back['class'])
        relayed = ser.deserialize_entity(ctxt, back['instance'])
        self.assertEqual(targets, migration_data.get_targets(relayed))
        # The unsaved offer reaches the source with the instance object.
        self.assertEqual(('sys-b', offered),
                         migration_data.take_offer(relayed))
        self.assertIsNone(migration_data.take_offer(relayed))
        self.assertEqual(port_map,
                         fabric_meta.get_fabric(relayed, 'A').port_map)
        relayed_data = ser.deserialize_entity(ctxt, back['migrate_data'])
        self.assertTrue(relayed_data.is_shared_block_storage)
        # The destination console's address and user survive the relay.
        self.assertEqual('wlp@%s' % CONF.my_ip,
                         relayed_data.target_connect_addr)


class TestUnfinishedMigration(testtools.TestCase):
    """The destination's last step fails; the next call finishes it."""

    def test_next_connector_call_adopts_what_the_migration_left(self):
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.volume.migration.ADOPT_RETRY_DELAY', 0))
        with Simulator(co_managed_topology()) as sim:
            src = harness.load_driver(sim, 'host-a', 'sys-a')
            dst = harness.load_driver(sim, 'host-b', 'sys-b')
            for drv in (src, dst):
                sim.track_session(drv.adapter)
            ctxt = harness.admin_context()
            inst = harness.new_instance(
                3, '6a0e2b7c-1d43-4e8e-9a55-0f7b3c2d1e44', 'host-a')
            cinder = fake_cinder.FakeCinder()
            conn = src.get_volume_connector(inst)
            src.spawn(ctxt, inst, None, [], None, {},
                      block_device_info={'block_device_mapping': [
                          cinder.bdm('vol-1', 0, conn)]})
            before = fabric_meta.get_fabric(inst, 'A').port_map

            data = dst.check_can_live_migrate_destination(ctxt, inst, None,
                                                          None)
            data = src.check_can_live_migrate_source(ctxt, inst, data)
            data.migration = objects.Migration(dest_node='sys-b')
            inst.task_state = task_states.MIGRATING
            dst.get_volume_connector(inst)
            dst.pre_live_migration(ctxt, inst, None, None, None, data)
            failures = []

            def post(c, instance, dest, block_migration, migrate_data):
                # The destination's console is down for every retry.
                sim.inject_fault(method='GET', path='/LogicalPartition/',
                                 status=500, times=3)
                try:
                    dst.post_live_migration_at_destination(c, instance, None)
                except Exception as err:
                    failures.append(err)
                # What nova's manager does whatever the driver said.
                instance.host, instance.task_state = 'host-b', None

            src.live_migration(ctxt, inst, 'host-b', post, None,
                               migrate_data=data)
            self.assertEqual(1, len(failures))
            # Still the source's ports, the targets still pending.
            self.assertEqual(before, fabric_meta.get_fabric(inst,
                                                            'A').port_map)
            self.assertTrue(migration_data.get_targets(inst))

            conn = dst.get_volume_connector(inst)
            after = fabric_meta.get_fabric(inst, 'A')
            sys_b = {p.wwpn.lower() for p in sim.model.ports('sys-b')}
            self.assertIn(after.port_map[0][0], sys_b)
            self.assertEqual(list(reversed(before[0][1].split())),
                             after.port_map[0][1].split())
            self.assertEqual({}, migration_data.get_targets(inst))
            self.assertIn(after.port_map[0][1].split()[0], conn['wwpns'])
            dst.destroy(ctxt, inst, None, None)
