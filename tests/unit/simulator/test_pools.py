"""The simulated console's shared processor pools, as pypowervm reads them
and as a spawn with ``powervm:shared_proc_pool_name`` uses them."""

from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import shared_proc_pool as pvm_spp
import testtools

from nova_npiv import exception
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv.simulator import topology
from tests.unit import test_driver


class TestPoolFeed(testtools.TestCase):

    def setUp(self):
        super().setUp()
        spec = co_managed_topology()
        spec['systems'][0]['shared_pools'] = [
            {'id': 3, 'name': 'gold', 'max_units': 8}]
        self.sim = Simulator(spec)
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.sys_w = {s.system_name: s for s in pvm_ms.System.get(self.adpt)}

    def test_every_system_has_64_pools_as_captured(self):
        found = pvm_spp.SharedProcPool.get(self.adpt,
                                           parent=self.sys_w['sys-b'])
        self.assertEqual(list(range(64)), [p.id for p in found])
        self.assertEqual('DefaultPool', found[0].name)
        self.assertTrue(found[0].is_default)
        self.assertEqual(['SharedPool01', 'SharedPool63'],
                         [found[1].name, found[63].name])
        self.assertEqual(0.0, found[1].max_proc_units)

    def test_a_configured_pool_is_found_by_name_on_its_system_only(self):
        (gold,) = pvm_spp.SharedProcPool.search(
            self.adpt, name='gold', parent=self.sys_w['sys-a'])
        self.assertEqual((3, 8.0, 8.0), (gold.id, gold.max_proc_units,
                                         gold.avail_proc_units))
        again = pvm_spp.SharedProcPool.get(
            self.adpt, uuid=gold.uuid, parent=self.sys_w['sys-a'])
        self.assertEqual('gold', again.name)
        self.assertEqual([], pvm_spp.SharedProcPool.search(
            self.adpt, name='gold', parent=self.sys_w['sys-b']))

    def test_pools_are_not_written_by_a_client(self):
        (gold,) = pvm_spp.SharedProcPool.search(
            self.adpt, name='gold', parent=self.sys_w['sys-a'])
        gold.max_proc_units = 16
        err = self.assertRaises(pvm_exc.HttpError, gold.update)
        self.assertEqual(405, err.response.status)

    def test_unknown_pool_is_404(self):
        err = self.assertRaises(
            pvm_exc.HttpNotFound, pvm_spp.SharedProcPool.get, self.adpt,
            uuid='0f0f0f0f-0000-4000-8000-000000000000',
            parent=self.sys_w['sys-a'])
        self.assertEqual(404, err.response.status)


class TestTopology(testtools.TestCase):

    def _bad(self, pools, words):
        spec = co_managed_topology()
        spec['systems'][0]['shared_pools'] = pools
        err = self.assertRaises(ValueError, topology.normalize, spec)
        self.assertIn(words, str(err))

    def test_refused_pool_specs_name_the_problem(self):
        self._bad([{'id': 0, 'name': 'x'}], 'shared pool id must be >= 1')
        self._bad([{'id': 64, 'name': 'x'}], 'shared pool ids are 1 to 63')
        self._bad([{'id': 2}], 'shared pool 2 needs a name')
        self._bad([{'id': 2, 'name': 'x', 'max_units': 0}],
                  'needs max_units > 0')
        self._bad([{'id': 2, 'name': 'x'}, {'id': 2, 'name': 'y'}],
                  'shared pool id 2 repeats')
        self._bad([{'id': 2, 'name': 'x'}, {'id': 3, 'name': 'x'}],
                  'shared pool name x repeats')
        self._bad([{'id': 2, 'name': 'DefaultPool'}],
                  'shared pool name DefaultPool repeats')


class TestSpawnInAPool(test_driver.DriverTestCase):

    def setUp(self):
        super().setUp()
        self.model.configure_pool('sys-a', 5, 'gold', 4)

    def pooled(self, name):
        self.inst.flavor.extra_specs = {
            'powervm:shared_proc_pool_name': name,
            'powervm:proc_units': '0.5'}

    def test_the_lpar_is_created_in_the_named_pool(self):
        self.pooled('gold')
        self.spawn()
        gold = [p for p in self.model.pools('sys-a') if p.name == 'gold']
        self.assertEqual([(5, (self.lpar().name,))],
                         [(p.id, p.partitions) for p in gold])
        sys_w = self.drv.host_wrapper
        (gold_w,) = pvm_spp.SharedProcPool.search(self.drv.adapter,
                                                  name='gold', parent=sys_w)
        # The running LPAR's units are held in the pool.
        self.assertEqual(3.5, gold_w.avail_proc_units)

    def test_a_pool_nobody_configured_is_refused_and_nothing_is_left(self):
        self.pooled('SharedPool07')
        err = self.assertRaises(pvm_exc.HttpError, self.spawn)
        self.assertEqual(400, err.response.status)
        self.assertIn('not configured', err.response.body)
        self.assertIsNone(self.lpar())
        self.assertEqual([], self.own_maps())

    def test_a_pool_of_no_name_here_is_refused_before_anything(self):
        self.pooled('silver')
        self.assertRaises(exception.InvalidFlavorExtraSpec, self.spawn)
        self.assertIsNone(self.lpar())
