"""Hand freed heap back to the system.

Decoding a photo allocates tens of megabytes in whichever thread of the pool served it; glibc
keeps what was freed inside its arenas, so a web worker's resident size creeps up in steps that
no live object explains. `malloc_trim` returns those free pages. It costs about a millisecond,
so a web worker calls it every few seconds from a small thread, and a match worker after each
batch it finishes.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging

from app.periodic import Periodic

log = logging.getLogger("cellwatch")


@functools.cache
def _trim_function() -> ctypes._CFuncPtr | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        return None


def release_freed_memory() -> bool:
    """True when memory was handed back to the system."""
    trim = _trim_function()
    return bool(trim(0)) if trim is not None else False


def freeze_startup_objects() -> None:
    """Take what start-up built (modules, the app and its routes, the match index's Python
    objects) out of the garbage collector's sight. A full collection walks every tracked
    object; in a web worker holding a 100,000-photo index that was a quarter of a million of
    them, and one such pass stopped a burst of 50 uploads for 277 ms (bench/README.md). After
    this it walks only what came after start-up. `thaw_startup_objects` at shutdown hands
    them back (a test process starts many apps)."""
    gc.collect()
    gc.freeze()


def thaw_startup_objects() -> None:
    gc.unfreeze()


class Trimmer(Periodic):
    """A daemon thread calling release_freed_memory every `every` seconds."""

    def __init__(self, every: float) -> None:
        super().__init__("memory-trim", every, release_freed_memory)

    def start(self) -> None:
        if _trim_function() is not None:
            super().start()
