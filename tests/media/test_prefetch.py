import threading

import pytest

from core.media.prefetch import prefetched


def test_yields_everything_in_order():
    assert list(prefetched(iter(range(1000)), depth=8)) == list(range(1000))


def test_errors_reach_the_consumer():
    def broken():
        yield 1
        raise ValueError("bad frame")

    stream = prefetched(broken(), depth=4)
    assert next(stream) == 1
    with pytest.raises(ValueError, match="bad frame"):
        next(stream)


def test_leaving_early_stops_the_thread_and_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    stream = prefetched(endless(), depth=4)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert closed.is_set()
    assert not any(t.name == "frame-prefetch" for t in threading.enumerate())
