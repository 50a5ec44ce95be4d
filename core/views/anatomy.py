"""How many numbers a video is, and how few of them a model window keeps: the arithmetic behind
the "What is a video" page, on a real clip's own metadata."""

from __future__ import annotations

from dataclasses import dataclass

from core.media.video import VideoInfo
from core.models.bundle import BundleSpec


@dataclass(frozen=True)
class VideoAnatomy:
    duration_s: float
    fps: float
    width: int
    height: int
    frames: int
    numbers_per_frame: int  # height x width x 3 colour channels, one byte each
    numbers: int  # the whole clip, decoded
    window_frames: int  # what one model window holds
    window_s: float
    window_size: tuple[int, int]  # (height, width) the model sees
    window_numbers: int

    @property
    def megabytes(self) -> float:
        return self.numbers / 1e6

    @property
    def window_share(self) -> float:
        """The part of the decoded clip that one window keeps (it may span less than the clip)."""
        return self.window_numbers / self.numbers if self.numbers else 0.0

    def numbers_for(self, seconds: float) -> int:
        """Decoded numbers in ``seconds`` of this video (e.g. 10 s, the page's example)."""
        return int(round(seconds * self.fps)) * self.numbers_per_frame


def anatomy(info: VideoInfo, spec: BundleSpec) -> VideoAnatomy:
    frames = info.frame_count or int(round(info.duration_s * info.fps))
    per_frame = info.width * info.height * 3
    height, width = spec.image_size
    return VideoAnatomy(
        duration_s=info.duration_s,
        fps=info.fps,
        width=info.width,
        height=info.height,
        frames=frames,
        numbers_per_frame=per_frame,
        numbers=frames * per_frame,
        window_frames=spec.sequence_length,
        window_s=spec.window_s,
        window_size=(height, width),
        window_numbers=spec.sequence_length * height * width * 3,
    )
