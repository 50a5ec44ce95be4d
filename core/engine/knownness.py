"""Known-ness: how much a window looks like what the model was taught, besides which of its
classes it looks most like. A softmax always names one of its classes, however far the input
is from all of them; a score below the bundle's calibrated threshold turns that into "unknown".

The scores (``core.models.calibration.SCORES``, plus energy for the comparison in training)
take the frozen encoder's per-frame features (a window's score is the mean of its frames'
scores: each sampled frame is scored once, like it is encoded once) or a window's class
probabilities or logits.
All return "higher = more known", so one threshold rule serves them all.
"""

from __future__ import annotations

import numpy as np

from core.models.calibration import Calibration

CHUNK = 512  # frames scored at a time: bounded memory however long the video


def normalised(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(np.float32)


def _chunked(score, features: np.ndarray) -> np.ndarray:
    """``score`` of the L2-normalised ``features``, ``CHUNK`` rows at a time."""
    queries = normalised(features)
    scores = [score(queries[start : start + CHUNK]) for start in range(0, len(queries), CHUNK)]
    return np.concatenate(scores) if scores else np.empty(0, np.float32)


def knn_score(features: np.ndarray, bank: np.ndarray, k: int) -> np.ndarray:
    """Minus the distance to the k-th nearest neighbour, both sides L2-normalised."""
    bank = normalised(bank)

    def score(chunk: np.ndarray) -> np.ndarray:
        squared = np.maximum(2.0 - 2.0 * chunk @ bank.T, 0.0)  # |a - b|^2 = 2 - 2 a.b for unit vectors
        return -np.sqrt(np.partition(squared, k - 1, axis=1)[:, k - 1])

    return _chunked(score, features)


def mahalanobis_score(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """Minus the smallest squared Mahalanobis distance to a class mean (shared covariance)."""

    def score(chunk: np.ndarray) -> np.ndarray:
        centred = chunk[:, None, :] - means[None, :, :]  # (frames, classes, features)
        return -((centred @ precision) * centred).sum(axis=-1).min(axis=1)

    return _chunked(score, features)


def msp_score(probabilities: np.ndarray) -> np.ndarray:
    return probabilities.max(axis=1)


def energy_score(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))[:, 0]


def frame_scores(calibration: Calibration, features: np.ndarray) -> np.ndarray:
    """A feature score (knn, mahalanobis) for each frame's features."""
    arrays = calibration.arrays or {}
    if calibration.score == "knn":
        return knn_score(features, arrays["bank"], calibration.k)
    return mahalanobis_score(features, arrays["means"], arrays["precision"])
