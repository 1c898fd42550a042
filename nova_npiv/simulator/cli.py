"""The simulator's command line: ``python -m nova_npiv.simulator``.

Serves the consoles of a topology on 127.0.0.1 (by default two
NovaLinks, one system each, one port each; ``--console hmc``: one HMC over
two systems with a staging partition on each) until Ctrl-C or SIGTERM, and
prints, per managed system, the ``[powervm]`` nova.conf options that point
a nova-compute at it (``nova-npiv sim`` calls :func:`serve_forever` too).
"""

import argparse
import json
import signal
import sys
import threading

from nova_npiv.simulator import estate
from nova_npiv.simulator import server
from nova_npiv.simulator import topology as topo


def format_conf(sim, system_name):
    """The ``[powervm]`` nova.conf snippet for one simulated system."""
    conf = sim.powervm_conf(system_name)
    lines = ['# nova-compute for managed system %s' % system_name,
             '[powervm]']
    for key, value in conf.items():
        if isinstance(value, list):
            value = ','.join(value)
        lines.append('%s = %s' % (key, value))
    return '\n'.join(lines) + '\n'


def serve_forever(topology=None, port=0, out=None, stop_event=None,
                  topology_file=None, vios_busy=None,
                  job_seconds=server.DEFAULT_JOB_SECONDS,
                  dlpar_seconds=0.0):
    """Serve on 127.0.0.1 until Ctrl-C, SIGTERM or ``stop_event`` is set.

    :param topology: a console's topology dict, or a list of them, one per
                     console (default: ``novalink_pair()``).
    :param topology_file: or a JSON file holding one.
    :param port: the first console's port; the others take the next ones
                 (0: any free port for each).
    :param out: where to print the listening URL and, per managed system,
                the ``[powervm]`` nova.conf options (default: stdout).
    :param vios_busy: background busy VIOS writes, a topology
                      ``vios_busy`` dict; replaces the topology's own.
    :param job_seconds: how long each job's work takes (asynchronous jobs,
                        the default; 0: done during the job's PUT).
    :param dlpar_seconds: how long each DLPAR operation (a client adapter
                          added to or removed from a running partition)
                          makes its VIOS update take.
    :returns: the stopped :class:`~nova_npiv.simulator.estate.Estate`
              (its consoles' instruments stay readable).
    """
    if topology_file:
        with open(topology_file) as fh:
            topology = json.load(fh)
    if topology is None:
        topology = topo.novalink_pair()
    specs = [topology] if isinstance(topology, dict) else list(topology)
    if vios_busy:
        specs = [dict(spec, vios_busy=vios_busy) for spec in specs]
    out = out or sys.stdout
    stop_event = stop_event or threading.Event()
    est = estate.Estate(specs)
    for index, sim in enumerate(est.consoles):
        sim._req_port = port + index if port else 0
    est.job_seconds = float(job_seconds)
    est.dlpar_seconds = float(dlpar_seconds)
    est.start()
    try:
        for sim in est.consoles:
            out.write('PowerVM REST simulator (%s %s) listening on %s\n\n'
                      % (sim.console, sim.model.mc.name, sim.url))
            for system in sim.model.systems():
                out.write(format_conf(sim, system.name) + '\n')
        out.flush()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *a: stop_event.set())
        try:
            while not stop_event.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        est.stop()
    return est


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova_npiv.simulator',
        description='Serve the embedded PowerVM REST simulator on loopback.')
    parser.add_argument('--port', type=int, default=0,
                        help='TCP port on 127.0.0.1 (default: any free port)')
    parser.add_argument('--topology', metavar='FILE',
                        help='JSON topology spec: one console\'s, or a list '
                             'of them (default: two NovaLink consoles, one '
                             'system each, two VIOSes per system)')
    parser.add_argument('--console', choices=topo.CONSOLES,
                        help='with the default topology: novalink (two '
                             'NovaLinks) or hmc (one HMC over both systems, '
                             'with a staging partition %r on each)'
                             % topo.STAGING_PARTITION)
    parser.add_argument('--existing-mappings', type=int, default=0,
                        help='with the default topology: pre-populated vFC '
                             'mappings per system')
    parser.add_argument('--vios-busy-every', type=int, default=0,
                        metavar='N',
                        help='answer every Nth VIOS update busy (HTTP 500 '
                             'HSCL3205/VIOS0014); default: never')
    parser.add_argument('--vios-busy-probability', type=float, default=0.0,
                        metavar='P',
                        help='answer each VIOS update busy with probability '
                             'P (0 to 1); default: 0')
    parser.add_argument('--job-seconds', type=float,
                        default=server.DEFAULT_JOB_SECONDS, metavar='S',
                        help='jobs run asynchronously and take S seconds '
                             '(the PUT answers NOT_STARTED, polls RUNNING; '
                             'default: %(default)s); 0: done during the '
                             'PUT')
    parser.add_argument('--dlpar-seconds', type=float, default=0.0,
                        metavar='S',
                        help='each client adapter added to or removed from '
                             'a running partition (DLPAR) adds S seconds to '
                             'its VIOS update; default: 0')
    parser.add_argument('--physical-volumes', type=int, default=0,
                        help='with the default topology: SAN LUNs per VIOS '
                             '(ViosStorage replies of a realistic size)')
    args = parser.parse_args(argv)
    spec = None
    if not args.topology:
        kwargs = dict(existing_mappings=args.existing_mappings,
                      physical_volumes=args.physical_volumes)
        spec = (topo.hmc_topology(**kwargs) if args.console == topo.CONSOLE_HMC
                else topo.novalink_pair(**kwargs))
    busy = {k: v for k, v in (('every', args.vios_busy_every),
                              ('probability', args.vios_busy_probability))
            if v}
    serve_forever(spec, port=args.port, topology_file=args.topology,
                  vios_busy=busy or None, job_seconds=args.job_seconds,
                  dlpar_seconds=args.dlpar_seconds)
    return 0
