"""Freed memory given back to the system (nova_npiv.heap)."""

from unittest import mock

import testtools

from nova_npiv import heap


class TestTrim(testtools.TestCase):

    def test_trims_every_arena_where_the_c_library_can(self):
        libc_trim = mock.Mock()
        with mock.patch.object(heap, '_TRIM', libc_trim):
            self.assertTrue(heap.trim())
        libc_trim.assert_called_once_with(0)

    def test_nothing_where_it_cannot(self):
        with mock.patch.object(heap, '_TRIM', None):
            self.assertFalse(heap.trim())
        with mock.patch('ctypes.CDLL', side_effect=OSError('no libc')):
            self.assertIsNone(heap._malloc_trim())

    def test_found_in_this_c_library(self):
        # The test machines run glibc, where the trim exists.
        self.assertIsNotNone(heap._malloc_trim())
        self.assertTrue(heap.trim())

    def test_looked_up_without_inspecting_the_host(self):
        # ctypes.util.find_library runs os.uname, which nova's test fixtures
        # forbid: the driver failed to load inside nova's functional tests
        # (the peer test) when heap looked libc up that way at import.
        with mock.patch.object(heap, '_TRIM', heap._UNSET), \
                mock.patch('os.uname', side_effect=AssertionError('uname')):
            self.assertTrue(heap.trim())


class TestArenas(testtools.TestCase):

    def libc(self, mallopt):
        libc = mock.Mock(mallopt=mallopt)
        return mock.patch('ctypes.CDLL', return_value=libc)

    def test_the_limit_goes_to_mallopt(self):
        mallopt = mock.Mock(return_value=1)
        with self.libc(mallopt):
            self.assertTrue(heap.limit_arenas(2))
        mallopt.assert_called_once_with(heap.M_ARENA_MAX, 2)
        self.assertEqual(-8, heap.M_ARENA_MAX)

    def test_zero_leaves_the_default(self):
        mallopt = mock.Mock(return_value=1)
        with self.libc(mallopt):
            self.assertFalse(heap.limit_arenas(0))
        mallopt.assert_not_called()

    def test_refused_or_missing(self):
        with self.libc(mock.Mock(return_value=0)):
            self.assertFalse(heap.limit_arenas(2))
        with mock.patch('ctypes.CDLL', side_effect=OSError('no libc')):
            self.assertFalse(heap.limit_arenas(2))

    def test_this_c_library_takes_it(self):
        # glibc on the test machines; arenas made before stay, so this
        # changes nothing already running.
        self.assertTrue(heap.limit_arenas(8))
