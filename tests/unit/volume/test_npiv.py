"""Helpers of the NPIV volume driver."""



from nova_npiv import fabric_meta
from nova_npiv import vios as npiv_vios
from nova_npiv import vm
from nova_npiv.volume import npiv
from tests.unit.volume import npiv_base

NPIVTestCase = npiv_base.NPIVTestCase
W = npiv_base.W


class TestHelpers(NPIVTestCase):

    def test_lpar_uuid_is_the_powervm_form(self):
        inst = self.fx.instance(uuid='fb1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d')
        self.assertEqual('7B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D',
                         vm.lpar_uuid(inst))

    def test_host_name(self):
        self.assertEqual(fabric_meta.host_name(self.inst),
                         self.fx.npiv(self.inst).host_name())

    def test_initiator_wwpns_are_both_of_every_pair(self):
        self.connector()
        self.assertEqual([W(i) for i in range(4)],
                         self.fx.npiv(self.inst).initiator_wwpns())

    def test_adapter_requests_the_storage_xag(self):
        self.assertEqual(npiv_vios.XAGS_PORTS,
                         npiv.NPIVVolumeDriver.vios_xags)
