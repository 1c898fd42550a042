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
that what is resident is what is alive, and few arenas keep the free
space where the next parse finds it (:func:`limit_arenas`).  Where the C
library has neither (musl, macOS), nothing is done.
"""

import ctypes

_UNSET = object()
_TRIM = _UNSET

#: glibc's mallopt parameter for the most arenas (malloc.h M_ARENA_MAX).
M_ARENA_MAX = -8


def _libc(name):
    # The process's own symbols, which hold the C library's: no
    # ctypes.util.find_library, which runs ldconfig and os.uname (nova's
    # test fixtures forbid the latter, and it is looked up lazily so that
    # importing the driver inspects nothing of the host).
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError, TypeError):
        return None


def _malloc_trim():
    return _libc('malloc_trim')


def trim():
    """Give the free pages back; True if the C library could."""
    global _TRIM
    if _TRIM is _UNSET:
        _TRIM = _malloc_trim()
    if _TRIM is None:
        return False
    _TRIM(0)
    return True


def limit_arenas(count):
    """At most ``count`` malloc arenas in this process from now on; True
    if the C library took it.  0: its own default, left alone.

    glibc gives threads arenas of their own, up to eight per core, and
    memory freed in one arena serves only allocations made in it again.
    The POSTs of a batch run in threads of their own and parse their
    replies there, so the version a reply replaces was parsed in another
    arena: at 20 000 existing mappings, ~200 MiB more resident than with
    one arena, which :func:`trim` cannot give back because the arenas'
    free space is interleaved with live allocations.  Few arenas cost
    contention only where threads allocate at once, and the GIL lets one
    Python thread run at a time.  Arenas made before the call stay.
    """
    if count <= 0:
        return False
    mallopt = _libc('mallopt')
    if mallopt is None:
        return False
    return bool(mallopt(M_ARENA_MAX, int(count)))
