"""Probing and streaming, rate-sampled, resized frame reading.

Frames are yielded one at a time so that a ten-minute video costs no more memory than a
ten-second one. Container metadata is treated as a hint: fps may be 0 or NaN, frame counts may
be wrong or missing (a browser's recording states no length: it is counted from the packets),
and trailing frames may be unreadable; decoding stops quietly at the first frame that cannot be
read and reports how much of the file was usable.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from core.errors import VideoError

FALLBACK_FPS = 25.0
_MAX_PLAUSIBLE_FPS = 480.0


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, corrected where it is implausible."""

    path: str
    fps: float
    frame_count: int
    duration_s: float
    width: int
    height: int
    fps_assumed: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SampledFrame:
    """One decoded frame, resized to the model's input, with its time in the video."""

    index: int
    time_s: float
    image: np.ndarray  # uint8 RGB, (height, width, 3)


def _check_path(path: Path) -> None:
    if not path.exists():
        raise VideoError(f"No such file: {path}")
    if path.is_dir():
        raise VideoError(f"{path} is a folder, not a video file.")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes).")


def open_capture(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise VideoError(
            f"{path.name} could not be opened as a video: it is not a video file, "
            "or it is truncated or corrupt."
        )
    return capture


def _plausible_fps(value: float) -> bool:
    return math.isfinite(value) and 0.0 < value <= _MAX_PLAUSIBLE_FPS


def ffmpeg_exe() -> str:
    """The ffmpeg binary that ``imageio-ffmpeg`` ships (with libx264), whatever the system has."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _length_from_packets(path: Path) -> tuple[int, float] | None:
    """Frame count and seconds of the first video stream, counted from its packets (demuxed, not
    decoded: a moment even for long files). For containers that do not state their length, such as
    the WebM a browser's MediaRecorder writes as it streams; None when ffmpeg cannot tell."""
    command = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy",
               "-f", "null", "-progress", "pipe:1", "-nostats", "-"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    report = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    try:
        frames, seconds = int(report["frame"]), int(report["out_time_us"]) / 1e6
    except (KeyError, ValueError):
        return None
    return (frames, seconds) if frames > 0 and seconds > 0 else None


def _fps_from_timestamps(capture: cv2.VideoCapture, frames: int = 12) -> float | None:
    """Estimate fps from decoder timestamps when the container's rate is missing."""
    stamps = []
    for _ in range(frames):
        if not capture.grab():
            break
        stamps.append(capture.get(cv2.CAP_PROP_POS_MSEC))
    steps = np.diff(stamps)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return None
    fps = 1000.0 / float(np.median(steps))
    return fps if _plausible_fps(fps) else None


def probe(path: str | Path) -> VideoInfo:
    """Read a video's metadata and make sure at least its first frame decodes."""
    path = Path(path)
    _check_path(path)
    capture = open_capture(path)
    try:
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        raw_count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(raw_count) if math.isfinite(raw_count) and raw_count > 0 else 0
        fps = capture.get(cv2.CAP_PROP_FPS)
        ok, first = capture.read()
        if not ok or first is None:
            raise VideoError(f"{path.name} contains no decodable video frames.")
        if not capture.grab():
            raise VideoError(f"{path.name} is a still image (one frame), not a video.")
        fps_assumed = False
        if not _plausible_fps(fps):
            fps = _fps_from_timestamps(capture)
            if fps is None:
                fps, fps_assumed = FALLBACK_FPS, True
    finally:
        capture.release()
    counted = None if frame_count else _length_from_packets(path)
    if counted and _plausible_fps(counted[0] / counted[1]):
        # the average rate over the whole stream: a webcam's frame rate varies with the light, and
        # the rate a streamed container states is the demuxer's guess from its first frames
        frame_count, fps, fps_assumed = counted[0], counted[0] / counted[1], False
    height, width = (height, width) if width > 0 and height > 0 else first.shape[:2]
    duration = frame_count / fps if frame_count else 0.0
    return VideoInfo(str(path), float(fps), frame_count, duration, width, height, fps_assumed)


def sample_times(fps: float, target_fps: float) -> Iterator[tuple[int, float]]:
    """Yield ``(frame_index, time_s)`` for the source frames nearest a ``target_fps`` grid."""
    step = fps / target_fps
    k = 0
    while True:
        index = int(round(k * step))
        yield index, k / target_fps
        k += 1


def iter_frames(
    path: str | Path,
    target_fps: float,
    size: tuple[int, int],
    info: VideoInfo | None = None,
) -> Iterator[SampledFrame]:
    """Stream frames sampled at ``target_fps`` and resized to ``size`` (width, height).

    Frames in between are grabbed without colour conversion or resizing; that keeps decoding
    close to the container's raw decode speed. Stops at the first unreadable frame.
    """
    info = info or probe(path)
    capture = open_capture(Path(path))
    try:
        wanted = sample_times(info.fps, target_fps)
        next_index, next_time = next(wanted)
        position = 0
        produced = 0
        while capture.grab():
            if position == next_index:
                ok, frame = capture.retrieve()
                if not ok or frame is None:
                    break
                resized = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                image = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
                while next_index == position:  # a source slower than the target repeats frames
                    yield SampledFrame(produced, next_time, image)
                    produced += 1
                    next_index, next_time = next(wanted)
            position += 1
    finally:
        capture.release()


def read_frames(path: str | Path, target_fps: float, size: tuple[int, int]) -> np.ndarray:
    """All sampled frames of a (short) clip as one uint8 array; for training clips only."""
    frames = [f.image for f in iter_frames(path, target_fps, size)]
    if not frames:
        raise VideoError(f"{Path(path).name} contains no decodable video frames.")
    return np.stack(frames)


def frames_at(path: str | Path, times_s: list[float], width: int) -> list[np.ndarray]:
    """RGB frames nearest ``times_s``, scaled to ``width``, decoded in one forward pass
    (seeking is unreliable in many AVI files); for thumbnails."""
    info = probe(path)
    last = info.frame_count - 1 if info.frame_count else None
    indices = [int(round(t * info.fps)) for t in times_s]
    if last is not None:
        indices = [min(i, last) for i in indices]
    height = max(1, int(round(width * info.height / info.width)))
    found: dict[int, np.ndarray] = {}
    capture = open_capture(Path(path))
    try:
        wanted = set(indices)
        position = 0
        while len(found) < len(wanted) and capture.grab():
            if position in wanted:
                ok, frame = capture.retrieve()
                if not ok:
                    break
                small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                found[position] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
            position += 1
    finally:
        capture.release()
    if not found:
        raise VideoError(f"{Path(path).name} contains no decodable video frames.")
    fallback = found[max(found)]
    return [found.get(i, fallback) for i in indices]


@contextmanager
def staged(data: bytes, suffix: str) -> Iterator[Path]:
    """``data`` (an upload) as a file in its own temporary folder, removed afterwards with
    anything else written next to it (re-encodes, annotated copies)."""
    with tempfile.TemporaryDirectory(prefix="arl-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        yield path
