"""The mappings the NPIV driver adds name the partition on this system.

A vFC mapping's client partition is an href under the managed system; one
built on another system's UUID points at a partition that does not exist
here (the console refuses it, or the audit later cannot tie the mapping to
its partition).  Checked on the VIOS wrappers after the FeedTask ran.
"""

from nova_npiv import vm
from tests.unit import fixtures as fx
from tests.unit.volume import npiv_base


class TestClientHrefs(npiv_base.NPIVTestCase):

    def hrefs(self, lpar_uuid):
        return [vmap.client_lpar_href
                for vios_w in self.fx.feed for vmap in vios_w.vfc_mappings
                if vmap.client_lpar_href and
                vmap.client_lpar_href.lower().endswith(lpar_uuid.lower())]

    def assertUnderThisSystem(self, lpar_uuid, count):
        hrefs = self.hrefs(lpar_uuid)
        self.assertEqual(count, len(hrefs), hrefs)
        for href in hrefs:
            self.assertIn('/ManagedSystem/%s/LogicalPartition/%s'
                          % (fx.HOST_UUID, lpar_uuid), href)

    def test_staging_mappings(self):
        self.connector()
        self.assertUnderThisSystem(fx.STAGING_UUID, 2)

    def test_instance_mappings(self):
        self.connector()
        self.connect()
        self.assertUnderThisSystem(vm.lpar_uuid(self.inst), 2)
        self.assertEqual([], self.hrefs(fx.STAGING_UUID))
