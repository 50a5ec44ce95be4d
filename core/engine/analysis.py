"""Video + model bundle -> Timeline.

Frames are decoded once, sampled at the bundle's rate and streamed. Models built as a frame
encoder plus a sequence head (see ``core.models.contract.split``) encode every sampled frame once and
run only the small head per window: consecutive windows overlap by most of their frames, so
this does several times less work than running the whole model on every window, with the same
result. Other models see each window whole, from a ring buffer of the last frames. Either way
memory stays flat however long the video is. A model whose frame encoder is no Keras model (the
pose estimator in front of ``pose_lstm``) takes the first path, with that encoder.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from core.engine import knownness
from core.engine.timeline import OpenSetRule, Timeline
from core.engine.windows import cut_windows, window_indices, window_starts
from core.errors import VideoError
from core.media.prefetch import prefetched
from core.media.video import FALLBACK_FPS, SampledFrame, VideoInfo, iter_frames, probe
from core.models import backbone, contract, movinet, registry
from core.models.bundle import ModelBundle
from core.models.calibration import FEATURE_SCORES, NEEDS_LOGITS
from core.models.contract import to_unit

Progress = Callable[[float, str], None]
FRAME_BATCH = 64
WINDOW_BATCH = 32


def step_frames(bundle: ModelBundle) -> int:
    """Sampled frames between two of analysis's input steps: 1 for a frame encoder; for the
    video network, the hop between its staggered units (``movinet.ANALYSIS_HOP``)."""
    encoder = registry.frame_encoder(bundle.spec.architecture)
    return movinet.ANALYSIS_HOP if getattr(encoder, "unit_frames", 1) > 1 else 1


def window_stride(bundle: ModelBundle) -> int:
    """Input steps between a window's consecutive steps: the video network's windows read
    units side by side (as trained), every other one of the staggered units."""
    return bundle.spec.unit_frames // step_frames(bundle)


def hop_frames(bundle: ModelBundle, hop_s: float | None) -> int:
    """The hop between windows in analysis's input steps (frames, or staggered units); the
    bundle's own hop when none is asked for, the finest a unit stream offers for the video network."""
    if hop_s is None:
        return bundle.spec.hop_frames if step_frames(bundle) == 1 else 1
    return max(1, int(round(hop_s * bundle.spec.sampling_fps / step_frames(bundle))))


class _Predictor:
    """Compiled prediction functions for one model, traced once for fixed batch sizes. Frames
    and windows come in as uint8 (scaled here); a frame encoder outside Keras
    (``registry.frame_encoder``) is run in front of a model that takes its features."""

    def __init__(self, model, external: contract.FrameEncoder | None = None):
        import tensorflow as tf

        parts = contract.split(model)
        self.split = parts is not None or external is not None
        self._model_is_head = external is not None
        self._encoder = external
        self._whole = tf.function(lambda x: model(x, training=False), autograph=False)
        if parts:
            encoder, head = parts
            # the process's shared backbone when the model embeds it: one copy runs, under LiteRT
            self._encoder = backbone.shared_encoder(encoder)
            self._head = tf.function(lambda x: head(x, training=False), autograph=False)
        elif external is not None:
            self._head = self._whole
        self._head_model = parts[1] if parts else model
        self._with_logits = None  # traced on first use: only energy scores need it

    @staticmethod
    def _padded(fn, batch: np.ndarray, size: int) -> np.ndarray:
        """Run ``fn`` on chunks of ``size`` rows, the last one padded, so every call reuses one
        graph and memory stays bounded however many windows there are."""
        outputs = []
        for start in range(0, len(batch), size):
            chunk = batch[start : start + size]
            n = len(chunk)
            if n < size:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - n, axis=0)])
            result = fn(chunk)
            if isinstance(result, (list, tuple)):  # a model with several outputs
                outputs.append([np.asarray(r)[:n] for r in result])
            else:
                outputs.append(np.asarray(result)[:n])
        if isinstance(outputs[0], list):
            return tuple(np.concatenate(parts) for parts in zip(*outputs, strict=True))
        return np.concatenate(outputs)

    @property
    def frame_encoder(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """What encodes frames for a split model: the shared backbone, or the model's own encoder."""
        return self._encoder

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        return np.asarray(self._encoder(frames), np.float32)

    def classify_features(self, windows: np.ndarray) -> np.ndarray:
        return self._padded(self._head, windows, WINDOW_BATCH)

    def classify_features_with_logits(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (as ``classify_features``) and logits of feature windows, in one pass."""
        import tensorflow as tf

        if self._with_logits is None:
            both, kernel, bias = contract.with_logits(self._head_model)
            run = tf.function(lambda x: both(x, training=False), autograph=False)
            self._with_logits = run, kernel, bias
        run, kernel, bias = self._with_logits
        probabilities, hidden = self._padded(run, windows, WINDOW_BATCH)
        return probabilities, hidden @ kernel + bias

    def _encoded_windows(self, windows: np.ndarray) -> np.ndarray:
        """Per-frame features of uint8 windows. Overlapping windows (and a window and its
        reverse) share frames, so each distinct frame is encoded once."""
        count, length = windows.shape[:2]
        frames = windows.reshape(count * length, *windows.shape[2:])
        slots: dict[bytes, int] = {}  # frame digest -> row in ``distinct``
        firsts: list[int] = []  # where each distinct frame first appears
        owners: list[int] = []  # the row of every frame
        for position, frame in enumerate(frames):
            digest = hashlib.blake2b(frame.tobytes(), digest_size=16).digest()
            if digest not in slots:
                slots[digest] = len(firsts)
                firsts.append(position)
            owners.append(slots[digest])
        distinct = self.encode_frames(frames[firsts])
        return distinct[owners].reshape(count, length, -1)

    def classify_windows(self, windows: np.ndarray, reference: bool = False) -> np.ndarray:
        """Probabilities of uint8 windows; a split model encodes each distinct frame once.
        ``reference``: a Keras model runs whole on every window even when it embeds a frame
        encoder, the plain computation that the shortcut is tested against."""
        if self._model_is_head or (self.split and not reference):
            return self.classify_features(self._encoded_windows(windows))
        return self._padded(self._whole, to_unit(windows), WINDOW_BATCH)

    def forward(self, windows: np.ndarray) -> np.ndarray:
        """The whole model on a batch of uint8 windows as it is, without the chunking and padding
        of ``classify_windows``: what latency is timed on, at the batch size asked for."""
        if self._model_is_head:
            return np.asarray(self._head(self._encoded_windows(windows)))
        return np.asarray(self._whole(to_unit(windows)))


# Keyed by the bundle (not the model, which the compiled functions hold on to), so that a
# bundle nobody uses any more takes its compiled functions with it.
_PREDICTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predictor(bundle: ModelBundle) -> _Predictor:
    if bundle not in _PREDICTORS:
        encoder = registry.frame_encoder(bundle.spec.architecture)
        _PREDICTORS[bundle] = _Predictor(bundle.model, encoder() if encoder else None)
    return _PREDICTORS[bundle]


def _batched(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _ProgressReporter:
    def __init__(self, expected_frames: int, callback: Progress | None):
        self.expected = max(1, expected_frames)
        self.callback = callback

    def frames(self, done: int) -> None:
        if self.callback:
            self.callback(min(0.95, 0.95 * done / self.expected), "predicting windows")

    def done(self) -> None:
        if self.callback:
            self.callback(1.0, "done")


def _needs_features(bundle: ModelBundle) -> bool:
    """Whether the bundle's known-ness score is computed from frame features."""
    calibration = bundle.spec.open_set
    return calibration is not None and calibration.score in FEATURE_SCORES


def _needs_logits(bundle: ModelBundle) -> bool:
    calibration = bundle.spec.open_set
    return calibration is not None and calibration.score in NEEDS_LOGITS


class _Windows:
    """What the computations below return: each window's class probabilities and, for a bundle
    whose known-ness score is a feature score, each window's known-ness (its frames' mean)."""

    def __init__(self, classes: int):
        self.probabilities: list[np.ndarray] = []
        self.knownness: list[np.ndarray] = []
        self.kinetics: list[np.ndarray] = []  # Kinetics-600 probabilities, on the video network
        self.classes = classes

    def result(self) -> tuple[np.ndarray, np.ndarray | None]:
        if not self.probabilities:
            return np.empty((0, self.classes)), None
        knownness = np.concatenate(self.knownness) if self.knownness else None
        return np.concatenate(self.probabilities), knownness

    def kinetics_result(self) -> np.ndarray | None:
        return np.concatenate(self.kinetics) if self.kinetics else None


def _names_kinetics(bundle: ModelBundle) -> bool:
    """Whether the bundle's windows also get the video network's own Kinetics-600 reading: a
    head on that network that is not already its Kinetics classifier."""
    architecture = bundle.spec.architecture
    return registry.on_video_network(architecture) and architecture != "kinetics_600"


def kinetics_probabilities(windows: np.ndarray) -> np.ndarray:
    """(windows, units, 600) unit logits -> each window's Kinetics-600 probabilities: the
    softmax of its units' mean logits."""
    logits = windows.mean(axis=1)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def _encoded(
    frames: Iterator[SampledFrame], run: _Predictor, report: _ProgressReporter
) -> tuple[np.ndarray | None, list[tuple[int, int]], int]:
    """The features of every input step, the [start, end) frames of each, and the number of
    frames read. A unit encoder (the video network) is fed as a stream of staggered units, its
    states carried across batches, so that memory stays flat however long the video is."""
    units = hasattr(run.frame_encoder, "stream")
    stream = run.frame_encoder.stream(hop=movinet.ANALYSIS_HOP) if units else None
    features = []
    count = 0
    for batch in _batched(frames, FRAME_BATCH):
        images = np.stack([f.image for f in batch])
        features.extend(stream.push(images) if stream else [run.encode_frames(images)])
        count += len(batch)
        report.frames(count)
    if stream:  # a clip shorter than a unit completes its only one on close
        features.extend(stream.close())
        return (np.stack(features) if features else None), stream.bounds(count), count
    if not features:
        return None, [], count
    return np.concatenate(features), [(i, i + 1) for i in range(count)], count


def _probabilities_split(
    frames: Iterator[SampledFrame], bundle: ModelBundle, hop: int, report: _ProgressReporter
) -> tuple[_Windows, list[tuple[int, int]], int]:
    """Window probabilities (and features), each window's [start, end) frames and the number
    of frames read."""
    run = predictor(bundle)
    windows = _Windows(len(bundle.spec.classes))
    features, bounds, count = _encoded(frames, run, report)
    if features is None:
        return windows, [], 0
    length, stride = bundle.spec.sequence_length, window_stride(bundle)
    span = (length - 1) * stride + 1  # input steps from a window's first to its last
    starts = window_starts(len(features), span, hop)
    scores = knownness.frame_scores(bundle.spec.open_set, features) if _needs_features(bundle) else None
    for chunk in _batched(iter(starts), WINDOW_BATCH):
        cut = cut_windows(features, chunk, length, stride)
        if _needs_logits(bundle):
            probabilities, logits = run.classify_features_with_logits(cut)
        else:
            probabilities, logits = run.classify_features(cut), None
        windows.probabilities.append(probabilities)
        if _names_kinetics(bundle):
            windows.kinetics.append(kinetics_probabilities(cut))
        if scores is not None:
            frame_means = cut_windows(scores, chunk, length, stride).mean(axis=1)
            windows.knownness.append(knownness.window_scores(bundle.spec.open_set, frame_means, logits))
    spans = [(bounds[s][0], bounds[min(s + span, len(bounds)) - 1][1]) for s in starts]
    return windows, spans, count


def _probabilities_whole(
    frames: Iterator[SampledFrame], bundle: ModelBundle, hop: int, report: _ProgressReporter
) -> tuple[_Windows, list[tuple[int, int]], int]:
    """Whole-model path: windows cut from a ring buffer exactly where ``window_starts`` puts them.
    A known-ness score that needs frame features encodes each window's frames (this path is the
    plain reference computation, not the fast one)."""
    run = predictor(bundle)
    length = bundle.spec.sequence_length
    recent: deque[np.ndarray] = deque(maxlen=length)
    pending: list[np.ndarray] = []
    windows = _Windows(len(bundle.spec.classes))
    count = 0

    def flush() -> None:
        if pending:
            batch = np.stack(pending)
            windows.probabilities.append(run.classify_windows(batch, reference=True))
            if _needs_features(bundle):
                encoded = run.encode_frames(batch.reshape(-1, *batch.shape[2:]))
                scores = knownness.frame_scores(bundle.spec.open_set, encoded)
                frame_means = scores.reshape(len(batch), length).mean(axis=1)
                logits = None
                if _needs_logits(bundle):
                    _, logits = run.classify_features_with_logits(encoded.reshape(len(batch), length, -1))
                windows.knownness.append(knownness.window_scores(bundle.spec.open_set, frame_means, logits))
            pending.clear()

    for frame in frames:
        recent.append(frame.image)
        count += 1
        start = count - length
        if start >= 0 and start % hop == 0:
            pending.append(np.stack(recent))
            if len(pending) == WINDOW_BATCH:
                flush()
                report.frames(count)
    if count == 0:
        return windows, [], 0
    starts = window_starts(count, length, hop)
    if count < length:
        buffered = np.stack(recent)
        pending.append(buffered[window_indices(0, length, count)])
    elif starts[-1] % hop != 0:
        pending.append(np.stack(recent))
    flush()
    return windows, [(start, min(start + length, count)) for start in starts], count


def _warnings(info: VideoInfo, count: int, bundle: ModelBundle) -> tuple[str, ...]:
    spec = bundle.spec
    notes = []
    if info.fps_assumed:
        notes.append(
            f"The video does not state its frame rate; {FALLBACK_FPS:g} fps was assumed, so times may be off."
        )
    if count < spec.window_frames:
        notes.append(
            f"The video is shorter than one {spec.window_s:.1f} s window: the model saw only its "
            f"{count} sampled frames{' with the last one repeated' if spec.unit_frames == 1 else ''}, "
            "so the result is less reliable."
        )
    expected = int(info.duration_s * spec.sampling_fps)
    if expected and count < 0.9 * expected:
        notes.append(
            f"Only {count / spec.sampling_fps:.1f} s of {info.duration_s:.1f} s could be decoded; "
            "the rest of the file looks damaged."
        )
    return tuple(notes)


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def analyze(
    video: str | Path,
    bundle: ModelBundle,
    hop_s: float | None = None,
    progress: Progress | None = None,
    share_frame_features: bool = True,
    max_duration_s: float | None = None,
) -> Timeline:
    """Classify every window of ``video``; ``progress(fraction, stage)`` is called along the way.

    ``share_frame_features=False`` forces the whole-model path even for split models; it exists
    so that tests and the benchmark can check the shortcut against the plain computation.
    A video longer than ``max_duration_s`` is refused before any frame is decoded.
    """
    if progress:
        progress(0.0, "reading video")
    info = probe(video)
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise VideoError(
            f"{Path(video).name} is {_duration(info.duration_s)} long; this app analyses videos of up to "
            f"{_duration(max_duration_s)}. Trim it and try again."
        )
    spec = bundle.spec
    hop = hop_frames(bundle, hop_s)
    frames = prefetched(iter_frames(video, spec.sampling_fps, spec.frame_size, info), depth=2 * FRAME_BATCH)
    report = _ProgressReporter(int(info.duration_s * spec.sampling_fps) + 1, progress)
    # the video network has one path: its stream (held equal to fresh units by its own tests)
    shared = predictor(bundle).split and (share_frame_features or step_frames(bundle) > 1)
    compute = _probabilities_split if shared else _probabilities_whole
    windows, spans, count = compute(frames, bundle, hop, report)
    if count == 0:
        raise VideoError(f"{Path(video).name} contains no decodable video frames.")
    probabilities, scores = windows.result()
    calibration = spec.open_set
    if calibration is not None and scores is None:  # a score of the window's probabilities
        scores = knownness.msp_score(probabilities)
    starts, ends = np.array(spans, dtype=float).reshape(-1, 2).T
    report.done()
    return Timeline(
        video=info,
        model=bundle.describe(),
        classes=spec.classes,
        starts_s=starts / spec.sampling_fps,
        ends_s=ends / spec.sampling_fps,
        probabilities=probabilities.astype(np.float64),
        frames_analysed=count,
        warnings=_warnings(info, count, bundle),
        knownness=scores,
        open_set=None if calibration is None else OpenSetRule.of(calibration),
        kinetics=windows.kinetics_result(),
    )


def window_probabilities(frames: np.ndarray, bundle: ModelBundle) -> np.ndarray:
    """Class probabilities of every window of already decoded uint8 frames (sampled and sized
    for the bundle), cut and computed exactly as ``analyze`` does for a file: for frames that
    are no file, such as a clip played backwards (the direction task)."""
    sampled = (SampledFrame(i, i / bundle.spec.sampling_fps, image) for i, image in enumerate(frames))
    compute = _probabilities_split if predictor(bundle).split else _probabilities_whole
    windows, _, count = compute(sampled, bundle, bundle.spec.hop_frames, _ProgressReporter(1, None))
    if count == 0:
        raise VideoError("No frames to classify.")
    return windows.result()[0]
