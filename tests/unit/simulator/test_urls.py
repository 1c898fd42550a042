"""The route table alone: which handler answers which request."""

import re

import testtools

from nova_npiv.simulator import responses
from nova_npiv.simulator import urls

R = responses.Responses
UUID = '3E0B1F7A-6DBB-5565-998F-7153BB4DDBB5'
SYS = '02473d65-ae31-59ef-a97c-61d48d171bb7'


class RouteTableTestCase(testtools.TestCase):

    def resolve(self, method, path):
        return urls.resolve(method, path)

    def assertRoute(self, method, path, handler, **args):
        match = self.resolve(method, path)
        self.assertIsNotNone(match, '%s %s' % (method, path))
        self.assertEqual(handler, match.handler, '%s %s' % (method, path))
        for key, value in args.items():
            self.assertEqual(value, match.args.get(key), key)
        return match

    def test_every_handler_exists_on_responses(self):
        for route in urls.ROUTES:
            self.assertIs(getattr(R, route.handler.__name__), route.handler)

    def test_collections_entries_and_searches(self):
        self.assertRoute('GET', 'LogicalPartition', R.feed,
                         kind='LogicalPartition')
        self.assertRoute('PUT', 'LogicalPartition', R.create_lpar)
        self.assertRoute('PUT', 'VirtualIOServer', R.not_allowed)
        self.assertRoute('GET', 'ManagedSystem/' + SYS, R.get_entry,
                         kind='ManagedSystem', uuid=SYS)
        self.assertRoute('POST', 'VirtualIOServer/' + UUID, R.update)
        self.assertRoute('DELETE', 'LogicalPartition/' + UUID, R.delete)
        self.assertRoute('PUT', 'LogicalPartition/' + UUID, R.not_allowed)
        self.assertRoute('GET', "LogicalPartition/search/(PartitionName=="
                         "'a%2Fb')", R.search,
                         expr="(PartitionName=='a/b')")
        self.assertRoute('POST', 'LogicalPartition/search/(x==1)',
                         R.search_not_allowed)
        self.assertRoute('GET', 'LogicalPartition/search',
                         R.search_not_allowed)

    def test_nested_paths_name_their_system(self):
        match = self.assertRoute(
            'GET', 'ManagedSystem/%s/VirtualIOServer/%s' % (SYS, UUID),
            R.get_entry, kind='VirtualIOServer', uuid=UUID)
        self.assertEqual(SYS, match.nested_system)
        self.assertIsNone(self.resolve('GET', 'VirtualIOServer').nested_system)
        # Only partitions nest; anything else under a system is its child.
        match = self.assertRoute('GET', 'ManagedSystem/%s/Cluster' % SYS,
                                 R.unknown_child, uuid=SYS)
        self.assertIsNone(match.nested_system)

    def test_children_operations_and_quick(self):
        self.assertRoute('PUT', 'LogicalPartition/%s/do/PowerOn' % UUID,
                         R.job, operation='PowerOn')
        self.assertRoute('GET', 'ManagedSystem/%s/do/GetNextWWPNs' % SYS,
                         R.job, kind='ManagedSystem')
        self.assertRoute('GET', 'VirtualIOServer/%s/quick' % UUID, R.quick)
        self.assertRoute('GET', 'LogicalPartition/%s/quick/PartitionState'
                         % UUID, R.quick, prop='PartitionState')
        self.assertRoute('GET', 'ManagedSystem/%s/quick' % SYS,
                         R.unknown_child)
        self.assertRoute(
            'GET', 'LogicalPartition/%s/VirtualFibreChannelClientAdapter'
            % UUID, R.vfc_client_adapters)
        self.assertRoute(
            'GET', 'VirtualIOServer/%s/VirtualFibreChannelClientAdapter'
            % UUID, R.unknown_child)
        self.assertRoute('GET', 'LogicalPartition/%s/quick/a/b' % UUID,
                         R.unknown_child)

    def test_jobs_service(self):
        self.assertRoute('GET', 'jobs', R.job_without_id)
        self.assertRoute('GET', 'jobs/1500000000001', R.job_poll,
                         job_id='1500000000001')
        self.assertRoute('DELETE', 'jobs/1', R.job_delete)
        self.assertRoute('POST', 'jobs/1/cancel', R.job_cancel)
        self.assertRoute('PUT', 'jobs/1', R.job_not_allowed)
        self.assertRoute('GET', 'jobs/1/results', R.job_not_allowed)

    def test_the_rest_exists_but_is_not_simulated(self):
        self.assertRoute('GET', '', R.uom_root)
        self.assertRoute('GET', 'Cluster', R.unknown_type, kind='Cluster')
        self.assertRoute('GET', 'SharedStoragePool/%s' % UUID,
                         R.unknown_type)
        # Empty segments and a trailing slash do not count.
        self.assertRoute('GET', 'LogicalPartition//%s/' % UUID, R.get_entry,
                         uuid=UUID)

    def test_first_matching_row_wins(self):
        routes = (urls.Route('GET', re.compile(r'a\Z'), 'first'),
                  urls.Route(None, re.compile(r'a\Z'), 'second'))
        self.assertEqual('first', urls.resolve('GET', 'a', routes).handler)
        self.assertEqual('second', urls.resolve('PUT', 'a', routes).handler)
        self.assertIsNone(urls.resolve('GET', 'b', routes))
