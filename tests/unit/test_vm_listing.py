"""Which partitions nova is told are instances, and as which instance."""

import testtools

from nova_npiv import vm


class _Instance(object):
    def __init__(self, uuid, name='instance-00000007'):
        self.uuid = uuid
        self.name = name


class _Lpar(object):
    def __init__(self, name, uuid):
        self.name = name
        self.uuid = uuid


# The first hex digit has its top bit set: PowerVM's UUID for the instance
# differs from the instance UUID in that digit only.
TOP_BIT = 'c2a4e9f0-7d1b-4e6a-9b3c-5f8e2d1a0b7c'
NO_TOP_BIT = '42a4e9f0-7d1b-4e6a-9b3c-5f8e2d1a0b7c'


class TestInstanceUuidFrom(testtools.TestCase):

    def ours(self, instance_uuid):
        inst = _Instance(instance_uuid)
        return _Lpar(vm.lpar_name(inst), vm.lpar_uuid(inst))

    def test_the_one_instance_the_lpar_stands_for(self):
        # Both instance UUIDs give the same partition UUID: the name picks.
        self.assertEqual(vm.lpar_uuid(_Instance(TOP_BIT)),
                         vm.lpar_uuid(_Instance(NO_TOP_BIT)))
        self.assertEqual(TOP_BIT, vm.instance_uuid_from(self.ours(TOP_BIT)))
        self.assertEqual(NO_TOP_BIT,
                         vm.instance_uuid_from(self.ours(NO_TOP_BIT)))

    def test_platform_chosen_uuid_is_not_proven_by_the_name(self):
        lpar = _Lpar(vm.lpar_name(_Instance(TOP_BIT)),
                     '3F0C2B9A-1D4E-4C8B-A6F2-7E9D0C1B2A3F')
        self.assertTrue(vm.named_as_ours(lpar))
        self.assertIsNone(vm.instance_uuid_from(lpar))

    def test_other_names_are_not_ours(self):
        lpar = self.ours(TOP_BIT)
        for name in ('instance-00000007', 'db-prod', 'vios1',
                     'x-c2a4e9f07d1', 'x-c2a4e9f07d1bz', ''):
            lpar.name = name
            self.assertFalse(vm.named_as_ours(lpar), name)
            self.assertIsNone(vm.instance_uuid_from(lpar), name)

    def test_name_of_another_instance(self):
        # Our name shape, but the UUID does not belong to that name.
        lpar = _Lpar(vm.lpar_name(_Instance(TOP_BIT)),
                     vm.lpar_uuid(_Instance(
                         '9b2f6c1e-55aa-4d0e-8f7b-2e6a4c3d1b01')))
        self.assertIsNone(vm.instance_uuid_from(lpar))
