"""Shared doubles for the NPIV adapter and storage task tests.

The VIOSes are pypowervm's own sample feed (``fake_vios_feed.txt``): two
running, RMC-active VIOSes with two physical FC ports each and 114 vFC
mappings of other partitions.  ``FeedTaskFx`` serves that feed to every
FeedGetter (so ``nova_npiv.vios.read_feed`` and every FeedTask GET) and turns
each VIOS POST into a logged no-op that keeps the wrapper as modified, so the
feed behaves like a small stateful management console: what one operation
mapped, the next one finds.

    active order (mgmt first)   ports (free NPIV slots)
    nimbus-ch03-p2-vios1 (id 1)  fcs0 ...537209 (26), fcs1 ...53720a (58)
    nimbus-ch03-p2-vios2 (id 2)  fcs0 ...5371f1 (58), fcs1 ...5371f2 (26)
"""

import copy
import threading

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from pypowervm import adapter as pvm_adapter
from pypowervm import util as pvm_util
from pypowervm.tests import test_fixtures as pvm_fx
from pypowervm.tests.test_utils import pvmhttp
from pypowervm.wrappers import virtual_io_server as pvm_vios

from nova_npiv import conf as npiv_conf
from nova_npiv import fabric_meta
from nova_npiv import staging as npiv_staging
from nova_npiv import vios as npiv_vios
from nova_npiv.testing import fake_cinder
from nova_npiv import vm
from nova_npiv.volume import npiv

# The managed system of the sample feed's hrefs.
HOST_UUID = 'e7344c5b-79b5-3e73-8f64-94821424bc25'
THIS_HOST = 'compute1'

VIOS1 = 'nimbus-ch03-p2-vios1'
VIOS1_UUID = '7DBBE705-E4C4-4458-8223-3EBE07015CA9'
VIOS2 = 'nimbus-ch03-p2-vios2'
VIOS2_UUID = '1300C76F-9814-4A4D-B1F0-5B69352A7DEA'
#: The extra VIOS of ``fake_vios.txt``: fcs0 has 64 free slots, fcs1 none.
VIOS3 = 'IO Server'

V1_FCS0 = '10000090fa537209'
V1_FCS1 = '10000090fa53720a'
V2_FCS0 = '10000090fa5371f1'
V2_FCS1 = '10000090fa5371f2'
V3_FCS0 = '10000090fa45473a'
V3_FCS1_FULL = '10000090fa45473b'
#: Ports of ``fake_vios_mappings.txt`` (another managed system).
OTHER_VIOS = 'vios_1_Drew'
OTHER_FCS2 = '10000090fa1b6898'
OTHER_FCS4 = '10000090fa109924'
#: A WWPN cabled nowhere.
NOWHERE = '10000090fadeadbe'

#: Fabric A: fcs0 of both VIOSes; fabric B: fcs1 of both VIOSes.
FABRIC_A = [V2_FCS0, V1_FCS0]
FABRIC_B = [V2_FCS1, V1_FCS1]

#: A partition of the sample feed with exactly two vFC mappings, as the
#: management console reports them (upper-case UUID in the href, slots
#: filled in): (VIOS, backing port, client WWPNs, client slot).
REST_LPAR_UUID = '027CCDF3-6EF6-4F26-AE03-CB8C9A2BA67C'
REST_LPAR_MAPS = [
    (VIOS1, V1_FCS0, ('c05076079cff0e42', 'c05076079cff0e43'), 2),
    (VIOS2, V2_FCS1, ('c05076079cff0e44', 'c05076079cff0e45'), 4),
]

#: The staging partition, spelled as the console reports UUIDs.
STAGING_UUID = '2D2E1C4B-5F7A-4C3D-9E8F-0A1B2C3D4E5F'

INSTANCE_UUID = '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d'
TARGET = '500507680b2155a0'

_REAL_BUILD_PATH = pvm_adapter.Adapter.build_path


def load_feed(adapter, extra_files=()):
    """Fresh VIOS wrappers of the sample feed (plus single-VIOS files)."""
    resp = pvmhttp.load_pvm_resp('fake_vios_feed.txt',
                                 adapter=adapter).get_response()
    feed = pvm_vios.VIOS.wrap(resp)
    for name in extra_files:
        resp = pvmhttp.load_pvm_resp(name, adapter=adapter).get_response()
        feed.append(pvm_vios.VIOS.wrap(resp))
    return feed


class Staging(object):
    """Stand-in for :class:`nova_npiv.staging.StagingPartition`."""

    def __init__(self, uuid=STAGING_UUID, name='novalink', max_slots=None):
        self.uuid = uuid
        self.name = name
        #: None: unknown, the slot check is skipped.
        self.max_slots = max_slots

    # The real check, on this stand-in's attributes.
    _staged = npiv_staging.StagingPartition._staged
    require_slots = npiv_staging.StagingPartition.require_slots


class FakeDB(object):
    """system_metadata rows by instance UUID, shared by FakeInstances."""

    def __init__(self):
        self.rows = {}
        self.lock = threading.Lock()
        #: Every saved system_metadata, in order, per instance.
        self.history = {}

    def write(self, uuid, sysmeta):
        with self.lock:
            self.rows[uuid] = copy.deepcopy(sysmeta)
            self.history.setdefault(uuid, []).append(copy.deepcopy(sysmeta))

    def read(self, uuid):
        with self.lock:
            return copy.deepcopy(self.rows.get(uuid))


class FakeInstance(object):
    """What the adapter uses of a nova Instance, saved to a FakeDB.

    Two FakeInstances with the same UUID and DB behave like two nova
    Instance objects loaded by two concurrent requests: only save() and
    refresh() move system_metadata between them.
    """

    def __init__(self, uuid=INSTANCE_UUID, host=THIS_HOST, task_state=None,
                 system_metadata=None, db=None):
        self.uuid = uuid
        self.host = host
        self.task_state = task_state
        self.system_metadata = dict(system_metadata or {})
        self.db = db if db is not None else FakeDB()
        self.saves = 0
        self.refreshes = 0

    def save(self):
        self.saves += 1
        self.db.write(self.uuid, self.system_metadata)

    def refresh(self):
        self.refreshes += 1
        row = self.db.read(self.uuid)
        if row is not None:
            self.system_metadata = row

    def twin(self):
        """Another copy of this instance, as another request loads it."""
        twin = FakeInstance(self.uuid, self.host, self.task_state,
                            self.db.read(self.uuid) or {}, self.db)
        return twin


class WWPNJob(object):
    """Deterministic stand-in for the WWPN job (``jobs.wwpn_pairs``).

    Hands out upper-case WWPNs like the platform, refuses more than eight
    pairs per job like the platform, and records every job.
    """

    def __init__(self):
        self.next = 0
        self.jobs = []
        self.lock = threading.Lock()
        self.before_return = None

    def __call__(self, adapter, host_uuid, pair_count=1):
        if not 1 <= pair_count <= 8:
            raise ValueError('the platform hands out 1 to 8 pairs per job, '
                             'not %d' % pair_count)
        with self.lock:
            self.jobs.append(pair_count)
            start, self.next = self.next, self.next + 2 * pair_count
        if self.before_return is not None:
            self.before_return()
        return ['C0507609A1B2%04X' % (start + i)
                for i in range(2 * pair_count)]

    @staticmethod
    def wwpn(index):
        """The normalised ``index``-th WWPN handed out."""
        return 'c0507609a1b2%04x' % index


def connection_info(wwpns=None, volume_id='vol-1', targets=(TARGET,),
                    lun=1):
    """A valid Cinder FC connection_info, zoned to ``wwpns`` if given."""
    return fake_cinder.fc_connection_info(volume_id, wwpns or None,
                                          targets=targets, lun=lun)


def _href_uuid(vmap):
    href = vmap.client_lpar_href
    return pvm_util.get_req_path_uuid(href, preserve_case=True) if href \
        else None


class NPIVFixture(fixtures.Fixture):
    """Config, adapter, sample VIOS feed and WWPN job for adapter tests.

    :param fabrics: ``{name: [port wwpn, ...]}`` in fabric order.
    :param extra_vios: further single-VIOS sample files for the feed.
    """

    def __init__(self, fabrics=None, ports_per_fabric=1, staging=True,
                 extra_vios=()):
        super().__init__()
        self.fabrics = fabrics if fabrics is not None else {
            'A': FABRIC_A, 'B': FABRIC_B}
        self.ports_per_fabric = ports_per_fabric
        self.staging = Staging() if staging else None
        self.extra_vios = extra_vios

    def _setUp(self):
        self.conf = cfg.ConfigOpts()
        self.cfg_fx = self.useFixture(config_fixture.Config(self.conf))
        npiv_conf.register_opts(self.conf)
        self.conf.register_opt(cfg.StrOpt('host'))
        self.cfg_fx.config(host=THIS_HOST)
        self.configure(self.fabrics, self.ports_per_fabric)

        self.adpt = self.useFixture(pvm_fx.AdapterFx()).adpt
        self.adpt.session.dest = 'https://hmc.example.com:12443'
        self.adpt.build_href.side_effect = self._build_href

        self.feed = load_feed(self.adpt, self.extra_vios)
        self.ftfx = pvm_fx.FeedTaskFx(self.feed)
        # Keep real locks: the adapter serialises connector calls with one.
        del self.ftfx.patchers['lock']
        del self.ftfx.patchers['unlock']
        self.useFixture(self.ftfx)
        # FeedTaskFx's POST cannot refuse an etag, so the optimistic write
        # (a FeedTask starting from the last one's feed) has nothing to fall
        # back on here; the functional tests cover it on the simulator.
        self.useFixture(fixtures.MockPatchObject(npiv_vios.FEEDS, 'enabled',
                                                 False))

        self.job = WWPNJob()
        self.useFixture(fixtures.MockPatch(
            'nova_npiv.jobs.wwpn_pairs', side_effect=self.job))

    def _build_href(self, root_type, root_id=None, child_type=None,
                    child_id=None, suffix_type=None, suffix_parm=None,
                    detail=None, xag=None, service='uom'):
        return self.adpt.session.dest + _REAL_BUILD_PATH(
            service, root_type, root_id, child_type, child_id, suffix_type,
            suffix_parm, detail, xag=xag)

    def configure(self, fabrics, ports_per_fabric=1):
        self.cfg_fx.config(group='powervm', fabrics=list(fabrics),
                           ports_per_fabric=ports_per_fabric)
        npiv_conf.register_fabric_opts(self.conf)
        for fabric, ports in fabrics.items():
            self.cfg_fx.config(group='powervm', **{
                npiv_conf.fabric_opt_name(fabric): list(ports)})

    # -- building things ---------------------------------------------------

    def instance(self, **kwargs):
        return FakeInstance(**kwargs)

    def npiv(self, instance, conn_info=None, stg_ftsk=None, staging=None,
             **kwargs):
        """An NPIV adapter as the driver builds one (new per request).

        ``staging``: None for the fixture's, False for no staging partition.
        """
        staging = self.staging if staging is None else staging
        return npiv.NPIVVolumeDriver(
            self.adpt, HOST_UUID, instance,
            conn_info or {'driver_volume_type': 'fibre_channel'},
            stg_ftsk=stg_ftsk, staging=staging or None, conf=self.conf,
            **kwargs)

    def other_host(self, vios_file='fake_vios_mappings.txt', fabrics=None,
                   ports_per_fabric=1):
        """Serve another managed system's VIOSes from now on.

        The default is ``fake_vios_mappings.txt``: one VIOS, ``vios_1_Drew``,
        with fcs2 (OTHER_FCS2) and fcs4 (OTHER_FCS4) free for NPIV.
        """
        resp = pvmhttp.load_pvm_resp(vios_file,
                                     adapter=self.adpt).get_response()
        self.feed = [pvm_vios.VIOS.wrap(resp)]
        self.ftfx.patchers['get'].ret = self.feed
        self.configure(fabrics or {'A': [OTHER_FCS2], 'B': [OTHER_FCS4]},
                       ports_per_fabric)
        self.reset_counts()

    def vios(self, name):
        for vios_w in self.feed:
            if vios_w.name == name:
                return vios_w
        raise KeyError(name)

    # -- what the REST API saw ---------------------------------------------

    @property
    def gets(self):
        """Feed GETs: ``read_feed`` and FeedTask executions alike."""
        return self.ftfx.get_log().count('get')

    @property
    def updates(self):
        """VIOS POSTs."""
        return self.ftfx.get_log().count('update')

    def updated(self):
        """Names of the VIOSes POSTed, in order."""
        return [c[0][0].name
                for c in self.ftfx.patchers['update'].mock.call_args_list]

    def reset_counts(self):
        self.ftfx.reset_log()
        self.ftfx.patchers['update'].mock.reset_mock()
        self.job.jobs = []

    def fail_updates(self, vios_name, times=1, exc=None):
        """Make the next ``times`` POSTs of one VIOS fail.

        The failing POST is not logged as an update.  Like the fake's
        successful POSTs, the wrapper keeps what the subtasks changed.
        """
        mock = self.ftfx.patchers['update'].mock
        original = mock.side_effect
        left = [times]

        def update(wrapper, *args, **kwargs):
            if wrapper.name == vios_name and left[0]:
                left[0] -= 1
                raise exc or RuntimeError('POST to %s failed' % vios_name)
            return original(wrapper, *args, **kwargs)

        mock.side_effect = update

    def on_update(self, callback):
        """Call ``callback(vios_w)`` at each VIOS POST, before it lands."""
        mock = self.ftfx.patchers['update'].mock
        original = mock.side_effect

        def update(wrapper, *args, **kwargs):
            callback(wrapper)
            return original(wrapper, *args, **kwargs)

        mock.side_effect = update

    # -- what the VIOSes have ----------------------------------------------

    def maps(self, lpar_uuid):
        """``{vios name: [(port wwpn, 'c1 c2')]}`` of one client partition.

        Matched case-insensitively on the client href, so that what is on
        the VIOSes is visible whatever the spelling; backing ports built
        by ``add_map`` carry only a name, which is resolved on the VIOS.
        """
        result = {}
        for vios_w in self.feed:
            by_name = {p.name: p.wwpn.lower() for p in vios_w.pfc_ports}
            for vmap in vios_w.vfc_mappings:
                uuid = _href_uuid(vmap)
                if not uuid or uuid.lower() != lpar_uuid.lower():
                    continue
                port = vmap.backing_port
                phys = (port.wwpn or by_name.get(port.name) or '').lower() \
                    if port is not None else None
                client = ' '.join(w.lower()
                                  for w in vmap.client_adapter.wwpns) \
                    if vmap.client_adapter is not None else None
                result.setdefault(vios_w.name, []).append((phys, client))
        return result

    def instance_maps(self, instance):
        return self.maps(vm.lpar_uuid(instance))

    def staging_maps(self):
        return self.maps(STAGING_UUID)

    def other_maps(self, *lpar_uuids):
        """Count per VIOS of mappings of partitions other than these."""
        skip = {u.lower() for u in lpar_uuids}
        return {v.name: len([m for m in v.vfc_mappings
                             if (_href_uuid(m) or '').lower() not in skip])
                for v in self.feed}


def records(instance, fabrics=('A', 'B')):
    return {f: fabric_meta.get_fabric(instance, f) for f in fabrics}


def port_map(instance, fabric):
    return fabric_meta.get_fabric(instance, fabric).port_map


def state(instance, fabric):
    return fabric_meta.get_fabric(instance, fabric).state


def pair(first, second):
    """The fused pair of the WWPN job's ``first`` and ``second`` WWPNs."""
    return '%s %s' % (WWPNJob.wwpn(first), WWPNJob.wwpn(second))
