"""The socket side of a simulated console: a threaded HTTP server whose
handler passes every request to its :class:`~.server.Simulator`.

Apart from the server so that what a console answers (``server``) reads
without the plumbing that carries it.
"""

import http.server
import sys


def refuse_green_threads():
    """Fail fast where eventlet has monkey patched threads.

    The server thread would become a greenthread polling real sockets
    without ever yielding, and every request would hang.
    """
    patcher = sys.modules.get('eventlet.patcher')
    if patcher is not None and patcher.is_monkey_patched('thread'):
        raise RuntimeError(
            'The PowerVM REST simulator needs native threads, but eventlet '
            'has monkey patched this process. Set '
            'OS_NOVA_DISABLE_EVENTLET_PATCHING=1 before nova is imported, '
            'or run the simulator in its own process (python -m '
            'nova_npiv.simulator).')


class HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog is 5: more clients connecting at once
    # (32 concurrent operations open connections together) are reset,
    # which no console's web server does.
    request_queue_size = 128


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'PowerVM-REST-Simulator/1.0'

    def do_GET(self):
        self.server.sim._handle(self)

    do_PUT = do_POST = do_DELETE = do_GET

    def log_message(self, fmt, *args):
        # Requests go to the simulator's own log; keep stderr quiet.
        pass
