"""Which known-ness score tells "an action I know" from "something else" best, for a
frozen-backbone bundle: the README's open-set table.

    .venv/bin/python tools/open_set_scores.py BUNDLE DATA_DIR --unknown DIR [--json]

Every score is fitted and thresholded exactly as training calibrates a bundle
(``core.training.calibrate``): reference data from the bundle's training groups, the threshold
where 95% of its validation clips are accepted. Then it is judged on clips it never saw:
the clips in ``--unknown`` (actions the model was not taught, e.g. ../shared/data/samples) and,
for a bundle trained with ``--classes`` on part of DATA_DIR, the validation clips of the
classes it was not given (leave-classes-out). A clip's score is its windows' mean, as in
``analyze``. Reported per score: AUROC of known against unknown, and the share of unknown clips
refused at the threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.engine import knownness  # noqa: E402
from core.models import bundle as bundles  # noqa: E402
from core.models import contract  # noqa: E402
from core.training.calibrate import (  # noqa: E402
    ACCEPTED,
    KNN_K,
    auroc,
    knn_arrays,
    mahalanobis_arrays,
    mix_array,
)
from core.training.dataset import FrameCache, evaluation_windows, label_in_name, scan  # noqa: E402
from core.training.evaluation import video_files  # noqa: E402
from core.training.trainer import feature_cache  # noqa: E402

SCORE_NAMES = ("msp", "energy", "mahalanobis", "knn", "knn_energy")


class Windows:
    """Each clip's windows as analysis cuts them: mean frame features, probabilities, logits."""

    def __init__(self, bundle, cache_dir: str | None):
        encoder, head = contract.split(bundle.model)
        spec = bundle.spec
        self.spec = spec
        self.features = feature_cache(encoder, FrameCache(cache_dir, spec.sampling_fps, spec.frame_size))
        self.head, self.kernel, self.bias = contract.with_logits(head)

    def of(self, path: Path) -> dict:
        frames = self.features.features(path)[0]  # as recorded
        windows = evaluation_windows(frames, self.spec.sequence_length, self.spec.hop_frames)
        probabilities, hidden = (np.asarray(a) for a in self.head(windows, training=False))
        return {"frames": frames, "logits": hidden @ self.kernel + self.bias, "probabilities": probabilities}


def window_scores(item: dict, name: str, reference: dict, spec) -> np.ndarray:
    """Each window's score; a feature score's window is its frames' mean, as in analysis."""
    if name == "msp":
        return knownness.msp_score(item["probabilities"])
    if name == "energy":
        return knownness.energy_score(item["logits"])
    if name == "mahalanobis":
        frames = knownness.mahalanobis_score(item["frames"], reference["means"], reference["precision"])
    else:
        frames = knownness.knn_score(item["frames"], reference["bank"], KNN_K)
    windows = evaluation_windows(frames, spec.sequence_length, spec.hop_frames).mean(axis=1)
    if name == "knn_energy":
        return knownness.mixed_score(windows, knownness.energy_score(item["logits"]), reference["mix"])
    return windows


def clip_scores(items: list[dict], name: str, reference: dict, spec) -> np.ndarray:
    """Each clip's score: its windows' mean, as in ``analyze``."""
    return np.array([float(window_scores(item, name, reference, spec).mean()) for item in items])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle")
    parser.add_argument("data_dir")
    parser.add_argument("--unknown", required=True)
    parser.add_argument("--cache-dir")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    bundle = bundles.load(args.bundle)
    split = bundle.metrics["split"]
    classes = list(bundle.spec.classes)
    windows = Windows(bundle, args.cache_dir)
    _, clips = scan(args.data_dir)
    train = [c for c in clips if c.group in split["train_groups"] and c.label in classes]
    val = [c for c in clips if c.group in split["val_groups"]]
    known = [windows.of(c.path) for c in val if c.label in classes]
    left_out = [windows.of(c.path) for c in val if c.label not in classes]
    unknown = [windows.of(p) for p in video_files(args.unknown) if not label_in_name(p.name, classes)]
    counts = f"{len(known)} validation clips; {len(left_out)} left-out, {len(unknown)} unknown"
    print(f"{len(train)} training, {counts}", file=sys.stderr)

    trained = [windows.of(c.path) for c in train]
    owners = zip(trained, train, strict=True)
    labels = np.concatenate([np.full(len(t["frames"]), classes.index(c.label)) for t, c in owners])
    features = np.concatenate([t["frames"] for t in trained])
    reference = {**knn_arrays(features), **mahalanobis_arrays(features, labels)}
    # knn_energy's standardisation, from the validation windows as training fits it
    parts = [
        np.concatenate([window_scores(item, name, reference, bundle.spec) for item in known])
        for name in ("knn", "energy")
    ]
    reference["mix"] = mix_array(*parts)
    rows = []
    for name in SCORE_NAMES:
        known_scores = clip_scores(known, name, reference, bundle.spec)
        threshold = float(np.quantile(known_scores, 1 - ACCEPTED))
        row = {"score": name, "threshold": round(threshold, 5),
               "known_accepted": round(float((known_scores >= threshold).mean()), 4)}  # fmt: skip
        for label, items in (("samples", unknown), ("left_out", left_out)):
            if items:
                scores = clip_scores(items, name, reference, bundle.spec)
                row[f"{label}_auroc"] = round(auroc(known_scores, scores), 4)
                row[f"{label}_refused"] = round(float((scores < threshold).mean()), 4)
                row[f"{label}_n"] = len(items)
        rows.append(row)
    result = {"bundle": bundle.name, "classes": classes, "val_groups": split["val_groups"], "rows": rows}
    if args.json:
        print(json.dumps(result))
        return
    for row in rows:
        print("  ".join(f"{key} {value}" for key, value in row.items()))


if __name__ == "__main__":
    main()
