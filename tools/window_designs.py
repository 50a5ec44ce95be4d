"""How to cut MoViNet-A0's stream into windows so that a timeline follows a change of action.

    PYTHONPATH=. .venv/bin/python -m tools.window_designs /work/shared/data [--seeds 0 1] [--cache DIR]

The stream network (``core.models.movinet``) keeps two kinds of memory: cumulative pools (a
running sum and count) and the causal convolutions' stream buffers. Left alone, its logits
describe everything since the start, so a timeline cannot follow a change of action. Each
design below cuts the stream differently (W in frames at 5 fps, one frame = one 0.2 s step):

    a8, a16  zero all states every W frames, no overlap; a window's features are the logits
             after its last frame.
    b        a8's windows, but the classifier reads the mean of the last 2 windows' logits
             (context 3.2 s, hop 1.6 s).
    c        two streams, each zeroed every 16 frames, offset by 8: a 16-frame window every
             8 frames (2 network steps per frame).
    d        one stream; only the pool states are zeroed every 16 frames, stream buffers kept.
    e        one stream, never zeroed; a prediction after every frame.

For each design a multinomial logistic regression (numpy, on standardised logits) is trained on
the windows that design computes over each training clip run on its own from zero states
(groups 12-25, at most ``--per-group`` clips per group and class). Then a "joined video" is made
of 24 clips of groups 08-11 played back to back (never the same class twice in a row), the
design runs over it as one stream, and each 0.2 s step is labelled by two rules:

    live   the prediction of the most recent window that has ended at or before the step (what a
           camera can show); before the first window ends, nothing (those steps are not scored).
    batch  the prediction of the window covering the step whose centre is nearest it (ties to the
           later one; what an analysed file can show); for e, the step's own logits (= live).

Reported per design: the share of steps named right (from step 15 on, where every design has
ended a window), the median delay from a change of true action to the first step of the new
clip that names the new action (a change never named counts as infinitely late; the median is
taken over the changes of all joined videos together), the share of "settled" steps named right
(at least 3.2 s after the latest change: what a long take would see), and the network steps per
frame. Stream outputs are cached per clip under ``--cache``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.media.video import read_frames  # noqa: E402
from core.models import movinet  # noqa: E402
from core.models.contract import to_unit  # noqa: E402
from core.training.dataset import Clip, scan  # noqa: E402

FPS = movinet.FPS
STEP_S = 1.0 / FPS
TRAIN_GROUPS = range(12, 26)
JOIN_GROUPS = range(8, 12)
JOINED_CLIPS = 24
SCORE_FROM = 15  # first step at which every design has ended a window (16-frame windows)
SETTLED = 16  # steps (3.2 s) after a change from which a step counts as "settled"
POOL_MARKS = ("pool_buffer", "pool_frame_count")


@dataclass(frozen=True)
class StreamSpec:
    """One pass of the network over a frame sequence: all states zeroed at frame 0 and then every
    ``period`` frames from ``phase`` on (never when ``period`` is 0); ``pools_only`` zeroes only
    the cumulative pools at those resets and keeps the stream buffers."""

    period: int = 0
    phase: int = 0
    pools_only: bool = False

    def resets_at(self, t: int) -> bool:
        return self.period > 0 and t > 0 and t >= self.phase and (t - self.phase) % self.period == 0

    @property
    def key(self) -> str:
        return f"p{self.period}o{self.phase}{'pools' if self.pools_only else 'all'}"


STREAMS = {
    "reset8": StreamSpec(8),
    "reset16": StreamSpec(16),
    "reset16_offset8": StreamSpec(16, 8),
    "pools16": StreamSpec(16, pools_only=True),
    "never": StreamSpec(0),
}


@dataclass(frozen=True)
class Window:
    start: int  # first frame it describes
    end: int  # last frame it describes: its prediction exists once this frame is in
    feature: np.ndarray


def _regular(logits: np.ndarray, width: int, phase: int = 0) -> list[Window]:
    """Windows of ``width`` frames ending at phase + width - 1 + k * width: the logits after each
    window's last frame, of a stream zeroed (in all or its pools) at each window's first frame."""
    ends = range(phase + width - 1, len(logits), width)
    return [Window(end - width + 1, end, logits[end]) for end in ends]


def _or_whole(windows: list[Window], logits: np.ndarray) -> list[Window]:
    """A sequence shorter than one window is one window: the logits after its last frame."""
    return windows or [Window(0, len(logits) - 1, logits[-1])]


def design_a(width: int) -> Callable[[dict[str, np.ndarray]], list[Window]]:
    return lambda streams: _or_whole(_regular(streams[f"reset{width}"], width), streams[f"reset{width}"])


def design_b(streams: dict[str, np.ndarray]) -> list[Window]:
    units = design_a(8)(streams)
    windows = [units[0]]
    for before, last in zip(units, units[1:], strict=False):
        windows.append(Window(before.start, last.end, (before.feature + last.feature) / 2))
    return windows


def design_c(streams: dict[str, np.ndarray]) -> list[Window]:
    windows = _regular(streams["reset16"], 16) + _regular(streams["reset16_offset8"], 16, phase=8)
    return _or_whole(sorted(windows, key=lambda w: w.end), streams["reset16"])


def design_d(streams: dict[str, np.ndarray]) -> list[Window]:
    return _or_whole(_regular(streams["pools16"], 16), streams["pools16"])


def design_e(streams: dict[str, np.ndarray]) -> list[Window]:
    # Its logits after frame t describe frames 0..t; the span (t, t) makes the batch rule use them.
    return [Window(t, t, feature) for t, feature in enumerate(streams["never"])]


@dataclass(frozen=True)
class Design:
    name: str
    what: str
    streams: tuple[str, ...]  # the stream passes it needs (its cost: one network step per frame each)
    windows: Callable[[dict[str, np.ndarray]], list[Window]]


DESIGNS = (
    Design("a8", "zero all states every 8 frames (1.6 s), no overlap", ("reset8",), design_a(8)),
    Design("a16", "zero all states every 16 frames (3.2 s), no overlap", ("reset16",), design_a(16)),
    Design(
        "b",
        "a8, classifier reads the mean of the last 2 windows (3.2 s context, 1.6 s hop)",
        ("reset8",),
        design_b,
    ),
    Design(
        "c",
        "2 streams zeroed every 16 frames, offset 8 (16-frame window every 8 frames)",
        ("reset16", "reset16_offset8"),
        design_c,
    ),
    Design(
        "d", "zero only the pools every 16 frames, stream buffers kept, one stream", ("pools16",), design_d
    ),
    Design("e", "never zero: one stream over the whole video, a prediction per frame", ("never",), design_e),
)


def run_stream(frames: np.ndarray, spec: StreamSpec) -> np.ndarray:
    """uint8 square frames (N, 172, 172, 3) -> the logits after each frame, (N, 600)."""
    net = movinet.network()
    states = net.zero_states()
    logits = np.empty((len(frames), movinet.CLASSES), np.float32)
    for t, frame in enumerate(frames):
        if spec.resets_at(t):
            zeros = net.zero_states()
            if spec.pools_only:
                states = {**states, **{k: v for k, v in zeros.items() if any(m in k for m in POOL_MARKS)}}
            else:
                states = zeros
        logits[t], states = net.step(to_unit(frame), states)
    return logits


def square_frames(path: Path) -> np.ndarray:
    frames = read_frames(path, FPS, (movinet.DECODE_SIZE[1], movinet.DECODE_SIZE[0]))
    return np.stack([movinet.centre_square(frame) for frame in frames])


class StreamCache:
    """Stream outputs per frame sequence, kept as .npz under ``root`` (keyed by the network's hash)."""

    def __init__(self, root: Path | None):
        self.root = root / movinet.NETWORK_SHA256[:12] if root else None
        self.network_steps = 0
        self.network_seconds = 0.0

    def streams(
        self, key: str, frames: Callable[[], np.ndarray], names: Sequence[str]
    ) -> dict[str, np.ndarray]:
        path = self.root / f"{key}.npz" if self.root else None
        found: dict[str, np.ndarray] = {}
        if path and path.is_file():
            with np.load(path) as stored:
                found = {name: stored[STREAMS[name].key] for name in names if STREAMS[name].key in stored}
        missing = [name for name in names if name not in found]
        if missing:
            sequence = frames()
            for name in missing:
                started = time.perf_counter()
                found[name] = run_stream(sequence, STREAMS[name])
                self.network_seconds += time.perf_counter() - started
                self.network_steps += len(sequence)
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                stored = dict(np.load(path)) if path.is_file() else {}
                stored.update({STREAMS[name].key: found[name] for name in names})
                np.savez(path, **stored)
        return found


def training_clips(clips: list[Clip], per_group: int) -> list[Clip]:
    """The first ``per_group`` clips (by name) of each (class, group) of the training groups."""
    chosen, taken = [], {}
    for clip in sorted(clips, key=lambda c: (c.label, c.group, c.path.name)):
        key = (clip.label, clip.group)
        if clip.group in TRAIN_GROUPS and taken.get(key, 0) < per_group:
            taken[key] = taken.get(key, 0) + 1
            chosen.append(clip)
    return chosen


def joined_playlist(clips: list[Clip], seed: int, count: int = JOINED_CLIPS) -> list[Clip]:
    """``count`` clips of the joining groups, drawn with ``seed``, never two of one class in a row."""
    rng = np.random.default_rng(seed)
    pool = {}
    for clip in sorted(clips, key=lambda c: c.path.name):
        if clip.group in JOIN_GROUPS:
            pool.setdefault(clip.label, []).append(clip)
    playlist: list[Clip] = []
    for _ in range(count):
        previous = playlist[-1].label if playlist else None
        labels = sorted(label for label, left in pool.items() if left and label != previous)
        label = labels[rng.integers(len(labels))]
        playlist.append(pool[label].pop(int(rng.integers(len(pool[label])))))
    return playlist


class SoftmaxRegression:
    """Multinomial logistic regression on standardised features, full-batch Adam on the mean
    cross-entropy plus ``l2 / 2 * |W|^2``."""

    def __init__(self, l2: float = 1e-3, steps: int = 400, rate: float = 0.02):
        self.l2, self.steps, self.rate = l2, steps, rate

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int) -> SoftmaxRegression:
        self.mean, self.scale = x.mean(0), x.std(0) + 1e-6
        z = (x - self.mean) / self.scale
        onehot = np.eye(n_classes)[y]
        params = [np.zeros((z.shape[1], n_classes)), np.zeros(n_classes)]
        moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
        for step in range(1, self.steps + 1):
            error = (self._softmax(z @ params[0] + params[1]) - onehot) / len(z)
            grads = [z.T @ error + self.l2 * params[0], error.sum(0)]
            for param, grad, (m, v) in zip(params, grads, moments, strict=True):
                m[:] = 0.9 * m + 0.1 * grad
                v[:] = 0.999 * v + 0.001 * grad**2
                param -= self.rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
        self.weights, self.bias = params
        return self

    @staticmethod
    def _softmax(scores: np.ndarray) -> np.ndarray:
        scores = scores - scores.max(1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale @ self.weights + self.bias).argmax(1)


def step_labels(windows: list[Window], predictions: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-step labels (-1: none yet) under the live and the batch rule (module docstring)."""
    live = np.full(n, -1)
    for window, prediction in sorted(zip(windows, predictions, strict=True), key=lambda p: p[0].end):
        live[window.end :] = prediction
    batch, distance = live.copy(), np.full(n, np.inf)
    for window, prediction in zip(windows, predictions, strict=True):
        steps = np.arange(window.start, window.end + 1)
        gap = np.abs(steps - (window.start + window.end) / 2)
        better = gap <= distance[steps]  # ties go to the later window (they come later in the list)
        batch[steps[better]], distance[steps[better]] = prediction, gap[better]
    return live, batch


def change_delays(labels: np.ndarray, truth: np.ndarray, starts: list[int]) -> list[float]:
    """Seconds from each change of true action to the first step of the new clip naming it (inf: never)."""
    delays = []
    for start, stop in zip(starts[1:], [*starts[2:], len(truth)], strict=True):
        hits = np.flatnonzero(labels[start:stop] == truth[start])
        delays.append(hits[0] * STEP_S if len(hits) else np.inf)
    return delays


def summarise(labels: np.ndarray, truth: np.ndarray, starts: list[int]) -> dict:
    delays = change_delays(labels, truth, starts)
    since_change = (
        np.arange(len(truth)) - np.array(starts)[np.searchsorted(starts, np.arange(len(truth)), "right") - 1]
    )
    settled = (since_change >= SETTLED) & (np.arange(len(truth)) >= SCORE_FROM)
    return {
        "right": float(np.mean(labels[SCORE_FROM:] == truth[SCORE_FROM:])),
        "right_settled": float(np.mean(labels[settled] == truth[settled])),
        "median_delay_s": float(np.median(delays)),
        "caught": int(np.isfinite(delays).sum()),
        "changes": len(delays),
        "delays": delays,
    }


def evaluate(data_dir: Path, seeds: Sequence[int], per_group: int, cache: StreamCache, l2: float) -> dict:
    root = data_dir / "ucf101" if (data_dir / "ucf101").exists() else data_dir
    classes, clips = scan(root)
    needed = sorted({name for design in DESIGNS for name in design.streams})
    started = time.perf_counter()
    train = training_clips(clips, per_group)
    train_streams = []
    for number, clip in enumerate(train, 1):
        train_streams.append(cache.streams(clip.path.stem, lambda c=clip: square_frames(c.path), needed))
        if number % 50 == 0:
            print(
                f"  training clips: {number}/{len(train)} ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
    models = {}
    for design in DESIGNS:
        windows = [design.windows(streams) for streams in train_streams]
        x = np.stack([w.feature for clip_windows in windows for w in clip_windows])
        y = np.array([classes.index(clip.label) for clip, ws in zip(train, windows, strict=True) for _ in ws])
        models[design.name] = (SoftmaxRegression(l2=l2).fit(x, y, len(classes)), len(x))

    videos = []
    for seed in seeds:
        playlist = joined_playlist(clips, seed)
        pieces = [square_frames(clip.path) for clip in playlist]
        frames = np.concatenate(pieces)
        truth = np.concatenate(
            [np.full(len(p), classes.index(c.label)) for p, c in zip(pieces, playlist, strict=True)]
        )
        starts = list(np.cumsum([0] + [len(p) for p in pieces[:-1]]))
        names = "|".join(clip.path.name for clip in playlist)
        key = f"joined_seed{seed}_{hashlib.sha256(names.encode()).hexdigest()[:10]}"
        steps_before = cache.network_steps
        streams = cache.streams(key, lambda f=frames: f, needed)
        timed_steps = cache.network_steps - steps_before
        video = {"seed": seed, "clips": [c.path.name for c in playlist], "frames": len(frames), "designs": {}}
        for design in DESIGNS:
            windows = design.windows(streams)
            predictions = models[design.name][0].predict(np.stack([w.feature for w in windows]))
            live, batch = step_labels(windows, predictions, len(frames))
            video["designs"][design.name] = {
                "live": summarise(live, truth, starts),
                "batch": summarise(batch, truth, starts),
                "windows": len(windows),
            }
        video["network_steps_run"] = timed_steps
        videos.append(video)
    return {
        "classes": classes,
        "training_clips": len(train),
        "training_windows": {name: n for name, (_, n) in models.items()},
        "videos": videos,
        "network_ms_per_step": 1000 * cache.network_seconds / max(cache.network_steps, 1),
        "wall_s": time.perf_counter() - started,
    }


def table(result: dict) -> str:
    seeds = [v["seed"] for v in result["videos"]]
    head = (
        ["design", "what"]
        + [f"right, live (seed {s})" for s in seeds]
        + [
            "right, live (mean)",
            "right, batch (mean)",
            "right, live, settled (mean)",
            "median delay, live",
            "median delay, batch",
            "changes named, live",
            "network steps / frame",
        ]
    )
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for design in DESIGNS:
        per = [v["designs"][design.name] for v in result["videos"]]
        delays = {rule: [d for p in per for d in p[rule]["delays"]] for rule in ("live", "batch")}
        caught = sum(p["live"]["caught"] for p in per)
        changes = sum(p["live"]["changes"] for p in per)
        cells = (
            [design.name, design.what]
            + [f"{p['live']['right']:.1%}" for p in per]
            + [
                f"{np.mean([p['live']['right'] for p in per]):.1%}",
                f"{np.mean([p['batch']['right'] for p in per]):.1%}",
                f"{np.mean([p['live']['right_settled'] for p in per]):.1%}",
            ]
            + [_seconds(np.median(delays[rule])) for rule in ("live", "batch")]
            + [f"{caught}/{changes}", str(len(design.streams))]
        )
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _seconds(value: float) -> str:
    return "never" if not np.isfinite(value) else f"{value:.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data_dir", type=Path, help="folder holding ucf101/<Class>/ (or the ucf101 folder itself)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one joined video per seed")
    parser.add_argument("--per-group", type=int, default=2, help="training clips per (class, group)")
    parser.add_argument("--l2", type=float, default=1e-3, help="the classifier's weight penalty")
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/window-designs"), help="stream outputs cache"
    )
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--json", type=Path, help="write every number (delays per change included) here")
    args = parser.parse_args(argv)
    cache = StreamCache(None if args.no_cache else args.cache)
    result = evaluate(args.data_dir, args.seeds, args.per_group, cache, args.l2)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    print(table(result))
    ms = result["network_ms_per_step"]
    speed = f"{ms:.2f} ms per network step" if ms else "every stream output came from the cache"
    print(
        f"\n{result['training_clips']} training clips; windows per design: {result['training_windows']}; "
        f"joined videos: {[v['frames'] for v in result['videos']]} frames; "
        f"{speed}; {result['wall_s']:.0f} s in all."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
