"""Giving freed memory back to the system, for a long-running app process.

Why: glibc gives each thread that contends for the heap an arena of its own (up to eight per
core) and keeps what is freed in an arena for later, so a Streamlit server, which runs every
session's script in a thread of its own beside decoding, LiteRT and TensorFlow threads, grows
with arenas rather than with data. ``MALLOC_ARENA_MAX=2`` at process start caps them (``make run``
sets it: measured in Chromium, two sessions analysing 60 s clips at once and one visiting every
page, the server peaked at 1.38 GB instead of 1.55 GB). Where the host starts the process (Streamlit
Community Cloud) it cannot be set, and ``mallopt`` later is too late (glibc fixes the limit at the
first contention); ``malloc_trim`` after each page run returns the freed pages instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys


@functools.cache
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc has it, musl does not
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> bool:
    """Return the heap's free pages to the system (glibc's ``malloc_trim``); False where there is
    no glibc (macOS, Windows, musl), which manage this themselves."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
