"""The result of analysing a video: class probabilities per window, and what follows from them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from core.media.video import VideoInfo


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    label: str
    confidence: float

    def to_dict(self) -> dict:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "label": self.label,
            "confidence": round(self.confidence, 4),
        }


@dataclass(frozen=True)
class Timeline:
    """Window start/end times x class probabilities for one video and one model."""

    video: VideoInfo
    model: dict
    classes: tuple[str, ...]
    starts_s: np.ndarray
    ends_s: np.ndarray
    probabilities: np.ndarray  # (windows, classes)
    frames_analysed: int
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def duration_s(self) -> float:
        return max(self.video.duration_s, float(self.ends_s[-1]) if len(self.ends_s) else 0.0)

    def smoothed(self, windows: int = 3) -> np.ndarray:
        """Probabilities averaged over ``windows`` neighbouring windows, centred (an even
        number is rounded up to the next odd one; 1 = none)."""
        if windows <= 1 or len(self.probabilities) < 2:
            return self.probabilities
        half = windows // 2
        padded = np.pad(self.probabilities, ((half, half), (0, 0)), mode="edge")
        kernel = np.ones(2 * half + 1) / (2 * half + 1)
        return np.stack(
            [np.convolve(padded[:, c], kernel, mode="valid") for c in range(padded.shape[1])], axis=1
        )

    def segments(self, smoothing: int = 3, min_windows: int = 2) -> list[Segment]:
        """Runs of windows with the same top label; runs shorter than ``min_windows`` are
        flickers and join the neighbour they are most like."""
        probabilities = self.smoothed(smoothing)
        labels = probabilities.argmax(axis=1)
        runs = _runs(labels)
        runs = _absorb_short_runs(runs, probabilities, min_windows)
        centres = (self.starts_s + self.ends_s) / 2
        segments = []
        for index, (label, first, last) in enumerate(runs):
            start = 0.0 if index == 0 else (centres[first - 1] + centres[first]) / 2
            end = self.duration_s if index == len(runs) - 1 else (centres[last] + centres[last + 1]) / 2
            confidence = float(self.probabilities[first : last + 1, label].mean())
            segments.append(Segment(float(start), float(end), self.classes[label], confidence))
        return segments

    def spread_windows(self, count: int = 8) -> list[tuple[float, str, float]]:
        """(centre time, top label, its probability) of up to ``count`` windows spread evenly
        over the video: what a strip of sampled frames shows."""
        picks = np.unique(np.linspace(0, len(self.starts_s) - 1, num=min(count, len(self.starts_s))).round())
        result = []
        for window in picks.astype(int):
            best = int(self.probabilities[window].argmax())
            centre = float(self.starts_s[window] + self.ends_s[window]) / 2
            result.append((round(centre, 3), self.classes[best], float(self.probabilities[window, best])))
        return result

    def mean_probabilities(self) -> np.ndarray:
        return self.probabilities.mean(axis=0)

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        """The whole video's most likely classes: window probabilities averaged."""
        mean = self.mean_probabilities()
        order = np.argsort(-mean)[:k]
        return [(self.classes[i], float(mean[i])) for i in order]

    def to_dict(self, smoothing: int = 3) -> dict:
        label, confidence = self.top_k(1)[0]
        return {
            "video": {
                "path": self.video.path,
                "duration_s": round(self.duration_s, 3),
                "fps": round(self.video.fps, 3),
                "width": self.video.width,
                "height": self.video.height,
            },
            "model": dict(self.model),
            "windows": [
                {
                    "start_s": round(float(s), 3),
                    "end_s": round(float(e), 3),
                    "probabilities": {c: round(float(p), 5) for c, p in zip(self.classes, row, strict=False)},
                }
                for s, e, row in zip(self.starts_s, self.ends_s, self.probabilities, strict=False)
            ],
            "segments": [s.to_dict() for s in self.segments(smoothing)],
            "top": {"label": label, "confidence": round(confidence, 4)},
            "top_k": [{"label": c, "confidence": round(p, 4)} for c, p in self.top_k(len(self.classes))],
            "warnings": list(self.warnings),
        }

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["start_s", "end_s", "top_label", "top_probability", *self.classes])
        for start, end, row in zip(self.starts_s, self.ends_s, self.probabilities, strict=False):
            best = int(row.argmax())
            writer.writerow(
                [f"{start:.3f}", f"{end:.3f}", self.classes[best], f"{row[best]:.5f}"]
                + [f"{p:.5f}" for p in row]
            )
        return out.getvalue()


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(label, first, last) for each run of equal labels."""
    runs = []
    first = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[first]:
            runs.append((int(labels[first]), first, i - 1))
            first = i
    return runs


def _absorb_short_runs(runs, probabilities: np.ndarray, min_windows: int):
    runs = list(runs)
    while len(runs) > 1:
        lengths = [last - first + 1 for _, first, last in runs]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_windows:
            break
        _, first, last = runs[shortest]
        neighbours = [i for i in (shortest - 1, shortest + 1) if 0 <= i < len(runs)]
        # join the neighbour whose label this run's windows find most likely
        target = max(neighbours, key=lambda i: probabilities[first : last + 1, runs[i][0]].mean())
        label = runs[target][0]
        lo, hi = sorted((shortest, target))
        runs[lo : hi + 1] = [(label, runs[lo][1], runs[hi][2])]
        runs = _merge_equal_neighbours(runs)
    return runs


def _merge_equal_neighbours(runs):
    merged = [runs[0]]
    for label, first, last in runs[1:]:
        if label == merged[-1][0]:
            merged[-1] = (label, merged[-1][1], last)
        else:
            merged.append((label, first, last))
    return merged
