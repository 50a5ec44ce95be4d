"""Known-ness: how much a window looks like what the model was taught, besides which of its
classes it looks most like. A softmax always names one of its classes, however far the input
is from all of them; a score below the bundle's calibrated threshold turns that into "unknown".

The scores (``core.models.calibration.SCORES``, plus energy alone for the comparison in
tools/open_set_scores.py) take the frozen encoder's per-frame features (a window's score is the
mean of its frames' scores: each sampled frame is scored once, like it is encoded once), a
window's class probabilities or logits, or both (``knn_energy``).
All return "higher = more known", so one threshold rule serves them all.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.models.calibration import KNN_SCORES, Calibration

CHUNK = 512  # frames scored at a time: bounded memory however long the video


def normalised(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return (features / np.maximum(norms, 1e-12)).astype(np.float32)


def _chunked(score, features: np.ndarray) -> np.ndarray:
    """``score`` of the L2-normalised ``features``, ``CHUNK`` rows at a time."""
    queries = normalised(features)
    scores = [score(queries[start : start + CHUNK]) for start in range(0, len(queries), CHUNK)]
    return np.concatenate(scores) if scores else np.empty(0, np.float32)


def _knn(unit_bank: np.ndarray, k: int):
    """The k-th nearest neighbour score of L2-normalised query rows against a normalised bank."""

    def score(chunk: np.ndarray) -> np.ndarray:
        # one row (the live view scores each frame as it comes) in numpy's own loop: BLAS would
        # wake its threads for it, whose spin-wait afterwards cost 0.4 of a core at 4 frames a second
        products = np.einsum("ij,kj->ik", chunk, unit_bank) if len(chunk) == 1 else chunk @ unit_bank.T
        squared = np.maximum(2.0 - 2.0 * products, 0.0)  # |a - b|^2 = 2 - 2 a.b for unit vectors
        return -np.sqrt(np.partition(squared, k - 1, axis=1)[:, k - 1])

    return score


def knn_score(features: np.ndarray, bank: np.ndarray, k: int) -> np.ndarray:
    """Minus the distance to the k-th nearest neighbour, both sides L2-normalised."""
    return _chunked(_knn(normalised(bank), k), features)


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


def mixed_score(knn_windows: np.ndarray, energies: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """``knn_energy``: each part standardised by ``mix`` (rows knn, energy; columns mean, spread)."""
    return (knn_windows - mix[0, 0]) / mix[0, 1] + (energies - mix[1, 0]) / mix[1, 1]


def frame_scorer(calibration: Calibration) -> Callable[[np.ndarray], np.ndarray]:
    """``frame_scores`` with the calibration's reference data prepared once: the live view scores
    frames one at a time, and normalising a bank of thousands of frames again for each one cost
    more than the score itself."""
    arrays = calibration.arrays or {}
    if calibration.score in KNN_SCORES:
        score = _knn(normalised(arrays["bank"]), calibration.k)
        return lambda features: _chunked(score, features)
    return lambda features: mahalanobis_score(features, arrays["means"], arrays["precision"])


def frame_scores(calibration: Calibration, features: np.ndarray) -> np.ndarray:
    """The feature part of a feature score for each frame's features: knn (also for
    knn_energy, whose windows then add their energy, ``window_scores``), mahalanobis."""
    return frame_scorer(calibration)(features)


def window_scores(calibration: Calibration, frame_means: np.ndarray, logits: np.ndarray | None) -> np.ndarray:
    """Each window's score from its frames' mean feature score (and its logits, for knn_energy)."""
    if calibration.score == "knn_energy":
        return mixed_score(frame_means, energy_score(logits), (calibration.arrays or {})["mix"])
    return frame_means
