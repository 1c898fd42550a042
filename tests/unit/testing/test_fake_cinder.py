"""The one Cinder stand-in: what it hands the driver must be what a Cinder
FC driver hands nova, or every in-process run tests the wrong input."""

import testtools

from nova_npiv import connection_info
from nova_npiv.testing import fake_cinder

W1, W2 = 'c0507609a1b20000', 'c0507609a1b20001'
TARGETS = list(fake_cinder.ARRAY_TARGETS)


class TestFCConnectionInfo(testtools.TestCase):

    def test_zoned_info_passes_the_drivers_own_check(self):
        info = fake_cinder.fc_connection_info('vol-1', [W1, W2], lun=3)

        target = connection_info.validate(info, [W1, W2])

        self.assertEqual([(t, 3) for t in TARGETS], target.targets)
        self.assertEqual({W1: TARGETS, W2: TARGETS},
                         target.initiator_target_map)
        self.assertEqual('vol-1', info['serial'])

    def test_without_initiators_there_is_no_map(self):
        info = fake_cinder.fc_connection_info('vol-1')

        self.assertNotIn('initiator_target_map', info['data'])
        self.assertIsNone(
            connection_info.validate(info).initiator_target_map)

    def test_values_are_passed_through_unchecked(self):
        # The unit tests hand the driver malformed input on purpose.
        info = fake_cinder.fc_connection_info('vol-1', targets=['nothex'],
                                              lun='1', attachment_id='a-1')

        self.assertEqual({'volume_id': 'vol-1', 'target_discovered': False,
                          'target_wwn': ['nothex'], 'target_lun': '1',
                          'attachment_id': 'a-1'}, info['data'])

    def test_each_call_gets_its_own_lists(self):
        info = fake_cinder.fc_connection_info('vol-1', [W1])
        info['data']['target_wwn'].append('x')
        info['data']['initiator_target_map'][W1].append('y')

        self.assertEqual(TARGETS, fake_cinder.fc_connection_info(
            'vol-1', [W1])['data']['initiator_target_map'][W1])
        self.assertEqual(TARGETS, list(fake_cinder.ARRAY_TARGETS))


class TestFakeCinder(testtools.TestCase):

    def test_a_lun_per_volume_kept_across_connectors(self):
        cinder = fake_cinder.FakeCinder()

        first = cinder.connection_info('vol-a', {'wwpns': [W1]})
        second = cinder.connection_info('vol-b', {'wwpns': [W1]})
        again = cinder.connection_info('vol-a', {'wwpns': [W2]})

        self.assertEqual([1, 2, 1], [i['data']['target_lun']
                                     for i in (first, second, again)])
        self.assertEqual([W2], list(again['data']['initiator_target_map']))

    def test_bdm_names_the_device_by_boot_index(self):
        bdm = fake_cinder.FakeCinder().bdm('vol-a', 1, {'wwpns': [W1]})

        self.assertEqual((1, '/dev/sdb'), (bdm['boot_index'],
                                           bdm['mount_device']))
        self.assertEqual('vol-a', bdm['connection_info']['serial'])
