"""WWPN spelling rules shared by config, Cinder input and metadata."""

import hypothesis
from hypothesis import strategies as st
import testtools

from nova_npiv import wwpn

_HEX = '0123456789abcdef'
_SETTINGS = hypothesis.settings(deadline=None, database=None,
                                max_examples=200)


class TestNormalize(testtools.TestCase):

    def test_spellings_of_one_port(self):
        for spelling in ('c05076079cff0fa0', 'C05076079CFF0FA0',
                         'c0:50:76:07:9c:ff:0f:a0', 'C0:50:76:07:9C:FF:0F:A0',
                         '0xC05076079CFF0FA0', '  c05076079cff0fa0\n'):
            self.assertEqual('c05076079cff0fa0', wwpn.normalize(spelling),
                             spelling)

    def test_rejects(self):
        for bad in ('', 'c05076079cff0fa', 'c05076079cff0fa01',
                    'g05076079cff0fa0', 'c0-50-76-07-9c-ff-0f-a0',
                    'c050 76079cff0fa0', None, 0xc05076079cff0fa0,
                    b'c05076079cff0fa0', ['c05076079cff0fa0']):
            self.assertRaises(ValueError, wwpn.normalize, bad)

    def test_error_names_value(self):
        err = self.assertRaises(ValueError, wwpn.normalize, 'nothex')
        self.assertIn('nothex', str(err))

    def test_normalize_list(self):
        self.assertEqual(['c05076079cff0fa0', '10000000c9000001'],
                         wwpn.normalize_list(['C05076079CFF0FA0',
                                              '10:00:00:00:c9:00:00:01']))
        self.assertEqual([], wwpn.normalize_list([]))
        self.assertRaises(ValueError, wwpn.normalize_list, ['x'])

    def test_same(self):
        self.assertTrue(wwpn.same('c0:50:76:07:9C:FF:0F:A0',
                                  'C05076079cff0fa0'))
        self.assertFalse(wwpn.same('c05076079cff0fa0', 'c05076079cff0fa1'))
        self.assertRaises(ValueError, wwpn.same, 'c05076079cff0fa0', 'x')

    def test_to_console(self):
        self.assertEqual('C05076079CFF0FA0',
                         wwpn.to_console('c0:50:76:07:9c:ff:0f:a0'))

    @_SETTINGS
    @hypothesis.given(digits=st.text(_HEX, min_size=16, max_size=16),
                      upper=st.booleans(), colons=st.booleans())
    def test_property_any_spelling(self, digits, upper, colons):
        text = digits.upper() if upper else digits
        if colons:
            text = ':'.join(text[i:i + 2] for i in range(0, 16, 2))
        self.assertEqual(digits, wwpn.normalize(text))
        self.assertEqual(digits, wwpn.normalize(wwpn.to_console(text)))

    @_SETTINGS
    @hypothesis.given(st.text(max_size=30))
    def test_property_only_16_hex(self, text):
        try:
            result = wwpn.normalize(text)
        except ValueError:
            return
        self.assertEqual(16, len(result))
        self.assertTrue(set(result) <= set(_HEX))
