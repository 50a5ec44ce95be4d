"""Augmented copies of each training clip, encoded once by the frozen backbone and cached.

A frozen backbone's features can be cached, but only for frames it has seen: a head trained on
cached features meets every clip exactly as filmed (and mirrored, ``FeatureCache``). Users'
footage differs from UCF101's in framing, zoom, colour, light and pace, which is where a
model trained on 18 groups of near-duplicate scenes fails. So each clip is also encoded as a few
copies, each under one random draw, the same for every frame of the copy (a copy is one other
camera, not flicker):

- a random resized crop (50-100% of the frame's area, aspect 3:4 to 4:3), and a mirror half
  the time;
- brightness, contrast and saturation each scaled by 0.7-1.3, and a colour cast of +-8% per
  channel;
- temporal jitter: sampled at the model's rate times 0.75-1.25, from a random start offset
  within one sampling period.

The copies cost one backbone pass each, once (``python -m core crossval`` builds them before
the folds start); training then draws windows from them as from the plain views.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.media.video import iter_frames, probe
from core.training.dataset import FeatureCache, encode_each, save_atomically

CROP_AREA = (0.5, 1.0)
CROP_ASPECT = (3 / 4, 4 / 3)
COLOUR = 0.3  # brightness, contrast and saturation factors in 1 +- COLOUR
TINT = 0.08  # per-channel gain in 1 +- TINT
RATE_JITTER = 0.25  # sampling rate in 1 +- RATE_JITTER times the model's
DECODE_WIDTH = 480  # source frames are decoded at most this wide before the crops
VERSION = 1  # bump when a draw or its application changes: cached copies are keyed by it


@dataclass(frozen=True)
class Augmentation:
    """One draw: how one copy of a clip is filmed differently."""

    rate: float  # sampling rate, as a factor of the model's
    offset: float  # the first sample's time, as a fraction of one sampling period
    crop: tuple[float, float, float, float]  # top, left, height, width as fractions of the frame
    mirrored: bool
    brightness: float
    contrast: float
    saturation: float
    tint: tuple[float, float, float]

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Augmentation:
        area = rng.uniform(*CROP_AREA)
        aspect = np.exp(rng.uniform(*np.log(CROP_ASPECT)))
        height, width = min(1.0, np.sqrt(area / aspect)), min(1.0, np.sqrt(area * aspect))
        return cls(
            rate=float(rng.uniform(1 - RATE_JITTER, 1 + RATE_JITTER)),
            offset=float(rng.uniform()),
            crop=(float(rng.uniform(0, 1 - height)), float(rng.uniform(0, 1 - width)), height, width),
            mirrored=bool(rng.random() < 0.5),
            brightness=float(rng.uniform(1 - COLOUR, 1 + COLOUR)),
            contrast=float(rng.uniform(1 - COLOUR, 1 + COLOUR)),
            saturation=float(rng.uniform(1 - COLOUR, 1 + COLOUR)),
            tint=tuple(float(t) for t in rng.uniform(1 - TINT, 1 + TINT, 3)),
        )


def sample_indices(source_frames: int, source_fps: float, fps: float, offset: float) -> np.ndarray:
    """Indices of the source frames nearest the times ``(offset + k) / fps``, k = 0, 1, ...
    (at least one)."""
    duration = source_frames / source_fps
    times = (offset + np.arange(max(1, int(np.ceil(duration * fps))))) / fps
    indices = np.minimum(np.round(times * source_fps).astype(int), source_frames - 1)
    return indices[times < duration] if (times < duration).any() else indices[:1]


def apply(frames: np.ndarray, augmentation: Augmentation, size: tuple[int, int]) -> np.ndarray:
    """``frames`` (uint8, as decoded) cropped, resized to ``size`` (width, height), mirrored and
    recoloured as ``augmentation`` says."""
    n, height, width, _ = frames.shape
    top, left, crop_h, crop_w = augmentation.crop
    y0, x0 = int(top * height), int(left * width)
    y1 = max(y0 + 1, int(round((top + crop_h) * height)))
    x1 = max(x0 + 1, int(round((left + crop_w) * width)))
    out = np.stack([cv2.resize(f[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA) for f in frames])
    if augmentation.mirrored:
        out = out[:, :, ::-1]
    x = out.astype(np.float32)
    grey = x.mean(axis=-1, keepdims=True)
    x = grey + (x - grey) * augmentation.saturation
    x = (x - x.mean()) * augmentation.contrast + x.mean()
    x = x * augmentation.brightness * np.asarray(augmentation.tint, np.float32)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


class AugmentedFeatureCache:
    """``copies`` augmented copies of each clip, encoded by ``features``' encoder, kept on disk
    (float16, one file per clip). The draws are seeded by ``seed`` and the clip's content, so a
    copy is the same in every run and every process."""

    def __init__(self, features: FeatureCache, copies: int, seed: int = 0):
        self.base = features
        self.copies = copies
        self.seed = seed
        self.root = features.root / "augmented"

    def _key(self, path: Path) -> str:
        frames = self.base.frame_source
        text = f"{frames._key(path)}|{self.base.fingerprint}|{self.copies}|{self.seed}|{VERSION}"
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def features(self, path: Path) -> list[np.ndarray]:
        """The clip's augmented copies: a list of ``copies`` arrays (frames, features)."""
        if not self.copies:
            return []
        key = self._key(path)
        cached = self.root / f"{key}.npz"
        if cached.exists():
            with np.load(cached) as stored:
                return [stored[f"copy{i}"].astype(np.float32) for i in range(self.copies)]
        rng = np.random.default_rng([self.seed, int(key[:12], 16)])
        info = probe(path)
        # every source frame, at most DECODE_WIDTH wide: a long or large clip stays affordable (the
        # crops are scaled to the model's 160 px anyway; UCF101's 320x240 is decoded as it is)
        scale = min(1.0, DECODE_WIDTH / info.width)
        size = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
        decoded = np.stack([f.image for f in iter_frames(path, info.fps, size, info)])
        copies = []
        for _ in range(self.copies):
            augmentation = Augmentation.draw(rng)
            fps = self.base.frame_source.fps * augmentation.rate
            picked = decoded[sample_indices(len(decoded), info.fps, fps, augmentation.offset)]
            copies.append(apply(picked, augmentation, self.base.frame_source.size))
        encoded = encode_each(self.base.encode, copies)
        arrays = {f"copy{i}": part.astype(np.float16) for i, part in enumerate(encoded)}
        save_atomically(cached, arrays)
        return [arrays[f"copy{i}"].astype(np.float32) for i in range(self.copies)]
