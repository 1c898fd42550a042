"""The real StagingPartition, resolved from pypowervm's sample feeds."""

import fixtures
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv import exception
from nova_npiv import staging as npiv_staging
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
MGMT = npiv_base.MGMT
pair = npiv_base.pair


class TestStagingPartition(NPIVTestCase):
    """The real StagingPartition, resolved from the sample feeds."""

    def setUp(self):
        super().setUp()
        self.lpars = pvm_lpar.LPAR.wrap(pvmhttp.load_pvm_resp(
            'lpar.txt', adapter=self.fx.adpt).get_response())
        self.mgmt = [p for p in self.lpars if p.is_mgmt_partition]
        self.lpar_get = self.useFixture(fixtures.MockPatchObject(
            pvm_lpar.LPAR, 'get', return_value=self.lpars)).mock
        self.vios_get = self.useFixture(fixtures.MockPatchObject(
            pvm_vios.VIOS, 'get', return_value=self.fx.feed)).mock

    def staging(self, choice):
        return npiv_staging.StagingPartition(self.fx.adpt, fx.HOST_UUID,
                                             choice=choice)

    def test_auto_finds_the_novalink_partition(self):
        self.assertEqual(1, len(self.mgmt))
        stg = self.staging('auto')
        self.assertEqual(self.mgmt[0].uuid, stg.uuid)
        self.assertEqual(self.mgmt[0].name, stg.name)
        self.lpar_get.assert_called_once_with(
            self.fx.adpt, parent_type=npiv_staging.pvm_ms.System,
            parent_uuid=fx.HOST_UUID)

    def test_auto_never_picks_a_management_vios(self):
        # A VIOS cannot host vFC client adapters: no staging then.
        self.lpar_get.return_value = [p for p in self.lpars
                                      if not p.is_mgmt_partition]
        self.fx.feed[0].set_parm_value('IsManagementPartition', 'true')
        self.assertIsNone(self.staging('auto').uuid)

    def test_resolved_once(self):
        stg = self.staging('auto')
        self.assertEqual((stg.uuid, stg.name), (stg.uuid, stg.name))
        self.assertEqual(1, self.lpar_get.call_count)

    def test_none(self):
        stg = self.staging('none')
        self.assertIsNone(stg.uuid)
        self.assertEqual(0, self.lpar_get.call_count)

    def test_named(self):
        name = self.lpars[2].name
        self.assertEqual(self.lpars[2].uuid, self.staging(name).uuid)

    def test_named_vios_is_a_configuration_error(self):
        err = self.assertRaises(exception.NPIVConfigError, getattr,
                                self.staging(fx.VIOS2), 'uuid')
        self.assertIn('[powervm] staging_partition', str(err))
        self.assertIn('%s is a Virtual I/O Server' % fx.VIOS2, str(err))

    def test_named_missing(self):
        stg = self.staging('no-such-partition')
        err = self.assertRaises(exception.StagingPartitionNotFound,
                                getattr, stg, 'uuid')
        self.assertIn('no-such-partition', str(err))

    def test_auto_without_management_partition(self):
        self.lpar_get.return_value = [p for p in self.lpars
                                      if not p.is_mgmt_partition]
        for vios_w in self.fx.feed:
            vios_w.set_parm_value('IsManagementPartition', 'false')
        self.assertIsNone(self.staging('auto').uuid)

    def test_connector_stages_to_it(self):
        stg = self.staging('auto')
        self.fx.npiv(self.inst, staging=stg).wwpns()
        self.assertStates(MGMT)
        self.assertEqual(
            {fx.VIOS1: [(fx.V1_FCS0, pair(0, 1))],
             fx.VIOS2: [(fx.V2_FCS1, pair(2, 3))]},
            self.fx.maps(self.mgmt[0].uuid))
