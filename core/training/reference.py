"""Reference footage of other actions, shipped with the app: what a taught model must refuse.

A taught model learns a user's actions from a few takes. Whether it will say "unknown" to
something else can only be fitted on examples of something else (outlier exposure, Hendrycks et
al., ICLR 2019), and a user gives none. So the app ships the frozen backbone's features of a
slice of real footage: for each of the 11 UCF101 actions the default model knows, the middle
``FRAMES_PER_CLIP`` frames (at the backbone's 4 fps) of one clip from every other group
(``tools/reference_footage.py`` makes the file, and its README says which clips). Features, not
video: 4 MB instead of 60, and no decoding or encoding at teach time.

Any reference action that the user also taught is left out, by name or by content
(``core.training.takes``): otherwise the reference would teach the model to refuse the user's
own action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.config import MODELS_DIR
from core.errors import ModelError

REFERENCE_FOOTAGE = MODELS_DIR / "reference" / "ucf101-11-frames.npz"  # EfficientNet-Lite0 frames
REFERENCE_UNITS = MODELS_DIR / "reference" / "ucf101-11-units.npz"  # the video network's units
FRAMES_PER_CLIP = 16  # two to three analysis windows of 13 frames, hop 2
UNITS_PER_CLIP = 3  # 4.8 s: two windows of 2 units, one unit apart


def reference_for(unit_frames: int) -> tuple[Path, int]:
    """The reference footage of a backbone and the rows ``middle`` keeps of each clip: per-frame
    features (``unit_frames`` 1) or the video network's units."""
    return (REFERENCE_FOOTAGE, FRAMES_PER_CLIP) if unit_frames == 1 else (REFERENCE_UNITS, UNITS_PER_CLIP)


@dataclass(frozen=True)
class ReferenceClip:
    label: str  # the UCF101 action
    group: int
    features: np.ndarray  # (frames, features): the backbone's pooled features, as recorded


def middle(features: np.ndarray, frames: int = FRAMES_PER_CLIP) -> np.ndarray:
    """The middle ``frames`` rows (all of a shorter clip): the action, not the lead-in."""
    start = max(0, (len(features) - frames) // 2)
    return features[start : start + frames]


def write_reference(path: Path, clips: list[ReferenceClip], fingerprint: str) -> None:
    """One compressed archive: every clip's frames in a row, where each starts, its action and
    group, and the fingerprint of the backbone that made the features."""
    lengths = np.array([len(c.features) for c in clips])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        features=np.concatenate([c.features for c in clips]).astype(np.float16),
        starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64),
        labels=np.array([c.label for c in clips]),
        groups=np.array([c.group for c in clips], dtype=np.int64),
        fingerprint=np.array(fingerprint),
    )


def load_reference(fingerprint: str, path: Path = REFERENCE_FOOTAGE) -> list[ReferenceClip]:
    """The reference clips, refused (ModelError) when the file is missing or damaged, or was made
    by another backbone than the one whose ``fingerprint`` is given: distances between features
    of two encoders mean nothing."""
    try:
        with np.load(path, allow_pickle=False) as data:
            features, starts = data["features"].astype(np.float32), data["starts"]
            labels, groups, made_by = data["labels"], data["groups"], str(data["fingerprint"])
    except Exception as error:  # numpy and zipfile raise many types for a missing or damaged archive
        raise ModelError(f"The reference footage {path.name} cannot be read: {error}") from error
    if made_by != fingerprint:
        raise ModelError(
            f"The reference footage {path.name} was encoded by another backbone ({made_by}, not "
            f"{fingerprint}): make it again with tools/reference_footage.py."
        )
    ends = [*starts[1:], len(features)]
    return [
        ReferenceClip(str(label), int(group), features[start:end])
        for label, group, start, end in zip(labels, groups, starts, ends, strict=True)
    ]


def words(name: str) -> str:
    """An action's name reduced to its lower-case words, so that "PizzaTossing", "pizza tossing"
    and "Pizza-Tossing" compare equal."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return " ".join(re.findall(r"[a-z0-9]+", spaced.lower()))
