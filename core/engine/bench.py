"""Throughput figures for one video and one bundle (``python -m core bench``).

Measures decoding alone (the floor), our analysis (per-frame CNN features shared between
windows), the same analysis running the whole model on every window, and the classic tutorial's
loop that runs the model on the last N frames after every single frame, one ``model.predict``
call at a time. The last two are references for what our analysis saves; without them
(``baseline=False``) only the app's own path is timed, which is what long videos need.

The live view has figures of its own (``run_live_bench``, ``bench VIDEO --live-then OTHER``):
one clip then another played into ``LiveRecognizer`` at the speed a camera gives them, and how
long after the cut the label changes, what it costs the CPU, and how many frames were dropped
(with ``busy`` cores kept busy by other processes, as on a shared host).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from core.engine.analysis import analyze, predictor
from core.engine.live import LiveReading, LiveRecognizer
from core.engine.timeline import UNKNOWN
from core.engine.windows import cut_windows
from core.errors import VideoError
from core.media.video import iter_frames, open_capture, probe
from core.models import backbone, movinet
from core.models.bundle import ModelBundle
from core.models.registry import frame_encoder


@dataclass(frozen=True)
class BenchFigures:
    video_s: float
    frames_sampled: int
    decode_only_s: float
    analyze_s: float
    analyze_whole_windows_s: float | None
    per_frame_baseline_s: float | None
    peak_rss_mb: float
    analyze_vs_decode: float
    baseline_vs_analyze: float | None
    realtime_factor: float
    encoder_runtime: str | None
    encoder_fps: float | None
    keras_encoder_fps: float | None

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def loop_video(source: str | Path, seconds: float, folder: Path) -> Path:
    """Loop ``source`` into an H.264 clip ``seconds`` long, with the ffmpeg that imageio ships.
    The clip is encoded once and its packets repeated, so ten minutes take a second to make
    rather than half a minute of encoding, and every loop decodes exactly as the first."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    once, target = folder / "once.mp4", folder / "looped.mp4"
    encode = [
        ffmpeg, "-v", "error", "-y", "-i", str(source), "-an", "-c:v", "libx264", "-preset", "veryfast",
        "-pix_fmt", "yuv420p", str(once),
    ]  # fmt: skip
    repeat = [
        ffmpeg, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(once), "-t", f"{seconds:.3f}",
        "-c", "copy", str(target),
    ]  # fmt: skip
    for command in (encode, repeat):
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise VideoError(f"Could not loop {Path(source).name}: {result.stderr.strip()[:200]}")
    once.unlink()
    return target


def _warm_up(bundle: ModelBundle) -> None:
    """Trace the prediction functions the analysis uses once, as loading a model for the app
    does (the whole model on every window, a reference, is traced in its own timed run)."""
    spec = bundle.spec
    run = predictor(bundle)
    clip = np.zeros((1, spec.sequence_length, *spec.image_size, 3), np.uint8)
    if run.split:  # a unit encoder gives fewer steps than frames: the window repeats the last
        features = run.encode_frames(clip[0])
        run.classify_features(cut_windows(features, [0], spec.sequence_length))
    else:
        run.classify_windows(clip)


def _decode_only(video: Path, bundle: ModelBundle) -> tuple[float, int]:
    spec = bundle.spec
    started = time.perf_counter()
    count = sum(1 for _ in iter_frames(video, spec.sampling_fps, spec.frame_size))
    return time.perf_counter() - started, count


def per_frame_baseline(video: Path, bundle: ModelBundle) -> float:
    """The classic tutorial's prediction loop, kept as written there: read every frame, keep the
    last N in a deque, and call ``model.predict`` on them after each new frame."""
    spec = bundle.spec
    height, width = spec.image_size
    started = time.perf_counter()
    reader = cv2.VideoCapture(str(video))
    frames_queue: deque = deque(maxlen=spec.sequence_length)
    while reader.isOpened():
        ok, frame = reader.read()
        if not ok:
            break
        resized = cv2.resize(frame, (width, height))
        frames_queue.append(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB) / 255)
        if len(frames_queue) == spec.sequence_length:
            bundle.model.predict(np.expand_dims(frames_queue, axis=0), verbose=0)
    reader.release()
    return time.perf_counter() - started


def _timed_analysis(video: Path, bundle: ModelBundle, share_frame_features: bool) -> float:
    started = time.perf_counter()
    analyze(video, bundle, share_frame_features=share_frame_features)
    return time.perf_counter() - started


def _frames_per_second(encode, frames: np.ndarray) -> float:
    encode(frames[: min(len(frames), 8)])  # build or trace it outside the timing
    started = time.perf_counter()
    encode(frames)
    return len(frames) / (time.perf_counter() - started)


def _encoder_figures(video: Path, bundle: ModelBundle, compare_keras: bool):
    """The frame encoder's frames per second on the video's sampled frames, with the runtime it
    ran on; and, for the shared backbone under LiteRT, the same frames under Keras/TensorFlow
    (a reference: tracing it costs memory that the app never spends)."""
    run = predictor(bundle)
    if not run.split:
        return None, None, None
    spec = bundle.spec
    frames = np.stack([f.image for f in iter_frames(video, spec.sampling_fps, spec.frame_size)])
    fps = _frames_per_second(run.encode_frames, frames)
    if isinstance(run.frame_encoder, movinet.MovinetUnits):
        return "litert", fps, None  # the video network runs under LiteRT only
    shared = isinstance(run.frame_encoder, (backbone.EffnetFeatures, backbone.EffnetMaps))
    how = backbone.runtime() if shared else "keras"
    keras_fps = None
    if compare_keras and how == "litert":
        keras_fps = _frames_per_second(type(run.frame_encoder)("keras"), frames)
    return how, fps, keras_fps


def run_bench(video: str | Path, bundle: ModelBundle, repeat_to_s: float = 0.0, baseline: bool = True):
    with tempfile.TemporaryDirectory(prefix="arl-bench-") as folder:
        path = Path(video)
        if repeat_to_s:
            probe(path)
            path = loop_video(path, repeat_to_s, Path(folder))
        info = probe(path)
        on_units = isinstance(predictor(bundle).frame_encoder, movinet.MovinetUnits)
        _warm_up(bundle)
        decode_s, count = _decode_only(path, bundle)
        analyze_s = _timed_analysis(path, bundle, share_frame_features=True)
        peak_mb = _peak_rss_mb()  # the app's own path; the references below trace more graphs
        how, encoder_fps, keras_fps = _encoder_figures(path, bundle, compare_keras=baseline)
        # the video network has one path (its stream): no whole-window reference to time
        whole_s = (
            _timed_analysis(path, bundle, share_frame_features=False) if baseline and not on_units else None
        )
        # the tutorial loop feeds frames to the Keras model: no use for one that takes pose features
        classic = baseline and frame_encoder(bundle.spec.architecture) is None
        baseline_s = per_frame_baseline(path, bundle) if classic else None
    return BenchFigures(
        video_s=info.duration_s,
        frames_sampled=count,
        decode_only_s=decode_s,
        analyze_s=analyze_s,
        analyze_whole_windows_s=whole_s,
        per_frame_baseline_s=baseline_s,
        peak_rss_mb=peak_mb,
        analyze_vs_decode=analyze_s / decode_s,
        baseline_vs_analyze=baseline_s / analyze_s if baseline_s else None,
        realtime_factor=info.duration_s / analyze_s,
        encoder_runtime=how,
        encoder_fps=encoder_fps,
        keras_encoder_fps=keras_fps,
    )


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far. On Linux from ``VmHWM``: ``ru_maxrss``
    survives exec, so a process started by a large one (a test worker holding TensorFlow)
    reports its parent's peak instead of its own. Elsewhere ``ru_maxrss`` (macOS: bytes)."""
    import resource
    import sys

    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


LIVE_CLIP_MAX_S = 30.0  # of each clip played into the live view (decoded into memory first)


@dataclass(frozen=True)
class LiveFigures:
    """One clip then another, played into the live view in real time. Delays are seconds from
    the cut (the second clip's first frame) until the label shown: ``changed_s``, first differs
    from the first clip's; ``named_s``, first names the second clip's action (its class, or
    unknown for an action the model was not taught); ``settled_s``, names it from then on."""

    first: str
    second: str
    first_label: str  # what the first clip should read as
    second_label: str
    label_at_cut: str | None  # what the view said when the second clip began
    cut_s: float
    changed_s: float | None
    named_s: float | None
    settled_s: float | None
    frames_pushed: int
    frames_sampled: int
    frames_dropped: int
    frames_encoded: int
    mean_step_s: float  # backbone + known-ness + head, per sampled frame
    cpu_cores: float  # this process's CPU time over wall time while the clips played
    busy_cores: int  # other processes spinning meanwhile

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def clip_label(path: str | Path, classes: tuple[str, ...]) -> str:
    """What a clip should read as: its UCF101 class (``v_<Class>_gNN_cMM``) when the model knows
    it, else unknown."""
    found = re.match(r"v_([A-Za-z]+)_g\d+", Path(path).name)
    return found.group(1) if found and found.group(1) in classes else UNKNOWN


def _rgb_frames(path: Path) -> tuple[list[np.ndarray], float]:
    info = probe(path)
    capture = open_capture(path)
    frames = []
    try:
        while len(frames) < LIVE_CLIP_MAX_S * info.fps:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise VideoError(f"{path.name} contains no decodable video frames.")
    return frames, info.fps


def _spinning(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def run_live_bench(first: str | Path, second: str | Path, bundle: ModelBundle, busy: int = 0) -> LiveFigures:
    """Play ``first`` then ``second`` into a ``LiveRecognizer`` at their own frame rates, as a
    camera would, and note when each new reading first reached the thread that pushes frames
    (where the live view draws it on the video)."""
    clips = [_rgb_frames(Path(first)), _rgb_frames(Path(second))]
    recognizer = LiveRecognizer(bundle)
    recognizer.warm_up()  # outside the timing, as the page does before the camera starts
    shown: list[tuple[float, LiveReading]] = []  # (seconds since the stream began, reading)
    spinners = _spinning(busy)
    try:
        started, cpu_started = time.monotonic(), time.process_time()
        offset, cut_s = 0.0, 0.0
        for index, (frames, fps) in enumerate(clips):
            if index == 1:
                cut_s = offset
            for position, frame in enumerate(frames):
                due = started + offset + position / fps
                time.sleep(max(0.0, due - time.monotonic()))
                recognizer.push(frame, time.monotonic())
                reading = recognizer.reading()
                if reading is not None and (not shown or shown[-1][1] is not reading):
                    shown.append((time.monotonic() - started, reading))
            offset += len(frames) / fps
        recognizer.wait_idle(10.0)
        wall_s, cpu_s = time.monotonic() - started, time.process_time() - cpu_started
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
        recognizer.close()
    classes = bundle.spec.classes
    labels = (clip_label(first, classes), clip_label(second, classes))
    before = [reading.label for at, reading in shown if at <= cut_s]
    after = [(at - cut_s, reading.label) for at, reading in shown if at > cut_s]
    settled = None
    for at, label in reversed(after):
        if label != labels[1]:
            break
        settled = at
    stats = recognizer.stats()
    return LiveFigures(
        first=Path(first).name,
        second=Path(second).name,
        first_label=labels[0],
        second_label=labels[1],
        label_at_cut=before[-1] if before else None,
        cut_s=cut_s,
        changed_s=next((at for at, label in after if label != labels[0]), None),
        named_s=next((at for at, label in after if label == labels[1]), None),
        settled_s=settled,
        frames_pushed=stats.frames_pushed,
        frames_sampled=stats.frames_sampled,
        frames_dropped=stats.frames_dropped,
        frames_encoded=stats.frames_encoded,
        mean_step_s=stats.mean_step_s,
        cpu_cores=cpu_s / wall_s,
        busy_cores=busy,
    )
