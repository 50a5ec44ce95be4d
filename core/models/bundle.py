"""Model bundles: a folder with ``model.keras``, ``config.json``, ``metrics.json``, ``README.md``.

``config.json`` says everything analysis needs to feed the model (classes, sequence length,
frame size, sampling rate), so a bundle can be used without the code that trained it.
Models are always loaded with Keras ``safe_mode=True``: a bundle may come from the Hub.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from core.config import MODELS_DIR, PROJECT_ROOT
from core.errors import ModelError
from core.models.calibration import CALIBRATION_FILE, FEATURE_SCORES, Calibration, read_arrays, write_arrays

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"
UNKNOWN_LABEL = "unknown"  # what a timeline calls a stretch of none of the classes (engine.timeline)
NORMALIZATIONS = ("unit",)  # uint8 / 255 -> [0, 1], what core.models.contract.to_unit does


@dataclass(frozen=True)
class BundleSpec:
    """How to feed a bundle's model and what its outputs mean."""

    name: str
    architecture: str
    classes: tuple[str, ...]
    sequence_length: int
    image_size: tuple[int, int]  # (height, width)
    sampling_fps: float
    normalization: str = "unit"  # uint8 / 255 -> [0, 1]
    hop_frames: int = 3
    task: str = "action"  # or "direction": was the clip played forwards or backwards (core.training.dataset)
    open_set: Calibration | None = None  # None: the bundle never says "unknown"
    # The frozen backbone the head sits on, when it is one outside the model (recorded since the
    # video network; "" in older bundles): its name and the fingerprint of what it computes.
    backbone: str = ""
    backbone_fingerprint: str = ""
    unit_frames: int = 1  # sampled frames per input step: 1, or a unit of the video network

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height): the order OpenCV and ``core.media.video`` size frames in."""
        return (self.image_size[1], self.image_size[0])

    @property
    def window_s(self) -> float:
        return self.window_frames / self.sampling_fps

    @property
    def window_frames(self) -> int:
        """Sampled frames one window covers."""
        return self.sequence_length * self.unit_frames

    def to_dict(self) -> dict:
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["image_size"] = list(self.image_size)
        data.pop("open_set")
        if self.open_set is not None:
            data["open_set"] = self.open_set.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict, arrays: dict | None = None) -> BundleSpec:
        """``arrays``: the bundle's calibration.npz, when it has one."""
        open_set = data.get("open_set")
        try:
            spec = cls(
                name=str(data["name"]),
                architecture=str(data["architecture"]),
                classes=tuple(str(c) for c in data["classes"]),
                sequence_length=int(data["sequence_length"]),
                image_size=(int(data["image_size"][0]), int(data["image_size"][1])),
                sampling_fps=float(data["sampling_fps"]),
                normalization=str(data.get("normalization", "unit")),
                hop_frames=int(data.get("hop_frames", 3)),
                task=str(data.get("task", "action")),
                backbone=str(data.get("backbone", "")),
                backbone_fingerprint=str(data.get("backbone_fingerprint", "")),
                unit_frames=int(data.get("unit_frames", 1)),
                open_set=None if open_set is None else Calibration.from_dict(open_set, arrays),
            )
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ModelError(f"config.json is incomplete or malformed ({error!r}).") from error
        spec.validate()
        return spec

    def validate(self) -> None:
        if not (
            self.sampling_fps > 0
            and self.sequence_length > 0
            and self.hop_frames > 0
            and self.unit_frames > 0
        ):
            raise ModelError(
                "config.json needs sampling_fps, sequence_length, hop_frames and unit_frames above zero."
            )
        if min(self.image_size) <= 0 or not self.classes:
            raise ModelError("config.json needs a positive image_size and at least one class.")
        if UNKNOWN_LABEL in self.classes:
            raise ModelError(
                f"config.json names a class '{UNKNOWN_LABEL}', a label kept for untaught actions."
            )
        if self.normalization not in NORMALIZATIONS:
            raise ModelError(f"config.json asks for normalization '{self.normalization}', which is unknown.")


@dataclass(eq=False)  # compared and hashed by identity: one loaded model is one bundle
class ModelBundle:
    """A loaded model with its spec, metrics and where it came from."""

    model: object  # keras.Model; typed loosely so that importing this module stays cheap
    spec: BundleSpec
    metrics: dict
    card: str
    source: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def origin(self) -> str:
        """Where the bundle came from, in words a page can show: "bundled: models/<name>" for
        one shipped with the app, the Hub reference for a download, else the folder's name
        (never the machine's absolute path)."""
        if self.source.startswith("hf://"):
            return f"from the Hugging Face Hub: {self.source}"
        folder = Path(self.source)
        try:
            return f"bundled: {folder.resolve().relative_to(PROJECT_ROOT).as_posix()}"
        except ValueError:
            return f"folder {folder.name}"

    def describe(self) -> dict:
        return {
            "name": self.spec.name,
            "architecture": self.spec.architecture,
            "classes": list(self.spec.classes),
            "source": self.source,
        }


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ModelError(f"{path.name} in the bundle cannot be read as UTF-8 text.") from error


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise ModelError(f"{path.name} in the bundle is not valid JSON ({error.msg}).") from error
    if not isinstance(data, dict):
        raise ModelError(f"{path.name} in the bundle must hold a JSON object.")
    return data


def check_backbone(spec: BundleSpec) -> None:
    """Refuse a bundle whose recorded backbone is not the one its architecture runs here (another
    network, or the same name computing other features): its head would read numbers it never saw."""
    from core.models.registry import frame_encoder

    if not spec.backbone:
        return
    encoder = frame_encoder(spec.architecture)
    name = getattr(encoder, "name", "")
    if encoder is None or name != spec.backbone:
        raise ModelError(
            f"The bundle's head sits on the backbone '{spec.backbone}', but its architecture "
            f"'{spec.architecture}' runs {name or 'no separate backbone'} here."
        )
    found = encoder.fingerprint()
    if spec.backbone_fingerprint != found:
        raise ModelError(
            f"The bundle was trained on {spec.backbone} features with fingerprint "
            f"{spec.backbone_fingerprint or '(none)'}, but this app's {spec.backbone} gives {found}: "
            "its head would read features it never saw. Retrain it, or use the app version it was made with."
        )
    if spec.unit_frames != getattr(encoder, "unit_frames", 1):
        raise ModelError(
            f"The bundle counts {spec.unit_frames} frames per step, but {spec.backbone} here takes "
            f"{getattr(encoder, 'unit_frames', 1)}."
        )


def _check_shapes(model, spec: BundleSpec) -> None:
    from core.models.registry import frame_encoder

    encoder = frame_encoder(spec.architecture)
    per_frame = (encoder.features,) if encoder else (*spec.image_size, 3)
    expected_in = (spec.sequence_length, *per_frame)
    actual_in = tuple(model.input_shape[1:])
    if actual_in != expected_in:
        raise ModelError(f"The model takes input {actual_in}, but config.json describes {expected_in}.")
    outputs = model.output_shape[-1]
    if outputs != len(spec.classes):
        raise ModelError(f"The model predicts {outputs} classes, but config.json lists {len(spec.classes)}.")
    if spec.open_set is not None and spec.open_set.score in FEATURE_SCORES:
        from core.models.contract import split

        parts = split(model)
        width = parts[0].output.shape[-1] if parts else (encoder.features if encoder else None)
        if width != spec.open_set.feature_dim:
            raise ModelError(
                f"The bundle's open-set calibration was made on {spec.open_set.feature_dim}-wide frame "
                f"features, but its model's frame encoder gives {width}: it belongs to another backbone."
            )


def load(ref: str | Path, progress=None) -> ModelBundle:
    """Load a bundle folder or a Hub bundle (``hf://owner/name@revision``, downloaded into the
    Hub cache with ``progress(fraction, stage)`` reports); the model is checked against its
    config before it is used."""
    from core.models import hub

    if hub.is_hub_ref(ref):
        hub_ref = hub.HubRef.parse(str(ref))
        folder = hub.fetch(hub_ref, progress)
        return replace(_load_folder(folder), source=f"{hub_ref} (commit {folder.name[:12]})")
    return _load_folder(_folder_of(str(ref)))


def _folder_of(ref: str) -> Path:
    """A folder as given, or a bundle shipped in ``models/`` named alone (``kinetics-600``)."""
    folder = Path(ref)
    shipped = MODELS_DIR / ref
    if not folder.exists() and "/" not in ref and (shipped / CONFIG_FILE).is_file():
        return shipped
    return folder


def _load_folder(folder: Path) -> ModelBundle:
    if not folder.is_dir():
        raise ModelError(f"Model bundle not found: {folder} is not a folder.")
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ModelError(f"{folder} is not a model bundle: it has no {CONFIG_FILE}.")
    config = _read_json(config_path)
    arrays_path = folder / CALIBRATION_FILE
    open_set = config.get("open_set")
    needs_arrays = isinstance(open_set, dict) and open_set.get("score") in FEATURE_SCORES
    spec = BundleSpec.from_dict(
        config, read_arrays(arrays_path) if needs_arrays and arrays_path.is_file() else None
    )
    check_backbone(spec)  # before the model is read: a wrong backbone loads nothing
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ModelError(f"{folder} is not a complete model bundle: it has no {MODEL_FILE}.")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    try:
        model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad archive
        raise ModelError(f"{MODEL_FILE} in {folder} could not be loaded: {error}") from error
    _check_shapes(model, spec)
    metrics_path = folder / METRICS_FILE
    card_path = folder / CARD_FILE
    metrics = _read_json(metrics_path) if metrics_path.is_file() else {}
    card = _read_text(card_path) if card_path.is_file() else ""
    return ModelBundle(model, spec, metrics, card, str(folder.resolve()))


def save(folder: str | Path, model, spec: BundleSpec, metrics: dict, card: str) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / MODEL_FILE)
    if getattr(model, "optimizer", None) is not None:
        # a bundle is for inference: without the optimizer's moments model.keras is a third the size
        import keras

        keras.saving.load_model(folder / MODEL_FILE, safe_mode=True, compile=False).save(folder / MODEL_FILE)
    write_config(folder, spec)
    write_documents(folder, metrics, card)
    return folder


def write_config(folder: str | Path, spec: BundleSpec) -> None:
    """config.json, and calibration.npz when the spec's calibration carries reference data."""
    folder = Path(folder)
    (folder / CONFIG_FILE).write_text(json.dumps(spec.to_dict(), indent=2) + "\n", encoding="utf-8")
    if spec.open_set is not None and spec.open_set.arrays:
        write_arrays(folder / CALIBRATION_FILE, spec.open_set.arrays)


def write_documents(folder: str | Path, metrics: dict, card: str) -> None:
    """(Re)write the metrics and model card, e.g. once the saved model has been scored."""
    folder = Path(folder)
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (folder / CARD_FILE).write_text(card, encoding="utf-8")


def bundled(folder: str | Path) -> list[Path]:
    """Bundle folders (those with a config.json) directly under ``folder``, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / CONFIG_FILE).is_file())
