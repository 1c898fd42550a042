"""The simulator's command line: ``python -m nova_npiv.simulator``.

Serves one :class:`~nova_npiv.simulator.server.Simulator` on 127.0.0.1
until Ctrl-C or SIGTERM and prints, per managed system, the ``[powervm]``
nova.conf options that point a nova-compute at it (``nova-npiv sim`` calls
:func:`serve_forever` too).
"""

import argparse
import json
import signal
import sys
import threading

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
                  topology_file=None, vios_busy=None, job_seconds=0.0,
                  dlpar_seconds=0.0):
    """Serve on 127.0.0.1 until Ctrl-C, SIGTERM or ``stop_event`` is set.

    :param topology: a topology dict (default: ``default_topology()``).
    :param topology_file: or a JSON file holding one.
    :param out: where to print the listening URL and, per managed system,
                the ``[powervm]`` nova.conf options (default: stdout).
    :param vios_busy: background busy VIOS writes, a topology
                      ``vios_busy`` dict; replaces the topology's own.
    :param job_seconds: how long each job's work takes (asynchronous jobs;
                        0: done during the job's PUT).
    :param dlpar_seconds: how long each DLPAR operation (a client adapter
                          added to or removed from a running partition)
                          makes its VIOS update take.
    :returns: the stopped :class:`Simulator` (its instruments stay
              readable).
    """
    if topology_file:
        with open(topology_file) as fh:
            topology = json.load(fh)
    if vios_busy:
        topology = dict(topology or topo.default_topology(),
                        vios_busy=vios_busy)
    out = out or sys.stdout
    stop_event = stop_event or threading.Event()
    sim = server.Simulator(topology, port=port)
    sim.job_seconds = float(job_seconds)
    sim.dlpar_seconds = float(dlpar_seconds)
    sim.start()
    try:
        out.write('PowerVM REST simulator (%s) listening on %s\n\n'
                  % (sim.console, sim.url))
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
        sim.stop()
    return sim


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova_npiv.simulator',
        description='Serve the embedded PowerVM REST simulator on loopback.')
    parser.add_argument('--port', type=int, default=0,
                        help='TCP port on 127.0.0.1 (default: any free port)')
    parser.add_argument('--topology', metavar='FILE',
                        help='JSON topology spec (default: two NovaLink '
                             'systems, two VIOSes each)')
    parser.add_argument('--console', choices=topo.CONSOLES,
                        help='with the default topology: novalink or hmc')
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
    parser.add_argument('--job-seconds', type=float, default=0.0,
                        metavar='S',
                        help='jobs run asynchronously and take S seconds '
                             '(the PUT answers NOT_STARTED, polls RUNNING); '
                             'default: done at once')
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
        spec = topo.default_topology(
            console=args.console or topo.CONSOLE_NOVALINK,
            existing_mappings=args.existing_mappings,
            physical_volumes=args.physical_volumes)
    busy = {k: v for k, v in (('every', args.vios_busy_every),
                              ('probability', args.vios_busy_probability))
            if v}
    serve_forever(spec, port=args.port, topology_file=args.topology,
                  vios_busy=busy or None, job_seconds=args.job_seconds,
                  dlpar_seconds=args.dlpar_seconds)
    return 0
