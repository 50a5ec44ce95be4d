"""Background jobs (core.engine.jobs): one run per key whoever asks, results kept, work nobody
waits for cancelled, errors handed to the waiter."""

import threading
import time

import pytest

from core.engine import jobs
from core.engine.jobs import JobBoard
from core.errors import VideoError


def steps(count: int, gate: threading.Event | None = None, runs: list | None = None):
    """Work that reports progress ``count`` times (waiting for ``gate`` after the first)."""

    def work(progress):
        if runs is not None:
            runs.append(1)
        for step in range(count):
            progress(step / count, f"step {step}")
            if gate is not None:
                gate.wait(5)
        return count

    return work


def eventually(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_key_runs_once_for_every_session_and_its_result_is_kept():
    board, runs, gate = JobBoard(), [], threading.Event()
    first = board.submit("clip", "session-a", steps(3, gate, runs))
    assert eventually(lambda: first.stage == "step 0") and not first.done
    again = board.submit("clip", "session-b", steps(3, gate, runs))  # another session, same clip
    gate.set()
    assert again is first and first.wait(5) and first.result() == 3
    assert board.submit("clip", "session-a", steps(3, None, runs)).result() == 3
    assert len(runs) == 1


def test_work_its_only_owner_left_is_cancelled_and_starts_again_when_asked():
    board, gate = JobBoard(), threading.Event()
    first = board.submit("long clip", "session", steps(50, gate))
    assert eventually(lambda: first.stage == "step 0")
    other = board.submit("short clip", "session", steps(1))  # the user picked another file
    gate.set()
    assert other.wait(5) and other.result() == 1
    assert first.wait(5) and first.cancelled
    with pytest.raises(jobs.Cancelled):
        first.result()
    again = board.submit("long clip", "session", steps(2))
    assert again is not first and again.wait(5) and again.result() == 2


def test_work_another_session_still_waits_for_goes_on():
    board, gate = JobBoard(), threading.Event()
    shared = board.submit("clip", "a", steps(3, gate))
    board.submit("clip", "b", steps(3, gate))
    board.submit("other", "a", steps(1))  # a leaves, b still waits
    gate.set()
    assert shared.wait(5) and shared.result() == 3 and not shared.cancelled


def test_work_nobody_looked_at_for_a_while_is_cancelled(monkeypatch):
    board, gate = JobBoard(), threading.Event()
    job = board.submit("clip", "a closed tab", steps(3, gate))
    assert eventually(lambda: job.stage == "step 0")
    monkeypatch.setattr(jobs, "STALE_S", 0.0)
    gate.set()
    assert job._done.wait(5) and job.cancelled


def test_an_error_reaches_the_waiter_and_old_results_are_forgotten():
    board = JobBoard(keep=2)

    def broken(progress):
        raise VideoError("clip.avi contains no decodable video frames.")

    failed = board.submit("broken", "s", broken)
    assert failed.wait(5)
    with pytest.raises(VideoError, match="no decodable"):
        failed.result()
    for name in ("one", "two", "three"):
        assert board.submit(name, "s", steps(1)).wait(5)
    board.submit("four", "s", steps(1)).wait(5)
    assert set(board._jobs) == {"two", "three", "four"}  # the latest ``keep`` finished ones, and the new one
    assert set(board._held) == {"s"}
