"""Hostile or broken replies from the management console.

The simulator serves a raw body (``kind='body'``) instead of carrying the
request out: malformed XML, documents that are not Atom, an XML
entity-expansion document, an oversized body, unexpected status codes.
Each must end in a clear error that names the request, with nothing half
done (the fault matrix's invariant), quickly, and without the body being
expanded or dumped into the logs.  nova-compute's periodic calls into the
driver must raise promptly instead of hanging.
"""

import threading
import time

from lxml import etree
from nova import exception as nova_exc
from pypowervm import adapter as pvm_adpt  # noqa: F401 - sets the parser
from pypowervm import exceptions as pvm_exc

from nova_npiv import exception
from nova_npiv.testing import harness
from nova_npiv.testing import matrix
from nova_npiv.testing import scenarios
from tests.functional import base

ATOM = b'<feed xmlns="http://www.w3.org/2005/Atom">'

SMALL_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY v '
                b'"EXPANDED">]>\n' + ATOM + b'<entry><id>&v;</id></entry>'
                b'</feed>')


def billion_laughs(levels=10):
    ents = ['<!ENTITY lol0 "lol">'] + [
        '<!ENTITY lol%d "%s">' % (i, ('&lol%d;' % (i - 1)) * 10)
        for i in range(1, levels)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE feed [%s]>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">&lol%d;</feed>'
            % (''.join(ents), levels - 1)).encode()


EXTERNAL_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM '
                   b'"file:///etc/hostname">]><r>&x;</r>')

#: Replies of the corpus: (name, status, body, exception(s), text(s)).
MAX_REPLY_MB = 1
OVERSIZED = ATOM + b'<entry><id>x</id></entry>' * (
    (MAX_REPLY_MB << 20) // 25 + 1) + b'</feed>'
CORPUS = [
    ('malformed XML', 200, ATOM + b'<entry><id>1</id>', pvm_exc.AtomError,
     'Error parsing XML'),
    ('not Atom', 200, b'<html><body>Service Unavailable</body></html>',
     pvm_exc.AtomError, 'not an Atom feed/entry'),
    # pypowervm reports an empty read; the session an empty create/update.
    ('empty 200', 200, b'', (pvm_exc.AtomError,
                             exception.ConsoleReplyRefused),
     ('Unexpectedly empty', 'the reply is empty')),
    ('internal entity', 200, SMALL_ENTITY, exception.ConsoleReplyRefused,
     'document type declaration'),
    ('billion laughs', 200, billion_laughs(), exception.ConsoleReplyRefused,
     'document type declaration'),
    ('oversized', 200, OVERSIZED, exception.ConsoleReplyRefused,
     'more than [powervm] max_reply_mb (1 MiB)'),
    ('HTML 502', 502, b'<html><body>Bad Gateway</body></html>',
     pvm_exc.HttpError, 'HTTP error 502'),
    ('status 418', 418, b'', pvm_exc.HttpError, 'HTTP error 418'),
    ('status 302', 302, b'', pvm_exc.HttpError, 'HTTP error 302'),
]


def _says(err, texts):
    texts = (texts,) if isinstance(texts, str) else texts
    return any(text in str(err) for text in texts)


def target_classes(target, exc_class):
    """The exception classes a hostile reply at ``target`` may raise.

    At a job run pypowervm wraps the request's error in the power task's
    failure, whose message carries the original text.
    """
    classes = exc_class if isinstance(exc_class, tuple) else (exc_class,)
    if target.job and target.job[0] == 'PowerOn':
        classes += (pvm_exc.VMPowerOnFailure,)
    return classes


class TestLxmlAsPypowervmUsesIt(base.WorldTestCase):
    """What lxml does with entities, as pypowervm sets it up."""

    def parse_everywhere(self, body):
        """Parse in this thread (pypowervm's default parser) and in a new
        thread (lxml's own default: FeedTask POSTs are parsed there)."""
        results = []

        def parse():
            started = time.monotonic()
            try:
                results.append(etree.fromstring(body))
            except etree.XMLSyntaxError as err:
                results.append(err)
            results.append(time.monotonic() - started)

        parse()
        thread = threading.Thread(target=parse)
        thread.start()
        thread.join()
        return results[0::2], results[1::2]

    def test_billion_laughs_is_stopped_by_libxml2(self):
        outcomes, seconds = self.parse_everywhere(billion_laughs())
        for outcome in outcomes:
            self.assertIsInstance(outcome, etree.XMLSyntaxError)
            self.assertIn('amplification', str(outcome))
        self.assertLess(max(seconds), 1.0)

    def test_external_entities_are_not_loaded(self):
        outcomes, _ = self.parse_everywhere(EXTERNAL_ENTITY)
        self.assertEqual(2, len(outcomes))
        for outcome in outcomes:
            # Refused as undefined, or parsed with the entity left empty:
            # either way the file was not read into the document.
            if isinstance(outcome, etree.XMLSyntaxError):
                self.assertIn("Entity 'x' not defined", str(outcome))
            else:
                self.assertIsNone(outcome.text)

    def test_internal_entities_are_expanded_by_lxml(self):
        # Why the session refuses any DTD: lxml would expand this one.
        outcomes, _ = self.parse_everywhere(SMALL_ENTITY)
        for root in outcomes:
            self.assertIn(b'EXPANDED', etree.tostring(root))


class HostileReplyTestCase(base.WorldTestCase):

    def setUp(self):
        super().setUp()
        self.w = self.world(max_reply_mb=MAX_REPLY_MB)
        self.drv = self.w.drivers['host-a']

    def serve(self, method, path, status, body, **kwargs):
        return self.w.sim.inject_fault(method, path, kind='body',
                                       status=status, body=body, **kwargs)

    def assertNamesRequest(self, err, method, path):
        text = str(err)
        self.assertIn(method, text)
        self.assertIn(path, text)
        self.assertLess(len(text), 2000)


class TestHostileRepliesDuringSpawn(HostileReplyTestCase):
    """Every reply of the corpus at the requests of a boot that read, create
    and update: a clear error, and the invariant of the fault matrix."""

    def run_corpus(self, pick):
        sc = scenarios.scenario('spawn')
        learned = matrix.learn(sc)
        harness.reset_conf()
        target = pick(learned.targets)
        failures = []
        for name, status, body, exc_class, text in CORPUS:
            world = self.world(sc.hosts, bystanders=True,
                               max_reply_mb=MAX_REPLY_MB)
            world.sim.reset_counters()
            fault = world.sim.inject_fault(
                target.method, target.regex, nth=target.nth, kind='body',
                status=status, body=body)
            try:
                sc.operate(world)
                err = None
            except Exception as caught:
                err = caught
            if not fault.hits:
                failures.append('%s: never served' % name)
                continue
            # Errors of a job run come wrapped in the job's failure.
            if err is None or not _says(err, text):
                failures.append('%s: %s: %s' % (name, type(err).__name__,
                                                str(err)[:300]))
                continue
            if not isinstance(err, target_classes(target, exc_class)):
                failures.append('%s: %s is not %s' % (
                    name, type(err).__name__, exc_class))
            path = target.path
            if not (target.method in str(err) and path in str(err)):
                failures.append('%s: %r does not name %s %s'
                                % (name, str(err)[:300], target.method,
                                   path))
            outcome, problems = matrix.judge(sc, world, learned, err)
            if problems:
                failures.append('%s: %s: %s' % (name, outcome,
                                                '; '.join(problems)))
        self.assertEqual([], failures, '\n'.join(failures))
        # Nothing of a hostile body made it into the logs.
        self.assertLess(len(self.logs.output), 200000)
        self.assertNotIn('EXPANDED', self.logs.output)

    def test_at_the_vios_feed_read(self):
        self.run_corpus(lambda targets: [
            t for t in targets if t.method == 'GET' and
            t.path.endswith('/VirtualIOServer')][-1])

    def test_at_the_lpar_create(self):
        self.run_corpus(lambda targets: [
            t for t in targets if t.method == 'PUT' and
            t.path.endswith('/LogicalPartition')][0])

    def test_at_a_vios_update(self):
        self.run_corpus(lambda targets: [
            t for t in targets if t.method == 'POST'][-1])

    def test_at_a_job_run(self):
        self.run_corpus(lambda targets: [
            t for t in targets if t.job and t.job[0] == 'PowerOn'][0])


class TestPeriodicTasksKeepRunning(HostileReplyTestCase):
    """What nova-compute's periodic tasks call raises promptly."""

    def calls(self):
        inst = self.w.inst
        from nova.compute import provider_tree
        tree = provider_tree.ProviderTree()
        tree.new_root(self.drv.nodename, self.drv.system_uuid.lower())
        return [
            ('get_available_resource', 'ManagedSystem/',
             lambda: self.drv.get_available_resource(self.drv.nodename)),
            ('update_provider_tree', 'ManagedSystem/',
             lambda: self.drv.update_provider_tree(tree,
                                                   self.drv.nodename)),
            ('get_info', 'LogicalPartition/',
             lambda: self.drv.get_info(inst)),
            ('list_instance_uuids', 'LogicalPartition',
             self.drv.list_instance_uuids),
            ('instance_exists', 'LogicalPartition/',
             lambda: self.drv.instance_exists(inst)),
        ]

    def test_every_hostile_reply(self):
        self.w.spawn()
        for call, path, func in self.calls():
            func()   # healthy
            for name, status, body, exc_class, text in CORPUS:
                fault = self.serve('GET', path, status, body)
                started = time.monotonic()
                err = self.assertRaises(exc_class, func)
                self.assertEqual(1, len(fault.hits), (call, name))
                self.assertTrue(_says(err, text), (call, name, err))
                self.assertLess(time.monotonic() - started, 5, (call, name))
            self.w.sim.clear_faults()
            func()   # and healthy again: nothing stuck
        self.assertNotIn('EXPANDED', self.logs.output)

    def test_a_console_that_does_not_answer_times_out(self):
        world = self.world(conn_timeout=1)
        drv = world.drivers['host-a']
        world.sim.inject_fault('GET', 'ManagedSystem/', kind='delay',
                               delay=4)
        started = time.monotonic()
        self.assertRaises(pvm_exc.TimeoutError, drv.get_available_resource,
                          drv.nodename)
        self.assertLess(time.monotonic() - started, 3.5)

    def test_instance_not_found_stays_a_nova_exception(self):
        # A vanished LPAR is a 404 nova understands, not a hostile reply.
        self.assertRaises(nova_exc.InstanceNotFound, self.drv.get_info,
                          self.w.inst)
