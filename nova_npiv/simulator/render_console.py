"""XML out and in for the ManagementConsole object.

The children and attributes follow pypowervm's captured NovaLink reply
(``managementconsole_ssh.txt``: the SSH key children) and HMC reply
(``managementconsole.txt``: the managed system links and the network
interface), in pypowervm's declared child order
(``wrappers/management_console._CONS_EL_ORDER``).
"""

from lxml import etree

from nova_npiv.simulator import parse
from nova_npiv.simulator import render
from nova_npiv.simulator import schema
from nova_npiv.simulator import vocab
from nova_npiv.simulator.vocab import SimulatorError

KIND = 'ManagementConsole'
_V = 'V1_3_0'
_el = render._el


def console(model, base):
    """The ManagementConsole element of ``model``'s console."""
    mc = model.mc
    root = render._root(KIND, schemaVersion=_V)
    render._metadata(root, mc.uuid)
    mtms = _el(root, 'MachineTypeModelAndSerialNumber', kxe='false',
               kb='ROR', schemaVersion=_V)
    render._metadata(mtms)
    for tag, value in zip(('MachineType', 'Model', 'SerialNumber'),
                          mc.mtms, strict=True):
        _el(mtms, tag, value, kxe='false', kb='CUR')
    # The captured NovaLink lists neither its system nor its interfaces,
    # nor the object model versions; the captured HMC lists all three.
    hmc = mc.kind == 'hmc'
    _el(root, 'ManagedFrames', kb='CUD', kxe='false')
    systems = _el(root, 'ManagedSystems', kb='CUD', kxe='false')
    for sysm in model.system_states() if hmc else ():
        _el(systems, 'link', rel='related',
            href='%s/rest/api/uom/%s/%s/ManagedSystem/%s'
            % (base, KIND, mc.uuid, sysm.uuid))
    _el(root, 'ManagementConsoleName', mc.name, kxe='false', kb='CUR')
    netis = _el(root, 'NetworkInterfaces', kxe='false', kb='CUD',
                schemaVersion=_V)
    render._metadata(netis)
    if hmc:
        neti = _el(netis, 'ManagementConsoleNetworkInterface',
                   schemaVersion=_V)
        render._metadata(neti)
        _el(neti, 'InterfaceName', 'eth0', kb='CUD', kxe='false')
        _el(neti, 'NetworkAddress', mc.address, kb='CUR', kxe='false')
        for tag in ('TemplateObjectModelVersion', 'UserObjectModelVersion',
                    'VersionInfo', 'WebObjectModelVersion'):
            render._metadata(_el(root, tag, kb='ROR', kxe='false',
                                 schemaVersion=_V))
    _el(root, 'PowerEnterprisePools', kxe='false', kb='CUD')
    _el(root, 'PublicSSHKey', mc.public_key, ksv=_V, kb='ROO', kxe='false')
    keys = _el(root, 'AuthorizedKeys', ksv=_V, kxe='false', kb='ROO',
               schemaVersion=_V)
    render._metadata(keys)
    for key in mc.authorized_keys:
        _el(keys, 'AuthorizedKey', key)
    return root


def entry(model, base):
    mc = model.mc
    return render.entry(mc.uuid, KIND,
                        '%s/rest/api/uom/%s/%s' % (base, KIND, mc.uuid),
                        console(model, base), vocab.UOM_TYPE % KIND,
                        etag=mc.etag)


def parse_authorized_keys(body):
    """The AuthorizedKeys a POSTed ManagementConsole carries, or None when
    it carries no such container (then they are left alone)."""
    root = parse.parse(body)
    if etree.QName(root).localname != KIND:
        raise SimulatorError(400, 'Expected a %s' % KIND)
    schema.check(root)
    container = root.find(vocab.qname('AuthorizedKeys'))
    if container is None:
        return None
    return [(k.text or '') for k in
            container.iterfind(vocab.qname('AuthorizedKey'))]
