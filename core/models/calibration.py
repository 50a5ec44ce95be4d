"""A bundle's open-set calibration: which known-ness score it uses, the thresholds below which a
window or a whole video is "none of the actions I know", the groups those thresholds were fitted
on, and the small reference data the score needs (``calibration.npz`` beside ``model.keras``).

Why in the bundle: a threshold only means something for the model and the features it was
measured with, so it travels with them (to the Hub too). A bundle without calibration still
works; it simply never says "unknown" (its ``BundleSpec.open_set`` is None).
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ModelError

CALIBRATION_FILE = "calibration.npz"
# Higher is more known for every score. knn: minus the distance from a frame's L2-normalised
# feature to its k-th nearest neighbour among training frames (Sun et al., ICML 2022);
# mahalanobis: minus the smallest class-conditional Mahalanobis distance (shared covariance) of
# that feature; a window scores its frames' mean. msp: the window's largest class probability.
# knn_energy: the window's knn score plus its energy (logsumexp of the head's logits), each first
# standardised by its mean and spread on the validation groups' windows (``mix``), so that
# neither scale dominates: how far the frames are from anything taught, and how strongly the head
# answers (after ViM, Wang et al., CVPR 2022, which adds a feature-space score to the energy).
SCORES = ("knn", "knn_energy", "mahalanobis", "msp")
FEATURE_SCORES = ("knn", "knn_energy", "mahalanobis")  # need calibration.npz
NEEDS_LOGITS = ("knn_energy",)  # need the head's logits, not only its probabilities
KNN_SCORES = ("knn", "knn_energy")  # score frames by their nearest training frame (the bank)
# what each feature score reads from calibration.npz; "mix": rows (knn, energy), columns (mean, spread)
ARRAYS = {"knn": ("bank",), "knn_energy": ("bank", "mix"), "mahalanobis": ("means", "precision")}
FEATURE_ARRAYS = ("bank", "means", "precision")  # as wide as the frame encoder's features
# How the thresholds were put. "quantile": where ``accepted`` of the known clips that chose them
# pass (held-back groups, or out-of-fold scores). "equal_error": a taught bundle's, between its
# takes scored with their own scene left out and reference footage of other actions, where as
# many of the first are refused as of the second accepted (core.training.takes).
RULES = ("quantile", "equal_error")


@dataclass(frozen=True)
class Calibration:
    score: str
    threshold: float  # a video whose mean window score is below this is unknown
    window_threshold: float  # a (smoothed) window below this is unknown
    groups: tuple[int, ...]  # validation groups the thresholds were chosen on
    accepted: float  # share of those groups' clips accepted at ``threshold`` (the target)
    k: int = 1  # knn only
    feature_dim: int = 0  # the frame encoder's output width the reference data was made with
    arrays: dict | None = field(default=None, compare=False, repr=False)  # from calibration.npz
    rule: str = "quantile"  # how the thresholds were put (RULES)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("arrays")
        data["groups"] = list(self.groups)
        return data

    @classmethod
    def from_dict(cls, data: dict, arrays: dict | None) -> Calibration:
        try:
            calibration = cls(
                score=str(data["score"]),
                threshold=float(data["threshold"]),
                window_threshold=float(data["window_threshold"]),
                groups=tuple(int(g) for g in data["groups"]),
                accepted=float(data["accepted"]),
                k=int(data.get("k", 1)),
                feature_dim=int(data.get("feature_dim", 0)),
                rule=str(data.get("rule", "quantile")),
                arrays=arrays,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(
                f"config.json's open_set calibration is incomplete or malformed ({error!r})."
            ) from error
        calibration.validate()
        return calibration

    def validate(self) -> None:
        if self.score not in SCORES:
            raise ModelError(
                f"config.json's open_set score '{self.score}' is unknown (known: {', '.join(SCORES)})."
            )
        if self.rule not in RULES:
            raise ModelError(
                f"config.json's open_set rule '{self.rule}' is unknown (known: {', '.join(RULES)})."
            )
        finite = math.isfinite(self.threshold) and math.isfinite(self.window_threshold)
        if not finite or self.k < 1 or not 0 < self.accepted <= 1:
            raise ModelError(
                "config.json's open_set needs finite thresholds, k of 1 or more and accepted in (0, 1]."
            )
        if self.score in FEATURE_SCORES:
            needed = ARRAYS[self.score]
            if not self.arrays or any(name not in self.arrays for name in needed):
                raise ModelError(f"The bundle's {CALIBRATION_FILE} is missing or lacks {', '.join(needed)}.")
            arrays = {name: self.arrays[name] for name in needed}
            shaped = all(a.ndim == 2 and np.isfinite(a).all() for a in arrays.values())
            if not shaped or not self._fits(arrays):
                raise ModelError(
                    f"The bundle's {CALIBRATION_FILE} holds arrays of the wrong shape or non-finite values."
                )
            widths = {a.shape[-1] for name, a in arrays.items() if name in FEATURE_ARRAYS}
            if widths != {self.feature_dim}:
                raise ModelError(
                    f"The bundle's {CALIBRATION_FILE} holds {sorted(widths)}-wide features, but its config "
                    f"says {self.feature_dim}: it was made for another backbone."
                )

    def _fits(self, arrays: dict[str, np.ndarray]) -> bool:
        """knn: at least k reference rows; mahalanobis: a square precision matrix; mix: a mean
        and a positive spread for each of its two parts."""
        if "mix" in arrays and (arrays["mix"].shape != (2, 2) or (arrays["mix"][:, 1] <= 0).any()):
            return False
        if "bank" in arrays:
            return 1 <= self.k <= len(arrays["bank"])
        return arrays["precision"].shape[0] == arrays["precision"].shape[1]


def read_arrays(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name].astype(np.float32) for name in data.files}
    except Exception as error:  # numpy and zipfile raise many types for a damaged archive
        raise ModelError(f"The bundle's {path.name} cannot be read: {error}") from error


def write_arrays(path: Path, arrays: dict) -> None:
    """The knn bank in float16 on disk (it is most of the size; its distances move by ~1e-3);
    everything else in float32. Scores are computed in float32."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        **{name: np.asarray(a, np.float16 if name == "bank" else np.float32) for name, a in arrays.items()},
    )
    path.write_bytes(buffer.getvalue())
