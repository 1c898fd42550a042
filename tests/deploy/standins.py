"""Stand-ins for glance and neutron, which nova calls even for servers
booted from volume without networks (see README "Deploying").

Each answers only what nova asks in this flow, from an empty inventory: no
images, no networks, no ports, no extensions.  Every request is logged, so
an unexpected call shows up in the deployment test's output.

    python standins.py GLANCE_PORT NEUTRON_PORT LOGFILE
"""

import http.server
import json
import sys
import threading
import urllib.parse

LOOPBACK = '127.0.0.1'

#: neutron collections nova lists; each is empty here.
NEUTRON_LISTS = ('ports', 'networks', 'subnets', 'extensions',
                 'security-groups', 'floatingips', 'qos/policies')


def _neutron(method, path):
    route = path.split('?')[0].rstrip('/')
    if route.startswith('/v2.0/'):
        route = route[len('/v2.0/'):]
    if method == 'GET' and route in NEUTRON_LISTS:
        return 200, {route.replace('-', '_').split('/')[-1]: []}
    if method == 'GET' and route in ('', '/'):
        return 200, {'versions': [{'id': 'v2.0', 'status': 'CURRENT'}]}
    return 404, {'NeutronError': {'type': 'NotFound',
                                  'message': 'stand-in: no %s' % route}}


def _glance(method, path):
    route = path.split('?')[0].rstrip('/')
    if method == 'GET' and route in ('', '/', '/versions'):
        return 200, {'versions': [{'id': 'v2.16', 'status': 'CURRENT'}]}
    if method == 'GET' and route == '/v2/images':
        return 200, {'images': []}
    return 404, {'message': 'stand-in: no %s' % route}


def _handler(answer, log, name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def _reply(self):
            length = int(self.headers.get('Content-Length') or 0)
            if length:
                self.rfile.read(length)
            status, body = answer(self.command,
                                  urllib.parse.unquote(self.path))
            data = json.dumps(body).encode()
            with log['lock']:
                log['file'].write('%s %s %s -> %d\n' % (
                    name, self.command, self.path, status))
                log['file'].flush()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _reply

        def log_message(self, fmt, *args):
            pass
    return Handler


def main(argv):
    glance_port, neutron_port, logfile = int(argv[0]), int(argv[1]), argv[2]
    log = {'file': open(logfile, 'a'), 'lock': threading.Lock()}
    servers = [
        http.server.ThreadingHTTPServer(
            (LOOPBACK, glance_port), _handler(_glance, log, 'glance')),
        http.server.ThreadingHTTPServer(
            (LOOPBACK, neutron_port), _handler(_neutron, log, 'neutron')),
    ]
    threads = [threading.Thread(target=s.serve_forever, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == '__main__':
    main(sys.argv[1:])
