"""audit.find and the removal it queues, on hand-built console views."""

import types

import testtools

from nova_npiv import audit
from nova_npiv import inventory

STAGING = 1
CLIENT = 5
GONE = 9
PAIR = ('c050760000000010', 'c050760000000011')
PAIR2 = ('c050760000000020', 'c050760000000021')


def mapping(client_id, wwpns=PAIR, port='fcs0', vios='vios1', slot=10,
            system='sys-a'):
    return inventory.Mapping(
        system, 'SYS-UUID', vios, vios.upper() + '-UUID',
        'vfchost%d' % slot, slot, port,
        None if port is None else '10000090fa9e5000', 'A', client_id,
        {STAGING: 'novalink', CLIENT: 'inst-1'}.get(client_id),
        None, 3 if wwpns else None, tuple(wwpns))


def view(mappings, name='sys-a', partitions=(STAGING, CLIENT)):
    return types.SimpleNamespace(name=name, mappings=list(mappings),
                                 partitions={p: object() for p in partitions})


class TestFind(testtools.TestCase):

    def test_healthy_console_has_no_findings(self):
        views = [view([mapping(CLIENT), mapping(STAGING, PAIR2, slot=11)])]
        self.assertEqual([], audit.find(views, {'sys-a': STAGING}))
        # nova's view known and the staged pair expected.
        self.assertEqual([], audit.find(views, {'sys-a': STAGING},
                                        ownership=audit.Ownership(
                                            staged_ok={frozenset(PAIR2)})))

    def test_each_kind_with_its_fields(self):
        views = [view([
            mapping(GONE, slot=20),
            mapping(CLIENT, wwpns=(), slot=21, vios='vios2'),
            mapping(CLIENT, PAIR2, port=None, slot=22),
            mapping(STAGING, slot=23),
            mapping(CLIENT, slot=24),
        ])]
        # Without nova's records nothing is proven nova's.
        found = audit.find(views, {'sys-a': STAGING})
        self.assertEqual([
            audit.Finding(audit.NO_PARTITION, 'sys-a', 'vios1', 'VIOS1-UUID',
                          'vfchost20', 20, GONE, None, PAIR,
                          'client partition id 9 does not exist',
                          audit.UNPROVEN, ''),
            audit.Finding(audit.NO_CLIENT_ADAPTER, 'sys-a', 'vios2',
                          'VIOS2-UUID', 'vfchost21', 21, CLIENT, 'inst-1', (),
                          'no client adapter on partition inst-1',
                          audit.UNPROVEN, ''),
            audit.Finding(audit.NO_PORT, 'sys-a', 'vios1', 'VIOS1-UUID',
                          'vfchost22', 22, CLIENT, 'inst-1', PAIR2,
                          'no physical port behind the adapter',
                          audit.UNPROVEN, ''),
            audit.Finding(audit.STAGING_LEFTOVER, 'sys-a', 'vios1',
                          'VIOS1-UUID', 'vfchost23', 23, STAGING, 'novalink',
                          PAIR, 'WWPNs also mapped to a client partition',
                          audit.UNPROVEN, ''),
        ], found)

    def test_no_client_adapter_names_the_id_without_a_name(self):
        other = 6
        views = [view([mapping(other, wwpns=())],
                      partitions=(STAGING, other))]
        [f] = audit.find(views, {'sys-a': STAGING})
        self.assertEqual('no client adapter on partition 6', f.detail)

    def test_staging_pair_mapped_on_another_system_is_a_leftover(self):
        views = [view([mapping(STAGING)]),
                 view([mapping(CLIENT)], name='sys-b')]
        [f] = audit.find(views, {'sys-a': STAGING, 'sys-b': None})
        self.assertEqual((audit.STAGING_LEFTOVER, 'sys-a'),
                         (f.kind, f.system))

    def test_pairs_of_gone_or_staging_partitions_do_not_count(self):
        # Only a live client partition's mapping makes a staged pair stale.
        views = [view([mapping(STAGING), mapping(GONE, slot=11)])]
        found = audit.find(views, {'sys-a': STAGING})
        self.assertEqual([audit.NO_PARTITION], [f.kind for f in found])
        views = [view([mapping(STAGING), mapping(STAGING, slot=11)])]
        self.assertEqual([], audit.find(views, {'sys-a': STAGING}))

    def test_staging_unexplained_by_nova(self):
        views = [view([mapping(STAGING), mapping(STAGING, PAIR2, slot=11)])]
        found = audit.find(views, {'sys-a': STAGING},
                           ownership=audit.Ownership(
                               staged_ok={frozenset(PAIR)}))
        self.assertEqual(
            [(audit.STAGING_LEFTOVER, 11,
              'no instance of this host is being staged with these WWPNs')],
            [(f.kind, f.server_slot, f.detail) for f in found])
        # Unknown staging partition: nothing is judged as staging.
        self.assertEqual([], audit.find(
            views, {'sys-a': None},
            ownership=audit.Ownership(staged_ok=set())))


def _vmap(slot, lpar_id):
    server = None if slot is None else types.SimpleNamespace(
        vios_slot_num=slot, lpar_id=lpar_id)
    return types.SimpleNamespace(server_adapter=server)


class TestRemoveMatching(testtools.TestCase):

    def test_only_the_targets_are_removed(self):
        keep = [_vmap(None, None), _vmap(10, CLIENT), _vmap(11, GONE)]
        drop = [_vmap(12, GONE), _vmap(10, GONE)]
        vios_w = types.SimpleNamespace(uuid='V1', vfc_mappings=[
            keep[0], drop[0], keep[1], keep[2], drop[1]])
        removed = {'V1': {(99, GONE)}}
        self.assertIs(True, audit._remove_matching(
            vios_w, {(12, GONE), (10, GONE), (13, GONE)}, removed))
        self.assertEqual(keep, vios_w.vfc_mappings)
        # What this run found replaces an earlier run's (a refused etag).
        self.assertEqual({'V1': {(12, GONE), (10, GONE)}}, removed)

    def test_nothing_to_remove(self):
        vios_w = types.SimpleNamespace(uuid='V1',
                                       vfc_mappings=[_vmap(10, CLIENT)])
        removed = {}
        self.assertIs(False, audit._remove_matching(vios_w, {(10, GONE)},
                                                    removed))
        self.assertEqual(1, len(vios_w.vfc_mappings))
        self.assertEqual({'V1': set()}, removed)


class TestFindOwnership(testtools.TestCase):

    def test_every_kind_says_whose_it_is(self):
        views = [view([
            mapping(GONE, slot=20),
            mapping(CLIENT, wwpns=(), slot=21),
            mapping(CLIENT, PAIR2, port=None, slot=22),
            mapping(STAGING, slot=23),
            mapping(STAGING, ('c050760000000030', 'c050760000000031'),
                    slot=24),
            mapping(CLIENT, slot=25),
        ])]
        own = audit.Ownership(pairs={frozenset(PAIR), frozenset(PAIR2),
                                     frozenset(('c050760000000030',
                                                'c050760000000031'))},
                              staged_ok=set())
        found = audit.find(views, {'sys-a': STAGING}, ownership=own)
        proof = 'client WWPNs are in nova fabric metadata'
        self.assertEqual([
            (audit.NO_PARTITION, 20, audit.NOVA, proof),
            (audit.NO_CLIENT_ADAPTER, 21, audit.UNPROVEN, ''),
            (audit.NO_PORT, 22, audit.NOVA, proof),
            (audit.STAGING_LEFTOVER, 23, audit.NOVA, proof),
            (audit.STAGING_LEFTOVER, 24, audit.NOVA, proof),
        ], [(f.kind, f.server_slot, f.owner, f.proof) for f in found])

    def test_no_client_adapter_proven_by_its_partition(self):
        m = mapping(CLIENT, wwpns=(), slot=21)._replace(client_uuid='LPAR-1')
        [f] = audit.find([view([m])], {'sys-a': STAGING},
                         ownership=audit.Ownership(['lpar-1']))
        self.assertEqual((audit.NO_CLIENT_ADAPTER, audit.NOVA,
                          'client partition is a nova instance'),
                         (f.kind, f.owner, f.proof))
