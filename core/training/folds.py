"""The plan of a cross-validation by group and the results of its folds: which groups each fold
tests, holds back and trains on, and the figures one fold's judgements make. No training here:
``core.training.crossval_worker`` runs a fold, ``core.training.crossval`` gathers them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.training.dataset import Clip
from core.training.evaluation import LOOKALIKES
from core.training.trainer import TrainingConfig

# the look-alike classes of ``evaluation.LOOKALIKES``, under the names a summary reports them by
LOOK_ALIKES = {"cricket_pair": LOOKALIKES["cricket"], "strings": LOOKALIKES["string instruments"]}


@dataclass(frozen=True)
class CrossValConfig:
    """How to cross-validate ``training`` (its ``val_groups`` are ignored: the folds decide)."""

    training: TrainingConfig
    folds: int = 6
    inner_groups: int = 3  # of each fold's training groups: where epoch and thresholds are chosen
    leave_out: int = 2  # classes left out of a second head per fold; 0: no leave-classes-out check
    workers: int = 0  # processes; 0: one per core, at most one per fold
    unknown_dir: str = ""  # clips of actions none of the classes is (their names are checked)


@dataclass(frozen=True)
class Fold:
    index: int
    test_groups: tuple[int, ...]
    inner_groups: tuple[int, ...]  # held back inside the fold's training groups
    train_groups: tuple[int, ...]  # the rest: what the fold's model learns from


def make_folds(groups: list[int], folds: int, inner_groups: int) -> list[Fold]:
    """``folds`` folds of consecutive groups (as even as can be), each with ``inner_groups`` of
    its training groups, spread through them, held back for its own choices."""
    groups = sorted(set(groups))
    if folds < 2:
        raise DatasetError(f"Cross-validation needs at least 2 folds (--folds {folds}).")
    if len(groups) < 2:
        raise DatasetError(
            f"Cross-validation by group needs clips of at least 2 groups; these clips have {len(groups)}."
        )
    if folds > len(groups):
        raise DatasetError(f"--folds {folds} asks for more folds than the {len(groups)} groups in the data.")
    made = []
    for index, test in enumerate(np.array_split(np.array(groups), folds)):
        rest = [g for g in groups if g not in set(test.tolist())]
        if not 1 <= inner_groups < len(rest):
            raise DatasetError(
                f"Each fold trains on {len(rest)} groups: --inner-groups must be between 1 and "
                f"{len(rest) - 1} (it is {inner_groups})."
            )
        inner = [rest[int((j + 0.5) * len(rest) / inner_groups)] for j in range(inner_groups)]
        train = [g for g in rest if g not in inner]
        made.append(Fold(index, tuple(int(g) for g in test), tuple(inner), tuple(train)))
    return made


def check_folds(clips: list[Clip], classes: list[str], folds: list[Fold]) -> None:
    """Every class must have clips in each part of every fold, or its figures mean nothing."""
    for fold in folds:
        for part in ("test_groups", "inner_groups", "train_groups"):
            groups = set(getattr(fold, part))
            present = {c.label for c in clips if c.group in groups}
            missing = [c for c in classes if c not in present]
            if missing:
                where = (
                    part.replace("_groups", "")
                    .replace("test", "test groups")
                    .replace("inner", "inner groups")
                )
                raise DatasetError(
                    f"Fold {fold.index + 1} has no clips of {', '.join(missing)} in its {where} "
                    f"{sorted(groups)}: use fewer folds, or drop the class with --classes."
                )


@dataclass(frozen=True)
class Judged:
    """One clip judged out of fold: by a model that never saw its group."""

    clip: str
    group: int
    true: str
    predicted: str
    confidence: float
    score: float | None  # the clip's known-ness (its windows' mean score)
    windows: tuple[float, ...] = ()  # its windows' smoothed known-ness
    probabilities: tuple[float, ...] = ()  # its windows' mean probabilities, by class
    mirrored: tuple[float, ...] = ()  # the same for the clip mirrored (what flip TTA would add)

    def to_dict(self) -> dict:
        """One line of ``crossval --oof``: enough to score ensembles and flip TTA afterwards."""
        return {
            "clip": self.clip,
            "group": self.group,
            "true": self.true,
            "predicted": self.predicted,
            "score": self.score,
            "probabilities": [round(p, 6) for p in self.probabilities],
            "mirrored": [round(p, 6) for p in self.mirrored],
        }


@dataclass(frozen=True)
class FoldResult:
    fold: Fold
    classes: tuple[str, ...]
    best_epoch: int
    epochs_run: int
    seconds: float
    judged: tuple[Judged, ...]
    threshold: float | None  # fitted on the fold's inner groups
    mix: tuple[tuple[float, float], ...] | None  # knn_energy's standardisation from the inner groups
    unknown_scores: tuple[float, ...] = ()  # the unknown folder's clips, as this fold's model scores them
    left_out: tuple[str, ...] = ()
    left_out_known: tuple[float, ...] = ()  # the second head's scores of the fold's other clips
    left_out_unknown: tuple[float, ...] = ()  # ... and of its clips of the left-out classes
    left_out_threshold: float | None = None

    def figures(self) -> dict:
        """Shares in [0, 1] for this fold's test groups."""
        from core.training.calibrate import auroc

        truth = np.array([j.true for j in self.judged])
        right = truth == np.array([j.predicted for j in self.judged])
        figures = {
            "fold": self.fold.index + 1,
            "test_groups": list(self.fold.test_groups),
            "inner_groups": list(self.fold.inner_groups),
            "best_epoch": self.best_epoch,
            "clips": len(self.judged),
            "accuracy": round(float(right.mean()), 4),
            "per_class": {
                c: round(float(right[truth == c].mean()), 4) for c in self.classes if (truth == c).any()
            },
        }
        for name, members in LOOK_ALIKES.items():
            among = np.isin(truth, members)
            if len(set(members) & set(self.classes)) >= 2 and among.any():
                figures[name] = round(float(right[among].mean()), 4)
        if self.threshold is not None:
            scores = np.array([j.score for j in self.judged], float)
            accepted = scores >= self.threshold
            figures["known_accepted"] = round(float(accepted.mean()), 4)
            figures["accepted_accuracy"] = round(float(right[accepted].mean()), 4) if accepted.any() else None
            if self.unknown_scores:
                unknown = np.array(self.unknown_scores)
                figures["unknown_refused"] = round(float((unknown < self.threshold).mean()), 4)
                figures["unknown_auroc"] = round(auroc(scores, unknown), 4)
        if self.left_out and self.left_out_threshold is not None:
            known, unknown = np.array(self.left_out_known), np.array(self.left_out_unknown)
            figures["left_out"] = list(self.left_out)
            figures["other_classes_known_accepted"] = round(
                float((known >= self.left_out_threshold).mean()), 4
            )
            figures["other_classes_refused"] = round(float((unknown < self.left_out_threshold).mean()), 4)
            figures["other_classes_auroc"] = round(auroc(known, unknown), 4)
        return figures


def spread(values: list[float]) -> dict:
    array = np.asarray(values, float)
    return {
        "mean": round(float(array.mean()), 4),
        "min": round(float(array.min()), 4),
        "max": round(float(array.max()), 4),
    }


@dataclass(frozen=True)
class FoldJob:
    """Everything a worker process needs for one fold (picklable)."""

    config: CrossValConfig
    fold: Fold
    classes: tuple[str, ...]
    clips: tuple[Clip, ...]
    unknown: tuple[Path, ...]
    cache_dir: str | None
    threads: int
    left_out: tuple[str, ...] = field(default_factory=tuple)
