"""The simulator's busy VIOS (issue 13, R4): the reply pypowervm retries."""

import logging

import fixtures
from pypowervm import exceptions as pvm_exc
from pypowervm.tasks import vfc_mapper
from pypowervm.wrappers import entry_wrapper as pvm_ew
from pypowervm.wrappers import http_error as pvm_he
from pypowervm.wrappers import managed_system as pvm_ms
from pypowervm.wrappers import virtual_io_server as pvm_vios
import testtools

from nova_npiv.simulator import cli
from nova_npiv.simulator import default_topology
from nova_npiv.simulator import faults
from nova_npiv.simulator import normalize_topology
from nova_npiv.simulator import Simulator

FMAP = 'ViosFCMapping'


class BusyTestCase(testtools.TestCase):

    console = 'novalink'

    def topology(self):
        return default_topology(console=self.console, systems=('sys-a',),
                                existing_mappings=1)

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.sim = Simulator(self.topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.sys_uuid = self.sim.model.system('sys-a').uuid

    def vios(self):
        return pvm_vios.VIOS.get(self.adpt, parent_type=pvm_ms.System,
                                 parent_uuid=self.sys_uuid, xag=[FMAP])[0]

    def unmap_one(self, vios_w):
        victim = next(m for m in vios_w.vfc_mappings
                      if m.client_adapter is not None)
        vfc_mapper.remove_maps(vios_w, victim.server_adapter.lpar_id,
                               client_adpt=victim.client_adapter)
        return vios_w

    def mapping_count(self):
        return len(self.sim.model.mappings('sys-a'))

    def busy_error(self, vios_w):
        err = self.assertRaises(pvm_exc.HttpError, vios_w.update)
        return pvm_ew.EntryWrapper.wrap(err.response.entry)


class TestBusyFault(BusyTestCase):

    def test_reply_is_what_pypowervm_retries(self):
        vios_w = self.unmap_one(self.vios())
        before = self.mapping_count()
        fault = self.sim.inject_fault('POST', 'VirtualIOServer/',
                                      kind=faults.KIND_BUSY)
        wrap = self.busy_error(vios_w)
        self.assertIsInstance(wrap, pvm_he.HttpError)
        self.assertEqual(500, wrap.status)
        self.assertTrue(wrap.is_vios_busy())
        self.assertIn('VIOS0014', wrap.message)
        self.assertEqual('Unknown internal error.', wrap.reason_code)
        # The captured wording: the VIOS named as <id>*<type-model*serial>.
        sysm = self.sim.model.system('sys-a')
        self.assertIn('VIOS %d*' % vios_w.id, wrap.message)
        self.assertIn(sysm.serial, wrap.message)
        self.assertIn('is busy processing some other request', wrap.message)
        self.assertEqual(1, len(fault.hits))
        # Nothing was carried out: the etag is still good, the mapping there.
        self.assertEqual(before, self.mapping_count())
        self.assertEqual(before - 1, len(vios_w.update().vfc_mappings))
        self.assertEqual(before - 1, self.mapping_count())

    def test_request_log_names_the_fault(self):
        self.sim.inject_fault('GET', 'VirtualIOServer', kind='vios_busy')
        self.assertRaises(pvm_exc.HttpError, self.vios)
        rec = self.sim.request_log[-1]
        self.assertEqual((500, 'vios_busy'), (rec.status, rec.fault))

    def test_path_without_vios_names_a_vios_of_the_console(self):
        self.sim.inject_fault('GET', 'ManagedSystem$', kind='vios_busy')
        err = self.assertRaises(pvm_exc.HttpError, pvm_ms.System.get,
                                self.adpt)
        wrap = pvm_ew.EntryWrapper.wrap(err.response.entry)
        self.assertTrue(wrap.is_vios_busy())


class TestBusyFaultHmc(BusyTestCase):

    console = 'hmc'

    def test_hmc_code(self):
        vios_w = self.unmap_one(self.vios())
        self.sim.inject_fault('POST', 'VirtualIOServer/', kind='vios_busy')
        wrap = self.busy_error(vios_w)
        self.assertIn('HSCL3205', wrap.message)
        self.assertTrue(wrap.is_vios_busy())


class TestBackgroundBusy(BusyTestCase):

    def test_every_second_vios_write(self):
        self.sim.vios_busy = faults.BusyVios(every=2)
        vios_w = self.vios().update()       # 1st write
        self.assertTrue(self.busy_error(vios_w).is_vios_busy())   # 2nd
        vios_w.update()                     # 3rd
        self.assertEqual((3, 1), (self.sim.vios_busy.writes,
                                  self.sim.vios_busy.hits))

    def test_reads_and_other_writes_are_never_busy(self):
        self.sim.vios_busy = faults.BusyVios(probability=1.0)
        self.vios()
        pvm_ms.System.get(self.adpt)
        self.assertEqual(0, self.sim.vios_busy.writes)

    def test_probability_is_seeded(self):
        def draws(seed):
            busy = faults.BusyVios(probability=0.5, seed=seed)
            return [busy.fires('POST', '/rest/api/uom/VirtualIOServer/'
                               '3C1BC4C7-A9F2-4F0C-B6C4-7F2A2D7A1F00')
                    for _ in range(40)]
        self.assertEqual(draws(7), draws(7))
        self.assertIn(True, draws(7))
        self.assertIn(False, draws(7))


class TestBusySpec(testtools.TestCase):

    def test_topology_arms_background_mode(self):
        spec = dict(default_topology(), vios_busy={'every': 3})
        with Simulator(spec) as sim:
            self.assertEqual(3, sim.vios_busy.every)
        with Simulator(default_topology()) as sim:
            self.assertIsNone(sim.vios_busy)

    def test_bad_specs_are_named(self):
        for bad, words in (({'every': -1}, 'every must be >= 0'),
                           ({'probability': 2}, 'from 0 to 1'),
                           ({'often': 1}, 'unknown keys often'),
                           ('sometimes', 'must be a dict')):
            err = self.assertRaises(ValueError, normalize_topology,
                                    dict(default_topology(), vios_busy=bad))
            self.assertIn(words, str(err))

    def test_command_line_options(self):
        seen = {}

        def serve(spec, **kwargs):
            seen.update(kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova_npiv.simulator.cli.serve_forever', serve))
        cli.main(['--vios-busy-every', '5', '--vios-busy-probability',
                  '0.25'])
        self.assertEqual({'every': 5, 'probability': 0.25},
                         seen['vios_busy'])
