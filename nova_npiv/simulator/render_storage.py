"""XML out for a VIOS's SAN LUNs: the ``PhysicalVolumes`` of ``ViosStorage``.

A VIOS on a SAN sees hundreds of LUNs, and its ``ViosStorage`` reply is then
megabytes: what every storage read of the driver pays.  The volumes have the
children and order of the PhysicalVolume in pypowervm's captured VIOS feed
(``fake_vios_feed.txt``), which is pypowervm's PV child order too.  Kept
apart from ``render`` (one concern, and that module's size); it needs only
lxml and the vocabulary.
"""

from lxml import etree

from nova_npiv.simulator import vocab

_q = vocab.qname


def _el(parent, tag, text=None, **attrib):
    elem = etree.SubElement(parent, _q(tag), attrib)
    if text is not None:
        elem.text = str(text)
    return elem


def physical_volumes(container, vios):
    """Fill ``container`` with the VIOS's ``vios.physical_volumes`` LUNs.

    Names, locations and ids are derived from the VIOS and the LUN number,
    so that a reply is stable across reads (etags and caches hold).
    """
    port = next(iter(vios.ports.values()), None)
    loc = port.location if port is not None else 'U78CB.001.SIM-P1-C1-T1'
    target = port.wwpn if port is not None else '5005076802000000'
    for n in range(vios.physical_volumes):
        pv = _el(container, 'PhysicalVolume', schemaVersion='V1_0')
        _el(_el(pv, 'Metadata'), 'Atom')
        lun = '%s%04d%04d' % (vios.system.serial, vios.id, n)
        _el(pv, 'Description', 'MPIO IBM 2076 FC Disk')
        _el(pv, 'LocationCode', '%s-W%s-L%X000000000000' % (loc, target, n))
        _el(pv, 'PersistentReserveKeyValue', 'none')
        _el(pv, 'ReservePolicy', 'NoReserve')
        _el(pv, 'ReservePolicyAlgorithm', 'round_robin')
        _el(pv, 'UniqueDeviceID', '01M0lCTTIxNDUxMjQ2MDA1MDc2RDAy%s' % lun)
        _el(pv, 'AvailableForUsage', 'true')
        _el(pv, 'VolumeCapacity', 102400)
        _el(pv, 'VolumeName', 'hdisk%d' % n)
        _el(pv, 'VolumeState', 'active')
        _el(pv, 'VolumeUniqueID', '3321360050768%s04214503IBMfcp' % lun)
        _el(pv, 'IsFibreChannelBacked', 'true')
