"""Fitting a bundle's open-set calibration, and the figures that judge it.

The reference data of a feature score comes from the training groups only (their frames'
features, as recorded); the thresholds come from the validation groups only: the score below which
just ``1 - accepted`` of the validation clips (and of their smoothed windows) fall. Nothing here
looks at unknown clips: those only judge the result (``auroc``, ``refused``).
"""

from __future__ import annotations

import numpy as np

from core.engine.knownness import normalised
from core.models.calibration import KNN_SCORES, Calibration

ACCEPTED = 0.95  # share of validation clips a calibrated bundle accepts as known
BANK_SIZE = 3000  # knn reference frames kept (float16: 7.7 MB at 1280 features); with k = 1 this
# is Sun et al.'s subsampled bank (about 13% of the training frames, k scaled down with it)
KNN_K = 1
SHRINKAGE = 0.1  # of the shared covariance towards its mean variance, so that it inverts


def knn_arrays(features: np.ndarray, seed: int = 0) -> dict:
    """A random subset of the training frames' features, L2-normalised."""
    rng = np.random.default_rng(seed)
    keep = rng.permutation(len(features))[:BANK_SIZE]
    # rounded as calibration.npz stores it, so the thresholds are fitted on the bank analysis uses
    bank = normalised(features[np.sort(keep)]).astype(np.float16).astype(np.float32)
    return {"bank": bank}


def mahalanobis_arrays(features: np.ndarray, labels: np.ndarray) -> dict:
    """Class means and the shared (tied) precision matrix of the L2-normalised features."""
    z = normalised(features)
    classes = np.unique(labels)
    means = np.stack([z[labels == c].mean(axis=0) for c in classes])
    centred = z - means[np.searchsorted(classes, labels)]
    covariance = centred.T @ centred / len(z)
    spherical = np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    shrunk = (1 - SHRINKAGE) * covariance + SHRINKAGE * spherical
    return {"means": means.astype(np.float32), "precision": np.linalg.inv(shrunk).astype(np.float32)}


def mix_array(knn_windows: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """knn_energy's standardisation: the mean and spread of each part (rows knn, energy) over
    the validation windows."""
    parts = np.stack([knn_windows, energies]).astype(np.float64)
    spread = np.maximum(parts.std(axis=1), 1e-6)  # a single validation window has none
    return np.stack([parts.mean(axis=1), spread], axis=1).astype(np.float32)


def reference_arrays(score: str, features: np.ndarray, labels: np.ndarray) -> dict | None:
    """The training groups' part of the reference data (knn_energy's ``mix`` comes from the
    validation windows once the head is trained: ``mix_array``)."""
    if score in KNN_SCORES:
        return knn_arrays(features)
    if score == "mahalanobis":
        return mahalanobis_arrays(features, labels)
    return None


def thresholds(
    clip_scores: np.ndarray, window_scores: np.ndarray, accepted: float = ACCEPTED
) -> tuple[float, float]:
    """(video threshold, window threshold): the ``1 - accepted`` quantiles of the validation
    clips' scores and of their (smoothed) windows' scores."""
    # "lower": a threshold on an observed score, so that at least ``accepted`` of them pass
    quantile = [float(np.quantile(s, 1 - accepted, method="lower")) for s in (clip_scores, window_scores)]
    return quantile[0], quantile[1]


def uncalibrated(score: str, arrays: dict | None, feature_dim: int, groups: tuple[int, ...]) -> Calibration:
    """A calibration with its reference data but thresholds not yet chosen (they accept all)."""
    return Calibration(score, -np.inf, -np.inf, groups, ACCEPTED, KNN_K, feature_dim, arrays=arrays)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    """Probability that a known clip scores above an unknown one (ties count half): the area
    under the ROC curve of "known" against "unknown", from ranks (Mann-Whitney)."""
    known, unknown = np.asarray(known, float), np.asarray(unknown, float)
    if not len(known) or not len(unknown):
        return float("nan")
    both = np.concatenate([known, unknown])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    for value in np.unique(both):  # average ranks of ties
        tied = both == value
        ranks[tied] = ranks[tied].mean()
    known_ranks = ranks[: len(known)].sum()
    return float((known_ranks - len(known) * (len(known) + 1) / 2) / (len(known) * len(unknown)))
