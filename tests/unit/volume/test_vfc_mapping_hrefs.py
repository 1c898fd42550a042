"""The mappings the NPIV driver adds name the partition on this system.

A vFC mapping's client partition is an href under the managed system; one
built on another system's UUID points at a partition that does not exist
here (the console refuses it, or the audit later cannot tie the mapping to
its partition).  Checked on the VIOS wrappers after the FeedTask ran.
"""

from pypowervm.tasks import vfc_mapper

from nova_npiv import fabric_meta
from nova_npiv import fabric_records
from nova_npiv import vm
from nova_npiv.volume import vfc_ops
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


class TestUntouchedViosNotPosted(npiv_base.NPIVTestCase):
    """A VIOS that carries none of the instance's ports gets no POST.

    Each POST of a VIOS is a round trip and an etag race with every other
    operation on that VIOS; the functors say whether they changed it, and a
    VIOS they did not change must not be written.
    """

    extra_vios = ('fake_vios.txt',)

    def setUp(self):
        super().setUp()
        self.touched = sorted([fx.VIOS1, fx.VIOS2])
        self.assertEqual(3, len(self.fx.feed))

    def test_staging(self):
        self.fx.reset_counts()
        self.connector()
        self.assertEqual(self.touched, sorted(self.fx.updated()))

    def test_swap_to_the_instance(self):
        self.connector()
        self.fx.reset_counts()
        self.connect()
        self.assertEqual(self.touched, sorted(self.fx.updated()))

    def test_removal(self):
        self.connector()
        self.connect()
        self.fx.reset_counts()
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.assertEqual(self.touched, sorted(self.fx.updated()))
        self.assertEqual({}, self.fx.instance_maps(self.inst))

    def test_rollback_of_a_connect(self):
        self.connector()
        drv = self.connect()
        self.fx.reset_counts()
        drv.rollback_connect()
        self.assertEqual(self.touched, sorted(self.fx.updated()))
        self.assertEqual({}, self.fx.staging_maps())


class TestSharedStagingPartition(npiv_base.NPIVTestCase):
    """The staging partition holds the adapters of every instance waiting
    for its LPAR: one instance's swap or undo must leave the others' alone.
    """

    OTHER = '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d'

    def setUp(self):
        super().setUp()
        self.other = self.fx.instance(uuid=self.OTHER)
        self.connector(self.other)
        self.other_staged = self.fx.staging_maps()
        self.assertEqual(2, sum(len(m) for m in self.other_staged.values()))

    def test_swap_keeps_the_other_instances_staging(self):
        self.connector()
        self.connect()
        self.assertEqual(self.other_staged, self.fx.staging_maps())

    def test_removal_keeps_the_other_instances_staging(self):
        self.connector()
        self.fx.npiv(self.inst).remove_instance_mappings()
        self.assertEqual(self.other_staged, self.fx.staging_maps())

    def test_rollback_keeps_the_other_instances_staging(self):
        self.connector()
        self.connect().rollback_connect()
        self.assertEqual(self.other_staged, self.fx.staging_maps())


class TestRollbackOfAPartialConnect(npiv_base.NPIVTestCase):
    """A fabric added to the configuration while the instance runs.

    The next attach maps the instance on the new fabric only; when it fails,
    the rollback removes the new fabric's mappings and leaves the old
    fabric's, which carry the instance's other volumes.
    """

    fabrics = {'A': fx.FABRIC_A}

    def test_only_the_new_fabric_is_undone(self):
        self.connector()
        self.connect('vol-1')
        mapped_a = self.fx.instance_maps(self.inst)
        self.fx.configure({'A': fx.FABRIC_A, 'B': fx.FABRIC_B})
        wwpns = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        drv = self.fx.npiv(self.inst, fx.connection_info(wwpns, 'vol-2'))
        drv.wwpns()
        drv.connect_volume()
        self.assertStates(npiv_base.INST)
        self.assertNotEqual(mapped_a, self.fx.instance_maps(self.inst))
        self.fx.reset_counts()

        drv.rollback_connect()

        # One port per fabric: only the VIOS of fabric B's port is written.
        self.assertEqual(1, len(self.fx.updated()))

        self.assertEqual(mapped_a, self.fx.instance_maps(self.inst))
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual({'A': npiv_base.INST, 'B': npiv_base.UNMAPPED},
                         self.states())

    def test_a_connect_that_never_landed_leaves_no_staging_behind(self):
        self.connector()
        self.connect('vol-1')
        mapped_a = self.fx.instance_maps(self.inst)
        self.fx.configure({'A': fx.FABRIC_A, 'B': fx.FABRIC_B})
        wwpns = fabric_meta.all_wwpns(self.inst, ['A', 'B'])
        drv = self.fx.npiv(self.inst, fx.connection_info(wwpns, 'vol-2'))
        drv.wwpns()
        self.assertEqual(1, len([m for maps in
                                 self.fx.staging_maps().values()
                                 for m in maps]))
        self.fx.fail_updates(fx.VIOS1)
        self.fx.fail_updates(fx.VIOS2)
        self.assertRaises(RuntimeError, drv.connect_volume)
        # The sample feed's failed POSTs keep what the subtasks did; the
        # console's did not: fabric B still staged, not the instance's.
        entries = fabric_records.pvm(drv.records.entries(['B']))
        for vios_w in self.fx.feed:
            for entry in entries:
                vfc_mapper.remove_maps(vios_w, vm.lpar_uuid(self.inst),
                                       port_map=entry)
            vfc_ops.map_to_staging(vios_w, fx.HOST_UUID, fx.STAGING_UUID,
                                   entries)
        self.assertEqual(1, len([m for maps in
                                 self.fx.staging_maps().values()
                                 for m in maps]))
        self.fx.reset_counts()

        drv.rollback_connect()

        # Fabric B's staging mapping (the swap never landed) is gone too.
        self.assertEqual({}, self.fx.staging_maps())
        self.assertEqual(mapped_a, self.fx.instance_maps(self.inst))
        self.assertEqual({'A': npiv_base.INST, 'B': npiv_base.UNMAPPED},
                         self.states())
