"""The one place where WWPNs are normalised and compared.

Cinder, zone managers, nova.conf and the management console all spell WWPNs
differently (case, colons).  Everything inside the plugin uses 16 lower-case
hex digits without separators; the console wants upper case on input and
returns lower case, so comparisons must never be done on raw strings.
"""

import re

_HEX16 = re.compile(r'^[0-9a-f]{16}$')


def normalize(value):
    """Return ``value`` as 16 lower-case hex digits or raise ValueError."""
    if not isinstance(value, str):
        raise ValueError('WWPN %r is not a string' % (value,))
    text = value.strip().lower().replace(':', '')
    if text.startswith('0x'):
        text = text[2:]
    if not _HEX16.match(text):
        raise ValueError('WWPN %r is not 16 hexadecimal digits' % value)
    return text


def normalize_list(values):
    return [normalize(v) for v in values]


def same(a, b):
    """Whether two WWPN spellings name the same port."""
    return normalize(a) == normalize(b)


def to_console(value):
    """Spelling the management console expects in requests."""
    return normalize(value).upper()
