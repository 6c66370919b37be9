"""How much memory a station process keeps: one knob, set before its threads start.

glibc gives each thread that allocates while others do a malloc arena of
its own, and what is freed in an arena stays resident. The web server's
threads and the printer's threads (WeasyPrint builds large trees) each
kept one: a printing station went over 150 MB with the default. Two
arenas keep it near 140 MB at no measurable cost in speed.
"""

import ctypes
import os

# mallopt's parameter for the number of arenas (glibc malloc.h).
M_ARENA_MAX = -8
STATION_MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = STATION_MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for threads that allocate from now on.

    An operator's own setting wins (``MALLOC_ARENA_MAX``, or
    ``glibc.malloc.arena_max`` in ``GLIBC_TUNABLES``). Elsewhere than glibc
    this does nothing. True when the cap was set here.
    """
    if "MALLOC_ARENA_MAX" in os.environ or "glibc.malloc.arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        # By its soname: find_library would run ldconfig at every start.
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
