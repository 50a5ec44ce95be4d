"""Run an iterator in a background thread so that decoding overlaps prediction.

OpenCV and TensorFlow both release the GIL while they work, so on two cores the video is
decoded while the model runs on the frames decoded before, instead of one waiting for the other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import TypeVar

T = TypeVar("T")
_POLL_S = 0.05


@dataclass(frozen=True)
class _End:
    error: BaseException | None


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """Yield what ``items`` yields, produced up to ``depth`` items ahead in a thread.

    Errors raised by ``items`` are re-raised here; leaving the loop early stops the thread
    and closes ``items`` (so a video file is released at once).
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=_POLL_S)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_End(None))
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(_End(error))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    thread = threading.Thread(target=produce, name="frame-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            try:
                entry = queue.get(timeout=_POLL_S)
            except Empty:
                if not thread.is_alive() and queue.empty():
                    return
                continue
            if isinstance(entry, _End):
                if entry.error is not None:
                    raise entry.error
                return
            yield entry
    finally:
        stop.set()
        thread.join()
