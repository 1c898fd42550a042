"""R7: a partition create is checked the way a console checks it.

Bodies are built with pypowervm's own builders and sent through its
adapter, as the driver sends them; each refusal is a 400 whose message
starts with an HSCL code, and nothing is created.
"""

import logging

import fixtures
from pypowervm import exceptions as pvm_exc
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv.simulator import default_topology
from nova_npiv.simulator import Simulator


class LparRulesTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.sim = Simulator(default_topology(systems=('sys-a',)))
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.sys_uuid = self.sim.model.system('sys-a').uuid

    def build(self, name='vm-1', mem=(2048, 2048, 2048), dedicated=True,
              procs=(2, 2, 2), units=(0.2, 0.2, 0.2)):
        low, desired, high = mem
        mem_cfg = pvm_bp.PartitionMemoryConfiguration.bld(
            self.adpt, desired, min_mem=low, max_mem=high)
        if dedicated:
            proc_cfg = pvm_bp.PartitionProcessorConfiguration.bld_dedicated(
                self.adpt, procs[1], min_proc=procs[0], max_proc=procs[2])
        else:
            proc_cfg = pvm_bp.PartitionProcessorConfiguration.bld_shared(
                self.adpt, units[1], procs[1], min_proc_unit=units[0],
                max_proc_unit=units[2], min_proc=procs[0],
                max_proc=procs[2])
        return pvm_lpar.LPAR.bld(self.adpt, name, mem_cfg, proc_cfg)

    def create(self, lpar_w):
        return lpar_w.create(parent_type=pvm_ms.System,
                             parent_uuid=self.sys_uuid)

    def refused(self, lpar_w, words):
        before = len(self.sim.model.lpars('sys-a'))
        err = self.assertRaises(pvm_exc.HttpError, self.create, lpar_w)
        self.assertEqual(400, err.response.status)
        self.assertRegex(str(err), r'HSCL[0-9A-F]{4} ')
        self.assertIn(words, str(err))
        self.assertEqual(before, len(self.sim.model.lpars('sys-a')))

    def test_a_valid_create(self):
        for kw in ({}, {'name': 'x' * 31}, {'dedicated': False},
                   {'name': 'a-b_c.d:e', 'mem': (1024, 2048, 4096),
                    'procs': (1, 2, 4)}):
            name = kw.pop('name', 'vm-%d' % len(self.sim.model.lpars('sys-a')))
            lpar = self.create(self.build(name=name, **kw))
            self.assertEqual(name, lpar.name)
            self.assertEqual('not activated', lpar.state)

    def test_names(self):
        self.refused(self.build(name='x' * 32), '1 to 31 characters')
        for bad in '()\\<>*$&?|[]\'"`':
            self.refused(self.build(name='vm%s1' % bad), 'not allowed')

    def test_duplicate_name_and_uuid(self):
        first = self.create(self.build(name='vm-1'))
        self.refused(self.build(name='vm-1'), 'already exists')
        twin = self.build(name='vm-2')
        twin.uuid = first.uuid
        self.refused(twin, 'already in use')

    def test_memory(self):
        self.refused(self.build(mem=(1000, 2000, 3000)), 'memory region size')
        self.refused(self.build(mem=(4096, 2048, 8192)), 'minimum (4096)')
        self.refused(self.build(mem=(1024, 4096, 2048)), 'maximum (2048)')

    def test_processors(self):
        self.refused(self.build(procs=(2, 1, 2)), 'dedicated processors')
        self.refused(self.build(dedicated=False, procs=(1, 2, 2),
                                units=(0.1, 0.05, 0.2)), 'processing units')
        self.refused(self.build(dedicated=False, procs=(1, 1, 1),
                                units=(1.5, 1.5, 1.5)),
                     'between 0.05 and 1.0 per virtual processor')

    def test_processor_configuration_is_required(self):
        lpar_w = self.build()
        proc = lpar_w.element.find('PartitionProcessorConfiguration')
        lpar_w.element.remove(proc)
        self.refused(lpar_w, 'HasDedicatedProcessors')


class PowerOnCapacityTestCase(LparRulesTestCase):
    """R3: PowerOn fails, as a job, when the system cannot host the LPAR."""

    def setUp(self):
        super().setUp()
        sysm = pvm_ms.System.get(self.adpt)[0]
        self.free_units = sysm.proc_units_avail
        self.free_mb = sysm.memory_free

    def power_on(self, lpar_w):
        from pypowervm.tasks import power as pvm_power
        pvm_power.PowerOp.start(lpar_w)

    def state(self, lpar_w):
        return self.sim.model.lpar(lpar_w.uuid).state

    def test_dedicated_cores_beyond_the_free_ones(self):
        cores = int(self.free_units) + 1
        lpar = self.create(self.build(procs=(1, cores, cores)))
        err = self.assertRaises(pvm_exc.VMPowerOnFailure, self.power_on, lpar)
        self.assertIn('Not enough dedicated processors (%d needed' % cores,
                      str(err))
        self.assertEqual('not activated', self.state(lpar))
        fits = self.create(self.build(name='vm-fits', procs=(1, 2, 2)))
        self.power_on(fits)
        self.assertEqual('running', self.state(fits))

    def test_processing_units_beyond_the_shared_pool(self):
        procs = int(self.free_units) + 2
        units = self.free_units + 0.5
        lpar = self.create(self.build(dedicated=False,
                                      procs=(procs, procs, procs),
                                      units=(units, units, units)))
        err = self.assertRaises(pvm_exc.VMPowerOnFailure, self.power_on, lpar)
        self.assertIn('processing units in the shared pool', str(err))
        self.assertEqual('not activated', self.state(lpar))

    def test_memory_beyond_the_free_memory(self):
        mb = (self.free_mb // 256 + 1) * 256
        lpar = self.create(self.build(mem=(256, mb, mb)))
        err = self.assertRaises(pvm_exc.VMPowerOnFailure, self.power_on, lpar)
        self.assertIn('Not enough memory', str(err))
        self.assertEqual('not activated', self.state(lpar))


class UpdateRulesTestCase(LparRulesTestCase):
    """A partition update is checked like a create, and a running
    partition's memory and processors are not changed."""

    def reshape(self, lpar_w, mem, procs):
        lpar_w.mem_config = pvm_bp.PartitionMemoryConfiguration.bld(
            self.adpt, mem[1], min_mem=mem[0], max_mem=mem[2])
        lpar_w.proc_config = \
            pvm_bp.PartitionProcessorConfiguration.bld_dedicated(
                self.adpt, procs[1], min_proc=procs[0], max_proc=procs[2])
        return lpar_w.update()

    def shape(self, lpar_w):
        lpar = self.sim.model.lpar(lpar_w.uuid)
        return lpar.memory_mb, lpar.vcpus

    def test_stopped_partition_is_reshaped(self):
        lpar = self.create(self.build())
        lpar = self.reshape(lpar, (4096, 4096, 4096), (4, 4, 4))
        self.assertEqual((4096, 4), self.shape(lpar))
        self.assertEqual(4096, lpar.mem_config.desired)

    def test_bad_figures_are_refused(self):
        lpar = self.create(self.build())
        err = self.assertRaises(pvm_exc.HttpError, self.reshape, lpar,
                                (1000, 2000, 3000), (2, 2, 2))
        self.assertIn('memory region size', str(err))
        err = self.assertRaises(pvm_exc.HttpError, self.reshape,
                                pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid),
                                (2048, 2048, 2048),
                                (2, 1, 2))
        self.assertIn('dedicated processors', str(err))
        self.assertEqual((2048, 2), self.shape(lpar))

    def test_running_partition_is_not_reshaped(self):
        from pypowervm.tasks import power as pvm_power
        lpar = self.create(self.build())
        pvm_power.PowerOp.start(lpar)
        lpar = lpar.refresh()
        err = self.assertRaises(pvm_exc.HttpError, self.reshape, lpar,
                                (4096, 4096, 4096), (4, 4, 4))
        self.assertEqual(400, err.response.status)
        self.assertIn('only while it is not activated', str(err))
        self.assertEqual((2048, 2), self.shape(lpar))
        # Other changes of a running partition still go through.
        lpar = pvm_lpar.LPAR.get(self.adpt, uuid=lpar.uuid)
        lpar.name = 'renamed'
        self.assertEqual('renamed', lpar.update().name)
