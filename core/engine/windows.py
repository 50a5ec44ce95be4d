"""Where windows of ``sequence_length`` sampled frames start, shared by training and analysis.

Training, in-training validation and analysis all cut windows the same way, so that the
accuracy measured while training is the accuracy ``evaluate`` reports later.
"""

from __future__ import annotations

import numpy as np


def window_starts(n_frames: int, sequence_length: int, hop: int) -> list[int]:
    """Regular starts every ``hop`` frames, plus one window flush with the end of the video.

    A video shorter than one window gets a single window at 0 (padded by ``take_window``).
    """
    if n_frames <= sequence_length:
        return [0]
    starts = list(range(0, n_frames - sequence_length + 1, hop))
    if starts[-1] + sequence_length < n_frames:
        starts.append(n_frames - sequence_length)
    return starts


def cut_windows(items: np.ndarray, starts: list[int], sequence_length: int, stride: int = 1) -> np.ndarray:
    """Stack the windows at ``starts`` out of per-frame ``items`` (frames or their features),
    each ``sequence_length`` items ``stride`` apart (the video network's staggered units: 2)."""
    return np.stack([items[window_indices(s, sequence_length, len(items), stride)] for s in starts])


def window_indices(start: int, sequence_length: int, n_frames: int, stride: float = 1.0) -> np.ndarray:
    """Frame indices of one window; past the last frame, the last frame repeats."""
    offsets = np.round(np.arange(sequence_length) * stride).astype(int)
    return np.minimum(start + offsets, n_frames - 1)
