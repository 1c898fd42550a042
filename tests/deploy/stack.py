"""The deployment: every service a process of its own, in one scratch folder.

Real: MariaDB, RabbitMQ, placement and nova-api (gunicorn), nova-conductor,
nova-scheduler, two nova-compute services with this driver, cinder-api,
cinder-scheduler, cinder-volume with the test FC backend, the PowerVM REST
simulator.  Stand-ins: glance and neutron (standins.py).  No keystone:
nova-api runs its paste pipeline without ``authtoken`` and Cinder uses its
``noauth`` strategy.  Everything listens on 127.0.0.1 only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LOOPBACK = '127.0.0.1'
BIN = os.path.dirname(sys.executable)
#: How clients authenticate without keystone: nova-api reads these headers
#: (its pipeline has no authtoken); Cinder's noauth parses "user:project".
USER = PROJECT = 'admin'
TOKEN = '%s:%s' % (USER, PROJECT)
HOSTS = {'host-a': 'sys-a', 'host-b': 'sys-b'}
STAGING_LPAR = 'npiv-staging'
ARRAY_TARGETS = {'A': '500507680b2155a0', 'B': '500507680b2255a0'}


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=60.0, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - retried until timeout
            last = exc
        time.sleep(interval)
    raise RuntimeError('timed out waiting for %s (last error: %s)'
                       % (what, last))


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((LOOPBACK, port)) == 0


def ini(sections):
    out = []
    for name, opts in sections.items():
        out.append('[%s]' % name)
        out.extend('%s = %s' % (k, v) for k, v in opts.items())
        out.append('')
    return '\n'.join(out)


class Proc(object):
    """One service process, its log, and how to stop it."""

    def __init__(self, name, argv, log, env=None, cwd=None):
        self.name, self.argv, self.log = name, argv, log
        self.env = dict(os.environ, **(env or {}))
        # The runner's own choice (it imports nova), not the services'.
        self.env.pop('OS_NOVA_DISABLE_EVENTLET_PATCHING', None)
        self.cwd = cwd
        self.popen = None
        self.started = None

    def start(self):
        out = open(self.log, 'ab')
        self.started = time.monotonic()
        self.popen = subprocess.Popen(
            self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env,
            cwd=self.cwd, start_new_session=True)
        out.close()
        return self

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=20):
        if not self.alive():
            return
        # The whole session: gunicorn workers, erlang's children.
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def rss_mb(self):
        with open('/proc/%d/status' % self.popen.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024.0
        return None


class Stack(object):

    def __init__(self, root):
        self.root = root
        self.logs = os.path.join(root, 'logs')
        self.etc = os.path.join(root, 'etc')
        for d in (self.logs, self.etc):
            os.makedirs(d, exist_ok=True)
        self.procs = {}
        self.port = {name: free_port() for name in (
            'mysql', 'rabbit', 'rabbit_dist', 'sim', 'glance', 'neutron',
            'placement', 'nova', 'cinder')}
        self.sock = os.path.join(root, 'mysql.sock')
        self.powervm = {}

    # -- helpers ---------------------------------------------------------

    def _run(self, name, argv, env=None):
        log = os.path.join(self.logs, '%s.log' % name)
        with open(log, 'ab') as out:
            rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, **(env or {})))
        if rc:
            with open(log) as f:
                tail = f.read()[-3000:]
            raise RuntimeError('%s failed (rc %d):\n%s' % (name, rc, tail))

    def _spawn(self, name, argv, env=None, cwd=None):
        proc = Proc(name, argv, os.path.join(self.logs, '%s.log' % name),
                    env=env, cwd=cwd).start()
        self.procs[name] = proc
        return proc

    def db_url(self, db):
        return 'mysql+pymysql://root@/%s?unix_socket=%s&charset=utf8' % (
            db, self.sock)

    @property
    def transport_url(self):
        return 'rabbit://guest:guest@%s:%d/' % (LOOPBACK, self.port['rabbit'])

    def stop(self):
        for name in reversed(list(self.procs)):
            self.procs[name].stop()

    # -- infrastructure ----------------------------------------------------

    def start_mysql(self):
        data = os.path.join(self.root, 'mysql')
        self._run('mariadb-install-db', [
            'mariadb-install-db', '--datadir=%s' % data, '--user=root',
            '--auth-root-authentication-method=normal', '--skip-test-db'])
        self._spawn('mariadb', [
            'mariadbd', '--no-defaults', '--datadir=%s' % data,
            '--socket=%s' % self.sock, '--bind-address=%s' % LOOPBACK,
            '--port=%d' % self.port['mysql'], '--user=root',
            '--pid-file=%s' % os.path.join(self.root, 'mysql.pid'),
            '--skip-name-resolve', '--innodb-buffer-pool-size=64M',
            '--max-connections=1000', '--innodb-flush-log-at-trx-commit=0'])

    def wait_mysql(self):
        import pymysql
        wait_for('MariaDB', lambda: pymysql.connect(
            unix_socket=self.sock, user='root').close() or True)
        conn = pymysql.connect(unix_socket=self.sock, user='root')
        with conn.cursor() as cur:
            for db in ('nova_api', 'nova_cell0', 'nova_cell1', 'placement',
                       'cinder'):
                cur.execute('CREATE DATABASE IF NOT EXISTS %s' % db)
        conn.close()

    def start_rabbit(self):
        base = os.path.join(self.root, 'rabbit')
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, 'plugins'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(base, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.1 = %s:%d\nloopback_users = none\n'
                    % (LOOPBACK, self.port['rabbit']))
        env = {
            'HOME': base,
            'RABBITMQ_MNESIA_BASE': os.path.join(base, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(base, 'log'),
            'RABBITMQ_NODENAME': 'rabbit-npiv-%d@localhost' % os.getpid(),
            'RABBITMQ_NODE_IP_ADDRESS': LOOPBACK,
            'RABBITMQ_NODE_PORT': str(self.port['rabbit']),
            'RABBITMQ_DIST_PORT': str(self.port['rabbit_dist']),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(base, 'plugins'),
            'RABBITMQ_CONFIG_FILE': os.path.join(base, 'rabbitmq'),
            'RABBITMQ_PID_FILE': os.path.join(base, 'pid'),
            'ERL_EPMD_ADDRESS': LOOPBACK,
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                '-kernel inet_dist_use_interface {127,0,0,1}',
        }
        # epmd first, as our own child, so that it stops with the test.
        self._spawn('epmd', ['epmd', '-address', LOOPBACK], env=env)
        self._spawn('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
                    env=env, cwd=base)

    def wait_rabbit(self):
        wait_for('RabbitMQ', lambda: port_open(self.port['rabbit']),
                 timeout=90)

    # -- simulator and stand-ins -------------------------------------------

    def start_sim(self):
        """Two managed systems on one HMC, a running staging LPAR each."""
        from nova_npiv.simulator import topology
        spec = topology.default_topology(console='hmc',
                                         systems=tuple(HOSTS.values()))
        for system in spec['systems']:
            system['lpars'] = [{'name': STAGING_LPAR, 'state': 'running'}]
        path = os.path.join(self.etc, 'topology.json')
        with open(path, 'w') as f:
            json.dump(spec, f, indent=1)
        self._spawn('simulator', [
            os.path.join(BIN, 'nova-npiv'), 'sim', '--port',
            str(self.port['sim']), '--topology', path])
        self._spawn('standins', [
            sys.executable, os.path.join(HERE, 'standins.py'),
            str(self.port['glance']), str(self.port['neutron']),
            os.path.join(self.logs, 'standins-requests.log')])

    def wait_sim(self):
        wait_for('simulator', lambda: port_open(self.port['sim']))
        log = self.procs['simulator'].log
        self.powervm = wait_for('simulator snippet',
                                lambda: self._parse_snippets(log))
        wait_for('stand-ins', lambda: port_open(self.port['neutron']))

    @staticmethod
    def _parse_snippets(log):
        """{system: {option: value}} from ``nova-npiv sim``'s output."""
        with open(log) as f:
            text = f.read()
        confs, current = {}, None
        for line in text.splitlines():
            line = line.strip()
            if line == '[powervm]':
                current = {}
            elif current is not None and '=' in line and not \
                    line.startswith('#'):
                key, _sep, value = line.partition('=')
                current[key.strip()] = value.strip()
                if key.strip() == 'managed_system':
                    confs[value.strip()] = current
        if set(confs) >= set(HOSTS.values()) and all(
                'fabrics' in c for c in confs.values()):
            return confs
        return None

    # -- configuration -----------------------------------------------------

    def _common_nova(self, host, state_path):
        return {
            'DEFAULT': {
                'host': host, 'my_ip': LOOPBACK,
                'transport_url': self.transport_url,
                'state_path': state_path,
                'debug': 'False',
            },
            'oslo_concurrency': {'lock_path': os.path.join(state_path,
                                                           'lock')},
            'oslo_messaging_notifications': {'driver': 'noop'},
            'placement': {
                'auth_type': 'none', 'endpoint_override':
                    'http://%s:%d' % (LOOPBACK, self.port['placement'])},
            'glance': {
                'endpoint_override':
                    'http://%s:%d' % (LOOPBACK, self.port['glance'])},
            'neutron': {
                'auth_type': 'none', 'endpoint_override':
                    'http://%s:%d' % (LOOPBACK, self.port['neutron'])},
            'cinder': {
                # Cinder's noauth API has no project in its paths.
                'endpoint_template': 'http://%s:%d/v3'
                                     % (LOOPBACK, self.port['cinder'])},
            'vnc': {'enabled': 'False'},
            # The service token Cinder requires for nova's attachment
            # deletes (see nova_npiv/testing/cinder_noauth.py).
            'service_user': {'send_service_user_token': 'True',
                             'auth_type': 'none'},
        }

    def nova_controller_conf(self):
        state = os.path.join(self.root, 'nova')
        os.makedirs(state, exist_ok=True)
        conf = self._common_nova('controller', state)
        conf['api_database'] = {'connection': self.db_url('nova_api')}
        conf['database'] = {'connection': self.db_url('nova_cell1')}
        conf['wsgi'] = {'api_paste_config':
                        os.path.join(self.etc, 'nova-api-paste.ini')}
        conf['api'] = {'auth_strategy': 'keystone'}
        # The shipped policy: what PowerVM cannot do is refused by nova-api.
        conf['oslo_policy'] = {'policy_dirs': os.path.join(
            REPO, 'etc', 'nova', 'policy.d')}
        conf['DEFAULT']['log_file'] = os.path.join(self.logs, 'nova-api.log')
        path = os.path.join(self.etc, 'nova.conf')
        with open(path, 'w') as f:
            f.write(ini(conf))
        # nova's pipeline without authtoken: keystonecontext builds the
        # request context from X-User-Id/X-Project-Id/X-Roles.
        src = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
        with open(src) as f:
            paste = f.read().replace(' authtoken keystonecontext',
                                     ' keystonecontext')
        with open(conf['wsgi']['api_paste_config'], 'w') as f:
            f.write(paste)
        return path

    def compute_conf(self, host, staging=STAGING_LPAR):
        state = os.path.join(self.root, host)
        os.makedirs(state, exist_ok=True)
        conf = self._common_nova(host, state)
        conf['DEFAULT']['compute_driver'] = 'npiv.NPIVDriver'
        conf['powervm'] = dict(self.powervm[HOSTS[host]])
        conf['powervm']['staging_partition'] = staging
        path = os.path.join(self.etc, 'nova-compute-%s.conf' % host)
        with open(path, 'w') as f:
            f.write(ini(conf))
        return path

    def cli_conf(self, system):
        """For ``nova-npiv show/audit``: one system and nova's database."""
        path = os.path.join(self.etc, 'nova-npiv-%s.conf' % system)
        if not os.path.exists(path):
            conf = {'api_database': {'connection': self.db_url('nova_api')},
                    'database': {'connection': self.db_url('nova_cell1')},
                    'powervm': dict(self.powervm[system],
                                    staging_partition=STAGING_LPAR)}
            with open(path, 'w') as f:
                f.write(ini(conf))
        return path

    def placement_conf(self):
        d = os.path.join(self.etc, 'placement')
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'placement.conf'), 'w') as f:
            f.write(ini({
                'DEFAULT': {'log_file': os.path.join(self.logs,
                                                     'placement-api.log')},
                'placement_database': {'connection':
                                       self.db_url('placement')},
                'api': {'auth_strategy': 'noauth2'},
            }))
        return d

    def cinder_paste(self):
        src = os.path.join(sys.prefix, 'etc', 'cinder', 'api-paste.ini')
        with open(src) as f:
            paste = f.read()
        paste = paste.replace(
            'osprofiler noauth apiv3',
            'osprofiler noauth npiv_service_token apiv3')
        paste += ('\n[filter:npiv_service_token]\npaste.filter_factory = '
                  'nova_npiv.testing.cinder_noauth:ServiceTokenRoles.factory'
                  '\n')
        path = os.path.join(self.etc, 'cinder-api-paste.ini')
        with open(path, 'w') as f:
            f.write(paste)
        return path

    def cinder_conf(self):
        state = os.path.join(self.root, 'cinder')
        os.makedirs(state, exist_ok=True)
        self.array_state = os.path.join(state, 'npiv-array.json')
        path = os.path.join(self.etc, 'cinder.conf')
        with open(path, 'w') as f:
            f.write(ini({
                'DEFAULT': {
                    'host': 'deploy', 'my_ip': LOOPBACK,
                    'transport_url': self.transport_url,
                    'auth_strategy': 'noauth',
                    'api_paste_config': self.cinder_paste(),
                    'osapi_volume_listen': LOOPBACK,
                    'osapi_volume_listen_port': self.port['cinder'],
                    'osapi_volume_workers': 1,
                    'state_path': state,
                    'enabled_backends': 'fc',
                    'zoning_mode': 'fabric',
                    'debug': 'False',
                },
                'database': {'connection': self.db_url('cinder')},
                'oslo_concurrency': {'lock_path': os.path.join(state,
                                                               'lock')},
                'oslo_messaging_notifications': {'driver': 'noop'},
                'fc': {
                    'volume_driver':
                        'nova_npiv.testing.cinder_fc.NPIVTestFCDriver',
                    'volume_backend_name': 'fc',
                },
                'fc-zone-manager': {
                    'zone_driver': 'nova_npiv.testing.cinder_fc.SimZoneDriver',
                    'fc_san_lookup_service':
                        'nova_npiv.testing.cinder_fc.SimLookupService',
                    'fc_fabric_names': ','.join(sorted(ARRAY_TARGETS)),
                    'npiv_sim_url': 'http://%s:%d' % (LOOPBACK,
                                                      self.port['sim']),
                    'npiv_fabric_targets': ','.join(
                        '%s:%s' % kv for kv in sorted(ARRAY_TARGETS.items())),
                    'npiv_array_state': self.array_state,
                },
            }))
        return path

    # -- OpenStack services ------------------------------------------------

    def setup_databases(self):
        """Schemas of nova, placement and Cinder; placement's and Cinder's
        run beside nova's (the 2-core budget is spent waiting on MariaDB)."""
        nova_conf = self.nova_controller_conf()
        cinder_conf = self.cinder_conf()
        side = [
            Proc('placement-manage', [
                os.path.join(BIN, 'placement-manage'), '--config-file',
                os.path.join(self.placement_conf(), 'placement.conf'), 'db',
                'sync'], os.path.join(self.logs, 'placement-manage.log')),
            Proc('cinder-manage', [
                os.path.join(BIN, 'cinder-manage'), '--config-file',
                cinder_conf, 'db', 'sync'],
                os.path.join(self.logs, 'cinder-manage.log')),
        ]
        for proc in side:
            proc.start()
        manage = [os.path.join(BIN, 'nova-manage'), '--config-file',
                  nova_conf]
        self._run('nova-manage', manage + ['api_db', 'sync'])
        self._run('nova-manage', manage + [
            'cell_v2', 'map_cell0', '--database_connection',
            self.db_url('nova_cell0')])
        self._run('nova-manage', manage + [
            'cell_v2', 'create_cell', '--name', 'cell1', '--transport-url',
            self.transport_url, '--database_connection',
            self.db_url('nova_cell1')])
        self._run('nova-manage', manage + ['db', 'sync'])
        for proc in side:
            if proc.popen.wait(300):
                raise RuntimeError('%s failed, see %s' % (proc.name,
                                                          proc.log))

    def start_apis(self):
        gunicorn = os.path.join(BIN, 'gunicorn')
        self._spawn('placement-api', [
            gunicorn, '-b', '%s:%d' % (LOOPBACK, self.port['placement']),
            '-w', '1', '--threads', '4', '--no-control-socket',
            'placement_noauth:application'],
            env={'OS_PLACEMENT_CONFIG_DIR': self.placement_conf(),
                 'PYTHONPATH': HERE})
        self._spawn('nova-api-gunicorn', [
            gunicorn, '-b', '%s:%d' % (LOOPBACK, self.port['nova']),
            '-w', '1', '--threads', '4', '--timeout', '120',
            '--no-control-socket', 'nova_api_wsgi:application'],
            env={'OS_NOVA_CONFIG_DIR': self.etc,
                 'OS_NOVA_CONFIG_FILES': 'nova-api-paste.ini;nova.conf',
                 'PYTHONPATH': HERE})
        cinder_conf = os.path.join(self.etc, 'cinder.conf')
        for svc in ('cinder-api', 'cinder-scheduler', 'cinder-volume'):
            self._spawn(svc, [os.path.join(BIN, svc), '--config-file',
                              cinder_conf, '--log-file',
                              os.path.join(self.logs, '%s.log' % svc)])

    def start_nova_services(self):
        nova_conf = os.path.join(self.etc, 'nova.conf')
        for svc in ('nova-conductor', 'nova-scheduler'):
            self._spawn(svc, [os.path.join(BIN, svc), '--config-file',
                              nova_conf, '--log-file',
                              os.path.join(self.logs, '%s.log' % svc)])

    def start_compute(self, host, staging=STAGING_LPAR):
        conf = self.compute_conf(host, staging)
        name = 'nova-compute-%s' % host
        self.procs.pop(name, None)
        return self._spawn(name, [
            os.path.join(BIN, 'nova-compute'), '--config-file', conf,
            '--log-file', os.path.join(self.logs, '%s.log' % name)])

    def stop_compute(self, host):
        self.procs['nova-compute-%s' % host].stop()

    def sql(self, db, query, args=()):
        import pymysql
        conn = pymysql.connect(unix_socket=self.sock, user='root',
                               database=db)
        try:
            with conn.cursor() as cur:
                cur.execute(query, args)
                return cur.fetchall()
        finally:
            conn.close()

    def discover_hosts(self):
        self._run('nova-manage', [
            os.path.join(BIN, 'nova-manage'), '--config-file',
            os.path.join(self.etc, 'nova.conf'), 'cell_v2',
            'discover_hosts'])

    def wait_apis(self):
        import requests
        for name in ('placement', 'nova', 'cinder'):
            wait_for(name, lambda n=name: requests.get(
                'http://%s:%d/' % (LOOPBACK, self.port[n]),
                timeout=5).status_code < 500, timeout=120)
            self.check_alive()

    def check_alive(self):
        dead = [n for n, p in self.procs.items() if not p.alive()]
        if dead:
            raise RuntimeError('service(s) died: %s (see %s)'
                               % (', '.join(dead), self.logs))


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def ensure_packages():
    """Debian's RabbitMQ and MariaDB, installed once (idempotent)."""
    need = [pkg for binary, pkg in (('mariadbd', 'mariadb-server'),
                                    ('epmd', 'rabbitmq-server'))
            if shutil.which(binary) is None or (
                pkg == 'rabbitmq-server' and not os.path.exists(
                    '/usr/lib/rabbitmq/bin/rabbitmq-server'))]
    if not need:
        return []
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    subprocess.check_call(['apt-get', 'update', '-q'], env=env)
    subprocess.check_call(['apt-get', 'install', '-y', '-q',
                           '--no-install-recommends'] + need, env=env)
    # The packages start their system services where an init system
    # exists; ours are separate processes on their own ports.
    return need
