"""Accuracy against speed for ``effnet_lstm``: train its head at several frame sizes and rates.

    .venv/bin/python tools/effnet_tradeoff.py DATA_DIR [--out FOLDER] [--cache-dir DIR] [--timing-only]

For each (frame size, sampling fps) it trains a bundle through ``core.training.trainer.train`` (the
same code as ``python -m core train``; features are cached, so a later run at the chosen
setting starts warm), and times the frozen backbone on a batch of frames: the analysis cost of
one minute of video is about ``fps * 60 * ms_per_frame`` plus decoding. Prints one JSON line
per setting; the numbers went into the effnet-lstm bundle's model card. ``--timing-only`` skips
training, to time the backbone again while nothing else runs (timings under load are noise).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.training.trainer import TrainingConfig, train  # noqa: E402

# (image size, sampling fps, frames per window, hop in frames): windows of about 3.3 s every 0.5 s.
SETTINGS = ((160, 6.0, 20, 3), (128, 6.0, 20, 3), (160, 4.0, 13, 2), (224, 6.0, 20, 3))


def backbone_ms_per_frame(size: int, batch: int = 64, repeats: int = 3) -> float:
    import tensorflow as tf

    from core.models.efficientnet_lite import efficientnet_lite0

    model = efficientnet_lite0((size, size, 3))
    run = tf.function(lambda x: model(x, training=False), autograph=False)
    frames = np.random.default_rng(0).random((batch, size, size, 3), dtype=np.float32)
    run(frames)
    started = time.perf_counter()
    for _ in range(repeats):
        run(frames)
    return (time.perf_counter() - started) / (batch * repeats) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--out", default="/tmp/effnet-tradeoff")
    parser.add_argument("--cache-dir")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--windows-per-clip", type=int, default=8)
    parser.add_argument("--timing-only", action="store_true")
    args = parser.parse_args()
    for size, fps, length, hop in SETTINGS:
        if args.timing_only:
            ms = round(backbone_ms_per_frame(size, repeats=5), 2)
            print(json.dumps({"image_size": size, "sampling_fps": fps, "backbone_ms_per_frame": ms}))
            continue
        config = TrainingConfig(
            architecture="effnet_lstm",
            image_size=size,
            sampling_fps=fps,
            sequence_length=length,
            hop_frames=hop,
            epochs=args.epochs,
            patience=10,
            windows_per_clip=args.windows_per_clip,
        )
        out = Path(args.out) / f"effnet-{size}px-{fps:g}fps"
        started = time.perf_counter()
        result = train(args.data_dir, config, out, "tools/effnet_tradeoff.py", args.cache_dir)
        ms = backbone_ms_per_frame(size)
        record = {
            "bundle": out.name,
            "image_size": size,
            "sampling_fps": fps,
            "sequence_length": length,
            "val_clip_accuracy": round(result.accuracy, 4),
            "best_epoch": result.best_epoch,
            "train_s": round(time.perf_counter() - started, 1),
            "backbone_ms_per_frame": round(ms, 2),
            "backbone_s_per_video_minute": round(ms * fps * 60 / 1000, 2),
        }
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
