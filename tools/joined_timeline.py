"""How well a model's timeline follows a video joined from clips of different actions:

    .venv/bin/python -m tools.joined_timeline ../shared/data/ucf101 --groups 8-10 MODEL [MODEL ...]
        [--clips 24] [--seeds 0 1]

For each seed, ``--clips`` clips of the given UCF101 groups (never one action twice in a row)
are joined into one 320x240, 25 fps video (MJPG AVI) and analysed as the app does (the bundle's
own hop, its segments and their "unknown"). Every 0.2 s step is scored: right when the segment
that covers it names the step's true action. Prints the share of steps right per model and seed,
and the median delay from a change of action to the first step named right after it. The
models should not have trained on the groups (``python -m core train --val-groups 8-10``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from core.engine.analysis import analyze
from core.models import bundle as bundles
from core.training.dataset import scan

STEP_S = 0.2
SIZE = (320, 240)
FPS = 25.0


def _groups(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def joined_video(data_dir: str, groups: list[int], count: int, seed: int, folder: Path):
    """The joined file and each clip's (start_s, end_s, action)."""
    classes, clips = scan(data_dir, groups)
    rng = np.random.default_rng(seed)
    order, last = [], None
    while len(order) < count:
        clip = clips[int(rng.integers(len(clips)))]
        if clip.label != last and clip not in order:
            order.append(clip)
            last = clip.label
    path = folder / f"joined-{seed}.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    truth, frames = [], 0
    for clip in order:
        capture = cv2.VideoCapture(str(clip.path))
        start = frames
        ok, frame = capture.read()
        while ok:
            writer.write(cv2.resize(frame, SIZE))
            frames += 1
            ok, frame = capture.read()
        capture.release()
        truth.append((start / FPS, frames / FPS, clip.label))
    writer.release()
    return path, truth


def score(timeline, truth, smoothing: int = 3, min_windows: int = 2) -> tuple[float, float]:
    """(share of steps right, median delay in seconds after a change)."""
    segments = timeline.segments(smoothing, min_windows)
    steps = np.arange(0, truth[-1][1], STEP_S) + STEP_S / 2
    steps = steps[steps < truth[-1][1]]
    said = [next((s.label for s in segments if s.start_s <= t < s.end_s), segments[-1].label) for t in steps]
    meant = [next(label for start, end, label in truth if start <= t < end) for t in steps]
    right = np.array([a == b for a, b in zip(said, meant, strict=True)])
    delays = []
    for start, end, _ in truth[1:]:
        inside = [(t, ok) for t, ok in zip(steps, right, strict=True) if start <= t < end]
        first = next((t for t, ok in inside if ok), None)
        delays.append(np.inf if first is None else first - start)
    return float(right.mean()), float(np.median(delays))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--groups", type=_groups, default=_groups("8-10"))
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    models = [bundles.load(ref) for ref in args.models]
    with tempfile.TemporaryDirectory(prefix="arl-joined-") as folder:
        for seed in args.seeds:
            path, truth = joined_video(args.data_dir, args.groups, args.clips, seed, Path(folder))
            for model in models:
                timeline = analyze(path, model)
                for smoothing, least in ((3, 2), (1, 1), (1, 2)):
                    right, delay = score(timeline, truth, smoothing, least)
                    said = f"{right:.1%} of {STEP_S} s steps right, median delay {delay:.1f} s"
                    print(f"seed {seed}, {model.name}, smoothing {smoothing}, min {least}: {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
