"""Cross-validation by group: the figure a user can expect on footage of other people and scenes.

UCF101 groups are near-duplicate scenes, so one validation split mostly measures the luck of the
draw, and it flatters once it has chosen the epoch and the thresholds. Here the groups are cut
into K folds; each fold is scored by a model that never saw its groups, and every choice that
model makes is made inside its own training groups:

- a few of the training groups (``inner_groups``, spread through them) are held back *inside*
  the fold: early stopping picks the epoch on them, and the open-set thresholds are fitted on
  them (95% of their clips accepted), exactly as ``train`` does with its validation groups;
- the fold's test groups then judge the result: which action, and whether the open-set rule
  accepts the fold's clips and refuses clips of untaught actions (``unknown_dir``, e.g.
  ``../shared/data/samples``);
- with ``leave_out``, a second head per fold is trained without a few classes (different ones in
  each fold), and the fold's clips of those classes must be refused: the leave-classes-out check,
  on actions filmed like the known ones.

Folds are independent: they run in separate processes (``workers``), each on its share of the
cores. Training reads the frozen backbone's cached features, built once before the folds start
(with ``augmented_copies`` augmented copies of each clip, ``core.training.augmented``).

``train_final`` then trains the shipped bundle on every group with the folds' choices: the median
of their best epochs, the open-set standardisation averaged over their inner groups, and the
thresholds fitted on the out-of-fold scores, every clip scored by the fold model that did not
train on its group. Its ``metrics.json`` carries the estimate as ``cross_validation``.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.models.calibration import NEEDS_LOGITS
from core.training import crossval_worker as worker
from core.training.dataset import Clip, chosen_clips, label_in_name
from core.training.folds import (
    LOOK_ALIKES,
    CrossValConfig,
    FoldJob,
    FoldResult,
    Judged,
    check_folds,
    make_folds,
    spread,
)
from core.training.trainer import TrainingConfig

Log = Callable[[str], None]


@dataclass(frozen=True)
class CrossValidation:
    """The folds' results and the estimate they make: mean and range over folds."""

    config: CrossValConfig
    classes: tuple[str, ...]
    folds: tuple[FoldResult, ...]
    seconds: float
    command: str = ""
    n_unknown: int = 0

    def chosen_epochs(self) -> int:
        """The epoch count the final model trains for: the median of the folds' best epochs."""
        return int(round(float(np.median([f.best_epoch for f in self.folds]))))

    def out_of_fold(self) -> list[Judged]:
        return [j for f in self.folds for j in f.judged]

    def to_dict(self) -> dict:
        per_fold = [f.figures() for f in self.folds]
        summary: dict = {
            "protocol": (
                f"group {len(self.folds)}-fold cross-validation; epoch and thresholds chosen on "
                f"{self.config.inner_groups} inner groups of each fold's training groups"
            ),
            "folds": len(self.folds),
            "clips": sum(f["clips"] for f in per_fold),
            "accuracy": spread([f["accuracy"] for f in per_fold]),
            "per_class": {
                c: spread([f["per_class"][c] for f in per_fold if c in f["per_class"]]) for c in self.classes
            },
        }
        for name in LOOK_ALIKES:
            values = [f[name] for f in per_fold if name in f]
            if values:
                summary[name] = spread(values)
        open_set = {
            key: spread([f[key] for f in per_fold if f.get(key) is not None])
            for key in (
                "known_accepted",
                "accepted_accuracy",
                "unknown_refused",
                "unknown_auroc",
                "other_classes_known_accepted",
                "other_classes_refused",
                "other_classes_auroc",
            )
            if any(f.get(key) is not None for f in per_fold)
        }
        if open_set:
            summary["open_set"] = {
                "score": self.config.training.open_set,
                **open_set,
                "n_unknown": self.n_unknown,
                "left_out_per_fold": self.config.leave_out,
            }
        training = asdict(self.config.training)
        for unused in ("val_groups", "strategy", "cpu_devices", "limit_clips"):
            training.pop(unused)
        summary["settings"] = {
            "training": training,
            "inner_groups": self.config.inner_groups,
            "augmented_copies": training.pop("augmented_copies"),
            "best_epochs": [f.best_epoch for f in self.folds],
        }
        summary["per_fold"] = per_fold
        summary["seconds"] = round(self.seconds, 1)
        if self.command:
            summary["command"] = self.command
        return summary


def cross_validate(
    data_dir: str | Path,
    config: CrossValConfig,
    cache_dir: str | Path | None = None,
    command: str = "",
    log: Log = print,
) -> CrossValidation:
    """Run every fold (in parallel processes) and gather their results."""
    started = time.perf_counter()
    classes, clips = _clips(data_dir, config.training)
    folds = make_folds([c.group for c in clips], config.folds, config.inner_groups)
    check_folds(clips, classes, folds)
    if config.leave_out and not 1 <= config.leave_out <= len(classes) - 2:
        raise DatasetError(
            f"--leave-out {config.leave_out}: each fold must keep at least 2 of the {len(classes)} classes."
        )
    unknown = _unknown_clips(config.unknown_dir, classes)
    groups = sorted({c.group for c in clips})
    log(f"{len(clips)} clips of {len(classes)} classes in {len(groups)} groups ({groups[0]}-{groups[-1]})")
    worker.warm_caches(config, [c.path for c in clips], list(unknown), cache_dir, log)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by the fold processes
    workers = config.workers or min(len(folds), os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // workers)
    jobs = [
        FoldJob(
            config,
            fold,
            tuple(classes),
            tuple(clips),
            tuple(unknown),
            str(cache_dir) if cache_dir else None,
            threads,
            _left_out(classes, fold.index, config.leave_out),
        )
        for fold in folds
    ]
    log(f"{len(folds)} folds in {workers} process(es), {threads} thread(s) each")
    results = []
    # a fresh process per fold (whatever the number of workers): its own share of the cores, set
    # before TensorFlow starts, and nothing of one fold's models left in the next one's memory
    with ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=worker.quiet_share_of_cores,
        initargs=(threads,),
        max_tasks_per_child=1,
    ) as pool:
        for result in pool.map(worker.run_fold, jobs):
            figures = result.figures()
            log(
                f"fold {result.fold.index + 1} (test groups {list(result.fold.test_groups)}): accuracy "
                f"{figures['accuracy']:.3f}, best epoch {result.best_epoch}, {result.seconds:.0f} s"
            )
            results.append(result)
    return CrossValidation(
        config, tuple(classes), tuple(results), time.perf_counter() - started, command, len(unknown)
    )


def _left_out(classes: list[str], fold: int, count: int) -> tuple[str, ...]:
    """Different classes in each fold, in turn: fold k leaves out classes k*count, k*count+1, ..."""
    return tuple(classes[(fold * count + i) % len(classes)] for i in range(count)) if count else ()


def _clips(data_dir: str | Path, training: TrainingConfig) -> tuple[list[str], list[Clip]]:
    folders, clips = chosen_clips(data_dir, training.classes)
    if any(c.group == 0 for c in clips):
        raise DatasetError(
            "Cross-validation by group needs UCF-style names with a group (v_<Class>_g08_c01.mp4); "
            f"some clips of {data_dir} have none."
        )
    return folders, clips


def _unknown_clips(folder: str, classes: list[str]) -> list[Path]:
    """The unknown folder's clips, less any whose name says it is one of ``classes``."""
    if not folder:
        return []
    from core.training.evaluation import video_files

    return [p for p in video_files(folder) if not label_in_name(p.name, classes)]


def train_final(
    data_dir: str | Path,
    estimate: CrossValidation,
    out_dir: str | Path,
    cache_dir: str | Path | None = None,
    log: Log = print,
) -> Path:
    """The shipped bundle: trained on every group with the folds' choices, its thresholds fitted
    on the out-of-fold scores. Written to a temporary folder beside ``out_dir`` and moved into
    place only when complete, so an interrupted run leaves no half-written bundle."""
    out_dir = Path(out_dir)
    partial = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _train_all_groups(data_dir, estimate, partial, out_dir.name, cache_dir, log)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        partial.replace(out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out_dir


def _train_all_groups(
    data_dir: str | Path,
    estimate: CrossValidation,
    folder: Path,
    name: str,
    cache_dir: str | Path | None,
    log: Log,
) -> None:
    from core.models import bundle as bundles
    from core.models import registry
    from core.models.card import crossval_card
    from core.training.calibrate import thresholds

    started = time.perf_counter()
    training = replace(estimate.config.training.resolved(), epochs=estimate.chosen_epochs())
    classes, clips = _clips(data_dir, training)
    base, augmented = worker.caches(estimate.config, cache_dir)
    log(f"final model: {len(clips)} clips of every group, {training.epochs} epochs (the folds' median best)")
    # the folds' schedule: the learning rate decays over their epoch budget, and training stops
    # at their median best epoch, where their models were when early stopping kept them
    budget = estimate.config.training.epochs
    fitted = worker.fit_all(
        training, classes, clips, lambda clip: worker.views(base, augmented, clip), budget
    )
    calibration = fitted.calibration
    if calibration is not None:
        judged = estimate.out_of_fold()
        if calibration.score in NEEDS_LOGITS:  # the folds' standardisation, from unseen windows
            mix = np.mean([np.array(f.mix) for f in estimate.folds], axis=0).astype(np.float32)
            calibration = replace(calibration, arrays={**calibration.arrays, "mix": mix})
        video, window = thresholds(
            np.array([j.score for j in judged]), np.concatenate([np.array(j.windows) for j in judged])
        )
        calibration = replace(calibration, threshold=video, window_threshold=window)
    spec = bundles.BundleSpec(
        name=name,
        architecture=training.architecture,
        classes=tuple(classes),
        sequence_length=training.sequence_length,
        image_size=(training.image_size, training.image_width),
        sampling_fps=training.sampling_fps,
        hop_frames=training.hop_frames,
        task="action",
        open_set=calibration,
        **registry.backbone_record(training.architecture),
    )
    bundles.save(folder, fitted.model, spec, metrics={}, card="")
    groups = sorted({c.group for c in clips})
    metrics = {
        "task": "action",
        "cross_validation": estimate.to_dict(),
        "open_set_curve": open_set_curve(estimate) if calibration is not None else [],
        "validation": out_of_fold_report(estimate),
        "split": {
            "by": "group",
            "train_groups": groups,
            "train_clips": len(clips),
            "val_groups": [],
            "val_clips": 0,
        },
        "training": {
            "epochs_run": len(fitted.history),
            "best_epoch": training.epochs,
            "seconds": round(time.perf_counter() - started, 1),
            "parameters": int(fitted.model.count_params()),
            "trained_parameters": int(sum(int(np.prod(w.shape)) for w in fitted.model.trainable_weights)),
            "frozen_frame_encoder": True,
            "config": asdict(training),
            "learning_rate_decay_epochs": budget,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s)",
        },
        "history": fitted.history,
    }
    backbone = registry.backbone_provenance(training.architecture)
    card = crossval_card(spec, metrics, estimate.command, Path(data_dir).name, backbone=backbone)
    bundles.write_documents(folder, metrics, card)


CURVE_ACCEPTED = (0.8, 0.85, 0.9, 0.95, 0.98, 0.99)  # shares of known clips a threshold may accept


def open_set_curve(estimate: CrossValidation, accepted: tuple[float, ...] = CURVE_ACCEPTED) -> list[dict]:
    """What each stricter or looser threshold would cost, on the out-of-fold scores: for each
    share of known clips to accept, the video and window thresholds (fitted as the bundle's own
    are), and what they give: known clips accepted (by construction, near the share), right among
    them, clips of untaught actions refused, and clips of classes left out of training refused
    (by the heads trained without them, at the same share of their own known clips accepted).
    A setting of how readily to say "unknown" can be read off it without running the model
    again."""
    from core.training.calibrate import thresholds

    judged = estimate.out_of_fold()
    scores = np.array([j.score for j in judged])
    windows = np.concatenate([np.array(j.windows) for j in judged])
    right = np.array([j.true == j.predicted for j in judged])
    unknown = np.array([s for f in estimate.folds for s in f.unknown_scores])
    # the left-out classes are scored by each fold's second head (trained without them), whose
    # scores are read against that head's own known clips at the same share accepted
    left_known = np.array([s for f in estimate.folds for s in f.left_out_known])
    left_out = np.array([s for f in estimate.folds for s in f.left_out_unknown])
    curve = []
    for share in accepted:
        video, window = thresholds(scores, windows, share)
        taken = scores >= video
        point = {
            "accepted_target": share,
            "threshold": round(video, 5),
            "window_threshold": round(window, 5),
            "known_accepted": round(float(taken.mean()), 4),
            "accepted_accuracy": round(float(right[taken].mean()), 4) if taken.any() else None,
        }
        if len(unknown):
            point["unknown_refused"] = round(float((unknown < video).mean()), 4)
        if len(left_out) and len(left_known):
            left_threshold = float(np.quantile(left_known, 1 - share, method="lower"))
            point["other_classes_refused"] = round(float((left_out < left_threshold).mean()), 4)
        curve.append(point)
    return curve


def out_of_fold_report(estimate: CrossValidation) -> dict:
    """The out-of-fold judgements as a validation report (``core.training.evaluation``): every
    clip judged by the fold model that did not train on its group."""
    from core.training.evaluation import Judgement, report_from

    judged = estimate.out_of_fold()
    judgements = [Judgement(j.clip, j.true, j.predicted, j.confidence, j.score) for j in judged]
    clips = [Clip(Path(j.clip), j.true, j.group) for j in judged]
    report = report_from(list(estimate.classes), judgements, clips).to_dict()
    report["protocol"] = "out of fold: every clip judged by the fold model that did not train on its group"
    return report
