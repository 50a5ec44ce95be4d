"""The approaches side by side (``python -m core compare``): one row per architecture with its
clip accuracy on both tasks, size, cost and speed, measured from the bundles under
``models/approaches/<task>/<architecture>/``.

- **Accuracy** is measured afresh on the validation groups of ``DATA_DIR`` with
  ``evaluation.evaluate_frames``: the windows and numbers of the analysis path, on frames decoded
  once into the frame cache and shared by every bundle (on the direction task every clip is
  played forwards and backwards). The tests check it against training's file-by-file score.
- **Parameters, FLOPs and latency** come from the action bundle (the direction bundle is the
  same network with a two-class output layer).
- **FLOPs per clip** (one model input: ``sequence_length`` frames) are counted from the layer
  shapes, 2 per multiply-accumulate, in the layers that do the arithmetic: convolutions (2D, 3D),
  dense layers and the matrix products inside LSTM and ConvLSTM cells, times every frame or
  step they run on. Normalisation, activations, pooling and the cells' gate arithmetic are left
  out (each a few percent at most). ``tf.profiler`` is not used because it counts a recurrent
  layer's loop body once instead of once per time step.
- **Latency** is CPU wall time of the model's compiled forward pass, frames in, probabilities
  out (``_Predictor.forward``, unpadded), the median of repeated calls on windows of validation
  clips, per clip, at batch 1 and batched.
- A frame encoder outside Keras (``pose_lstm``'s pose estimator) counts in FLOPs and latency:
  it runs on every frame of every clip.
- **Training time** is read from each bundle's ``metrics.json``.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.config import PROJECT_ROOT
from core.errors import ModelError
from core.models import bundle as bundles
from core.training.dataset import DEFAULT_VAL_GROUPS, TASKS, FrameCache, evaluation_windows, scan

APPROACHES_DIR = PROJECT_ROOT / "models" / "approaches"
RESULTS_FILE = "results.json"
# the Learn pages' order: from no time at all to time inside the recurrent cell
ORDER = ("single_frame", "late_fusion", "early_fusion", "slow_fusion", "pose_lstm", "lrcn", "convlstm")
Log = Callable[[str], None]


@dataclass(frozen=True)
class ApproachRow:
    architecture: str
    description: str
    params: int
    flops_per_clip: int
    latency_ms_batch1: float
    latency_ms_batched: float
    batch_size: int
    accuracy: dict[str, float | None]  # by task; None where that task's bundle is missing
    train_s: dict[str, float | None]
    bundles: dict[str, str | None]


@dataclass(frozen=True)
class Comparison:
    command: str
    data: str
    validation_groups: list[int]
    tasks: list[str]
    rows: list[ApproachRow]

    def to_dict(self) -> dict:
        return asdict(self)


def count_flops(model) -> int:
    """Floating-point operations of one forward pass for one input (see the module docstring)."""
    return sum(_layer_flops(layer, 1) for layer in model.layers)


def clip_flops(model_bundle: bundles.ModelBundle) -> int:
    """FLOPs per clip of the bundle's model and, where it has one, of its frame encoder outside
    Keras (a pose estimator) on every frame of the clip."""
    from core.models.registry import frame_encoder

    flops = count_flops(model_bundle.model)
    encoder = frame_encoder(model_bundle.spec.architecture)
    if encoder is not None:
        flops += encoder.flops_per_frame() * model_bundle.spec.sequence_length
    return flops


def _layer_flops(layer, repeat: int) -> int:
    """``repeat``: how many times the layer runs per input (frames, for a TimeDistributed one)."""
    from keras import Model, layers

    if isinstance(layer, Model):
        return sum(_layer_flops(inner, repeat) for inner in layer.layers)
    if isinstance(layer, layers.TimeDistributed):
        if isinstance(layer.layer, layers.Dense):  # has no output shape of its own: use the wrapper's
            return _dense_flops(layer.layer, layer.output.shape, repeat)
        if not isinstance(layer.layer, Model):
            raise ModelError(
                f"Cannot count the FLOPs of {layer.name}: it wraps a {type(layer.layer).__name__}."
            )
        return _layer_flops(layer.layer, repeat * layer.input.shape[1])
    if isinstance(layer, layers.ConvLSTM2D):
        steps, channels = layer.input.shape[1], layer.input.shape[-1]
        height, width = layer.output.shape[-3:-1]
        per_position = math.prod(layer.kernel_size) * (channels + layer.filters) * 4 * layer.filters
        return 2 * repeat * steps * height * width * per_position
    if isinstance(layer, layers.LSTM):
        steps, channels = layer.input.shape[1], layer.input.shape[-1]
        return 2 * repeat * steps * (channels + layer.units) * 4 * layer.units
    if isinstance(layer, layers.Conv2D | layers.Conv3D):
        per_output = math.prod(layer.kernel_size) * layer.input.shape[-1] // layer.groups
        return 2 * repeat * math.prod(layer.output.shape[1:]) * per_output
    if isinstance(layer, layers.Dense):
        return _dense_flops(layer, layer.output.shape, repeat)
    return 0


def _dense_flops(layer, output_shape: tuple, repeat: int) -> int:
    return 2 * repeat * math.prod(output_shape[1:-1]) * math.prod(layer.kernel.shape)


def latency_ms(model_bundle: bundles.ModelBundle, windows: np.ndarray, min_seconds: float = 1.0) -> float:
    """Median milliseconds per clip of the compiled forward pass on a batch of uint8 ``windows``,
    over calls repeated for at least ``min_seconds`` (and at least 5 of them)."""
    from core.engine.analysis import predictor

    forward = predictor(model_bundle).forward
    forward(windows)  # trace and warm up
    timings: list[float] = []
    while len(timings) < 5 or sum(timings) < min_seconds:
        started = time.perf_counter()
        forward(windows)
        timings.append(time.perf_counter() - started)
    return 1000 * statistics.median(timings) / len(windows)


def _frames(model_bundle: bundles.ModelBundle) -> Callable[[Path], np.ndarray]:
    """A clip's frames as this bundle samples and sizes them, through the shared frame cache."""
    spec = model_bundle.spec
    return FrameCache(None, spec.sampling_fps, spec.frame_size).frames


def timing_windows(model_bundle: bundles.ModelBundle, clips: list[Path], batch_size: int) -> np.ndarray:
    """The first analysis window of ``batch_size`` real clips spread evenly over ``clips`` (so
    over every class; repeated when there are fewer): a pose estimator's cost depends on finding
    a person, so random pixels would time it unfairly, and windows of different clips share no
    frame to reuse."""
    spec = model_bundle.spec
    frames = _frames(model_bundle)
    picked = [clips[i * len(clips) // batch_size] for i in range(batch_size)]
    return np.stack([evaluation_windows(frames(c), spec.sequence_length, spec.hop_frames)[0] for c in picked])


def _accuracy(model_bundle: bundles.ModelBundle, data_dir: Path, val_groups: tuple[int, ...]) -> float:
    from core.training.evaluation import evaluate_frames

    _, clips = scan(data_dir, val_groups)
    return evaluate_frames(model_bundle, clips, _frames(model_bundle)).accuracy


def _training_seconds(model_bundle: bundles.ModelBundle | None) -> float | None:
    return model_bundle.metrics.get("training", {}).get("seconds") if model_bundle else None


def _shown(path: Path) -> str:
    """A bundle's path as the pages find it: relative to the project when inside it."""
    resolved = path.resolve()
    return (
        resolved.relative_to(PROJECT_ROOT).as_posix() if resolved.is_relative_to(PROJECT_ROOT) else str(path)
    )


def _row(
    architecture: str,
    found: dict[str, Path],
    data_dir: Path,
    val_groups: tuple[int, ...],
    batch: int,
    log: Log,
) -> ApproachRow:
    from core.models.registry import architectures

    loaded = {task: bundles.load(folder) for task, folder in found.items()}
    accuracy: dict[str, float | None] = dict.fromkeys(TASKS)
    for task, model_bundle in loaded.items():
        if model_bundle.spec.task != task:
            raise ModelError(f"{found[task]} was trained for task '{model_bundle.spec.task}', not '{task}'.")
        log(f"{architecture}: scoring the {task} bundle on groups {list(val_groups)}")
        accuracy[task] = round(_accuracy(model_bundle, data_dir, val_groups), 4)
    reference = loaded.get("action") or next(iter(loaded.values()))
    log(f"{architecture}: timing at batch 1 and {batch}")
    windows = timing_windows(reference, [clip.path for clip in scan(data_dir, val_groups)[1]], batch)
    return ApproachRow(
        architecture=architecture,
        description=architectures().get(architecture, ""),
        params=int(reference.model.count_params()),
        flops_per_clip=clip_flops(reference),
        latency_ms_batch1=round(latency_ms(reference, windows[:1]), 3),
        latency_ms_batched=round(latency_ms(reference, windows), 3),
        batch_size=batch,
        accuracy=accuracy,
        train_s={task: _training_seconds(loaded.get(task)) for task in TASKS},
        bundles={task: _shown(found[task]) if task in found else None for task in TASKS},
    )


def compare(
    data_dir: str | Path,
    root: str | Path = APPROACHES_DIR,
    command: str = "",
    val_groups: tuple[int, ...] = DEFAULT_VAL_GROUPS,
    batch_size: int = 16,
    log: Log = lambda _: None,
) -> Comparison:
    """A row for every architecture with a bundle under ``root/<task>/<architecture>/``."""
    root, data_dir = Path(root), Path(data_dir)
    found: dict[str, dict[str, Path]] = {}
    for task in TASKS:
        for folder in bundles.bundled(root / task):
            found.setdefault(folder.name, {})[task] = folder
    if not found:
        raise ModelError(f"No bundles under {root}/<task>/<architecture>/ (tasks: {', '.join(TASKS)}).")
    ranked = sorted(found, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))
    rows = [_row(name, found[name], data_dir, val_groups, batch_size, log) for name in ranked]
    return Comparison(command, data_dir.name, sorted(val_groups), list(TASKS), rows)


def write(comparison: Comparison, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(comparison.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
