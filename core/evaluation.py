"""Clip-level scoring of a bundle on a ``<Class>/<clip>`` folder, through the real analysis path."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.analysis import analyze
from core.bundle import ModelBundle
from core.dataset import Clip, scan
from core.errors import DatasetError


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvaluationReport:
    accuracy: float
    n_clips: int
    classes: list[str]
    per_class: dict[str, ClassScore]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    groups: list[int] | None
    mistakes: list[dict]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["accuracy"] = round(self.accuracy, 4)
        return data


def scores(classes: list[str], truth: list[int], predicted: list[int]) -> tuple[dict, list[list[int]]]:
    """Per-class precision/recall/F1 and the confusion matrix (rows are the true class)."""
    n = len(classes)
    confusion = np.zeros((n, n), dtype=int)
    for t, p in zip(truth, predicted, strict=False):
        confusion[t, p] += 1
    per_class = {}
    for i, name in enumerate(classes):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        recall = tp / confusion[i].sum() if confusion[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = ClassScore(
            round(float(precision), 4), round(float(recall), 4), round(float(f1), 4), int(confusion[i].sum())
        )
    return per_class, confusion.tolist()


def evaluate(
    data_dir: str | Path,
    bundle: ModelBundle,
    groups: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    clips: list[Clip] | None = None,
) -> EvaluationReport:
    """Analyse every clip (or just ``clips``) and compare its overall top label with its class."""
    groups = sorted(set(groups)) if groups is not None else None
    if clips is None:
        _, clips = scan(data_dir, groups)
    classes = list(bundle.spec.classes)
    unknown = sorted({c.label for c in clips} - set(classes))
    if unknown:
        raise DatasetError(f"Classes {unknown} in {data_dir} are not among the model's classes {classes}.")
    truth, predicted, mistakes = [], [], []
    for done, clip in enumerate(clips, start=1):
        label, confidence = analyze(clip.path, bundle).top_k(1)[0]
        truth.append(classes.index(clip.label))
        predicted.append(classes.index(label))
        if label != clip.label:
            mistakes.append(
                {
                    "clip": clip.path.name,
                    "true": clip.label,
                    "predicted": label,
                    "confidence": round(confidence, 4),
                }
            )
        if progress:
            progress(done, len(clips))
    per_class, confusion = scores(classes, truth, predicted)
    accuracy = float(np.mean(np.array(truth) == np.array(predicted)))
    clip_groups = sorted({c.group for c in clips})
    return EvaluationReport(accuracy, len(clips), classes, per_class, confusion, clip_groups, mistakes)
