"""What the LSTM head adds over averaging per-frame predictions, on the same backbone features.

    .venv/bin/python tools/compare_heads.py BUNDLE DATA_DIR [--cache-dir DIR] [--tradeoff FILE [--note TEXT]]
        [--write]

A single frame already shows most of these actions (a piano, a surfboard), so the honest
baseline for a sequence head is no sequence model at all: a linear softmax classifier fitted on
single frames' features (the training groups' frames, as they are and mirrored: the cached
features the head was trained on), its probabilities averaged over the same windows the head
sees. Both are scored on the validation groups (windows, and clips by averaging their windows
as analysis does) and on the joined Archery-then-Surfing video that ``tests/conftest.py``
builds, whose windows have a known true label on each side of the cut.

``--write`` adds the figures to the bundle's ``metrics.json`` (``head_vs_frame_average``) and a
section to its ``README.md``; ``--tradeoff`` (JSON lines from ``tools/effnet_tradeoff.py``)
adds the input size/rate table to that section.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.engine.analysis import analyze  # noqa: E402
from core.engine.timeline import Timeline  # noqa: E402
from core.engine.windows import cut_windows, window_indices, window_starts  # noqa: E402
from core.models import bundle as bundles  # noqa: E402
from core.models import contract  # noqa: E402
from core.training.dataset import FrameCache, scan, split_by_group  # noqa: E402
from core.training.trainer import feature_cache  # noqa: E402
from tests.support import ARCHERY, SURFING, real_frames, write_video  # noqa: E402

SECTION = "## What the LSTM head adds"


def fit_frame_classifier(features: np.ndarray, labels: np.ndarray, classes: int, seed: int = 1337):
    """A linear softmax classifier on single frames' features (a logistic regression)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((features.shape[1],)),
            keras.layers.Dense(classes, activation="softmax", kernel_regularizer=keras.regularizers.l2(1e-4)),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(features, labels, epochs=20, batch_size=256, shuffle=True, verbose=0)
    return model


def frame_average(frame_probabilities: np.ndarray, starts: list[int], length: int) -> np.ndarray:
    """Per-frame probabilities averaged over each window (the windows analysis cuts)."""
    n = len(frame_probabilities)
    return np.stack([frame_probabilities[window_indices(s, length, n)].mean(axis=0) for s in starts])


def score_validation(bundle, head, linear, features: list[np.ndarray], labels: np.ndarray) -> dict:
    spec = bundle.spec
    results = {}
    for name in ("lstm_head", "frame_average"):
        window_hits, clip_hits, windows = 0, 0, 0
        for clip_features, label in zip(features, labels, strict=True):
            starts = window_starts(len(clip_features), spec.sequence_length, spec.hop_frames)
            if name == "lstm_head":
                probabilities = np.asarray(head(cut_windows(clip_features, starts, spec.sequence_length)))
            else:
                per_frame = np.asarray(linear(clip_features))
                probabilities = frame_average(per_frame, starts, spec.sequence_length)
            window_hits += int((probabilities.argmax(axis=1) == label).sum())
            windows += len(starts)
            clip_hits += int(probabilities.mean(axis=0).argmax() == label)
        results[name] = {
            "clip_accuracy": round(clip_hits / len(labels), 4),
            "window_accuracy": round(window_hits / windows, 4),
        }
    results["clips"], results["windows"] = len(labels), windows
    return results


def score_joined_video(bundle, encoder_cache: FrameCache, encode, linear) -> dict:
    """Archery then Surfing in one file: windows labelled by the clip that fills most of them."""
    spec = bundle.spec
    classes = list(spec.classes)
    with tempfile.TemporaryDirectory() as folder:
        archery, surfing = real_frames(ARCHERY), real_frames(SURFING)
        path = write_video(Path(folder) / "joined.avi", archery + surfing, fps=25.0, fourcc="MJPG")
        timeline = analyze(path, bundle)
        from core.media.video import read_frames

        frames = read_frames(path, spec.sampling_fps, encoder_cache.size)
    cut_s = len(archery) / 25.0
    starts = [int(round(s * spec.sampling_fps)) for s in timeline.starts_s]
    averaged = frame_average(np.asarray(linear(encode(frames))), starts, spec.sequence_length)
    middle = (timeline.starts_s + timeline.ends_s) / 2
    truth = np.where(middle < cut_s, classes.index("Archery"), classes.index("Surfing"))
    results = {"video_s": round(timeline.duration_s, 2), "cut_s": round(cut_s, 2), "windows": len(starts)}
    for name, probabilities in (("lstm_head", timeline.probabilities), ("frame_average", averaged)):
        timed = dataclasses.replace(timeline, probabilities=probabilities)
        segments = [(s.label, round(s.start_s, 1), round(s.end_s, 1)) for s in Timeline.segments(timed)]
        results[name] = {
            "window_accuracy": round(float((probabilities.argmax(axis=1) == truth).mean()), 4),
            "segments": segments,
        }
    return results


def read_tradeoff(path: Path) -> list[dict]:
    """Training records of ``tools/effnet_tradeoff.py``, their backbone timings replaced by those of
    a later ``--timing-only`` run in the same file, each with its best validation loss and its last
    epoch's clip accuracy (the best epoch is chosen on validation, the last one is not)."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    timings = {(r["image_size"], r["sampling_fps"]): r for r in records if "val_clip_accuracy" not in r}
    rows = []
    for record in (r for r in records if "val_clip_accuracy" in r):
        key = (record["image_size"], record["sampling_fps"])
        row = {**record, **timings.get(key, {})}
        history = json.loads((path.parent / record["bundle"] / "metrics.json").read_text())["history"]
        row["best_val_loss"] = min(h["val_loss"] for h in history)
        row["last_val_clip_accuracy"] = history[-1]["val_clip_accuracy"]
        rows.append(row)
    return rows


def selection_note(history: list[dict]) -> str:
    """The head's early stopping picked its epoch on the validation groups; the baseline had no
    such choice, so say how the head did in the epochs it did not keep."""
    best = max(history, key=lambda r: r["val_clip_accuracy"])
    others = [r["val_clip_accuracy"] for r in history if r is not best]
    if not others:
        return ""
    return (
        f"Caution: the LSTM head is its best epoch ({best['epoch']} of {len(history)}), chosen on these "
        f"same validation groups; in its other epochs its validation clip accuracy was "
        f"{min(others):.4f}-{max(others):.4f}. The linear baseline was fitted once (20 epochs), with no "
        "choice made on validation."
    )


def _segments(segments: list) -> str:
    return ", ".join(f"{label} {start:.1f}-{end:.1f} s" for label, start, end in segments)


def markdown(figures: dict, tradeoff: list[dict], note: str = "") -> str:
    val, joined = figures["validation"], figures["joined_video"]
    lines = [
        SECTION,
        "",
        "Written by `tools/compare_heads.py`. Baseline: no sequence model, a linear softmax classifier",
        "on single frames' backbone features (same cached training features), its per-frame",
        "probabilities averaged over the same windows. Validation: groups g08-g11.",
        "",
        "| | LSTM head | frame average (linear) |",
        "|---|---|---|",
        f"| validation clip accuracy ({val['clips']} clips) | {val['lstm_head']['clip_accuracy']:.4f} "
        f"| {val['frame_average']['clip_accuracy']:.4f} |",
        f"| validation window accuracy ({val['windows']} windows) | "
        f"{val['lstm_head']['window_accuracy']:.4f} | {val['frame_average']['window_accuracy']:.4f} |",
        f"| joined Archery-then-Surfing video, window accuracy ({joined['windows']} windows, cut at "
        f"{joined['cut_s']} s) | {joined['lstm_head']['window_accuracy']:.4f} | "
        f"{joined['frame_average']['window_accuracy']:.4f} |",
        "",
        f"Segments on the joined video: LSTM head {_segments(joined['lstm_head']['segments'])}; "
        f"frame average {_segments(joined['frame_average']['segments'])}.",
        "",
        figures["selection_note"],
    ]
    if tradeoff:
        lines += [
            "",
            "## Choosing the input size and frame rate",
            "",
            "Heads trained the same way at each setting (`tools/effnet_tradeoff.py`, 3.3 s windows",
            "every 0.5 s; training time includes computing every clip's features, with the 2 CPUs",
            "shared with other work). Backbone time per frame measured separately on batches of 64 frames",
            "while the machine was otherwise nearly idle; per video minute = fps x 60 x that.",
            "",
            "| frames | fps | val clip accuracy, best epoch | last epoch | best val loss | backbone ms/frame "
            "| backbone s per video minute | training s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in tradeoff:
            per_minute = row["backbone_ms_per_frame"] * row["sampling_fps"] * 60 / 1000
            lines.append(
                f"| {row['image_size']}x{row['image_size']} | {row['sampling_fps']:g} | "
                f"{row['val_clip_accuracy']:.4f} | {row['last_val_clip_accuracy']:.4f} | "
                f"{row['best_val_loss']:.3f} | {row['backbone_ms_per_frame']} | {per_minute:.2f} | "
                f"{row['train_s']:.0f} |"
            )
        if note:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("data_dir")
    parser.add_argument("--cache-dir")
    parser.add_argument("--tradeoff", help="JSON lines from tools/effnet_tradeoff.py")
    parser.add_argument("--note", default="", help="why this setting was chosen, under the table")
    parser.add_argument("--write", action="store_true", help="add the figures to the bundle")
    args = parser.parse_args()

    bundle = bundles.load(args.bundle)
    spec = bundle.spec
    parts = contract.split(bundle.model)
    if parts is None:
        raise SystemExit(f"{args.bundle}: not a frame encoder + sequence head model")
    encoder, head = parts
    classes, clips = scan(args.data_dir)
    split = split_by_group(clips, bundle.metrics.get("split", {}).get("val_groups", (8, 9, 10, 11)))
    frames = FrameCache(args.cache_dir, spec.sampling_fps, (spec.image_size[1], spec.image_size[0]))
    cache = feature_cache(encoder, frames)
    train_features = [cache.features(c.path) for c in split.train]
    train_x = np.concatenate([f.reshape(-1, f.shape[-1]) for f in train_features])
    train_y = np.concatenate([np.full(f.shape[0] * f.shape[1], classes.index(c.label)) for f, c in
                              zip(train_features, split.train, strict=True)])  # fmt: skip
    linear = fit_frame_classifier(train_x, train_y, len(classes))
    val_features = [cache.features(c.path)[0] for c in split.val]
    val_labels = np.array([classes.index(c.label) for c in split.val])
    figures = {
        "baseline": "linear softmax on single-frame features, probabilities averaged per window",
        "validation": score_validation(bundle, head, linear, val_features, val_labels),
        "joined_video": score_joined_video(bundle, frames, cache.encode, linear),
        "selection_note": selection_note(bundle.metrics.get("history", [])),
    }
    print(json.dumps(figures))
    if args.write:
        tradeoff = read_tradeoff(Path(args.tradeoff)) if args.tradeoff else []
        folder = Path(args.bundle)
        metrics = {**bundle.metrics, "head_vs_frame_average": figures}
        if tradeoff:
            metrics["input_tradeoff"] = tradeoff
        kept = bundle.card.split(f"\n{SECTION}")[0].rstrip("\n")
        card = kept + "\n\n" + markdown(figures, tradeoff, args.note)
        bundles.write_documents(folder, metrics, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
