"""The LPAR wrapper built from a flavor, power states, delete addressing."""

from unittest import mock

import fixtures
from nova.compute import power_state
from nova import exception as nova_exc
from pypowervm import adapter as pvm_adpt
from pypowervm import exceptions as pvm_exc
from pypowervm.tests.test_utils import pvmhttp
from pypowervm import util as pvm_util
from pypowervm.wrappers import base_partition as pvm_bp
from pypowervm.wrappers import logical_partition as pvm_lpar
from pypowervm.wrappers import managed_system as pvm_ms
import testtools

from nova_npiv import exception
from nova_npiv.simulator import co_managed_topology
from nova_npiv.simulator import Simulator
from nova_npiv import vm
from tests.unit import fixtures as fx


class _Flavor(object):
    memory_mb = 8192
    vcpus = 3


class _Instance(object):
    uuid = fx.INSTANCE_UUID
    name = 'instance-00000007'
    flavor = _Flavor()


def host_wrapper():
    """pypowervm's sample managed system: memory region size 256 MB."""
    resp = pvmhttp.load_pvm_resp('fake_managedsystem.txt',
                                 adapter=mock.Mock()).get_response()
    return pvm_ms.System.wrap(resp)[0]


class TestBuild(testtools.TestCase):

    def test_sized_exactly_from_the_flavor(self):
        lpar_w = vm.build(mock.Mock(), _Instance(), host_w=host_wrapper())
        mem = lpar_w.mem_config
        self.assertEqual((8192, 8192, 8192),
                         (mem.desired, mem.min, mem.max))
        proc = lpar_w.proc_config.dedicated_proc_cfg
        self.assertEqual((3, 3, 3), (proc.desired, proc.min, proc.max))
        self.assertEqual(pvm_bp.LPARType.AIXLINUX, lpar_w.env)
        self.assertEqual(vm.lpar_name(_Instance()), lpar_w.name)
        self.assertTrue(lpar_w.name.startswith('instance-00000007-'))
        self.assertEqual(vm.lpar_uuid(_Instance()), lpar_w.uuid)

    def test_platform_chosen_uuid(self):
        lpar_w = vm.build(mock.Mock(), _Instance(), host_w=host_wrapper(),
                          derive_uuid=False)
        self.assertNotEqual(vm.lpar_uuid(_Instance()), lpar_w.uuid)


class TestPowerState(testtools.TestCase):

    def test_states(self):
        self.assertEqual(power_state.RUNNING, vm.to_power_state('running'))
        self.assertEqual(power_state.SHUTDOWN,
                         vm.to_power_state('not activated'))
        self.assertEqual(power_state.NOSTATE, vm.to_power_state('unknown'))
        self.assertEqual(power_state.NOSTATE, vm.to_power_state(None))


class TestDelete(testtools.TestCase):

    def test_derived_or_given_uuid(self):
        adapter = mock.Mock()
        adapter.delete.return_value = mock.Mock(status=204)
        vm.delete(adapter, 'HOST', _Instance())
        vm.delete(adapter, 'HOST', _Instance(), lpar_uuid='CHOSEN-UUID')
        self.assertEqual(
            [vm.lpar_uuid(_Instance()), 'CHOSEN-UUID'],
            [c.kwargs['child_id'] for c in adapter.delete.call_args_list])
        self.assertEqual({'HOST'}, {c.kwargs['root_id']
                                    for c in adapter.delete.call_args_list})

    def test_already_gone_is_fine(self):
        adapter = mock.Mock()
        adapter.delete.side_effect = pvm_exc.HttpNotFound(mock.Mock())
        vm.delete(adapter, 'HOST', _Instance())
        adapter.delete.assert_called_once()


def _http_error(status, reason='Bad Request', body=''):
    return pvm_exc.HttpError(pvm_adpt.Response(
        'PUT', '/rest/api/uom/ManagedSystem/x/LogicalPartition', status,
        reason, {}, body=body))


class _SimInstance(object):
    """What vm.py uses of a nova Instance: identity, flavor, sysmeta."""

    def __init__(self, uuid=fx.INSTANCE_UUID, name='instance-00000007',
                 system_metadata=None):
        self.uuid = uuid
        self.name = name
        self.flavor = _Flavor()
        self.system_metadata = dict(system_metadata or {})
        self.saved = []

    def save(self):
        self.saved.append(dict(self.system_metadata))


class TestIdentity(testtools.TestCase):

    def test_derived_uuid_is_pvm_form_upper_case(self):
        # PowerVM clears the top bit of the first digit (9 -> 1); the
        # platform reports partition UUIDs in upper case.
        self.assertEqual('1B1DEB4D-3B7D-4BAD-9BDD-2B0D7B3DCB6D',
                         vm.lpar_uuid_of(fx.INSTANCE_UUID))
        self.assertEqual(vm.lpar_uuid_of(fx.INSTANCE_UUID),
                         vm.lpar_uuid(_SimInstance()))

    def test_recorded_uuid(self):
        self.assertIsNone(vm.recorded_uuid(_SimInstance()))
        inst = _SimInstance()
        inst.system_metadata = None
        self.assertIsNone(vm.recorded_uuid(inst))
        self.assertIsNone(vm.recorded_uuid(
            _SimInstance(system_metadata={vm.LPAR_UUID_KEY: ''})))
        self.assertEqual('0A1B-C2D3', vm.recorded_uuid(
            _SimInstance(system_metadata={vm.LPAR_UUID_KEY: '0a1b-c2d3'})))
        self.assertEqual('npiv_lpar_uuid', vm.LPAR_UUID_KEY)

    def test_known_uuids_derived_first_then_recorded_once(self):
        derived = vm.lpar_uuid_of(fx.INSTANCE_UUID)
        self.assertEqual([derived], vm.known_uuids(_SimInstance()))
        self.assertEqual([derived, 'CHOSEN'], vm.known_uuids(_SimInstance(
            system_metadata={vm.LPAR_UUID_KEY: 'chosen'})))
        # The derived UUID recorded again (any case) is not listed twice.
        self.assertEqual([derived], vm.known_uuids(_SimInstance(
            system_metadata={vm.LPAR_UUID_KEY: derived.lower()})))

    def test_is_instance_lpar_by_uuid_in_any_case(self):
        inst = _SimInstance(system_metadata={vm.LPAR_UUID_KEY: 'chosen'})
        derived = vm.lpar_uuid_of(fx.INSTANCE_UUID)
        self.assertTrue(vm.is_instance_lpar(inst, derived.lower()))
        self.assertTrue(vm.is_instance_lpar(inst, 'Chosen'))
        self.assertFalse(vm.is_instance_lpar(inst, 'OTHER'))

    def test_name_is_head_and_uuid_hex(self):
        self.assertEqual('instance-00000007-9b1deb4d3b7d',
                         vm.lpar_name(_SimInstance()))

    def test_name_head_cut_to_fit_31(self):
        name = vm.lpar_name(_SimInstance(name='a' * 40))
        self.assertEqual('a' * 18 + '-9b1deb4d3b7d', name)
        self.assertEqual(31, len(name))

    def test_name_without_instance_name(self):
        self.assertEqual('instance-9b1deb4d3b7d',
                         vm.lpar_name(_SimInstance(name=None)))

    def test_name_sanitised_for_the_api(self):
        # Characters the REST API refuses in a partition name go.
        name = vm.lpar_name(_SimInstance(name='web<1>&"x"'))
        self.assertEqual(pvm_util.sanitize_partition_name_for_api(
            'web<1>&"x"-9b1deb4d3b7d'), name)
        self.assertNotIn('<', name)

    def test_on_system_by_its_own_link(self):
        self.assertTrue(vm.on_system(mock.Mock(assoc_sys_uuid=None), 'H'))
        self.assertTrue(vm.on_system(mock.Mock(assoc_sys_uuid='ab-CD'),
                                     'AB-cd'))
        self.assertFalse(vm.on_system(mock.Mock(assoc_sys_uuid='ab-CD'),
                                      'ab-CE'))


class TestFreshUuid(testtools.TestCase):
    """The UUID a moved instance's LPAR gets while the source holds the
    derived one: ours, the same on every try, recordable before the
    create."""

    def fresh(self, holder):
        with mock.patch.object(vm, '_holder', return_value=holder) as get:
            uuid = vm.fresh_uuid(mock.sentinel.adapter, 'SYS-B',
                                 _SimInstance())
        get.assert_called_once_with(mock.sentinel.adapter,
                                    vm.lpar_uuid_of(fx.INSTANCE_UUID))
        return uuid

    def test_derived_uuid_when_nobody_holds_it(self):
        self.assertIsNone(self.fresh(None))

    def test_derived_uuid_when_this_system_holds_it(self):
        # The instance's own LPAR: vm.create refuses with InstanceExists.
        self.assertIsNone(self.fresh(mock.Mock(assoc_sys_uuid='sys-b')))

    def test_own_uuid_when_another_system_holds_it(self):
        uuid = self.fresh(mock.Mock(assoc_sys_uuid='SYS-A'))
        self.assertNotEqual(vm.lpar_uuid_of(fx.INSTANCE_UUID), uuid)
        self.assertEqual(uuid, uuid.upper())
        # Derived from the instance and the system: a retry asks for it
        # again; another system gets another.
        self.assertEqual(uuid, self.fresh(mock.Mock(assoc_sys_uuid='SYS-A')))
        with mock.patch.object(vm, '_holder', return_value=mock.Mock(
                assoc_sys_uuid='SYS-A')):
            self.assertNotEqual(uuid, vm.fresh_uuid(
                mock.sentinel.adapter, 'SYS-C', _SimInstance()))


class TestAnswered(testtools.TestCase):

    def test_http_error_replies_were_answered(self):
        self.assertTrue(vm.answered(_http_error(400)))
        self.assertTrue(vm.answered(_http_error(500, 'Server Error')))

    def test_anything_else_may_have_been_carried_out(self):
        self.assertFalse(vm.answered(pvm_exc.TimeoutError('no reply')))
        self.assertFalse(vm.answered(ValueError('unreadable reply')))
        err = _http_error(400)
        err.response = None
        self.assertFalse(vm.answered(err))
        err = _http_error(399)
        self.assertFalse(vm.answered(err))
        err.response = object()
        self.assertFalse(vm.answered(err))


class SimTestCase(testtools.TestCase):
    """vm.py against the simulated console, through pypowervm."""

    def setUp(self):
        super().setUp()
        self.sim = Simulator(co_managed_topology())
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.adpt = self.sim.adapter()
        self.host = self.sim.model.system('sys-a').uuid
        self.other = self.sim.model.system('sys-b').uuid
        self.inst = _SimInstance()
        self.derived = vm.lpar_uuid(self.inst)
        self.jobs = []
        run_job = self.sim.model.run_job

        def spy(kind, uuid, operation, params, *args, **kwargs):
            self.jobs.append((uuid.upper(), operation, dict(params)))
            return run_job(kind, uuid, operation, params, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(self.sim.model, 'run_job',
                                                 spy))

    def lpar(self, uuid):
        return self.sim.model.lpar(uuid)


class TestCreate(SimTestCase):

    def test_created_with_the_derived_uuid_on_our_system(self):
        attempt = vm.CreateAttempt()
        lpar_w = vm.create(self.adpt, self.host, self.inst, attempt=attempt)
        self.assertEqual(self.derived, lpar_w.uuid)
        got = self.lpar(self.derived)
        self.assertEqual(('sys-a', vm.lpar_name(self.inst), 'not activated'),
                         (got.system, got.name, got.state))
        self.assertEqual((8192, 3), (got.memory_mb, got.vcpus))
        self.assertEqual((self.derived, False),
                         (attempt.asked_uuid, attempt.unanswered))
        self.assertEqual({}, self.inst.system_metadata)
        self.assertEqual([], self.inst.saved)

    def test_uuid_held_elsewhere_creates_with_our_own_recorded_first(self):
        # The evacuated instance's old LPAR still holds the derived UUID
        # on the other system: the LPAR gets the instance's own UUID on
        # this system, recorded and saved before the create.
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        own = vm.own_uuid(self.inst, self.host)
        saved_before = []
        real = vm._create

        def create(lpar_w, system_uuid, attempt, asked_uuid):
            saved_before.append((asked_uuid, list(self.inst.saved)))
            return real(lpar_w, system_uuid, attempt, asked_uuid)

        self.useFixture(fixtures.MockPatchObject(vm, '_create', create))
        attempt = vm.CreateAttempt()
        lpar_w = vm.create(self.adpt, self.host, self.inst, attempt=attempt)
        self.assertEqual(own, lpar_w.uuid)
        self.assertNotEqual(self.derived, own)
        self.assertEqual('sys-a', self.lpar(own).system)
        self.assertEqual(own, self.inst.system_metadata[vm.LPAR_UUID_KEY])
        self.assertEqual([(self.derived, []),
                          (own, [{vm.LPAR_UUID_KEY: own}])], saved_before)
        self.assertEqual((own, False),
                         (attempt.asked_uuid, attempt.unanswered))
        self.assertEqual([self.derived, own], vm.known_uuids(self.inst))
        # The same at every retry, and only this instance's on this system.
        self.assertEqual(own, vm.own_uuid(self.inst, self.host))
        self.assertNotEqual(own, vm.own_uuid(self.inst, 'other-system'))

    def test_lost_reply_of_the_own_uuid_create_is_provable(self):
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        own = vm.own_uuid(self.inst, self.host)
        self.sim.inject_fault('PUT', 'LogicalPartition$', nth=2,
                              kind='lost_reply')
        attempt = vm.CreateAttempt()
        self.assertRaises(pvm_exc.Error, vm.create, self.adpt, self.host,
                          self.inst, attempt=attempt)
        # The LPAR exists and the instance's record proves it.
        self.assertEqual((own, True), (attempt.asked_uuid,
                                       attempt.unanswered))
        self.assertEqual('sys-a', self.lpar(own).system)
        self.assertEqual(own, vm.recorded_uuid(self.inst))

    def test_refused_own_uuid_create_puts_the_record_back(self):
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        self.inst.system_metadata[vm.LPAR_UUID_KEY] = 'OLD-RECORD'
        self.sim.inject_fault('PUT', 'LogicalPartition$', nth=2,
                              status=400, message='refused')
        self.assertRaises(pvm_exc.HttpError, vm.create, self.adpt,
                          self.host, self.inst)
        self.assertEqual('OLD-RECORD', vm.recorded_uuid(self.inst))

    def test_own_uuid_already_here_is_instance_exists(self):
        # An earlier attempt's LPAR: the instance's, the record kept.
        self.sim.model.add_lpar('sys-b', 'old', uuid=self.derived)
        own = vm.own_uuid(self.inst, self.host)
        self.sim.model.add_lpar('sys-a', 'earlier', uuid=own)
        self.assertRaises(nova_exc.InstanceExists, vm.create, self.adpt,
                          self.host, self.inst)
        self.assertEqual(own, vm.recorded_uuid(self.inst))

    def test_own_lpar_on_this_system_is_instance_exists(self):
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived)
        before = len(self.sim.model.lpars('sys-a'))
        err = self.assertRaises(nova_exc.InstanceExists, vm.create,
                                self.adpt, self.host, self.inst)
        self.assertIn(vm.lpar_name(self.inst), err.format_message())
        self.assertEqual(before, len(self.sim.model.lpars('sys-a')))
        self.assertEqual({}, self.inst.system_metadata)

    def test_other_refusal_is_raised_and_answered(self):
        # The name is taken: a 400 that is not about the UUID.
        self.sim.model.add_lpar('sys-a', vm.lpar_name(self.inst))
        before = len(self.sim.model.lpars())
        attempt = vm.CreateAttempt()
        err = self.assertRaises(pvm_exc.HttpError, vm.create, self.adpt,
                                self.host, self.inst, attempt=attempt)
        self.assertEqual(400, err.response.status)
        self.assertEqual(before, len(self.sim.model.lpars()))
        self.assertEqual((self.derived, False),
                         (attempt.asked_uuid, attempt.unanswered))
        self.assertEqual({}, self.inst.system_metadata)

    def test_default_attempt(self):
        lpar_w = vm.create(self.adpt, self.host, self.inst)
        self.assertEqual(self.derived, lpar_w.uuid)


class TestCreateRefusals(testtools.TestCase):
    """Replies the simulator does not give, on a patched wrapper create."""

    def create(self, *errors):
        inst = _SimInstance()
        created = mock.Mock(uuid='chosen-uuid')
        calls = []

        def fake(lpar_w, parent_type=None, parent_uuid=None):
            calls.append(lpar_w.uuid)
            if errors[len(calls) - 1] is not None:
                raise errors[len(calls) - 1]
            return created

        def build(adapter, instance, host_w=None, derive_uuid=True):
            lpar_w = mock.Mock(
                uuid=vm.lpar_uuid(instance) if derive_uuid else None)
            lpar_w.create.side_effect = (
                lambda parent_type=None, parent_uuid=None: fake(lpar_w))
            return lpar_w

        self.useFixture(fixtures.MockPatchObject(vm, 'build', build))
        self.useFixture(fixtures.MockPatchObject(vm, 'get_by_uuid',
                                                 return_value=None))
        # Whether another system's partition holds the derived UUID.
        self.holder = self.useFixture(fixtures.MockPatchObject(
            vm, '_holder', return_value=None)).mock
        attempt = vm.CreateAttempt()
        return inst, calls, attempt, (lambda: vm.create(
            mock.Mock(), 'HOST', inst, attempt=attempt, host_w=mock.Mock()))

    def test_in_use_only_on_a_400(self):
        err = _http_error(500, 'UUID already in use')
        inst, calls, attempt, create = self.create(err)
        self.assertIs(err, self.assertRaises(pvm_exc.HttpError, create))
        self.assertEqual(1, len(calls))
        self.assertEqual({}, inst.system_metadata)

    def test_400_for_a_uuid_held_elsewhere_is_retried_with_our_own(self):
        # Decided by the holder the console shows, whatever the words.
        err = _http_error(400, 'refused')
        inst, calls, attempt, create = self.create(err, None)
        self.holder.return_value = mock.Mock()
        self.assertEqual('chosen-uuid', create().uuid)
        own = vm.own_uuid(inst, 'HOST')
        self.assertEqual([vm.lpar_uuid(inst), own], calls)
        self.assertEqual(own, inst.system_metadata[vm.LPAR_UUID_KEY])
        vm.get_by_uuid.assert_called_once_with(mock.ANY, 'HOST', calls[0])

    def test_error_without_reply_is_raised(self):
        err = _http_error(400, 'already in use')
        err.response = None
        inst, calls, attempt, create = self.create(err)
        self.assertIs(err, self.assertRaises(pvm_exc.HttpError, create))
        self.assertEqual(1, len(calls))
        self.assertTrue(attempt.unanswered)

    def test_lost_reply_is_unanswered(self):
        err = pvm_exc.TimeoutError('no reply')
        inst, calls, attempt, create = self.create(err)
        self.assertIs(err, self.assertRaises(pvm_exc.TimeoutError, create))
        self.assertEqual((vm.lpar_uuid(inst), True),
                         (attempt.asked_uuid, attempt.unanswered))

    def test_400_with_the_uuid_free_is_raised(self):
        err = _http_error(400, 'Partition UUID already in use')
        inst, calls, attempt, create = self.create(err, None)
        self.assertIs(err, self.assertRaises(pvm_exc.HttpError, create))
        self.assertEqual(1, len(calls))
        self.assertEqual({}, inst.system_metadata)

    def test_lost_reply_of_the_create_with_our_own_uuid(self):
        # Recorded and saved before the create: the UUID asked for proves
        # whatever the lost reply was about.
        err = pvm_exc.TimeoutError('no reply')
        inst, calls, attempt, create = self.create(
            _http_error(400, 'refused'), err)
        self.holder.return_value = mock.Mock()
        self.assertRaises(pvm_exc.TimeoutError, create)
        own = vm.own_uuid(inst, 'HOST')
        self.assertEqual((own, True),
                         (attempt.asked_uuid, attempt.unanswered))
        self.assertEqual([{vm.LPAR_UUID_KEY: own}], inst.saved)


class TestFind(SimTestCase):

    def test_get_by_uuid(self):
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived)
        self.assertEqual(self.derived, vm.get_by_uuid(
            self.adpt, self.host, self.derived).uuid)
        self.assertIsNone(vm.get_by_uuid(self.adpt, self.other,
                                         self.derived))
        self.assertIsNone(vm.get_by_uuid(self.adpt, self.host,
                                         vm.lpar_uuid_of('0b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6e')))

    def test_lenient_hmc_other_system_is_not_ours(self):
        self.sim.lenient_nested = True
        self.sim.model.add_lpar('sys-b', 'mine', uuid=self.derived)
        # Served under sys-a all the same; its own link says sys-b.
        lpar_w = pvm_lpar.LPAR.get(self.adpt, uuid=self.derived,
                                   parent_type=pvm_ms.System,
                                   parent_uuid=self.host)
        self.assertEqual(self.derived, lpar_w.uuid)
        self.assertIsNone(vm.get_by_uuid(self.adpt, self.host,
                                         self.derived))
        self.assertIsNone(vm.get(self.adpt, self.host, self.inst))
        self.assertEqual(self.derived,
                         vm.get(self.adpt, self.other, self.inst).uuid)

    def test_get_derived_then_recorded(self):
        self.assertIsNone(vm.get(self.adpt, self.host, self.inst))
        chosen = self.sim.model.add_lpar('sys-a', 'chosen').uuid
        self.assertIsNone(vm.get(self.adpt, self.host, self.inst))
        self.inst.system_metadata[vm.LPAR_UUID_KEY] = chosen.lower()
        self.assertEqual(chosen, vm.get(self.adpt, self.host,
                                        self.inst).uuid)
        self.sim.model.add_lpar('sys-a', 'derived', uuid=self.derived)
        self.assertEqual(self.derived, vm.get(self.adpt, self.host,
                                              self.inst).uuid)

    def test_locate_anywhere(self):
        self.assertIsNone(vm.locate(self.adpt, self.inst))
        self.sim.model.add_lpar('sys-b', 'mine', uuid=self.derived)
        lpar_w = vm.locate(self.adpt, self.inst)
        self.assertEqual(self.derived, lpar_w.uuid)
        self.assertFalse(vm.on_system(lpar_w, self.host))
        self.assertTrue(vm.on_system(lpar_w, self.other))

    def test_locate_recorded(self):
        chosen = self.sim.model.add_lpar('sys-b', 'chosen').uuid
        self.inst.system_metadata[vm.LPAR_UUID_KEY] = chosen
        self.assertEqual(chosen, vm.locate(self.adpt, self.inst).uuid)


class TestDeleteOnConsole(SimTestCase):

    def test_deleted(self):
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived)
        vm.delete(self.adpt, self.host, self.inst)
        self.assertIsNone(self.lpar(self.derived))

    def test_refused_delete_raises(self):
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived,
                                state='running')
        self.assertRaises(pvm_exc.HttpError, vm.delete, self.adpt,
                          self.host, self.inst)
        self.assertIsNotNone(self.lpar(self.derived))

    def test_other_system_lpar_is_not_deleted(self):
        self.sim.model.add_lpar('sys-b', 'mine', uuid=self.derived)
        vm.delete(self.adpt, self.host, self.inst)
        self.assertIsNotNone(self.lpar(self.derived))


class TestDeleteReplies(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.adapter = mock.Mock()
        self.get = self.useFixture(fixtures.MockPatchObject(
            vm, 'get_by_uuid')).mock

    def test_no_content_is_not_checked(self):
        self.adapter.delete.return_value = mock.Mock(status=204)
        vm.delete(self.adapter, 'HOST', _Instance())
        self.get.assert_not_called()

    def test_reply_without_status_is_not_checked(self):
        self.adapter.delete.return_value = object()
        vm.delete(self.adapter, 'HOST', _Instance())
        self.get.assert_not_called()

    def test_other_success_with_the_lpar_still_there(self):
        self.adapter.delete.return_value = mock.Mock(status=200)
        self.get.return_value = mock.Mock()
        err = self.assertRaises(exception.LparNotDeleted, vm.delete,
                                self.adapter, 'HOST', _Instance(),
                                lpar_uuid='CHOSEN')
        self.get.assert_called_once_with(self.adapter, 'HOST', 'CHOSEN')
        msg = err.format_message()
        self.assertIn('CHOSEN', msg)
        self.assertIn(fx.INSTANCE_UUID, msg)
        self.assertIn('200', msg)

    def test_other_success_with_the_lpar_gone(self):
        self.adapter.delete.return_value = mock.Mock(status=200)
        self.get.return_value = None
        vm.delete(self.adapter, 'HOST', _Instance())
        self.get.assert_called_once_with(self.adapter, 'HOST',
                                         vm.lpar_uuid(_Instance()))

    def test_addressed_as_a_child_of_our_system(self):
        self.adapter.delete.return_value = mock.Mock(status=204)
        vm.delete(self.adapter, 'HOST', _Instance())
        self.adapter.delete.assert_called_once_with(
            'ManagedSystem', root_id='HOST', child_type='LogicalPartition',
            child_id=vm.lpar_uuid(_Instance()))


class TestCloseVterm(SimTestCase):

    def test_open_terminal_is_closed_and_delete_goes_through(self):
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived)
        self.sim.model.open_vterm('sys-a', self.derived)
        self.assertRaises(pvm_exc.HttpError, vm.delete, self.adpt,
                          self.host, self.inst)
        vm.close_vterm(self.adpt, self.host, self.derived)
        self.assertFalse(self.sim.model.vterm_open('sys-a', self.derived))
        self.assertEqual([(self.derived, 'CloseVterm')],
                         [j[:2] for j in self.jobs])
        vm.delete(self.adpt, self.host, self.inst)
        self.assertIsNone(self.lpar(self.derived))

    def test_gone_lpar_needs_no_closing(self):
        vm.close_vterm(self.adpt, self.host, self.derived)
        self.assertEqual([], self.jobs)

    def test_only_under_our_system(self):
        self.sim.model.add_lpar('sys-b', 'mine', uuid=self.derived)
        self.sim.model.open_vterm('sys-b', self.derived)
        vm.close_vterm(self.adpt, self.host, self.derived)
        self.assertTrue(self.sim.model.vterm_open('sys-b', self.derived))
        self.assertEqual([], self.jobs)


class TestPower(SimTestCase):

    def setUp(self):
        super().setUp()
        self.sim.model.add_lpar('sys-a', 'mine', uuid=self.derived)

    def wrapper(self):
        return vm.get(self.adpt, self.host, self.inst)

    def test_power_on(self):
        vm.power_on(self.wrapper())
        self.assertEqual('running', self.lpar(self.derived).state)
        self.assertEqual(['PowerOn'], [j[1] for j in self.jobs])

    def test_soft_power_off(self):
        self.sim.model.set_lpar_state('sys-a', self.derived, 'running')
        vm.power_off(self.wrapper())
        [(_uuid, op, params)] = self.jobs
        self.assertEqual('PowerOff', op)
        self.assertNotEqual('true', params.get('immediate'))
        self.assertNotEqual('true', params.get('restart'))
        self.assertEqual('not activated', self.lpar(self.derived).state)

    def test_hard_power_off(self):
        self.sim.model.set_lpar_state('sys-a', self.derived, 'running')
        vm.power_off(self.wrapper(), hard=True)
        [(_uuid, op, params)] = self.jobs
        self.assertEqual('true', params.get('immediate'))
        self.assertNotEqual('true', params.get('restart'))
        self.assertEqual('not activated', self.lpar(self.derived).state)

    def test_restart(self):
        self.sim.model.set_lpar_state('sys-a', self.derived, 'running')
        vm.power_off(self.wrapper(), hard=True, restart=True)
        [(_uuid, op, params)] = self.jobs
        self.assertEqual('true', params.get('immediate'))
        self.assertEqual('true', params.get('restart'))
        self.assertEqual('running', self.lpar(self.derived).state)

    def test_stopped_partition_is_left_alone(self):
        vm.power_off(self.wrapper(), hard=True)
        vm.power_off(self.wrapper())
        self.assertEqual([], self.jobs)

    def test_restart_of_a_stopped_partition_is_asked_for(self):
        lpar_w = self.wrapper()
        self.assertRaises(exception.JobFailed, vm.power_off, lpar_w,
                          restart=True)
        [(_uuid, op, params)] = self.jobs
        self.assertEqual(('PowerOff', 'true'), (op, params.get('restart')))
