"""Dataset folder -> trained model bundle, with metrics measured through the analysis path.

Training sees several randomly placed, speed-jittered and augmented windows of each training
clip per epoch; validation cuts the same windows that analysis cuts and averages them per clip,
so early stopping watches the number users get: clip accuracy on unseen groups.

The task is the action (class folders) or the direction of time (``core.training.dataset``: every window
comes from its clip played forwards or backwards; validation plays each clip both ways).

Models whose frame encoder is frozen (an ImageNet backbone) take a shortcut: every frame is
encoded once (``dataset.FeatureCache``) and only the sequence head is fitted, on windows of
cached features; the saved bundle is still the whole model, frames in, probabilities out, or,
where the encoder lives outside Keras (``registry.frame_encoder``: the pose estimator, the
shared EfficientNet-Lite0 of the approaches on pretrained eyes), the head that analysis runs
after it. Such a head's direction score reads the reversed cached features: a per-frame encoder
gives a reversed clip exactly its features reversed.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from core.engine.knownness import energy_score, frame_scores
from core.errors import ActionLabError
from core.models import bundle as bundles
from core.models.calibration import NEEDS_LOGITS
from core.models.card import training_card
from core.models.contract import to_unit, with_logits
from core.training.augmented import AugmentedFeatureCache
from core.training.calibrate import mix_array, reference_arrays, thresholds, uncalibrated
from core.training.dataset import (
    DEFAULT_VAL_GROUPS,
    TASKS,
    FeatureCache,
    FrameCache,
    Split,
    augment,
    chosen_clips,
    directed_views,
    evaluation_windows,
    feature_windows,
    labelled_windows,
    split_clips,
    task_classes,
)

STRATEGIES = ("default", "mirrored", "multiworker")
STOPPING = {"val_clip_accuracy": "max", "val_loss": "min"}  # early stopping's measures, best way up
Log = Callable[[str], None]
# Called after each epoch with its record (epoch, loss, val_clip_accuracy, ...); returning True
# stops training there (the best epoch so far is kept): the Teach page's live chart and Cancel.
EpochHook = Callable[[dict], bool | None]


@dataclass(frozen=True)
class TrainingConfig:
    architecture: str
    task: str = "action"  # or "direction" (core.training.dataset.TASKS)
    # 0 = what the architecture was designed for (core.models.registry.input_defaults)
    sequence_length: int = 0
    image_size: int = 0  # frame height
    image_width: int = 0  # 0: square frames, as wide as image_size
    sampling_fps: float = 0.0
    hop_frames: int = 0
    epochs: int = 20
    patience: int = 8
    batch_size: int = 16
    windows_per_clip: int = 4
    learning_rate: float = 2e-3
    seed: int = 1337
    val_groups: tuple[int, ...] = DEFAULT_VAL_GROUPS
    strategy: str = "default"
    cpu_devices: int = 0  # split the CPU into N logical devices (to exercise distribution)
    limit_clips: int = 0  # per class, for quick smoke runs; 0 = all
    classes: tuple[str, ...] = ()  # the class folders to learn; () = all of them
    open_set: str = "knn"  # the known-ness score to calibrate (frozen Keras encoders); "" = none
    augmented_copies: int = 0  # of each training clip, for heads on a frozen Keras encoder (cached)
    # what early stopping watches on the held-back clips (STOPPING): their clip accuracy, or their
    # windows' loss where the held-back clips are near-duplicates of the training ones (a user's
    # takes), whose accuracy is 100% after an epoch or two and would stop training there
    stop_on: str = "val_clip_accuracy"

    def resolved(self) -> TrainingConfig:
        """This config with every input setting left at 0 filled in from the architecture."""
        from core.models.registry import input_defaults

        defaults = input_defaults(self.architecture)
        height = self.image_size or defaults.image_size
        aspect = (defaults.image_width or defaults.image_size) / defaults.image_size
        return replace(
            self,
            sequence_length=self.sequence_length or defaults.sequence_length,
            image_size=height,
            image_width=self.image_width or round(height * aspect),
            sampling_fps=self.sampling_fps or defaults.sampling_fps,
            hop_frames=self.hop_frames or defaults.hop_frames,
        )


@dataclass(frozen=True)
class TrainingResult:
    out_dir: Path
    accuracy: float
    epochs_run: int
    best_epoch: int
    seconds: float


def _configure_devices(cpu_devices: int) -> None:
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)]
        )


def make_strategy(name: str, cpu_devices: int = 0):
    """A ``tf.distribute`` strategy: ``mirrored`` over local GPUs (or logical CPUs when there
    are none), ``multiworker`` from ``TF_CONFIG``, ``default`` for one device."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ActionLabError(f"Unknown strategy '{name}'. Choose one of: {', '.join(STRATEGIES)}.")
    _configure_devices(cpu_devices)
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ActionLabError("--strategy multiworker needs TF_CONFIG describing the cluster.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type in ("chief",) or (resolver.task_type == "worker" and resolver.task_id == 0)


def _limit(clips, per_class: int):
    if not per_class:
        return clips
    kept, seen = [], {}
    for clip in clips:
        seen[clip.label] = seen.get(clip.label, 0) + 1
        if seen[clip.label] <= per_class:
            kept.append(clip)
    return kept


def _load_clips(
    split: Split, load: Callable[[Path], np.ndarray], what: str, log: Log, load_train: Callable | None = None
) -> tuple[list, list]:
    """Every training and validation clip through ``load`` (cached frames or frame features);
    the training clips through ``load_train`` where given (their augmented copies too)."""
    started = time.perf_counter()
    train = [(load_train or load)(c.path) for c in split.train]
    val = [load(c.path) for c in split.val]
    log(
        f"{what} ready for {len(train)} training and {len(val)} validation clips "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return train, val


def _training_dataset(frames: list, labels: np.ndarray, config: TrainingConfig, rng: np.random.Generator):
    shape = (config.sequence_length, config.image_size, config.image_width, 3)

    def generate():
        for clip in rng.permutation(len(frames)):
            for window, label in labelled_windows(
                frames[clip], labels[clip], config.task, config.sequence_length, config.windows_per_clip, rng
            ):
                yield augment(window, rng), label

    return _batched_dataset(generate, shape, config.batch_size)


def feature_dataset(features: list, labels: np.ndarray, config: TrainingConfig, rng: np.random.Generator):
    """Windows of cached frame features, jittered in time and drawn from either view."""
    shape = (config.sequence_length, features[0][0].shape[-1])

    def generate():
        for clip in rng.permutation(len(features)):
            yield from feature_windows(
                list(features[clip]),
                labels[clip],
                config.task,
                config.sequence_length,
                config.windows_per_clip,
                rng,
            )

    return _batched_dataset(generate, shape, config.batch_size)


def _batched_dataset(generate: Callable, shape: tuple[int, ...], batch_size: int):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_generator(
        generate,
        output_signature=(tf.TensorSpec(shape, tf.float32), tf.TensorSpec((), tf.int32)),
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options).repeat().batch(batch_size).prefetch(2)


def feature_cache(encoder, cache: FrameCache) -> FeatureCache:
    """Cached features of ``encoder`` for frames sampled and sized as ``cache`` does; shared by
    training and by tools that study the same features (tools/compare_heads.py)."""
    from core.models.backbone import shared_encoder, weights_fingerprint

    return FeatureCache(cache, shared_encoder(encoder), weights_fingerprint(encoder))


def head_and_features(model, architecture: str, cache: FrameCache) -> tuple[object, FeatureCache]:
    """The part of a model that training fits (or a bundle's head) and the cached features it
    reads: a registered backbone's outside Keras (the video network, the pose estimator, the
    shared EfficientNet-Lite0 of the approaches), else the frozen encoder embedded in the model."""
    from core.models import contract, registry

    external = registry.frame_encoder(architecture)
    if external is not None:
        encoder = external()
        return model, FeatureCache(cache, encoder, encoder.fingerprint())
    encoder, head = contract.split(model)
    return head, feature_cache(encoder, cache)


def open_set_reference(
    config: TrainingConfig, features: list, labels: np.ndarray, val_groups: tuple[int, ...]
):
    """The open-set reference data, from the training clips' frames as recorded (not mirrored,
    as analysis sees them). Thresholds are still open."""
    frames = np.concatenate([item[0] for item in features])
    owners = np.concatenate([np.full(len(item[0]), labels[clip]) for clip, item in enumerate(features)])
    arrays = reference_arrays(config.open_set, frames, owners)
    return uncalibrated(config.open_set, arrays, frames.shape[-1], tuple(val_groups))


def with_mix(calibration, head, val_views: list, val_x: np.ndarray, config: TrainingConfig):
    """knn_energy's standardisation, from the validation windows as analysis cuts them: their
    frames' mean knn score and the trained head's energy."""
    length, hop = config.sequence_length, config.hop_frames
    knn = [evaluation_windows(frame_scores(calibration, v), length, hop).mean(axis=1) for v in val_views]
    both, kernel, bias = with_logits(head)
    _, hidden = both.predict(val_x, batch_size=256, verbose=0)
    mix = mix_array(np.concatenate(knn), energy_score(hidden @ kernel + bias))
    return replace(calibration, arrays={**calibration.arrays, "mix": mix})


def _clip_accuracy_callback(validation, log: Log, on_epoch: EpochHook | None):
    import keras

    val_x, owners, val_labels = validation.x, validation.owners, validation.labels

    class ClipAccuracy(keras.callbacks.Callback):
        """Adds val_clip_accuracy (window probabilities averaged per clip) to the epoch logs."""

        def __init__(self):
            super().__init__()
            self.history: list[dict] = []

        def on_epoch_end(self, epoch, logs=None):
            logs = logs if logs is not None else {}
            probabilities = self.model.predict(val_x, batch_size=64, verbose=0)
            clip_mean = np.stack([probabilities[owners == i].mean(axis=0) for i in range(len(val_labels))])
            window_truth = val_labels[owners]
            logs["val_clip_accuracy"] = float((clip_mean.argmax(1) == val_labels).mean())
            logs["val_window_accuracy"] = float((probabilities.argmax(1) == window_truth).mean())
            picked = probabilities[np.arange(len(window_truth)), window_truth]
            logs["val_loss"] = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
            record = {"epoch": epoch + 1, **{k: round(float(v), 5) for k, v in logs.items()}}
            self.history.append(record)
            log(
                "epoch {epoch}: loss {loss:.4f} acc {accuracy:.3f} val_loss {val_loss:.4f} "
                "val_window_acc {val_window_accuracy:.3f} val_clip_acc {val_clip_accuracy:.3f}".format(
                    **record
                )
            )
            if on_epoch is not None and on_epoch(record):
                self.model.stop_training = True

    return ClipAccuracy()


@dataclass(frozen=True)
class Validation:
    """Windows cut as analysis cuts them from the held-back clips (``x``), the clip each came
    from (``owners``) and each clip's label: what early stopping watches."""

    x: np.ndarray
    owners: np.ndarray
    labels: np.ndarray


def best_record(history: list[dict], stop_on: str = "val_clip_accuracy") -> dict:
    """The epoch record early stopping kept (the first of equals, as Keras keeps it)."""
    pick = max if STOPPING[stop_on] == "max" else min
    return pick(history, key=lambda record: record[stop_on])


def fit(
    fitted,
    dataset,
    n_clips: int,
    config: TrainingConfig,
    validation: Validation | None,
    log: Log,
    on_epoch: EpochHook | None = None,
    strategy=None,
    decay_epochs: int | None = None,
) -> list[dict]:
    """Fit ``fitted`` on ``dataset`` (windows of ``n_clips`` training clips) with AdamW and a
    cosine schedule; the epoch records. With ``validation``, for at most ``config.epochs``,
    stopping ``config.patience`` epochs after the best held-back clip accuracy and keeping that
    epoch's weights; without it, for exactly ``config.epochs`` (a count chosen elsewhere, as
    cross-validation's final model takes the folds' choice). The learning rate decays over
    ``decay_epochs`` (default ``config.epochs``): a model stopped at a chosen epoch follows the
    schedule of the runs that chose it."""
    import keras

    steps_per_epoch = -(-n_clips * config.windows_per_clip // config.batch_size)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        schedule = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=steps_per_epoch * (decay_epochs or config.epochs), alpha=0.05
        )
        fitted.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    callbacks = []
    if validation is not None:
        clip_accuracy = _clip_accuracy_callback(validation, log, on_epoch)
        stopper = keras.callbacks.EarlyStopping(
            monitor=config.stop_on,
            mode=STOPPING[config.stop_on],
            patience=config.patience,
            restore_best_weights=True,
        )
        callbacks = [clip_accuracy, stopper]
    done = fitted.fit(
        dataset,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    if validation is not None:
        return clip_accuracy.history
    return [
        {"epoch": epoch + 1, **{k: round(float(v[epoch]), 5) for k, v in done.history.items()}}
        for epoch in range(len(done.history["loss"]))
    ]


def train(
    data_dir: str | Path,
    config: TrainingConfig,
    out_dir: str | Path,
    command: str,
    cache_dir: str | Path | None = None,
    log: Log = print,
    on_epoch: EpochHook | None = None,
) -> TrainingResult:
    started = time.perf_counter()
    config = config.resolved()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    strategy = make_strategy(config.strategy, config.cpu_devices)
    import keras
    import tensorflow as tf

    from core.models import contract, registry
    from core.training.evaluation import evaluate, evaluate_features, evaluate_frames, open_set_figures

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(config.seed)

    if config.task not in TASKS:
        raise ActionLabError(f"Unknown task '{config.task}'. Choose one of: {', '.join(TASKS)}.")
    if config.task == "direction" and registry.on_video_network(config.architecture):
        raise ActionLabError(
            "The video network's units are not reversible (a unit played backwards is not its "
            "features backwards): train the direction task on a frame encoder's architecture."
        )
    folders, clips = chosen_clips(data_dir, config.classes)
    classes = task_classes(config.task, folders)
    split = split_clips(clips, config.val_groups)
    if config.limit_clips:
        split = Split(
            _limit(split.train, config.limit_clips), _limit(split.val, config.limit_clips), split.val_groups
        )
    log(f"task {config.task}: {len(classes)} classes; {split.summary()}")
    height, width = config.image_size, config.image_width
    # direction: labels are drawn per window (labelled_windows); the folder's index is unused
    train_labels = np.array([folders.index(c.label) for c in split.train], dtype=np.int32)
    val_labels = np.array([folders.index(c.label) for c in split.val], dtype=np.int32)
    shape = contract.InputShape(config.sequence_length, height, width)
    with strategy.scope():
        model = registry.build(config.architecture, shape, len(classes))
    parts = contract.split(model)
    external_encoder = registry.frame_encoder(config.architecture)
    frozen_encoder = external_encoder is not None or (parts is not None and not parts[0].trainable)
    # a frozen backbone's vectors, cached per clip: what augmented copies and the open set read
    # (the embedded EfficientNet-Lite0 or the video network; not the pose estimator's landmarks)
    vectors = external_encoder is None or registry.on_video_network(config.architecture)
    cache = FrameCache(cache_dir, config.sampling_fps, (width, height))
    if frozen_encoder:
        fitted, cached = head_and_features(model, config.architecture, cache)
        features, with_copies = cached.features, None
        if config.augmented_copies and vectors:
            augmented = AugmentedFeatureCache(cached, config.augmented_copies, seed=config.seed)
            with_copies = lambda path: [*cached.features(path), *augmented.features(path)]  # noqa: E731
        train_items, val_items = _load_clips(split, features, "frame features", log, with_copies)
        val_views = [f[0] for f in val_items]  # as analysis sees them: not mirrored
        dataset = feature_dataset(train_items, train_labels, config, rng)
    else:
        fitted = model
        train_items, val_views = _load_clips(split, cache.frames, "frames", log)
        dataset = _training_dataset(train_items, train_labels, config, rng)
    if config.task == "direction":
        val_views, val_labels = directed_views(val_views)
    val_windows = [evaluation_windows(v, config.sequence_length, config.hop_frames) for v in val_views]
    owners = np.concatenate([np.full(len(w), i) for i, w in enumerate(val_windows)])
    val_x = np.concatenate(val_windows) if frozen_encoder else to_unit(np.concatenate(val_windows))

    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    log(
        f"{config.architecture}: {model.count_params():,} parameters ({trainable:,} trained"
        f"{' on cached frame features' if frozen_encoder else ''}), strategy {config.strategy} "
        f"({strategy.num_replicas_in_sync} replica(s))"
    )
    validation = Validation(val_x, owners, val_labels)
    history = fit(fitted, dataset, len(split.train), config, validation, log, on_epoch, strategy)
    best = best_record(history, config.stop_on)
    train_seconds = time.perf_counter() - started

    out_dir = Path(out_dir)
    if not _is_chief(strategy):
        return TrainingResult(out_dir, best["val_clip_accuracy"], len(history), best["epoch"], train_seconds)
    spec = bundles.BundleSpec(
        name=out_dir.name,
        architecture=config.architecture,
        classes=tuple(classes),
        sequence_length=config.sequence_length,
        image_size=(height, width),
        sampling_fps=config.sampling_fps,
        hop_frames=config.hop_frames,
        task=config.task,
        **registry.backbone_record(config.architecture),
    )
    bundles.save(out_dir, model, spec, metrics={}, card="")
    log("scoring the saved bundle on the validation groups through the analysis path")
    saved = bundles.load(out_dir)
    calibrating = config.open_set and config.task == "action" and frozen_encoder and vectors
    if calibrating:
        provisional = open_set_reference(config, train_items, train_labels, split.val_groups)
        if config.open_set in NEEDS_LOGITS:
            provisional = with_mix(provisional, fitted, val_views, val_x, config)
        saved = replace(saved, spec=replace(saved.spec, open_set=provisional))
    video_scores, window_scores = [], []

    def collect(_, timeline) -> None:
        if calibrating:
            video_scores.append(timeline.video_score())
            window_scores.append(timeline.smoothed_knownness())

    if config.task == "direction" and external_encoder is not None:  # reversed features = features reversed
        report = evaluate_features(saved, split.val, lambda path: features(path)[0])
    elif config.task == "direction":
        report = evaluate_frames(saved, split.val, cache.frames)
    else:
        report = evaluate(data_dir, saved, clips=split.val, on_timeline=collect)
    if calibrating:
        threshold, window_threshold = thresholds(np.array(video_scores), np.concatenate(window_scores))
        spec = replace(
            spec, open_set=replace(provisional, threshold=threshold, window_threshold=window_threshold)
        )
        bundles.write_config(out_dir, spec)
        report = replace(report, open_set=open_set_figures(replace(saved, spec=spec), report, None))
        log(f"open set: {spec.open_set.score} score, video threshold {threshold:.4f} ({report.open_set})")
    metrics = {
        "task": config.task,
        "validation": report.to_dict(),
        "split": split.describe(),
        "training": {
            "epochs_run": len(history),
            "best_epoch": best["epoch"],
            "seconds": round(train_seconds, 1),
            "parameters": int(model.count_params()),
            "trained_parameters": trainable,
            "frozen_frame_encoder": frozen_encoder,
            "config": asdict(config),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s)",
        },
        "history": history,
    }
    backbone = registry.backbone_provenance(config.architecture)
    card = training_card(spec, metrics, command, Path(data_dir).name, backbone=backbone)
    bundles.write_documents(out_dir, metrics, card)
    log(f"validation clip accuracy {report.accuracy:.4f} on {report.n_clips} clips; bundle in {out_dir}")
    return TrainingResult(out_dir, report.accuracy, len(history), best["epoch"], train_seconds)
