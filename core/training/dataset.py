"""UCF-style clip folders: discovery, group splits, cached frames, augmented training windows.

Clips of one UCF group come from the same source video, so splits are made by group and
never by clip: a clip split leaks scenes into validation and inflates accuracy.

Two tasks are learnt from the same clips: ``action`` (the class folders) and ``direction``
(was the clip played forwards or backwards?). The reversed copies are made on the fly, as
reversed views of the same frames, so both tasks share one split and one frame cache.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core.config import VIDEO_SUFFIXES, cache_root
from core.engine.windows import cut_windows, window_indices, window_starts
from core.errors import DatasetError
from core.media.video import read_frames
from core.models.contract import to_unit

DEFAULT_VAL_GROUPS = (8, 9, 10, 11)
TASKS = ("action", "direction")
DIRECTIONS = ("forward", "backward")  # the direction task's classes; index 1: played backwards
GROUP_PATTERN = re.compile(r"_g(\d+)_", re.IGNORECASE)


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    group: int


VAL_SHARE = 0.25  # of each action's clips held back for validation when clips have no groups
MIN_CLIPS_PER_CLASS = 2  # split by clip: one to learn from, one to check on


@dataclass(frozen=True)
class Split:
    train: list[Clip]
    val: list[Clip]
    val_groups: tuple[int, ...]  # () for a split by clip

    @property
    def train_groups(self) -> tuple[int, ...]:
        return tuple(sorted({c.group for c in self.train}))

    @property
    def by_clip(self) -> bool:
        return not self.val_groups

    def summary(self) -> str:
        if self.by_clip:
            return (
                f"split by clip (no UCF groups in the names): {len(self.train)} training clips, "
                f"{len(self.val)} validation clips"
            )
        return (
            f"train groups {self.train_groups} ({len(self.train)} clips), "
            f"validation groups {self.val_groups} ({len(self.val)} clips)"
        )

    def describe(self) -> dict:
        """What metrics.json and the model card record about the split."""
        counts = {"train_clips": len(self.train), "val_clips": len(self.val)}
        if self.by_clip:
            return {
                "by": "clip",
                "val_clip_names": [c.path.name for c in self.val],
                # by content, not name: a new take named like a training clip is still new
                "train_clip_sha256": sorted({content_digest(c.path) for c in self.train}),
                **counts,
            }
        return {
            "by": "group",
            "train_groups": list(self.train_groups),
            "val_groups": list(self.val_groups),
            **counts,
        }


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (about a millisecond per megabyte)."""
    with Path(path).open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def group_of(name: str) -> int:
    """The UCF group in a file name, 0 when it names none (fine unless we must split)."""
    match = GROUP_PATTERN.search(name)
    return int(match.group(1)) if match else 0


def label_in_name(name: str, classes) -> str | None:
    """The true action of a UCF101 clip, from its file name (``v_Surfing_g10_c02.avi``)."""
    return next((label for label in classes if f"_{label}_" in f"_{name}_".replace(".", "_")), None)


def _class_folder(entry: Path) -> Path | None:
    """The folder a ``<Class>`` entry stands for: a folder, a symbolic link to one, or a link
    file (a few bytes naming a folder relative to it: how git checks out a symbolic link where
    the file system or its settings make none; ../shared/data/ucf101 is made of them)."""
    if entry.is_dir():
        return entry
    if entry.is_file() and entry.stat().st_size < 1024:
        try:
            target = (entry.parent / entry.read_text().strip()).resolve()
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if target.is_dir():
            return target
    return None


def scan(data_dir: str | Path, groups: Iterable[int] | None = None) -> tuple[list[str], list[Clip]]:
    """Class names (sorted folder names) and every clip under ``data_dir/<Class>/``."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder of <Class>/<clip> videos.")
    entries = (e for e in root.iterdir() if not e.name.startswith("."))
    folders = {e.name: folder for e in entries if (folder := _class_folder(e)) is not None}
    classes = sorted(folders)
    wanted = set(groups) if groups is not None else None
    clips = []
    for label in classes:
        for path in sorted(folders[label].iterdir()):
            if path.suffix.lower() not in VIDEO_SUFFIXES:
                continue
            group = group_of(path.name)
            if wanted is None or group in wanted:
                clips.append(Clip(path, label, group))
    if not clips:
        raise DatasetError(f"No video clips found under {root} (expected <Class>/<clip>.mp4|avi).")
    return classes, clips


def chosen_clips(data_dir: str | Path, classes: Iterable[str] = ()) -> tuple[list[str], list[Clip]]:
    """``scan``, kept to ``classes`` when any are named (``--classes``): every one must be a class
    folder of ``data_dir``."""
    folders, clips = scan(data_dir)
    classes = tuple(classes)
    if classes:
        missing = sorted(set(classes) - set(folders))
        if missing:
            raise DatasetError(
                f"--classes names {missing}, which are not class folders of {data_dir}: {folders}."
            )
        folders = sorted(classes)
        clips = [c for c in clips if c.label in classes]
    return folders, clips


def split_clips(clips: list[Clip], val_groups: Iterable[int] = DEFAULT_VAL_GROUPS) -> Split:
    """By UCF group where the clips' names carry groups, else by clip (a user's own folder)."""
    grouped = [c.group != 0 for c in clips]
    if all(grouped):
        return split_by_group(clips, val_groups)
    if not any(grouped):
        return split_by_clip(clips)
    named = next(c for c in clips if c.group).path.name
    unnamed = next(c for c in clips if not c.group).path.name
    raise DatasetError(
        f"Some clips name a UCF group ({named}) and some do not ({unnamed}): rename them all "
        "one way, so that the split can keep each source video on one side."
    )


def source_of(clip: Clip) -> str:
    """The video a clip was cut from: what comes before ``~`` in its name (``walk~0-5s.mp4``),
    or the clip itself."""
    return clip.path.stem.split("~")[0]


def split_by_clip(clips: list[Clip], share: float = VAL_SHARE) -> Split:
    """Hold back about ``share`` of each action's clips (at least one), spread evenly through
    its clips in name order, so that the split does not depend on luck and clips cut from one
    video in sequence (``walk-1``, ``walk-2``, ...) are not all on one side. Clips named
    ``<source>~<piece>`` are held back together with the other pieces of their source when the
    action has pieces of two sources or more. Otherwise each clip is its own group: two clips of
    one source video may then fall on both sides, which makes the validation figure optimistic
    (the model card says so)."""
    by_label: dict[str, list[Clip]] = {}
    for clip in clips:
        by_label.setdefault(clip.label, []).append(clip)
    short = sorted(label for label, own in by_label.items() if len(own) < MIN_CLIPS_PER_CLASS)
    if short:
        raise DatasetError(
            f"{', '.join(short)}: only one clip. Each action needs at least {MIN_CLIPS_PER_CLASS} "
            "clips (one to learn from, one to check the result on); 4 or more give a useful model."
        )
    train, val = [], []
    for own in by_label.values():
        sources: dict[str, list[Clip]] = {}
        for clip in sorted(own, key=lambda c: c.path.name):
            sources.setdefault(source_of(clip), []).append(clip)
        units = list(sources.values())
        if len(units) < MIN_CLIPS_PER_CLASS:
            units = [[clip] for unit in units for clip in unit]
        held = max(1, round(len(units) * share))
        picks = {int((k + 0.5) * len(units) / held) for k in range(held)}
        for index, unit in enumerate(units):
            (val if index in picks else train).extend(unit)
    return Split(train, val, ())


def split_by_group(clips: list[Clip], val_groups: Iterable[int] = DEFAULT_VAL_GROUPS) -> Split:
    val_groups = tuple(sorted(set(val_groups)))
    unnamed = [c.path.name for c in clips if c.group == 0]
    if unnamed:
        raise DatasetError(f"{unnamed[0]}: no UCF group (_gNN_) in the file name; cannot split by group.")
    val = [c for c in clips if c.group in val_groups]
    train = [c for c in clips if c.group not in val_groups]
    if not val or not train:
        raise DatasetError(f"Validation groups {val_groups} leave an empty training or validation set.")
    return Split(train, val, val_groups)


class FrameCache:
    """Sampled, resized frames of each clip, kept on disk as ``.npy`` between runs."""

    def __init__(self, root: str | Path | None, fps: float, size: tuple[int, int]):
        self.root = Path(root) if root else cache_root() / "frames"
        self.fps = fps
        self.size = size

    def _key(self, path: Path) -> str:
        """Changes when the file's bytes, the sampling rate or the frame size do.

        Keyed on content, not on path and modification time: a data folder copied or provisioned
        again (new mtimes, same clips), or a clip reached through a link, keeps its cache. Hashing
        a clip costs about a millisecond per megabyte, far less than decoding it.
        """
        return hashlib.sha256(f"{content_digest(path)}|{self.fps}|{self.size}".encode()).hexdigest()[:24]

    def frames(self, path: Path) -> np.ndarray:
        cached = self.root / f"{self._key(path)}.npy"
        if cached.exists():
            return np.load(cached)
        frames = read_frames(path, self.fps, self.size)
        save_atomically(cached, frames)
        return frames


def save_atomically(target: Path, array: np.ndarray | dict[str, np.ndarray]) -> None:
    """Write an array (``.npy``) or named arrays (``.npz``) via a temporary file and rename, so
    that a reader never sees half a file (and an interrupted run leaves none)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        with partial.open("wb") as file:
            if isinstance(array, dict):
                np.savez(file, **array)
            else:
                np.save(file, array)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


class FeatureCache:
    """Per-frame features of each clip from a frozen frame encoder, kept on disk as ``.npy``.

    A frozen encoder gives the same features in every epoch, so they are computed once per clip
    and the sequence head trains on them: minutes instead of hours for an ImageNet backbone.
    Each clip is stored as ``(2, frames, features)``: the frames as they are and mirrored, the
    one augmentation that survives caching. Frames are decoded straight from the video (not
    through ``FrameCache``) because the large frames a backbone needs are used only this once.
    ``fingerprint`` names the encoder's weights; other weights never see stale features.
    """

    def __init__(
        self,
        frames: FrameCache,
        encode: Callable[[np.ndarray], np.ndarray],
        fingerprint: str,
    ):
        self.root = frames.root / "features"
        self.frame_source = frames
        self.encode = encode
        self.fingerprint = fingerprint

    def features(self, path: Path) -> np.ndarray:
        key = hashlib.sha256(f"{self.frame_source._key(path)}|{self.fingerprint}".encode()).hexdigest()[:24]
        cached = self.root / f"{key}.npy"
        if cached.exists():
            return np.load(cached)
        frames = read_frames(path, self.frame_source.fps, self.frame_source.size)
        features = np.stack(encode_each(self.encode, [frames, frames[:, :, ::-1]]))
        save_atomically(cached, features)
        return features


def encode_each(encode: Callable[[np.ndarray], np.ndarray], clips: list[np.ndarray]) -> list[np.ndarray]:
    """Each clip's features. A frame encoder takes them in one call (fewer small batches); a unit
    encoder (the video network, whose features span several frames) one clip at a time, so that
    no unit straddles two clips."""
    if getattr(encode, "unit_frames", 1) > 1:
        return [encode(clip) for clip in clips]
    encoded = encode(np.concatenate(clips))
    return np.split(encoded, np.cumsum([len(c) for c in clips])[:-1])


def augment(window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip, random resized crop and brightness/contrast, the same for every frame of a window."""
    n, height, width, _ = window.shape
    if rng.random() < 0.5:
        window = window[:, :, ::-1]
    scale = rng.uniform(0.7, 1.0)
    crop_h = int(round(height * np.sqrt(scale * rng.uniform(0.85, 1.15))))
    crop_w = int(round(height * width * scale / max(crop_h, 1)))
    crop_h, crop_w = min(crop_h, height), min(crop_w, width)
    top = rng.integers(0, height - crop_h + 1)
    left = rng.integers(0, width - crop_w + 1)
    window = np.stack(
        [
            cv2.resize(np.ascontiguousarray(f[top : top + crop_h, left : left + crop_w]), (width, height))
            for f in window
        ]
    )
    x = to_unit(window)
    mean = x.mean()
    x = (x - mean) * rng.uniform(0.75, 1.25) + mean + rng.uniform(-0.12, 0.12)
    return np.clip(x, 0.0, 1.0)


def task_classes(task: str, classes: list[str]) -> list[str]:
    """What a model for ``task`` predicts: the action classes, or forward/backward."""
    if task not in TASKS:
        raise DatasetError(f"Unknown task '{task}'. Choose one of: {', '.join(TASKS)}.")
    return list(DIRECTIONS) if task == "direction" else list(classes)


def played(frames: np.ndarray, backward: bool) -> np.ndarray:
    """A clip's frames (or per-frame features) in recorded order, or reversed: a view, no copy."""
    return frames[::-1] if backward else frames


def directed_views(clips: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Every clip played forwards and backwards, with the direction labels: the direction
    task's evaluation set, exactly balanced, so an order-blind model scores 50%."""
    views = [played(frames, backward) for frames in clips for backward in (False, True)]
    return views, np.tile(np.arange(len(DIRECTIONS), dtype=np.int32), len(clips))


def labelled_windows(
    frames: np.ndarray, label: int, task: str, sequence_length: int, count: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, int]]:
    """``count`` training windows of one clip with the label ``task`` gives them.

    For ``direction`` each window is cut from the clip played forwards or backwards (at random)
    and labelled so. The clip is reversed *before* the window is cut, so a short clip's
    repeated last frame sits at the end of its windows either way and gives nothing away.
    """
    if task != "direction":
        for window in training_windows(frames, sequence_length, count, rng):
            yield window, label
        return
    for _ in range(count):
        backward = int(rng.integers(2))
        for window in training_windows(played(frames, bool(backward)), sequence_length, 1, rng):
            yield window, backward


def feature_windows(
    views: list[np.ndarray], label: int, task: str, sequence_length: int, count: int, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, int]]:
    """Like ``labelled_windows``, over per-frame features; each window from a random view
    (e.g. the clip as it is or mirrored, see ``FeatureCache``)."""
    for _ in range(count):
        yield from labelled_windows(views[rng.integers(len(views))], label, task, sequence_length, 1, rng)


def training_windows(
    frames: np.ndarray, sequence_length: int, count: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """``count`` randomly placed, speed-jittered windows (temporal jitter) of one clip."""
    n = len(frames)
    for _ in range(count):
        stride = rng.uniform(0.8, 1.25)
        span = int(np.ceil(sequence_length * stride))
        start = int(rng.integers(0, max(n - span, 0) + 1))
        yield frames[window_indices(start, sequence_length, n, stride)]


def evaluation_windows(frames: np.ndarray, sequence_length: int, hop: int) -> np.ndarray:
    """Every analysis window of one clip, as analysis would cut them (uint8)."""
    return cut_windows(frames, window_starts(len(frames), sequence_length, hop), sequence_length)
