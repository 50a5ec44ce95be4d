"""Work that runs in a background thread and outlives the script run that started it.

Why: Streamlit stops a page's script run whenever its user touches a widget. An analysis computed
inside the script run died with it, so moving the smoothing slider (or opening the settings)
during a 20 s analysis started it again from zero. A job keeps running; the rerun finds it by its
key, shows its progress again and gets its result. A job that no one waits for any more is
cancelled (its owners released it, say by uploading another file, or none of them has looked at
it for ``STALE_S``, a closed tab), so abandoned work does not keep the cores busy.
Finished jobs are kept, the latest ``keep`` of them, as a cache of results shared by all sessions.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
Progress = Callable[[float, str], None]
STALE_S = 30.0


class Cancelled(Exception):
    """Raised inside a job's work (from its progress callback) once no one waits for it."""


class Job(Generic[T]):
    """One piece of work in its own thread; ``fraction`` and ``stage`` say how far it is."""

    def __init__(self, key: Hashable, owner: str, stage: str):
        self.key = key
        self.fraction = 0.0
        self.stage = stage
        self._owners = {owner}
        self._seen = time.monotonic()
        self._done = threading.Event()
        self._cancelled = False
        self._result: T | None = None
        self._error: BaseException | None = None

    def start(self, work: Callable[[Progress], T]) -> None:
        threading.Thread(target=self._run, args=(work,), name=f"job-{id(self):x}", daemon=True).start()

    def _run(self, work: Callable[[Progress], T]) -> None:
        try:
            self._result = work(self._progress)
        except BaseException as error:  # handed to whoever asks for the result
            self._error = error
        finally:
            self._done.set()

    def _progress(self, fraction: float, stage: str) -> None:
        if self._cancelled or (not self._owners or time.monotonic() - self._seen > STALE_S):
            self._cancelled = True
            raise Cancelled(f"nobody waits for {self.key!r} any more")
        self.fraction, self.stage = fraction, stage

    def wait(self, timeout_s: float) -> bool:
        """True once the job has finished; waiting counts as looking at it."""
        self._seen = time.monotonic()
        return self._done.wait(timeout_s)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def cancelled(self) -> bool:
        """Given up (it may still be winding down to its next progress report)."""
        return self._cancelled

    def result(self) -> T:
        """The work's return value, or its exception raised here (wait first)."""
        if not self.done:
            raise RuntimeError("the job is still running")
        if self._error is not None:
            raise self._error
        return self._result


class JobBoard:
    """The jobs of a process by key: one job per key, whoever asks."""

    def __init__(self, keep: int = 16):
        self.keep = keep
        self._jobs: OrderedDict[Hashable, Job] = OrderedDict()
        self._held: dict[str, Hashable] = {}  # owner -> the key it waits for
        self._lock = threading.Lock()

    def submit(
        self, key: Hashable, owner: str, work: Callable[[Progress], T], stage: str = "starting"
    ) -> Job[T]:
        """The job for ``key``, started with ``work`` unless one is running or finished (a
        cancelled one starts again); ``stage`` is what it says until ``work`` first reports.
        ``owner`` (a session) now waits for this key only: the job it waited for before is
        released, and cancelled if nobody else waits for it."""
        with self._lock:
            previous = self._held.get(owner)
            if previous is not None and previous != key and previous in self._jobs:
                self._jobs[previous]._owners.discard(owner)
            self._held[owner] = key
            job = self._jobs.get(key)
            if job is not None and not job.cancelled:
                job._owners.add(owner)
                job._seen = time.monotonic()
                self._jobs.move_to_end(key)
                return job
            job = Job(key, owner, stage)
            self._jobs[key] = job
            self._forget_old()
        job.start(work)
        return job

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if job.done]
        for key in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[key]
        for owner in [owner for owner, key in self._held.items() if key not in self._jobs]:
            del self._held[owner]
