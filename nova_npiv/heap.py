"""Memory freed by dropped VIOS documents, given back to the system.

A parsed VIOS is hundreds of thousands of small C allocations (lxml,
~12 KiB per mapping).  The replies of a batch's POSTs are parsed in the
threads that sent them (one per VIOS), and glibc gives each thread an
arena of its own: when the version a reply replaces is freed, its memory
stays in the arena it was parsed in, resident, and the next batch's
threads parse their replies in whatever arena they are given.  Measured
at 20 000 existing mappings (two VIOSes of 10 000): 2 parsed VIOSes alive
(~250 MiB) in a process of 1 042 MiB, after one spawn and one delete.
``malloc_trim`` returns the free pages of every arena to the system, so
that what is resident is what is alive.  Where the C library has no
``malloc_trim`` (musl, macOS), nothing is done.
"""

import ctypes
import gc

_UNSET = object()
_TRIM = _UNSET


def _malloc_trim():
    # The process's own symbols, which hold the C library's: no
    # ctypes.util.find_library, which runs ldconfig and os.uname (nova's
    # test fixtures forbid the latter, and it is looked up lazily so that
    # importing the driver inspects nothing of the host).
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def trim():
    """Give the free pages back; True if the C library could."""
    global _TRIM
    if _TRIM is _UNSET:
        _TRIM = _malloc_trim()
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def collect(generation=2):
    """Collect the garbage cycles up to ``generation``, then :func:`trim`.

    pypowervm's wrappers of a feed end in reference cycles; what they hold
    is lxml's C memory, which the collector does not count, so nothing
    prompts it to run while a partition feed of thousands of partitions
    (hundreds of MiB parsed) waits for it, and the next feed is parsed
    next to it.
    """
    gc.collect(generation)
    return trim()
