"""Connector and spawn paths that depend on what the port directory
knows: the storage group stays out of the POSTs once the ports are known,
and a rescheduled instance's fabrics are moved onto this system's ports.

Driven through the driver on the simulator, with the feed cache and the
port directory on, as nova-compute runs (the NPIVFixture tests keep the
cache off, so these paths never arise there).
"""

from pypowervm import const as pvm_const

from nova_npiv import fabric_meta
from nova_npiv import vios as npiv_vios
from tests.unit import test_driver

STOR = pvm_const.XAG.VIO_STOR


def _vios_requests(sim, start):
    return [r for r in list(sim.request_log)[start:]
            if r.kind == 'VirtualIOServer']


class TestFirstConnectorWithoutADirectory(test_driver.DriverTestCase):

    def test_the_staging_posts_carry_the_mappings_alone(self):
        # The connector's port read (with the storage group) notes the
        # directory; the staging it then writes asks for the mappings
        # alone, so that read is not what it POSTs (every SAN LUN again).
        npiv_vios.FEEDS.forget()
        start = len(self.sim.request_log)
        conn = self.drv.get_volume_connector(self.inst)
        self.assertEqual(2, len(conn['wwpns']))
        reqs = _vios_requests(self.sim, start)
        posts = [r for r in reqs if r.method == 'POST']
        self.assertEqual(2, len(posts))
        self.assertEqual([], [r.query for r in posts if STOR in r.query])
        self.assertEqual(1, len([r for r in reqs
                                 if r.method == 'GET' and STOR in r.query]))
        staging = self.drv.staging.uuid.upper()
        staged = [m for m in self.model.mappings('sys-a')
                  if (m.client_lpar_uuid or '').upper() == staging]
        self.assertEqual({'A', 'B'}, {m.fabric for m in staged})


class TestRescheduledHere(test_driver.DriverTestCase):
    """A spawn rolled back on the other system left the instance unmapped
    with its WWPNs and that system's ports; without a staging partition
    nothing moved them before the spawn, which must."""

    PAIRS = {'A': 'c05076079cff1000 c05076079cff1001',
             'B': 'c05076079cff1002 c05076079cff1003'}

    def setUp(self):
        super().setUp()
        self.drv = self.load(staging_partition='none')
        self.assertIsNotNone(npiv_vios.FEEDS.directory(
            self.drv.adapter, self.drv.system_uuid))
        elsewhere = {}
        for port in self.model.ports('sys-b'):
            elsewhere.setdefault(port.fabric, port.wwpn)
        for fabric, pair in self.PAIRS.items():
            fabric_meta.set_fabric(self.inst, fabric, fabric_meta.UNMAPPED,
                                   [(elsewhere[fabric], pair)])
        self.inst.save()

    def test_the_fabrics_get_this_systems_ports_and_keep_their_wwpns(self):
        self.spawn()
        here = {}
        for port in self.model.ports('sys-a'):
            here.setdefault(port.fabric, set()).add(port.wwpn.lower())
        mine = self.own_maps()
        self.assertEqual({'A', 'B'}, {m.fabric for m in mine})
        for m in mine:
            self.assertIn(m.port_wwpn.lower(), here[m.fabric])
            self.assertEqual(self.PAIRS[m.fabric], ' '.join(m.wwpns))
        for fabric in ('A', 'B'):
            rec = fabric_meta.get_fabric(self.inst, fabric)
            self.assertEqual(fabric_meta.INST_MAPPED, rec.state)
            ((phys, pair),) = rec.port_map
            self.assertIn(phys, here[fabric])
            self.assertEqual(self.PAIRS[fabric], pair)
