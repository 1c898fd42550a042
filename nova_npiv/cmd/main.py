"""``nova-npiv``: the operator's command line."""

import argparse
import sys

from oslo_config import cfg
from oslo_log import log as logging

from nova_npiv import conf as npiv_conf

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def _load_config(args):
    argv = []
    for path in args.config_file or []:
        argv += ['--config-file', path]
    # main() may run more than once per process (tests, embedding): forget
    # any earlier parse so that options can be registered and read again.
    CONF.clear()
    logging.register_options(CONF)
    npiv_conf.register_opts(CONF)
    CONF(argv, project='nova', default_config_files=[] if argv else None)
    npiv_conf.register_fabric_opts(CONF)
    if not args.debug:
        CONF.set_default('default_log_levels', [
            'nova=ERROR', 'nova_npiv=WARNING', 'pypowervm=ERROR',
            'taskflow=ERROR', 'stevedore=ERROR', 'oslo_concurrency=ERROR',
            'urllib3=ERROR', 'requests=ERROR', 'os_brick=ERROR',
            'oslo_service=WARNING'])
    logging.setup(CONF, 'nova-npiv')


def cmd_demo(args):
    from nova_npiv.cmd import demo
    return demo.run(sys.stdout, as_json=args.json, latency=args.latency,
                    topology=args.topology)


def cmd_sim(args):
    from nova_npiv.simulator import cli
    cli.serve_forever(topology_file=args.topology, port=args.port,
                      out=sys.stdout)
    return 0


def cmd_ports(args):
    from nova_npiv.cmd import ops
    return ops.ports(sys.stdout, use_sim=args.sim, as_json=args.json)


def cmd_audit(args):
    from nova_npiv.cmd import ops
    return ops.run_audit(sys.stdout, use_sim=args.sim, do_fix=args.fix,
                         as_json=args.json,
                         include_foreign=args.include_foreign,
                         named=args.mapping or ())


def cmd_show(args):
    from nova_npiv.cmd import ops
    return ops.show(sys.stdout, args.instance, use_sim=args.sim,
                    as_json=args.json)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='nova-npiv',
        description='NPIV Fibre Channel volumes for nova on PowerVM.')
    parser.add_argument('--config-file', action='append', metavar='PATH',
                        help='nova.conf to read (may be repeated)')
    parser.add_argument('--debug', action='store_true',
                        help='log debug output to stderr')
    sub = parser.add_subparsers(dest='command', required=True)

    demo = sub.add_parser(
        'demo', help='run the whole lifecycle on the embedded simulator')
    demo.add_argument('--json', action='store_true',
                      help='machine-readable output')
    demo.add_argument('--latency', type=float, default=0.0, metavar='SEC',
                      help='injected delay per REST request')
    demo.add_argument('--topology', choices=('novalink', 'hmc'),
                      default='novalink',
                      help='novalink: two systems, a NovaLink each, migrating '
                           'console to console (default); hmc: one HMC over '
                           'both systems with a named staging partition')
    demo.set_defaults(func=cmd_demo)

    sim = sub.add_parser(
        'sim', help='serve the REST simulator on loopback for nova-compute')
    sim.add_argument('--port', type=int, default=0,
                     help='loopback port (default: any free port)')
    sim.add_argument('--topology', metavar='FILE',
                     help='JSON topology (default: two NovaLink systems)')
    sim.set_defaults(func=cmd_sim)

    for name, func, text in (
            ('ports', cmd_ports, 'physical FC ports per fabric and VIOS, '
             'with NPIV capacity used and left'),
            ('audit', cmd_audit, 'find vFC mappings nothing should own'),
            ('show', cmd_show, "an instance's fabric metadata next to what "
             "the VIOSes have")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument('--sim', action='store_true',
                         help='use a fresh embedded simulator')
        cmd.add_argument('--json', action='store_true',
                         help='machine-readable output')
        cmd.set_defaults(func=func)
        if name == 'audit':
            cmd.add_argument('--fix', action='store_true',
                             help="remove the findings nova's database "
                                  "proves nova's (one FeedTask per managed "
                                  'system)')
            cmd.add_argument('--mapping', action='append',
                             metavar='[SYSTEM/]VIOS/VFCHOST',
                             help='with --fix: also remove this finding, '
                                  "though nothing proves it nova's (may be "
                                  'repeated)')
            cmd.add_argument('--include-foreign', action='store_true',
                             help='with --fix: remove every finding, '
                                  'whoever owns it')
        if name == 'show':
            cmd.add_argument('instance', help='instance UUID')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    _load_config(args)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
