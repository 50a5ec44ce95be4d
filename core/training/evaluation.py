"""Clip-level scoring of a bundle on a ``<Class>/<clip>`` folder, through the real analysis path:
file by file (``evaluate``), or on decoded, possibly reversed frames through the same window
computation (``evaluate_frames``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.engine.analysis import analyze, window_probabilities
from core.errors import DatasetError, ModelError
from core.models.bundle import ModelBundle
from core.training.dataset import DIRECTIONS, Clip, directed_views, scan


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


@dataclass(frozen=True)
class Judgement:
    """One clip's verdict: its true and predicted label and the confidence of the prediction."""

    clip: str
    true: str
    predicted: str
    confidence: float


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
    _check_labels(clips, classes)

    def judged() -> Iterator[Judgement]:
        for done, clip in enumerate(clips, start=1):
            label, confidence = analyze(clip.path, bundle).top_k(1)[0]
            yield Judgement(clip.path.name, clip.label, label, confidence)
            if progress:
                progress(done, len(clips))

    return _report(classes, judged(), clips)


def evaluate_frames(
    bundle: ModelBundle,
    clips: list[Clip],
    frames_of: Callable[[Path], np.ndarray],
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationReport:
    """Score a bundle on its task from decoded frames, each clip judged by its windows' mean
    probabilities exactly as ``evaluate`` judges a file. ``frames_of`` gives a clip's frames
    sampled and sized for the bundle (e.g. ``FrameCache.frames``, which decodes each clip once
    for many bundles). Task ``direction`` plays every clip forwards and backwards: a reversed
    clip is no file, so this is the only way to score it."""
    classes = list(bundle.spec.classes)
    direction = bundle.spec.task == "direction"
    if direction and classes != list(DIRECTIONS):
        raise ModelError(f"{bundle.name} predicts {classes}, not whether a clip plays forwards or backwards.")
    if not direction:
        _check_labels(clips, classes)

    def judged() -> Iterator[Judgement]:
        for done, clip in enumerate(clips, start=1):
            frames = frames_of(clip.path)
            views, labels = directed_views([frames]) if direction else ([frames], [classes.index(clip.label)])
            for view, label in zip(views, labels, strict=True):
                mean = window_probabilities(view, bundle).mean(axis=0)
                name = clip.path.name + (" (played backwards)" if direction and label else "")
                yield Judgement(name, classes[label], classes[int(mean.argmax())], float(mean.max()))
            if progress:
                progress(done, len(clips))

    return _report(classes, judged(), clips)


def _check_labels(clips: list[Clip], classes: list[str]) -> None:
    unknown = sorted({c.label for c in clips} - set(classes))
    if unknown:
        raise DatasetError(f"Classes {unknown} of these clips are not among the model's classes {classes}.")


def _report(classes: list[str], judgements: Iterable[Judgement], clips: list[Clip]) -> EvaluationReport:
    truth, predicted, mistakes = [], [], []
    for judgement in judgements:
        truth.append(classes.index(judgement.true))
        predicted.append(classes.index(judgement.predicted))
        if judgement.predicted != judgement.true:
            mistakes.append({**asdict(judgement), "confidence": round(judgement.confidence, 4)})
    per_class, confusion = scores(classes, truth, predicted)
    accuracy = float(np.mean(np.array(truth) == np.array(predicted)))
    clip_groups = sorted({c.group for c in clips})
    return EvaluationReport(accuracy, len(truth), classes, per_class, confusion, clip_groups, mistakes)
