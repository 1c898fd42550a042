"""Console details other clients rely on: not-simulated answers, the quick
API, virtual terminals and root-level versus nested paths.

Driven through pypowervm as nova-powervm drove a real console (issue 17).
"""

import json

from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import power as pvm_power
from pypowervm.tasks import vterm as pvm_vterm
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv.simulator import default_topology
from tests.functional import test_simulator as base

LPAR = pvm_lpar.LPAR.schema_type
MS = pvm_ms.System.schema_type


class TestNotSimulated(base.SimTestCase):
    """What the simulator lacks answers 500, never "does not exist"."""

    def assert_not_simulated(self, func, *args, **kwargs):
        exc = self.assertRaises(pvm_exc.HttpError, func, *args, **kwargs)
        self.assertNotIsInstance(exc, pvm_exc.HttpNotFound)
        self.assertEqual(500, exc.response.status)
        self.assertIn('not implemented by the PowerVM REST simulator',
                      str(exc))
        return exc

    def test_unknown_child_of_an_existing_lpar(self):
        lpar = self.new_lpar()
        self.assert_not_simulated(self.adpt.read, LPAR, lpar.uuid,
                                  child_type='ClientNetworkAdapter')
        self.assert_not_simulated(self.adpt.read, MS, self.sys_uuid(),
                                  child_type=LPAR, child_id=lpar.uuid,
                                  suffix_type='SRIOVEthernetLogicalPort')
        # The same read of a partition that does not exist is a 404.
        self.assertRaises(pvm_exc.HttpNotFound, self.adpt.read, LPAR,
                          '0BAD0000-0000-4000-8000-000000000000',
                          child_type='ClientNetworkAdapter')

    def test_unknown_job_on_an_existing_object(self):
        lpar = self.new_lpar()
        self.assert_not_simulated(self.adpt.read, LPAR, lpar.uuid,
                                  suffix_type='do',
                                  suffix_parm='Suspend')
        self.assertRaises(pvm_exc.HttpNotFound, self.adpt.read, LPAR,
                          '0BAD0000-0000-4000-8000-000000000000',
                          suffix_type='do', suffix_parm='Suspend')

    def test_types_children_and_services_not_simulated(self):
        self.assert_not_simulated(self.adpt.read, 'SharedStoragePool')
        self.assert_not_simulated(self.adpt.read, 'ManagementFrame')
        self.assert_not_simulated(self.adpt.read, MS, self.sys_uuid(),
                                  child_type='VirtualSwitch')
        self.assert_not_simulated(self.adpt.read, 'ManagedSystem',
                                  self.sys_uuid(), service='pcm')
        self.assertRaises(pvm_exc.HttpNotFound, self.adpt.read, MS,
                          '0BAD0000-0000-4000-8000-000000000000',
                          child_type='VirtualSwitch')
        (rec,) = [r for r in self.sim.request_log
                  if r.path.endswith('/VirtualSwitch')
                  and self.sys_uuid() in r.path]
        self.assertEqual(500, rec.status)


class TestQuickAPI(base.SimTestCase):

    def quick(self, uuid, prop=None, kind=LPAR, system=None):
        if system is None:
            resp = self.adpt.read(kind, uuid, suffix_type='quick',
                                  suffix_parm=prop)
        else:
            resp = self.adpt.read(MS, self.sys_uuid(system), child_type=kind,
                                  child_id=uuid, suffix_type='quick',
                                  suffix_parm=prop)
        self.assertEqual('application/json', resp.headers['content-type'])
        return json.loads(resp.body)

    def test_single_properties_follow_the_partition(self):
        lpar = self.new_lpar(memory=4096, procs=2)
        self.assertEqual('not activated', self.quick(lpar.uuid,
                                                     'PartitionState'))
        self.assertEqual(lpar.id, self.quick(lpar.uuid, 'PartitionID'))
        self.assertEqual('inst-1', self.quick(lpar.uuid, 'PartitionName'))
        pvm_power.PowerOp.start(lpar)
        self.assertEqual('running', self.quick(lpar.uuid, 'PartitionState'))
        self.assertEqual('running', self.quick(lpar.uuid, 'PartitionState',
                                               system='sys-a'))
        # pypowervm's own caller reads the bare body.
        self.assertEqual(str(lpar.id), pvm_vterm._get_lpar_id(self.adpt,
                                                              lpar.uuid))
        self.assertEqual(6, self.sim.counters()['GET quick'])

    def test_all_matches_the_xml(self):
        lpar = self.new_lpar(memory=4096, procs=3)
        got = self.quick(lpar.uuid)
        self.assertEqual(got, self.quick(lpar.uuid, 'All', system='sys-a'))
        self.assertEqual(lpar.id, got['PartitionID'])
        self.assertEqual(lpar.name, got['PartitionName'])
        self.assertEqual(lpar.state, got['PartitionState'])
        self.assertEqual(lpar.env, got['PartitionType'])
        self.assertEqual(lpar.rmc_state, got['RMCState'])
        self.assertEqual('true', got['HasDedicatedProcessors'])
        self.assertEqual(3, got['CurrentProcessors'])
        self.assertEqual('Not_Migrating', got['MigrationState'])
        self.assertTrue(got['AssociatedManagedSystem'].endswith(
            '/rest/api/uom/ManagedSystem/%s' % lpar.assoc_sys_uuid))
        vios = self.vios_feed()[0]
        self.assertEqual(vios.name, self.quick(vios.uuid, 'PartitionName',
                                               kind='VirtualIOServer'))

    def test_errors(self):
        lpar = self.new_lpar()
        exc = self.assertRaises(pvm_exc.HttpError, self.quick, lpar.uuid,
                                'NoSuchProperty')
        self.assertEqual(400, exc.response.status)
        self.assertIn('NoSuchProperty', str(exc))
        # A partition that does not exist, or not on the system asked.
        self.assertRaises(pvm_exc.HttpNotFound, self.quick,
                          '0BAD0000-0000-4000-8000-000000000000',
                          'PartitionState')
        self.assertRaises(pvm_exc.HttpNotFound, self.quick, lpar.uuid,
                          'PartitionState', system='sys-b')


class TestVirtualTerminal(base.SimTestCase):

    def test_delete_with_an_open_terminal_is_refused_until_closed(self):
        lpar = self.new_lpar()
        self.sim.model.open_vterm('sys-a', lpar.uuid)
        exc = self.assertRaises(pvm_exc.HttpError, lpar.delete)
        self.assertEqual(409, exc.response.status)
        self.assertIn('open virtual terminal', str(exc))
        self.assertIsNotNone(self.sim.model.lpar(lpar.uuid))
        # Password logon: pypowervm closes it with the CloseVterm job.
        self.assertFalse(self.adpt.traits.local_api)
        pvm_vterm.close_vterm(self.adpt, lpar.uuid)
        self.assertFalse(self.sim.model.vterm_open('sys-a', lpar.uuid))
        self.assertEqual(1, self.sim.counters()['PUT job:CloseVterm'])
        lpar.delete()
        self.assertIsNone(self.sim.model.lpar(lpar.uuid))

    def test_close_without_a_session_is_a_no_op(self):
        lpar = self.new_lpar()
        pvm_vterm.close_vterm(self.adpt, lpar.uuid)
        pvm_vterm.close_vterm(self.adpt, lpar.uuid)
        self.assertFalse(self.sim.model.vterm_open('sys-a', lpar.uuid))
        lpar.delete()

    def test_close_under_the_wrong_system_is_not_found(self):
        lpar = self.new_lpar()
        self.assertRaises(pvm_exc.HttpNotFound, self.adpt.read, MS,
                          self.sys_uuid('sys-b'), child_type=LPAR,
                          child_id=lpar.uuid, suffix_type='do',
                          suffix_parm='CloseVterm')
        self.adpt.read(MS, self.sys_uuid('sys-a'), child_type=LPAR,
                       child_id=lpar.uuid, suffix_type='do',
                       suffix_parm='CloseVterm')


class TestRootAndNestedPathsHMC(base.SimTestCase):
    """An HMC: root-level paths reach every managed system's objects."""

    def topology(self):
        return default_topology(console='hmc')

    def test_vios_feed_root_and_nested(self):
        root = pvm_vios.VIOS.get(self.adpt)
        self.assertEqual(['vios-a1', 'vios-a2', 'vios-b1', 'vios-b2'],
                         sorted(v.name for v in root))
        self.assertEqual(['vios-b1', 'vios-b2'],
                         [v.name for v in self.vios_feed('sys-b')])

    def test_lpar_entry_on_any_system_at_the_root(self):
        lpar = self.new_lpar('on-b', system='sys-b')
        self.assertEqual('on-b', pvm_lpar.LPAR.get(self.adpt,
                                                   uuid=lpar.uuid).name)
        self.assertEqual('on-b', pvm_lpar.LPAR.get(
            self.adpt, uuid=lpar.uuid, parent_type=pvm_ms.System,
            parent_uuid=self.sys_uuid('sys-b')).name)
        self.assertRaises(pvm_exc.HttpNotFound, pvm_lpar.LPAR.get,
                          self.adpt, uuid=lpar.uuid,
                          parent_type=pvm_ms.System,
                          parent_uuid=self.sys_uuid('sys-a'))

    def test_nested_search_is_scoped_to_the_system(self):
        self.new_lpar('twin', system='sys-a')
        self.sim.model.add_lpar('sys-b', 'twin')
        self.assertEqual(2, len(pvm_lpar.LPAR.search(self.adpt,
                                                     name='twin')))
        found = pvm_lpar.LPAR.search(self.adpt, name='twin',
                                     parent_type=pvm_ms.System,
                                     parent_uuid=self.sys_uuid('sys-b'))
        self.assertEqual([self.sys_uuid('sys-b')],
                         [lp.assoc_sys_uuid for lp in found])

    def test_update_power_and_delete_at_the_root(self):
        lpar = self.new_lpar('rooted', system='sys-b')
        got = pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid)
        got.name = 'renamed'
        got = got.update()
        self.assertEqual('renamed', self.sim.model.lpar(lpar.uuid).name)
        pvm_power.PowerOp.start(got)
        self.assertEqual('running', self.sim.model.lpar(lpar.uuid).state)
        pvm_power.PowerOp.stop(got)
        self.adpt.delete(LPAR, root_id=lpar.uuid)
        self.assertIsNone(self.sim.model.lpar(lpar.uuid))

    def test_create_at_the_root_needs_the_system_when_there_are_two(self):
        mem = pvm_lpar.bp.PartitionMemoryConfiguration.bld(self.adpt, 1024)
        proc = pvm_lpar.bp.PartitionProcessorConfiguration.bld_dedicated(
            self.adpt, 1)
        lpar = pvm_lpar.LPAR.bld(self.adpt, 'where', mem, proc)
        exc = self.assertRaises(pvm_exc.HttpError, lpar.create)
        self.assertIn('manages 2 systems', str(exc))


class TestRootAndNestedPathsNovaLink(base.SimTestCase):
    """NovaLink: one system, so root and nested paths name the same."""

    def topology(self):
        return base.one_system()

    def test_root_and_nested_agree(self):
        mem = pvm_lpar.bp.PartitionMemoryConfiguration.bld(self.adpt, 1024)
        proc = pvm_lpar.bp.PartitionProcessorConfiguration.bld_dedicated(
            self.adpt, 1)
        lpar = pvm_lpar.LPAR.bld(self.adpt, 'at-root', mem, proc).create()
        self.assertEqual(self.sys_uuid(), lpar.assoc_sys_uuid)
        nested = pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid,
                                   parent_type=pvm_ms.System,
                                   parent_uuid=self.sys_uuid())
        self.assertEqual(lpar.id, nested.id)
        self.assertEqual([v.uuid for v in pvm_vios.VIOS.get(self.adpt)],
                         [v.uuid for v in self.vios_feed()])
        self.adpt.delete(MS, root_id=self.sys_uuid(), child_type=LPAR,
                         child_id=lpar.uuid)
        self.assertIsNone(self.sim.model.lpar(lpar.uuid))
