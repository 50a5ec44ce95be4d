"""The result of analysing a video: class probabilities and a known-ness score per window, and
what follows from them. "unknown" is a label of its own: a stretch whose windows score below the
bundle's calibrated threshold is none of the model's classes, whatever its softmax says."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from core.media.video import VideoInfo
from core.models.bundle import UNKNOWN_LABEL

UNKNOWN = UNKNOWN_LABEL  # a label of its own; no bundle may name a class so (BundleSpec.validate)
KNOWNNESS_SMOOTHING = 3  # windows averaged before a window's score meets its threshold


@dataclass(frozen=True)
class OpenSetRule:
    """What a timeline needs of its bundle's calibration to say "unknown"."""

    score: str
    threshold: float  # the whole video
    window_threshold: float  # one (smoothed) window
    strictness: str = "as calibrated"  # how readily it says unknown (``core.engine.strictness``)

    @classmethod
    def of(cls, calibration) -> OpenSetRule:
        return cls(calibration.score, calibration.threshold, calibration.window_threshold)


@dataclass(frozen=True)
class Segment:
    """A run of windows with one label. For an unknown run, ``closest`` is the known class its
    windows found most likely and ``confidence`` that class's mean probability."""

    start_s: float
    end_s: float
    label: str
    confidence: float
    closest: str | None = None
    known: bool = True
    kinetics: tuple[str, float] | None = None  # what it looks like among the 600 Kinetics actions

    def to_dict(self) -> dict:
        data = {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "known": self.known,
        }
        if not self.known:
            data["closest"] = self.closest
        if self.kinetics is not None:
            data["kinetics"] = {"label": self.kinetics[0], "probability": round(self.kinetics[1], 4)}
        return data

    def looks_like(self) -> str:
        """``unknown: looks like bench pressing (Kinetics-600, 62%)``, or the label alone."""
        if self.known or self.kinetics is None:
            return self.label
        return f"{self.label}: looks like {self.kinetics[0]} (Kinetics-600, {self.kinetics[1]:.0%})"


@dataclass(frozen=True)
class Verdict:
    """The whole video in one answer: its best class, or unknown with the closest class beside."""

    label: str
    confidence: float
    closest: str
    score: float | None  # the video's known-ness (mean window score); None without calibration
    known: bool = True
    kinetics: tuple[str, float] | None = None  # the whole video among the 600 Kinetics actions

    def to_dict(self) -> dict:
        data = {"label": self.label, "confidence": round(self.confidence, 4), "known": self.known}
        if not self.known:
            data["closest"] = {"label": self.closest, "confidence": round(self.confidence, 4)}
        if self.kinetics is not None:
            data["kinetics"] = {"label": self.kinetics[0], "probability": round(self.kinetics[1], 4)}
        return data


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
    knownness: np.ndarray | None = None  # (windows,), higher = more like what the model was taught
    open_set: OpenSetRule | None = None  # None: an uncalibrated bundle, which never says unknown
    # (windows, 600): each window among the video network's Kinetics-600 actions, for a head on
    # that network (None otherwise): what an unknown stretch looks like
    kinetics: np.ndarray | None = None

    def kinetics_top(self, first: int = 0, last: int | None = None) -> tuple[str, float] | None:
        """The Kinetics-600 action most likely over windows ``first``..``last`` and its probability."""
        if self.kinetics is None or not len(self.kinetics):
            return None
        from core.models.movinet import kinetics_labels

        mean = self.kinetics[first : (len(self.kinetics) if last is None else last + 1)].mean(axis=0)
        best = int(mean.argmax())
        return kinetics_labels()[best], float(mean[best])

    @property
    def duration_s(self) -> float:
        return max(self.video.duration_s, float(self.ends_s[-1]) if len(self.ends_s) else 0.0)

    def smoothed(self, windows: int = 3) -> np.ndarray:
        """Probabilities averaged over ``windows`` neighbouring windows, centred (an even
        number is rounded up to the next odd one; 1 = none)."""
        return smoothed_rows(self.probabilities, windows)

    def known_windows(self) -> np.ndarray:
        """Which windows look like something the model was taught (all of them without
        calibration), judged on scores smoothed as the window threshold was fitted on them,
        whatever smoothing the probabilities are shown with."""
        if self.open_set is None or self.knownness is None:
            return np.ones(len(self.probabilities), bool)
        return self.smoothed_knownness() >= self.open_set.window_threshold

    def smoothed_knownness(self) -> np.ndarray:
        """Window scores averaged over ``KNOWNNESS_SMOOTHING`` neighbours (what calibration used)."""
        return smoothed_rows(self.knownness[:, None], KNOWNNESS_SMOOTHING)[:, 0]

    def segments(self, smoothing: int = 3, min_windows: int = 2) -> list[Segment]:
        """Runs of windows with the same top label, "unknown" being one; runs shorter than
        ``min_windows`` are flickers and join the neighbour they are most like."""
        probabilities = self.smoothed(smoothing)
        known = self.known_windows()
        # the unknown label is one more column: 1 where a window is unknown, and 0 for its classes
        labelled = np.hstack([probabilities * known[:, None], (~known)[:, None].astype(float)])
        labels = labelled.argmax(axis=1)
        runs = _runs(labels)
        runs = _absorb_short_runs(runs, labelled, min_windows)
        centres = (self.starts_s + self.ends_s) / 2
        segments = []
        for index, (label, first, last) in enumerate(runs):
            start = 0.0 if index == 0 else (centres[first - 1] + centres[first]) / 2
            end = self.duration_s if index == len(runs) - 1 else (centres[last] + centres[last + 1]) / 2
            mean = self.probabilities[first : last + 1].mean(axis=0)
            if label == len(self.classes):
                closest = int(mean.argmax())
                segment = Segment(
                    float(start),
                    float(end),
                    UNKNOWN,
                    float(mean[closest]),
                    self.classes[closest],
                    known=False,
                    kinetics=self.kinetics_top(first, last),
                )
            else:
                segment = Segment(
                    float(start),
                    float(end),
                    self.classes[label],
                    float(mean[label]),
                    kinetics=self.kinetics_top(first, last),
                )
            segments.append(segment)
        return segments

    def spread_windows(self, count: int = 8) -> list[tuple[float, str, float]]:
        """(centre time, top label or unknown, top probability) of up to ``count`` windows spread
        evenly over the video: what a strip of sampled frames shows."""
        picks = np.unique(np.linspace(0, len(self.starts_s) - 1, num=min(count, len(self.starts_s))).round())
        known = self.known_windows()
        result = []
        for window in picks.astype(int):
            best = int(self.probabilities[window].argmax())
            centre = float(self.starts_s[window] + self.ends_s[window]) / 2
            label = self.classes[best] if known[window] else UNKNOWN
            result.append((round(centre, 3), label, float(self.probabilities[window, best])))
        return result

    def mean_probabilities(self) -> np.ndarray:
        return self.probabilities.mean(axis=0)

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        """The whole video's most likely classes: window probabilities averaged."""
        mean = self.mean_probabilities()
        order = np.argsort(-mean)[:k]
        return [(self.classes[i], float(mean[i])) for i in order]

    def video_score(self) -> float | None:
        """The whole video's known-ness: its windows' scores averaged."""
        if self.open_set is None or self.knownness is None or not len(self.knownness):
            return None
        return float(self.knownness.mean())

    def verdict(self) -> Verdict:
        """The best class of the whole video, or unknown when its known-ness is below the
        bundle's threshold (never for an uncalibrated bundle)."""
        label, confidence = self.top_k(1)[0]
        score = self.video_score()
        known = score is None or score >= self.open_set.threshold
        return Verdict(label if known else UNKNOWN, confidence, label, score, known, self.kinetics_top())

    def to_dict(self, smoothing: int = 3) -> dict:
        verdict = self.verdict()
        data = {
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
                    **({} if self.knownness is None else {"knownness": round(float(self.knownness[i]), 5)}),
                }
                for i, (s, e, row) in enumerate(
                    zip(self.starts_s, self.ends_s, self.probabilities, strict=False)
                )
            ],
            "segments": [s.to_dict() for s in self.segments(smoothing)],
            "top": verdict.to_dict(),
            "top_k": [{"label": c, "confidence": round(p, 4)} for c, p in self.top_k(len(self.classes))],
            "warnings": list(self.warnings),
        }
        if self.open_set is not None:
            data["open_set"] = {
                "score": self.open_set.score,
                "threshold": round(self.open_set.threshold, 5),
                "window_threshold": round(self.open_set.window_threshold, 5),
                "strictness": self.open_set.strictness,
                "video_score": None if verdict.score is None else round(verdict.score, 5),
            }
        return data

    def to_csv(self) -> str:
        """One row per window; with calibration, its known-ness and whether it is known."""
        out = io.StringIO()
        writer = csv.writer(out)
        scored = self.knownness is not None and self.open_set is not None
        extra = ["knownness", "known", "strictness"] if scored else []
        writer.writerow(["start_s", "end_s", "top_label", "top_probability", *extra, *self.classes])
        known = self.known_windows()
        for i, (start, end, row) in enumerate(
            zip(self.starts_s, self.ends_s, self.probabilities, strict=False)
        ):
            best = int(row.argmax())
            label = self.classes[best] if known[i] else UNKNOWN
            values = (
                [f"{self.knownness[i]:.5f}", str(bool(known[i])), self.open_set.strictness] if scored else []
            )
            writer.writerow(
                [f"{start:.3f}", f"{end:.3f}", label, f"{row[best]:.5f}", *values, *(f"{p:.5f}" for p in row)]
            )
        return out.getvalue()


def smoothed_rows(values: np.ndarray, windows: int) -> np.ndarray:
    """Each column averaged over ``windows`` neighbouring rows, centred, edges repeated."""
    if windows <= 1 or len(values) < 2:
        return values
    half = windows // 2
    padded = np.pad(values, ((half, half), (0, 0)), mode="edge")
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    return np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(padded.shape[1])], axis=1)


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
