"""Clip-level scoring of a bundle on a ``<Class>/<clip>`` folder, through the real analysis path:
file by file (``evaluate``), or on decoded, possibly reversed frames through the same window
computation (``evaluate_frames``). A bundle is scored on the classes it knows; clips of other
classes are skipped and counted. For a calibrated bundle, ``evaluate`` also reports how its
open-set threshold treats those known clips and, given a folder of clips of actions it was
not taught, how well its known-ness score tells them apart (AUROC) and how many it refuses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.config import VIDEO_SUFFIXES
from core.engine.analysis import analyze, window_probabilities
from core.engine.timeline import Timeline
from core.errors import DatasetError, ModelError
from core.models.bundle import ModelBundle
from core.training.calibrate import auroc
from core.training.dataset import (
    DIRECTIONS,
    Clip,
    content_digest,
    directed_views,
    evaluation_windows,
    label_in_name,
    scan,
)

PLAYED_BACKWARDS = " (played backwards)"  # how a reversed view of a clip is named in a report


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
    skipped: int = 0  # clips of classes the bundle does not know
    open_set: dict | None = None  # a calibrated bundle's refusals (see ``open_set_figures``)
    judgements: list = field(default_factory=list, repr=False)  # every clip's verdict
    # the bundle's own estimate for new footage (``core.training.crossval``), when it has one
    cross_validation: dict | None = None
    trained_clips: frozenset[tuple[str, str]] = frozenset()  # (action, name) it trained on

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("judgements")
        data["trained_on"] = len(data.pop("trained_clips"))
        data["accuracy"] = round(self.accuracy, 4)
        for optional in ("open_set", "cross_validation"):
            if data[optional] is None:
                data.pop(optional)
        return data

    def warnings(self) -> list[str]:
        """What a reader of these figures must know: clips the model learnt from flatter them."""
        if not self.trained_clips:
            return []
        return [
            f"{len(self.trained_clips)} of the {self.n_clips} clips scored here come from the model's "
            "training data: their accuracy is no estimate for new footage"
            + ("; the cross_validation block is." if self.cross_validation else ".")
        ]


@dataclass(frozen=True)
class Judgement:
    """One clip's verdict: its true and predicted label and the confidence of the prediction."""

    clip: str
    true: str
    predicted: str
    confidence: float
    knownness: float | None = None  # the clip's known-ness score, for a calibrated bundle


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


# Classes that share a scene and differ in motion or instrument: where a single frame is not
# enough, and where a model's grasp of time shows (``within``).
LOOKALIKES = {
    "cricket": ("CricketBowling", "CricketShot"),
    "string instruments": ("PlayingCello", "PlayingSitar", "PlayingViolin"),
}


def within(validation: dict, members: tuple[str, ...]) -> dict | None:
    """Among a report's clips of ``members``: the share given the right class, and the confusion
    between just those classes (rows: true). None when the report has fewer than two of them."""
    classes = validation["classes"]
    present = [m for m in members if m in classes]
    if len(present) < 2:
        return None
    rows = [classes.index(m) for m in present]
    confusion = np.array(validation["confusion"])
    clips = int(confusion[rows].sum())
    right = int(sum(confusion[r, r] for r in rows))
    among = confusion[np.ix_(rows, rows)].tolist()
    return {
        "classes": present,
        "accuracy": round(right / clips, 4) if clips else None,
        "clips": clips,
        "confusion": among,
        "table": [
            {"true": name, **dict(zip(present, row, strict=True))}
            for name, row in zip(present, among, strict=True)
        ],
    }


def evaluate(
    data_dir: str | Path,
    bundle: ModelBundle,
    groups: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    clips: list[Clip] | None = None,
    unknown_dir: str | Path | None = None,
    on_timeline: Callable[[Clip, Timeline], None] | None = None,
) -> EvaluationReport:
    """Analyse every clip of the bundle's classes (or just ``clips``) and compare its overall
    top label with its class; ``unknown_dir``: clips of actions the bundle was not taught."""
    groups = sorted(set(groups)) if groups is not None else None
    if clips is None:
        _, clips = scan(data_dir, groups)
    classes = list(bundle.spec.classes)
    known = [c for c in clips if c.label in classes]
    if not known:
        found = sorted({c.label for c in clips})
        raise DatasetError(f"None of the classes {found} of these clips is one of the model's: {classes}.")
    unknown_clips = video_files(unknown_dir) if unknown_dir is not None else []
    # a UCF101 clip of one of the bundle's own classes is no unknown action, wherever it lies
    known_by_name = [p for p in unknown_clips if label_in_name(p.name, classes)]
    unknown_clips = [p for p in unknown_clips if p not in known_by_name]
    if unknown_clips and bundle.spec.open_set is None:
        raise ModelError(f"{bundle.name} has no open-set calibration: it cannot refuse unknown clips.")
    if unknown_dir is not None and not unknown_clips:  # before any clip is analysed
        skipped = f" ({len(known_by_name)} name one of its own classes)" if known_by_name else ""
        raise DatasetError(f"{unknown_dir} holds no clips of actions {bundle.name} was not taught{skipped}.")
    # a calibrated bundle meets the folder's other classes as unknown actions (leave-classes-out)
    others = [c.path for c in clips if c.label not in classes] if bundle.spec.open_set is not None else []
    total = len(known) + len(unknown_clips) + len(others)

    def judged() -> Iterator[Judgement]:
        for done, clip in enumerate(known, start=1):
            timeline = analyze(clip.path, bundle)
            label, confidence = timeline.top_k(1)[0]
            yield Judgement(clip.path.name, clip.label, label, confidence, timeline.video_score())
            if on_timeline:
                on_timeline(clip, timeline)
            if progress:
                progress(done, total)

    report = replace(report_from(classes, judged(), known), trained_clips=trained_clips(bundle, known))
    scores = []
    for done, path in enumerate([*unknown_clips, *others], start=len(known) + 1):
        scores.append(analyze(path, bundle).video_score())
        if progress:
            progress(done, total)
    unknown_scores = np.array(scores[: len(unknown_clips)]) if unknown_dir is not None else None
    open_set = open_set_figures(bundle, report, unknown_scores)
    if unknown_dir is not None and open_set is not None:
        open_set["unknown_skipped"] = [p.name for p in known_by_name]
    if others and open_set is not None:
        open_set |= _refusals(bundle, report, np.array(scores[len(unknown_clips) :]), "other_classes")
    return replace(
        report,
        skipped=len(clips) - len(known),
        open_set=open_set,
        cross_validation=bundle.metrics.get("cross_validation"),
    )


def video_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder} is not a folder of video clips.")
    videos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not videos:
        raise DatasetError(f"No video clips found under {folder}.")
    return videos


def open_set_figures(
    bundle: ModelBundle, report: EvaluationReport, unknown: np.ndarray | None
) -> dict | None:
    """Shares in [0, 1]: known clips accepted at the threshold, right among the accepted ones;
    with unknown clips, the AUROC of known against unknown and the share refused. None for an
    uncalibrated bundle."""
    calibration = bundle.spec.open_set
    if calibration is None:
        return None
    unseen = _unseen(report)
    scores = np.array([j.knownness for j in unseen])
    if not len(scores):
        return None
    accepted = scores >= calibration.threshold
    right = np.array([j.true == j.predicted for j in unseen])
    figures = {
        "score": calibration.score,
        "threshold": round(calibration.threshold, 5),
        "known_accepted": round(float(accepted.mean()), 4),
        "accepted_accuracy": round(float(right[accepted].mean()), 4) if accepted.any() else None,
    }
    if unknown is not None:
        figures |= _refusals(bundle, report, unknown, "unknown")
        figures["auroc"] = figures.pop("unknown_auroc")
    return figures


def trained_clips(bundle: ModelBundle, clips: list[Clip]) -> frozenset[tuple[str, str]]:
    """(action, file name) of those ``clips`` the bundle trained on: its kNN reference holds the
    training clips' own frames, which would score as known as anything can, and its head has
    seen them. A bundle split by group names its training groups; one split by clip (a user's
    own folder) the SHA-256 of its training clips' bytes, so a new take is new whatever its name
    (a bundle from before that names only its held-back clips: every other clip counts)."""
    split = bundle.metrics.get("split", {})
    if split.get("by") == "clip":
        if "train_clip_sha256" in split:
            digests = set(split["train_clip_sha256"])
            return frozenset((c.label, c.path.name) for c in clips if content_digest(c.path) in digests)
        held_back = set(split["val_clip_names"])
        return frozenset((c.label, c.path.name) for c in clips if c.path.name not in held_back)
    trained = set(split.get("train_groups", []))
    return frozenset((c.label, c.path.name) for c in clips if c.group in trained)


def _unseen(report: EvaluationReport) -> list[Judgement]:
    return [j for j in report.judgements if (j.true, j.clip) not in report.trained_clips]


def _refusals(bundle: ModelBundle, report: EvaluationReport, unknown: np.ndarray, name: str) -> dict:
    """How the known clips' scores and ``unknown``'s compare, and how many of these it refuses."""
    known = np.array([j.knownness for j in _unseen(report)])
    return {
        f"{name}_auroc": round(auroc(known, unknown), 4),
        f"{name}_refused": round(float((unknown < bundle.spec.open_set.threshold).mean()), 4),
        f"n_{name}": len(unknown),
    }


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
    return _evaluate_views(
        bundle, clips, frames_of, lambda view: window_probabilities(view, bundle), progress
    )


def evaluate_features(
    bundle: ModelBundle,
    clips: list[Clip],
    features_of: Callable[[Path], np.ndarray],
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationReport:
    """``evaluate_frames`` for a bundle whose model takes per-frame features from a frozen
    encoder outside Keras, given each clip's features as recorded (``FeatureCache``, as training
    computed them): the same windows through the same head, without running the encoder again
    for every bundle and direction (a reversed clip's features are its features reversed)."""
    from core.engine.analysis import predictor

    head = predictor(bundle).classify_features
    spec = bundle.spec

    def probabilities(view: np.ndarray) -> np.ndarray:
        return head(evaluation_windows(view.astype(np.float32), spec.sequence_length, spec.hop_frames))

    return _evaluate_views(bundle, clips, features_of, probabilities, progress)


def _evaluate_views(
    bundle: ModelBundle,
    clips: list[Clip],
    view_of: Callable[[Path], np.ndarray],
    probabilities: Callable[[np.ndarray], np.ndarray],
    progress: Callable[[int, int], None] | None,
) -> EvaluationReport:
    """Each clip (and, on the direction task, the clip reversed) judged by its windows' mean
    ``probabilities``; ``view_of`` gives a clip's frames or per-frame features, in time order."""
    classes = list(bundle.spec.classes)
    direction = bundle.spec.task == "direction"
    if direction and classes != list(DIRECTIONS):
        raise ModelError(f"{bundle.name} predicts {classes}, not whether a clip plays forwards or backwards.")
    if not direction:
        _check_labels(clips, classes)

    def judged() -> Iterator[Judgement]:
        for done, clip in enumerate(clips, start=1):
            frames = view_of(clip.path)
            views, labels = directed_views([frames]) if direction else ([frames], [classes.index(clip.label)])
            for view, label in zip(views, labels, strict=True):
                mean = probabilities(view).mean(axis=0)
                name = clip.path.name + (PLAYED_BACKWARDS if direction and label else "")
                yield Judgement(name, classes[label], classes[int(mean.argmax())], float(mean.max()))
            if progress:
                progress(done, len(clips))

    return report_from(classes, judged(), clips)


def _check_labels(clips: list[Clip], classes: list[str]) -> None:
    unknown = sorted({c.label for c in clips} - set(classes))
    if unknown:
        raise DatasetError(f"Classes {unknown} of these clips are not among the model's classes {classes}.")


def report_from(classes: list[str], judgements: Iterable[Judgement], clips: list[Clip]) -> EvaluationReport:
    truth, predicted, mistakes, kept = [], [], [], []
    for judgement in judgements:
        kept.append(judgement)
        truth.append(classes.index(judgement.true))
        predicted.append(classes.index(judgement.predicted))
        if judgement.predicted != judgement.true:
            mistake = {**asdict(judgement), "confidence": round(judgement.confidence, 4)}
            mistake.pop("knownness")
            mistakes.append(mistake)
    per_class, confusion = scores(classes, truth, predicted)
    accuracy = float(np.mean(np.array(truth) == np.array(predicted)))
    clip_groups = sorted({c.group for c in clips})
    return EvaluationReport(
        accuracy, len(truth), classes, per_class, confusion, clip_groups, mistakes, judgements=kept
    )
