"""The approaches side by side (``python -m core compare``): one row per architecture with its
clip accuracy on both tasks, size, cost and speed, measured from the bundles under
``models/approaches/<task>/<architecture>/``.

- **Accuracy** is measured afresh on the validation groups of ``DATA_DIR`` with
  ``evaluation.evaluate_frames``: the windows and numbers of the analysis path, on frames decoded
  once into the frame cache and shared by every bundle (on the direction task every clip is
  played forwards and backwards); a model fed by a frozen encoder outside Keras is scored with
  ``evaluation.evaluate_features`` on the per-frame features cached when it was trained. The
  tests check both against training's file-by-file score.
- **Parameters, FLOPs and latency** come from the action bundle (the direction bundle is the
  same network with a two-class output layer).
- **FLOPs per clip** (one model input: ``sequence_length`` frames) are counted from the layer
  shapes by ``core.models.flops`` (2 per multiply-accumulate, in the layers that do the
  arithmetic, times every frame or step they run on).
- **Latency** is CPU wall time of the model's compiled forward pass, frames in, probabilities
  out (``_Predictor.forward``, unpadded), the median of repeated calls on windows of validation
  clips, per clip, at batch 1 and batched.
- A frame encoder outside Keras (``pose_lstm``'s pose estimator, the frozen EfficientNet-Lite0
  that feeds the pretrained heads) counts in FLOPs and latency: it runs on every frame of every
  clip. Parameters are the Keras model's: a pretrained head's own, without the shared backbone.
- **Training time** is read from each bundle's ``metrics.json``.
- **Within the look-alikes** (action task): the share of the cricket pair's and the string
  instruments' clips named right, where a single frame is not enough.
- **Direction by action** (direction task): the share of each action's clips, played both ways,
  whose direction was judged right. An action that looks much the same reversed (bowing a string)
  stays near chance for every approach; one with a run-up or a jump in it does not.

Rows come pretrained footing first, each footing in the Learn pages' order of approaches.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.config import PROJECT_ROOT
from core.errors import ModelError
from core.models import bundle as bundles
from core.models.flops import count_flops
from core.training.dataset import (
    DEFAULT_VAL_GROUPS,
    TASKS,
    Clip,
    FeatureCache,
    FrameCache,
    evaluation_windows,
    scan,
)

if TYPE_CHECKING:
    from core.training.evaluation import EvaluationReport

APPROACHES_DIR = PROJECT_ROOT / "models" / "approaches"
RESULTS_FILE = "results.json"
CROSSVAL_DIR = "crossval"  # <architecture>.json: ``python -m core crossval --json`` of an approach
# the Learn pages' order: from no time at all to time inside the recurrent cell
ORDER = ("single_frame", "late_fusion", "early_fusion", "slow_fusion", "pose_lstm", "lrcn", "convlstm")
Log = Callable[[str], None]


@dataclass(frozen=True)
class ApproachRow:
    architecture: str
    approach: str  # the Learn page's approach (``ORDER``)
    footing: str  # "pretrained" (frozen ImageNet or pose eyes) or "scratch"
    description: str
    params: int
    flops_per_clip: int
    latency_ms_batch1: float
    latency_ms_batched: float
    batch_size: int
    accuracy: dict[str, float | None]  # by task; None where that task's bundle is missing
    # action task: the share of the look-alike classes' clips named right (``evaluation.within``)
    within: dict[str, float | None]
    # direction task: each action's share of clips (played both ways) judged right (``by_action``)
    direction_by_action: dict[str, float]
    train_s: dict[str, float | None]
    # "early stopping" (validation had stopped improving) or "budget" (the epochs ran out first)
    stopped_by: dict[str, str | None]
    classes: int  # of the action bundle: a row on fewer classes had an easier question
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


def clip_flops(model_bundle: bundles.ModelBundle) -> int:
    """FLOPs per clip of the bundle's model and, where it has one, of its frame encoder outside
    Keras (a pose estimator) on every frame of the clip."""
    from core.models.registry import frame_encoder

    flops = count_flops(model_bundle.model)
    encoder = frame_encoder(model_bundle.spec.architecture)
    if encoder is not None:
        flops += encoder.flops_per_frame() * model_bundle.spec.sequence_length
    return flops


def latency_ms(model_bundle: bundles.ModelBundle, windows: np.ndarray, min_seconds: float = 1.0) -> float:
    """Median milliseconds per clip of the compiled forward pass on a batch of uint8 ``windows``,
    over calls repeated for at least ``min_seconds`` (and at least 5 of them). Every call gets
    frames no earlier call had (``numbered``): BlazePose remembers the frames it has seen, and
    timing it on remembered frames measured a dictionary lookup (19 ms per clip instead of 800)."""
    from core.engine.analysis import predictor

    forward = predictor(model_bundle).forward
    forward(numbered(windows, 0))  # trace and warm up
    timings: list[float] = []
    while len(timings) < 5 or sum(timings) < min_seconds:
        batch = numbered(windows, len(timings) + 1)
        started = time.perf_counter()
        forward(batch)
        timings.append(time.perf_counter() - started)
    return 1000 * statistics.median(timings) / len(windows)


def numbered(windows: np.ndarray, call: int) -> np.ndarray:
    """``windows`` with the call's number written into each frame's top-left pixel (red and
    green): new frames for any cache, and the same work for every model."""
    stamped = windows.copy()
    stamped[..., 0, 0, :2] = (call % 256, call // 256 % 256)
    return stamped


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


def _asked(data_dir: Path, val_groups: tuple[int, ...], actions: tuple[str, ...]) -> list[Clip]:
    """The clips of ``val_groups`` a bundle can be asked about: those of the ``actions`` its
    approach was trained on (the action bundle's classes; as ``evaluate`` does)."""
    _, clips = scan(data_dir, val_groups)
    return [clip for clip in clips if clip.label in actions] if actions else clips


def by_action(report: EvaluationReport, clips: list[Clip]) -> dict[str, float]:
    """Each action's share of its clips' verdicts that were right, from a report on ``clips``
    (on the direction task, every clip played forwards and backwards)."""
    from core.training.evaluation import PLAYED_BACKWARDS

    action_of = {clip.path.name: clip.label for clip in clips}
    right: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    for judgement in report.judgements:
        action = action_of[judgement.clip.removesuffix(PLAYED_BACKWARDS)]
        judged[action] += 1
        right[action] += judgement.predicted == judgement.true
    return {action: round(right[action] / judged[action], 4) for action in sorted(judged)}


def _report(model_bundle: bundles.ModelBundle, clips: list[Clip]) -> EvaluationReport:
    """The bundle scored on ``clips``, on either task. A model fed by a frozen encoder outside
    Keras is scored on the features cached for its training."""
    from core.models.registry import frame_encoder
    from core.training.evaluation import evaluate_features, evaluate_frames

    encoder = frame_encoder(model_bundle.spec.architecture)
    if encoder is None:
        return evaluate_frames(model_bundle, clips, _frames(model_bundle))
    spec = model_bundle.spec
    frames = FrameCache(None, spec.sampling_fps, spec.frame_size)
    cache = FeatureCache(frames, encoder(), encoder.fingerprint())
    return evaluate_features(model_bundle, clips, lambda path: cache.features(path)[0])


def _training_seconds(model_bundle: bundles.ModelBundle | None) -> float | None:
    return model_bundle.metrics.get("training", {}).get("seconds") if model_bundle else None


def _stopped_by(model_bundle: bundles.ModelBundle | None) -> str | None:
    """Whether training ended because validation stopped improving or because it ran out of
    epochs: a row of the second kind shows the budget, not what the approach can learn."""
    training = model_bundle.metrics.get("training", {}) if model_bundle else {}
    if "epochs_run" not in training:
        return None
    return "early stopping" if training["epochs_run"] < training["config"]["epochs"] else "budget"


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
    from core.models.registry import approach_of, architectures
    from core.training.evaluation import LOOKALIKES, within

    loaded = {task: bundles.load(folder) for task, folder in found.items()}
    actions = loaded["action"].spec.classes if "action" in loaded else ()
    accuracy: dict[str, float | None] = dict.fromkeys(TASKS)
    among: dict[str, float | None] = dict.fromkeys(LOOKALIKES)
    direction_by_action: dict[str, float] = {}
    clips = _asked(data_dir, val_groups, actions)
    for task, model_bundle in loaded.items():
        if model_bundle.spec.task != task:
            raise ModelError(f"{found[task]} was trained for task '{model_bundle.spec.task}', not '{task}'.")
        log(f"{architecture}: scoring the {task} bundle on groups {list(val_groups)}")
        report = _report(model_bundle, clips)
        accuracy[task] = round(report.accuracy, 4)
        if task == "direction":
            direction_by_action = by_action(report, clips)
        if task == "action":
            for name, members in LOOKALIKES.items():
                pair = within(report.to_dict(), members)
                among[name] = pair["accuracy"] if pair else None
    reference = loaded.get("action") or next(iter(loaded.values()))
    log(f"{architecture}: timing at batch 1 and {batch}")
    windows = timing_windows(reference, [clip.path for clip in scan(data_dir, val_groups)[1]], batch)
    approach, footing = approach_of(architecture)
    return ApproachRow(
        architecture=architecture,
        approach=approach,
        footing=footing,
        description=architectures().get(architecture, ""),
        params=int(reference.model.count_params()),
        flops_per_clip=clip_flops(reference),
        latency_ms_batch1=round(latency_ms(reference, windows[:1]), 3),
        latency_ms_batched=round(latency_ms(reference, windows), 3),
        batch_size=batch,
        accuracy=accuracy,
        within=among,
        direction_by_action=direction_by_action,
        train_s={task: _training_seconds(loaded.get(task)) for task in TASKS},
        stopped_by={task: _stopped_by(loaded.get(task)) for task in TASKS},
        classes=len(reference.spec.classes),
        bundles={task: _shown(found[task]) if task in found else None for task in TASKS},
    )


def _place(architecture: str) -> tuple[bool, int, str]:
    """Pretrained footing first, then the Learn pages' order of approaches."""
    from core.models.registry import approach_of

    approach, footing = approach_of(architecture)
    return footing != "pretrained", ORDER.index(approach) if approach in ORDER else len(ORDER), architecture


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
    ranked = sorted(found, key=_place)
    rows = [_row(name, found[name], data_dir, val_groups, batch_size, log) for name in ranked]
    return Comparison(command, data_dir.name, sorted(val_groups), list(TASKS), rows)


def estimates(root: str | Path = APPROACHES_DIR) -> dict[str, dict]:
    """The approaches' cross-validated estimates on the action task, by architecture: what each
    ``root/crossval/<architecture>.json`` holds (``python -m core crossval ... --json``, the
    command inside). They sit beside the results table, which measures one split of groups; the
    pages show both, each named for what it is."""
    found = {}
    for path in sorted((Path(root) / CROSSVAL_DIR).glob("*.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
            found[summary["settings"]["training"]["architecture"]] = summary
        except (OSError, ValueError, KeyError, TypeError):
            continue  # one being written, or not a summary: the pages show the others
    return found


def write(comparison: Comparison, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(comparison.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
