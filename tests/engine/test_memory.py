"""Returning freed heap pages to the system (core.engine.memory)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from core.engine.memory import release_free_memory


def _resident_mb() -> float:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc are Linux's")
def test_freed_heap_pages_below_a_live_allocation_go_back_to_the_system():
    """Arrays small enough to live in the heap (32 kB, under glibc's mmap threshold), then one
    more that stays alive above them: freeing the arrays cannot shrink the heap from its top,
    so their pages stay with the process until the heap is trimmed."""
    release_free_memory()  # pages earlier tests freed would otherwise be reused unseen
    before = _resident_mb()
    arrays = [np.ones(4_000) for _ in range(8_000)]  # 256 MB in 32 kB pieces
    pin = np.ones(4_000)
    held = _resident_mb()
    assert held - before > 200
    arrays.clear()
    assert _resident_mb() > held - 50  # freed, but still resident
    assert release_free_memory() is True
    assert _resident_mb() < before + 50
    assert pin.sum() == 4_000
