"""The annotated video: an H.264 copy of the user's video with the current action drawn on
every frame (the encoding itself is ``core.media.encode``'s)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.engine.timeline import Timeline
from core.media.encode import write_frames
from core.media.video import probe


def annotated_copy(source: str | Path, timeline: Timeline, folder: str | Path, smoothing: int = 3) -> Path:
    """An H.264 copy with the current action and its confidence drawn on every frame ("unknown"
    with the closest action where the segment is none of the model's)."""
    source = Path(source)
    info = probe(source)
    segments = timeline.segments(smoothing)
    centres = (timeline.starts_s + timeline.ends_s) / 2
    classes = list(timeline.classes)
    scale = max(0.5, info.height / 480)

    def draw(frame: np.ndarray, time_s: float) -> None:
        segment = next((s for s in segments if time_s < s.end_s), segments[-1])
        window = int(np.abs(centres - time_s).argmin())
        if segment.known:
            text = f"{segment.label} {timeline.probabilities[window, classes.index(segment.label)]:.0%}"
        else:
            text = f"unknown (closest: {segment.closest})"
        (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        cv2.rectangle(frame, (6, 6), (18 + width, 18 + height + 6), (0, 0, 0), -1)
        cv2.putText(frame, text, (12, 12 + height), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2)

    return write_frames(source, info, Path(folder) / f"{source.stem}.annotated.mp4", draw)
