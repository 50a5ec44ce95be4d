"""Live recognition: camera frames as they arrive -> the current action, its known-ness, and a
rolling timeline of the last minute.

The live view sees what analysis of a file sees: frames at the bundle's sampling rate, resized
as ``core.media.video`` resizes them, encoded once each by the process's shared LiteRT backbone
(``analysis.predictor``: no second copy is loaded), and the bundle's head over the last window of
features, with the known-ness score and threshold the bundle was calibrated with. Two things
differ, because the future is not there yet: the head runs at every sampled frame (a label
every 0.25 s at 4 fps, not every hop), and the smoothing that a timeline centres on a window
(``KNOWNNESS_SMOOTHING`` windows, one hop apart) trails it here, over the windows that ended
one and two hops ago.

A camera does not wait. Frames are pushed from the thread that receives them, which must return
at once; a worker thread encodes the newest sampled frame only. When it falls behind (a busy
machine, another session at the backbone), a sampled frame that is still waiting when a newer
one comes is dropped rather than queued, so the label is never further behind the camera than
one frame's work, and memory stays flat.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from core.engine import knownness
from core.engine.analysis import predictor
from core.engine.timeline import KNOWNNESS_SMOOTHING, UNKNOWN
from core.errors import ModelError
from core.models import backbone, movinet
from core.models.bundle import ModelBundle
from core.models.calibration import FEATURE_SCORES, NEEDS_LOGITS

HORIZON_S = 60.0  # how much of the past the rolling timeline keeps


@dataclass(frozen=True)
class LiveReading:
    """The label of the window that ends at ``time_s`` (seconds since the stream's first frame).
    ``closest`` is the most likely class whatever known-ness says, ``probability`` its smoothed
    probability; ``label`` is ``closest`` or "unknown"."""

    time_s: float
    label: str
    closest: str
    probability: float
    knownness: float | None  # smoothed window score; None for an uncalibrated bundle
    known: bool
    probabilities: np.ndarray  # (classes,), smoothed

    def to_dict(self) -> dict:
        return {
            "time_s": round(self.time_s, 3),
            "label": self.label,
            "closest": self.closest,
            "probability": round(self.probability, 4),
            "knownness": None if self.knownness is None else round(self.knownness, 5),
            "known": self.known,
        }


@dataclass(frozen=True)
class LiveHistory:
    """The readings of the last ``HORIZON_S`` seconds, as columns (what a chart draws)."""

    classes: tuple[str, ...]
    times_s: np.ndarray  # (readings,)
    probabilities: np.ndarray  # (readings, classes)
    knownness: np.ndarray | None  # (readings,); None for an uncalibrated bundle
    labels: tuple[str, ...]
    window_threshold: float | None


@dataclass(frozen=True)
class LiveStats:
    """What became of the frames pushed so far, and the worker's time per encoded frame."""

    frames_pushed: int
    frames_sampled: int  # due at the sampling rate
    frames_dropped: int  # sampled, but replaced by a newer one before the worker took it
    frames_encoded: int
    mean_step_s: float  # backbone + score + head, per encoded frame

    def to_dict(self) -> dict:
        return {**asdict(self), "mean_step_s": round(self.mean_step_s, 4)}


def check_live(bundle: ModelBundle) -> None:
    """Refuse a bundle that the live view cannot keep up with: one that does not see frames
    through a shared frozen backbone (a CNN of its own on every window, or the pose estimator)."""
    encoder = predictor(bundle).frame_encoder
    if not isinstance(encoder, (backbone.EffnetFeatures, backbone.EffnetMaps, movinet.MovinetUnits)):
        raise ModelError(
            f"The live view runs models on a shared frozen backbone (the video network or "
            f"EfficientNet-Lite0); {bundle.name} ({bundle.spec.architecture}) sees frames another "
            "way. Pick one on pretrained eyes (the default model, or one you taught), or record a "
            "clip on Analyze."
        )


class LiveRecognizer:
    """Frames in (``push`` from the camera's thread, or ``process`` in the caller's), readings out.

    ``smoothing``: windows, one hop apart, averaged before the label and known-ness are read (as
    the bundle's window threshold was calibrated on); 1 reads the newest window alone.
    """

    def __init__(
        self, bundle: ModelBundle, horizon_s: float = HORIZON_S, smoothing: int = KNOWNNESS_SMOOTHING
    ):
        check_live(bundle)
        spec = bundle.spec
        self.bundle = bundle
        self.horizon_s = horizon_s
        self._run = predictor(bundle)
        self._calibration = spec.open_set
        scored_by_features = self._calibration is not None and self._calibration.score in FEATURE_SCORES
        self._frame_scorer = knownness.frame_scorer(self._calibration) if scored_by_features else None
        self._period_s = 1.0 / spec.sampling_fps
        self._length = spec.sequence_length
        # the windows averaged: this one and those ``hop`` sampled frames apart before it
        self._taps = np.arange(0, max(1, smoothing) * spec.hop_frames, spec.hop_frames)
        self._features: deque[np.ndarray] = deque(maxlen=self._length)
        # the video network: its own staggered streams give a whole window at every frame
        on_units = isinstance(self._run.frame_encoder, movinet.MovinetUnits)
        self._units = movinet.LiveUnits(self._length) if on_units else None
        self._frame_scores: deque[float] = deque(maxlen=self._length)
        self._recent: deque[tuple[np.ndarray, float | None]] = deque(maxlen=int(self._taps[-1]) + 1)
        self._readings: deque[LiveReading] = deque()
        self._origin: float | None = None
        self._next_due = 0.0
        self._last_sampled: float | None = None
        # the hand-over between the camera's thread and the worker: one slot, newest frame wins
        self._lock = threading.Lock()
        self._waiting = threading.Condition(self._lock)
        self._slot: tuple[np.ndarray, float] | None = None
        self._busy = False
        self._closed = False
        self._worker: threading.Thread | None = None
        self._pushed = self._sampled = self._dropped = self._encoded = 0
        self._step_s = 0.0
        self.failure: str | None = None  # why the worker stopped, if something went wrong in it

    def warm_up(self) -> None:
        """Load the backbone at the bundle's frame size and trace the head's functions, which
        costs the first call a second or more: done before the camera starts, not on its first
        frames. Leaves no trace in the readings."""
        frame = np.zeros((1, *self.bundle.spec.image_size, 3), np.uint8)
        if self._units is not None:
            window = np.zeros((1, self._length, movinet.CLASSES), np.float32)
            movinet.run_fresh(frame)
        else:
            window = np.repeat(self._run.encode_frames(frame)[None], self._length, axis=1)
        if self._calibration is not None and self._calibration.score in NEEDS_LOGITS:
            self._run.classify_features_with_logits(window)
        else:
            self._run.classify_features(window)

    # -- the camera's side -------------------------------------------------------------------

    def _due(self, time_s: float) -> bool:
        """Whether a frame arriving at ``time_s`` is the next one at the sampling rate: the first
        frame at or after each tick. A camera slower than the rate gives every frame; after a
        pause the ticks start again from the frame that ends it."""
        if self._origin is None:
            self._origin = time_s
        elapsed = time_s - self._origin
        if elapsed + 1e-6 < self._next_due:
            return False
        ticks = int((elapsed + 1e-6 - self._next_due) / self._period_s) + 1
        self._next_due += ticks * self._period_s
        return True

    def _fit(self, frame: np.ndarray) -> np.ndarray:
        """An RGB frame of any size at the bundle's input size, resized as analysis resizes."""
        size = self.bundle.spec.frame_size
        if frame.shape[1::-1] == size:
            return frame
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    def push(self, frame: np.ndarray, time_s: float) -> bool:
        """Offer an RGB uint8 frame (any size) that arrived at ``time_s`` (seconds, any origin,
        never going back). Returns at once: a frame due at the sampling rate is handed to the
        worker thread, replacing (dropping) one that is still waiting. True if it was sampled."""
        with self._lock:
            if self._closed:
                return False
            self._pushed += 1
            if not self._due(time_s):
                return False
            self._sampled += 1
            if self._slot is not None:
                self._dropped += 1
            fitted = self._fit(frame)  # a copy: the caller may draw on its frame once this returns
            self._slot = (fitted if fitted is not frame else frame.copy(), time_s)
            self._waiting.notify()
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="live-recognizer", daemon=True)
                self._worker.start()
        return True

    def _work(self) -> None:
        while True:
            with self._lock:
                while self._slot is None and not self._closed:
                    self._waiting.wait()
                if self._closed:
                    return
                (frame, time_s), self._slot = self._slot, None
                self._busy = True
            try:
                self.process(frame, time_s)
            except Exception as error:  # the camera's thread must go on; the page shows why
                self.failure = f"The live recognition stopped: {error}"
                self.close()
            finally:
                with self._lock:
                    self._busy = False
                    self._waiting.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the worker has processed every frame handed to it (for tests and benches)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._slot is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._waiting.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker (the frame it is on is finished); later pushes are ignored."""
        with self._lock:
            self._closed = True
            self._slot = None
            self._waiting.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=10)

    # -- the model's side --------------------------------------------------------------------

    def process(self, frame: np.ndarray, time_s: float) -> LiveReading | None:
        """Encode one sampled RGB frame and, once a window is full, read the head over the last
        window. Returns the new reading (None while the first window fills up)."""
        started = time.perf_counter()
        if self._origin is None:
            self._origin = time_s
        if self._last_sampled is not None and time_s - self._last_sampled > self.bundle.spec.window_s:
            self._features.clear()  # a pause longer than a window: its frames belong to another scene
            self._frame_scores.clear()
            self._recent.clear()
            if self._units is not None:
                self._units = movinet.LiveUnits(self._length)
        self._last_sampled = time_s
        if self._units is not None:
            full = self._units.push(self._fit(frame))
            if full is not None:
                self._features.extend(full)
                if self._frame_scorer is not None:
                    self._frame_scores.extend(self._frame_scorer(full))
        else:
            features = self._run.encode_frames(self._fit(frame)[None])
            self._features.append(features[0])
            if self._frame_scorer is not None:
                self._frame_scores.append(float(self._frame_scorer(features)[0]))
        reading = None
        if len(self._features) == self._length:
            self._recent.append(self._window())
            reading = self._reading(time_s - self._origin)
        with self._lock:
            self._encoded += 1
            self._step_s += time.perf_counter() - started
            if reading is not None:
                self._readings.append(reading)
                while self._readings[0].time_s < reading.time_s - self.horizon_s:
                    self._readings.popleft()
        return reading

    def _window(self) -> tuple[np.ndarray, float | None]:
        """The head's probabilities and the known-ness score of the window of the last frames,
        computed as ``analysis`` computes a window's."""
        window = np.stack(self._features)[None]
        calibration = self._calibration
        if calibration is not None and calibration.score in NEEDS_LOGITS:
            probabilities, logits = self._run.classify_features_with_logits(window)
        else:
            probabilities, logits = self._run.classify_features(window), None
        if calibration is None:
            return probabilities[0], None
        if self._frame_scorer is not None:
            frame_mean = np.array([np.mean(self._frame_scores)])
            return probabilities[0], float(knownness.window_scores(calibration, frame_mean, logits)[0])
        return probabilities[0], float(knownness.msp_score(probabilities)[0])

    def _reading(self, time_s: float) -> LiveReading:
        recent = list(self._recent)
        taps = [recent[-1 - tap] for tap in self._taps if tap < len(recent)]
        probabilities = np.mean([p for p, _ in taps], axis=0)
        best = int(probabilities.argmax())
        closest = self.bundle.spec.classes[best]
        score = None if self._calibration is None else float(np.mean([s for _, s in taps]))
        known = score is None or score >= self._calibration.window_threshold
        return LiveReading(
            time_s=time_s,
            label=closest if known else UNKNOWN,
            closest=closest,
            probability=float(probabilities[best]),
            knownness=score,
            known=known,
            probabilities=probabilities,
        )

    # -- what the page reads -----------------------------------------------------------------

    def reading(self) -> LiveReading | None:
        """The newest reading; None until the first window is full."""
        with self._lock:
            return self._readings[-1] if self._readings else None

    def warm_up_s(self) -> float:
        """Seconds of sampled frames the first window still needs (0 once it is full)."""
        with self._lock:
            if self._units is not None and len(self._features) < self._length:
                return self._units.frames_to_first() * self._period_s
            return max(0, self._length - len(self._features)) * self._period_s

    def history(self) -> LiveHistory:
        with self._lock:
            readings = list(self._readings)
        classes = self.bundle.spec.classes
        scored = self._calibration is not None
        return LiveHistory(
            classes=classes,
            times_s=np.array([r.time_s for r in readings], float),
            probabilities=np.array([r.probabilities for r in readings], float).reshape(-1, len(classes)),
            knownness=np.array([r.knownness for r in readings], float) if scored else None,
            labels=tuple(r.label for r in readings),
            window_threshold=self._calibration.window_threshold if scored else None,
        )

    def stats(self) -> LiveStats:
        with self._lock:
            return LiveStats(
                frames_pushed=self._pushed,
                frames_sampled=self._sampled,
                frames_dropped=self._dropped,
                frames_encoded=self._encoded,
                mean_step_s=self._step_s / self._encoded if self._encoded else 0.0,
            )


def draw_reading(frame: np.ndarray, reading: LiveReading | None, warm_up_s: float = 0.0) -> None:
    """The current label and its known-ness on an RGB frame, in place (what the live video shows)."""
    scale = max(0.5, frame.shape[0] / 480)
    if reading is None:
        lines = [f"watching... first label in {warm_up_s:.1f} s"]
    else:
        if reading.known:
            lines = [f"{reading.label} {reading.probability:.0%}"]
        else:
            lines = [f"unknown (closest: {reading.closest})"]
        if reading.knownness is not None:
            lines.append(f"known-ness {reading.knownness:.2f}")
    top = 6
    for line in lines:
        (width, height), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        cv2.rectangle(frame, (6, top), (18 + width, top + height + 12), (0, 0, 0), -1)
        cv2.putText(frame, line, (12, top + height + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2)
        top += height + 16
