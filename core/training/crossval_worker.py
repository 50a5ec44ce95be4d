"""What runs inside cross-validation: the feature caches, one fold's training and judging (in a
worker process of its own), and the final model on every group (``core.training.crossval`` plans
the folds and gathers their results).

A fold reads the frozen backbone's cached features only; it judges clips through the same
windows, head and known-ness score as analysis (``judge_features``; a test holds the two equal),
so its figures are what ``analyze`` would report on those clips.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.engine.knownness import frame_scores, window_scores
from core.engine.timeline import KNOWNNESS_SMOOTHING, smoothed_rows
from core.engine.windows import cut_windows, window_starts
from core.errors import ModelError
from core.models.calibration import NEEDS_LOGITS, Calibration
from core.training.augmented import AugmentedFeatureCache
from core.training.calibrate import thresholds
from core.training.dataset import Clip, FeatureCache, FrameCache, evaluation_windows
from core.training.folds import CrossValConfig, FoldJob, FoldResult, Judged
from core.training.trainer import (
    TrainingConfig,
    Validation,
    best_record,
    feature_dataset,
    fit,
    open_set_reference,
    with_mix,
)

# Whole models that embed the frozen EfficientNet-Lite0 (the former default's candidates):
# cross-validation reads their frame encoder's features from the shared backbone's cache.
EMBEDDED_EFFNET = ("effnet_mean", "effnet_lstm", "effnet_tcn", "effnet_attention")


def architectures() -> tuple[str, ...]:
    """What cross-validation can run: a head on a frozen backbone whose features are cached once
    for every fold (the registry's heads on EfficientNet-Lite0's pooled features or on the video
    network's units, and the whole models that embed EfficientNet-Lite0)."""
    from core.models import registry

    return (*EMBEDDED_EFFNET, *registry.on_cached_vectors())


def frozen_encoder(architecture: str):
    """The encoder whose cached features the architecture's head reads."""
    from core.models import registry
    from core.models.backbone import EffnetFeatures

    return (registry.frame_encoder(architecture) or EffnetFeatures)()


Log = Callable[[str], None]


def caches(
    config: CrossValConfig, cache_dir: str | Path | None
) -> tuple[FeatureCache, AugmentedFeatureCache]:
    """The plain (as recorded and mirrored) and augmented feature caches of ``config``'s input."""
    if config.training.architecture not in architectures():
        raise ModelError(
            f"Cross-validation trains heads on a frozen backbone: --arch must be one of "
            f"{', '.join(architectures())} (not {config.training.architecture})."
        )
    training = config.training.resolved()
    encoder = frozen_encoder(training.architecture)
    frames = FrameCache(cache_dir, training.sampling_fps, (training.image_width, training.image_size))
    base = FeatureCache(frames, encoder, encoder.fingerprint())
    return base, AugmentedFeatureCache(base, training.augmented_copies, seed=training.seed)


def warm_caches(
    config: CrossValConfig, training: list[Path], unknown: list[Path], cache_dir: str | Path | None, log: Log
) -> None:
    """Encode every clip once before the folds read them, with augmented copies of the clips
    that are trained on (the unknown ones are only ever scored as recorded)."""
    base, augmented = caches(config, cache_dir)
    started = time.perf_counter()
    paths = [(path, True) for path in training] + [(path, False) for path in unknown]
    for done, (path, trained) in enumerate(paths, start=1):
        base.features(path)
        if trained:
            augmented.features(path)
        if done % 100 == 0 or done == len(paths):
            log(f"features of {done}/{len(paths)} clips ready ({time.perf_counter() - started:.0f} s)")


@dataclass
class Fitted:
    """A head fitted inside one fold (or on every group), with its open-set calibration."""

    model: object  # the whole Keras model: frozen encoder + head
    head: object
    calibration: Calibration | None
    history: list[dict]

    @property
    def best_epoch(self) -> int:
        scored = [r for r in self.history if "val_clip_accuracy" in r]
        return best_record(scored)["epoch"] if scored else len(self.history)


class FeatureJudge:
    """Clips judged from their cached features exactly as analysis judges a video: the same
    windows, the head's window probabilities averaged, the known-ness of each window and their
    mean (``core.engine.analysis._probabilities_split``)."""

    def __init__(self, head, calibration: Calibration | None, sequence_length: int, hop: int):
        from core.models.contract import with_logits

        self.head = head
        self.with_logits = with_logits(head) if calibration and calibration.score in NEEDS_LOGITS else None
        self.calibration = calibration
        self.length, self.hop = sequence_length, hop

    def windows(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Each window's probabilities and known-ness score (None without calibration)."""
        starts = window_starts(len(features), self.length, self.hop)
        cut = cut_windows(features, starts, self.length)
        logits = None
        if self.with_logits is None:
            probabilities = np.asarray(self.head(cut, training=False))
        else:
            both, kernel, bias = self.with_logits
            probabilities, hidden = (np.asarray(x) for x in both(cut, training=False))
            logits = hidden @ kernel + bias
        if self.calibration is None:
            return probabilities, None
        means = cut_windows(frame_scores(self.calibration, features), starts, self.length).mean(axis=1)
        return probabilities, window_scores(self.calibration, means, logits)

    def judge(
        self, clip: Clip, features: np.ndarray, classes: list[str], mirrored: np.ndarray | None = None
    ) -> Judged:
        """The clip's verdict from its features as recorded (and, given them, the mirrored
        frames' probabilities beside it, for flip test-time augmentation studies)."""
        probabilities, scores = self.windows(features)
        mean = probabilities.mean(axis=0)
        flipped = () if mirrored is None else tuple(float(p) for p in self.windows(mirrored)[0].mean(axis=0))
        smoothed = () if scores is None else tuple(smoothed_rows(scores[:, None], KNOWNNESS_SMOOTHING)[:, 0])
        return Judged(
            clip.path.name,
            clip.group,
            clip.label,
            classes[int(mean.argmax())],
            float(mean.max()),
            None if scores is None else float(scores.mean()),
            tuple(float(s) for s in smoothed),
            tuple(float(p) for p in mean),
            flipped,
        )

    def score(self, features: np.ndarray) -> float:
        return float(self.windows(features)[1].mean())


def quiet_share_of_cores(count: int) -> None:
    """A fold process's share of the cores, set before TensorFlow starts there, and quiet: its
    log is the parent's."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.config.threading.set_intra_op_parallelism_threads(count)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def views(base: FeatureCache, augmented: AugmentedFeatureCache, clip: Clip) -> list[np.ndarray]:
    """A training clip's views: as recorded (first: the open-set reference reads it), mirrored,
    and its augmented copies."""
    return [*base.features(clip.path), *augmented.features(clip.path)]


def fit_and_calibrate(
    training: TrainingConfig,
    classes: list[str],
    train: list[Clip],
    inner: list[Clip],
    views_of: Callable[[Clip], list[np.ndarray]],
    recorded_of: Callable[[Clip], np.ndarray],
    seed: int,
) -> Fitted:
    """A head on ``train``'s views: early stopping and the open-set thresholds from ``inner``
    (clips of other groups, as recorded: ``recorded_of``, without reading their augmented
    copies), as ``train`` does with its validation groups."""
    model, head = _build(training, classes, seed)
    items = [views_of(c) for c in train]
    labels = np.array([classes.index(c.label) for c in train], dtype=np.int32)
    inner_views = [recorded_of(c) for c in inner]
    inner_labels = np.array([classes.index(c.label) for c in inner], dtype=np.int32)
    cut = [evaluation_windows(v, training.sequence_length, training.hop_frames) for v in inner_views]
    owners = np.concatenate([np.full(len(w), i) for i, w in enumerate(cut)])
    validation = Validation(np.concatenate(cut), owners, inner_labels)
    dataset = feature_dataset(items, labels, training, np.random.default_rng(seed))
    history = fit(head, dataset, len(train), training, validation, log=lambda _: None)
    if not training.open_set:
        return Fitted(model, head, None, history)
    inner_groups = tuple(sorted({c.group for c in inner}))
    provisional = open_set_reference(training, items, labels, inner_groups)
    if training.open_set in NEEDS_LOGITS:
        provisional = with_mix(provisional, head, inner_views, validation.x, training)
    judge = FeatureJudge(head, provisional, training.sequence_length, training.hop_frames)
    judged = [judge.judge(c, v, classes) for c, v in zip(inner, inner_views, strict=True)]
    video, window = thresholds(
        np.array([j.score for j in judged]), np.concatenate([j.windows for j in judged])
    )
    return Fitted(model, head, replace(provisional, threshold=video, window_threshold=window), history)


def _build(training: TrainingConfig, classes: list[str], seed: int):
    """The whole model (frozen encoder + head) and its head, seeded."""
    import keras

    from core.models import contract, registry

    keras.utils.set_random_seed(seed)
    shape = contract.InputShape(training.sequence_length, training.image_size, training.image_width)
    model = registry.build(training.architecture, shape, len(classes))
    parts = contract.split(model)
    return model, model if parts is None else parts[1]  # a Learn approach's model is its head


def fit_all(
    training: TrainingConfig,
    classes: list[str],
    clips: list[Clip],
    views_of: Callable[[Clip], list[np.ndarray]],
    decay_epochs: int,
) -> Fitted:
    """A head on every clip for exactly ``training.epochs`` (chosen by the folds), its learning
    rate decaying over ``decay_epochs`` (the folds' budget), with the open-set reference data of
    every clip; its thresholds and standardisation come from the folds
    (``core.training.crossval``), so they are left open here."""
    model, head = _build(training, classes, training.seed)
    items = [views_of(c) for c in clips]
    labels = np.array([classes.index(c.label) for c in clips], dtype=np.int32)
    dataset = feature_dataset(items, labels, training, np.random.default_rng(training.seed))
    history = fit(head, dataset, len(clips), training, None, log=lambda _: None, decay_epochs=decay_epochs)
    groups = tuple(sorted({c.group for c in clips}))
    calibration = open_set_reference(training, items, labels, groups) if training.open_set else None
    return Fitted(model, head, calibration, history)


def _judged_both_ways(judge: FeatureJudge, views: np.ndarray, clip: Clip, classes: list[str]) -> Judged:
    """A test clip's verdict from its cached views (as recorded, mirrored), loaded once."""
    return judge.judge(clip, views[0], classes, views[1])


def run_fold(job: FoldJob) -> FoldResult:
    """Train and judge one fold (in a worker process of its own)."""
    started = time.perf_counter()
    training = job.config.training.resolved()
    base, augmented = caches(job.config, job.cache_dir)
    fold, classes = job.fold, list(job.classes)
    part = lambda groups, wanted: [c for c in job.clips if c.group in groups and c.label in wanted]  # noqa: E731
    of = lambda clip: views(base, augmented, clip)  # noqa: E731
    recorded = lambda clip: base.features(clip.path)[0]  # noqa: E731
    seed = training.seed + fold.index
    main = fit_and_calibrate(
        training,
        classes,
        part(fold.train_groups, classes),
        part(fold.inner_groups, classes),
        of,
        recorded,
        seed,
    )
    judge = FeatureJudge(main.head, main.calibration, training.sequence_length, training.hop_frames)
    test = part(fold.test_groups, classes)
    judged = tuple(_judged_both_ways(judge, base.features(c.path), c, classes) for c in test)
    calibration = main.calibration
    result = FoldResult(
        fold,
        job.classes,
        main.best_epoch,
        len(main.history),
        0.0,
        judged,
        None if calibration is None else calibration.threshold,
        None
        if calibration is None or "mix" not in (calibration.arrays or {})
        else tuple(map(tuple, calibration.arrays["mix"].tolist())),
        tuple(judge.score(base.features(p)[0]) for p in job.unknown) if calibration is not None else (),
    )
    if job.left_out and calibration is not None:
        kept = [c for c in classes if c not in job.left_out]
        second = fit_and_calibrate(
            training,
            kept,
            part(fold.train_groups, kept),
            part(fold.inner_groups, kept),
            of,
            recorded,
            seed + 100,
        )
        other = FeatureJudge(second.head, second.calibration, training.sequence_length, training.hop_frames)
        result = replace(
            result,
            left_out=job.left_out,
            left_out_known=tuple(other.score(recorded(c)) for c in part(fold.test_groups, kept)),
            left_out_unknown=tuple(other.score(recorded(c)) for c in part(fold.test_groups, job.left_out)),
            left_out_threshold=second.calibration.threshold,
        )
    return replace(result, seconds=time.perf_counter() - started)
