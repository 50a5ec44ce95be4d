"""Live recognition (core.engine.live) on real frames of real clips: the frames it keeps, the
frames it drops when it falls behind, what it reads on a taught and an untaught action, and that
its windows are the ones analysis computes for the same frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.engine.analysis import analyze
from core.engine.live import LiveRecognizer, draw_reading
from core.engine.timeline import UNKNOWN
from core.errors import ModelError
from core.media.video import iter_frames
from tests.support import SAMPLES, SURFING, UCF6, real_frames

ABSEILING = SAMPLES / "kinetics_abseiling.mp4"  # Kinetics: an action no model here was taught
CLIP_FPS = 25.0  # both clips' rate


def rgb_frames(path) -> list[np.ndarray]:
    return [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in real_frames(path)]


@pytest.fixture(scope="module")
def surfing() -> list[np.ndarray]:
    return rgb_frames(SURFING)


def played(recognizer: LiveRecognizer, frames, fps: float = CLIP_FPS, start_s: float = 0.0) -> None:
    """Push the frames as a camera at ``fps`` would, each sampled one processed before the next
    (so that none is dropped: what a machine that keeps up does)."""
    for index, frame in enumerate(frames):
        if recognizer.push(frame, start_s + index / fps):
            assert recognizer.wait_idle(30.0)


def test_frames_are_kept_at_the_bundle_rate_the_first_at_or_after_each_tick(effnet_bundle, surfing):
    recognizer = LiveRecognizer(effnet_bundle)
    played(recognizer, surfing)
    stats = recognizer.stats()
    recognizer.close()
    period = 1 / effnet_bundle.spec.sampling_fps  # 0.25 s
    ticks = np.arange(0, len(surfing) / CLIP_FPS, period)
    expected = np.ceil(ticks * CLIP_FPS - 1e-6) / CLIP_FPS  # the first 25 fps frame at or after each
    assert stats.frames_pushed == len(surfing) == 240
    assert stats.frames_sampled == stats.frames_encoded == len(ticks) == 39
    assert stats.frames_dropped == 0
    # a reading per sampled frame once the first window (13 frames) is full, timed by its newest
    history = recognizer.history()
    np.testing.assert_allclose(history.times_s, expected[effnet_bundle.spec.sequence_length - 1 :])


def test_a_camera_slower_than_the_rate_gives_every_frame_and_a_pause_starts_a_new_window(
    effnet_bundle, surfing
):
    recognizer = LiveRecognizer(effnet_bundle)
    played(recognizer, surfing[:40:10], fps=2.5)  # 2.5 fps: under the model's 4
    assert recognizer.stats().frames_sampled == 4
    assert recognizer.warm_up_s() == pytest.approx(9 * 0.25)  # 9 of the window's 13 frames to go
    played(recognizer, surfing[:8], start_s=60.0)  # a minute later: the window starts again
    assert recognizer.stats().frames_sampled == 6  # at 60 and 60.28 s
    assert recognizer.warm_up_s() == pytest.approx((13 - 2) * 0.25)
    recognizer.close()


def test_a_worker_that_falls_behind_drops_frames_instead_of_queueing_them(effnet_bundle, surfing):
    """Every pushed frame is due (timed 0.25 s apart) but all are pushed at once: far faster than
    the backbone. A frame still waiting when a newer one comes is dropped, never queued."""
    recognizer = LiveRecognizer(effnet_bundle)
    recognizer.warm_up()
    frames = surfing[::6][:40]
    for index, frame in enumerate(frames):
        recognizer.push(frame, index * 0.25)
    assert recognizer.wait_idle(30.0)
    stats = recognizer.stats()
    recognizer.close()
    assert stats.frames_sampled == 40
    assert stats.frames_dropped > 0 and stats.frames_encoded + stats.frames_dropped == 40
    assert recognizer.push(frames[0], 100.0) is False  # closed: ignored
    assert recognizer.stats().frames_encoded == stats.frames_encoded


def test_the_newest_frame_is_the_one_encoded_after_a_backlog(effnet_bundle, surfing):
    """Enough frames for the window pushed one by one, then a burst: the reading that follows is
    the burst's last frame's, whatever came between."""
    recognizer = LiveRecognizer(effnet_bundle)
    played(recognizer, surfing[:100:6], fps=CLIP_FPS / 6)  # 17 frames, 0.24 s apart: a full window
    burst = surfing[100:148:6]  # 8 frames, due 0.25 s apart, pushed at once
    for index, frame in enumerate(burst):
        recognizer.push(frame, 4.08 + index * 0.25)
    assert recognizer.wait_idle(30.0)
    assert recognizer.reading().time_s == pytest.approx(4.08 + 7 * 0.25)
    recognizer.close()


def test_a_surfing_clip_reads_as_surfing(effnet_bundle, surfing):
    recognizer = LiveRecognizer(effnet_bundle)
    played(recognizer, surfing)
    history = recognizer.history()
    reading = recognizer.reading()
    recognizer.close()
    assert len(history.labels) == 27
    assert set(history.labels) == {"Surfing"}
    assert reading.known and reading.label == reading.closest == "Surfing" and reading.probability > 0.9
    assert (history.knownness > history.window_threshold).all()
    assert reading.to_dict()["label"] == "Surfing"


def test_an_untaught_action_reads_as_unknown_with_its_closest_class(effnet_bundle):
    recognizer = LiveRecognizer(effnet_bundle)
    played(recognizer, rgb_frames(ABSEILING))
    history = recognizer.history()
    reading = recognizer.reading()
    recognizer.close()
    assert set(history.labels) == {UNKNOWN}
    assert (history.knownness < history.window_threshold).all()
    assert not reading.known and reading.closest in effnet_bundle.spec.classes


def test_the_video_network_reads_a_known_and_an_untaught_action_live(default_bundle, surfing):
    """The default model on the video network: two staggered unit streams give a first label
    after half a unit (0.8 s), Surfing reads as Surfing and abseiling as unknown."""
    labels = {}
    for name, frames in (("surfing", surfing), ("abseiling", rgb_frames(ABSEILING))):
        recognizer = LiveRecognizer(default_bundle)
        played(recognizer, frames)
        history = recognizer.history()
        labels[name] = history.labels
        recognizer.close()
        assert history.times_s[0] == pytest.approx(0.6)  # the 4th frame at 5 fps
    assert set(labels["surfing"]) == {"Surfing"}
    assert np.mean([label == UNKNOWN for label in labels["abseiling"]]) > 0.8


def test_a_model_taught_in_the_app_names_its_own_actions_live(tmp_path, surfing):
    """Two actions taught from four real takes each (as the Teach page does, few epochs): its
    head and its own calibration (knn) run live on the shared backbone."""
    from core.models.bundle import load
    from core.training.teach import TeachClip, teach

    def takes(label: str) -> list[TeachClip]:
        paths = [p for group in (12, 13) for p in sorted((UCF6 / label).glob(f"*_g{group}_*"))[:2]]
        return [TeachClip(f"take {i}.mp4", p.read_bytes()) for i, p in enumerate(paths, 1)]

    result = teach({"waves": takes("Surfing"), "bow": takes("Archery")}, tmp_path / "mine", epochs=6)
    taught = load(result.bundle_dir)
    labels = {}
    for name, frames in (("surfing", surfing), ("abseiling", rgb_frames(ABSEILING))):
        recognizer = LiveRecognizer(taught)
        played(recognizer, frames)
        labels[name] = set(recognizer.history().labels)
        recognizer.close()
    assert labels == {"surfing": {"waves"}, "abseiling": {UNKNOWN}}


def test_the_live_windows_are_the_windows_analysis_computes(effnet_bundle):
    """Fed the frames that analysis samples from a file, each live reading (unsmoothed) is the
    analysis window that ends at its frame: same probabilities, same known-ness. The backbone
    runs one frame at a time here and in batches there, so round-off may differ a little."""
    spec = effnet_bundle.spec
    timeline = analyze(SURFING, effnet_bundle)
    frames = [f.image for f in iter_frames(SURFING, spec.sampling_fps, spec.frame_size)]
    recognizer = LiveRecognizer(effnet_bundle, smoothing=1)
    readings = [recognizer.process(frame, index / spec.sampling_fps) for index, frame in enumerate(frames)]
    ends = (timeline.starts_s * spec.sampling_fps).round().astype(int) + spec.sequence_length - 1
    live = [readings[end] for end in ends]
    np.testing.assert_allclose([r.probabilities for r in live], timeline.probabilities, atol=1e-5)
    np.testing.assert_allclose([r.knownness for r in live], timeline.knownness, atol=1e-4)
    assert readings[spec.sequence_length - 2] is None  # the first window was not full yet


def test_the_timeline_keeps_only_the_horizon(effnet_bundle, surfing):
    recognizer = LiveRecognizer(effnet_bundle, horizon_s=2.0)
    played(recognizer, surfing)
    times = recognizer.history().times_s
    recognizer.close()
    assert times[-1] - times[0] <= 2.0 and times[-1] == pytest.approx(9.52)  # the last sampled frame


def test_a_model_off_the_shared_backbone_is_refused_in_words(lrcn_bundle):
    with pytest.raises(ModelError, match="shared frozen backbone.*record a clip on Analyze"):
        LiveRecognizer(lrcn_bundle)


def test_the_label_and_its_knownness_are_drawn_on_the_frame(effnet_bundle, surfing):
    recognizer = LiveRecognizer(effnet_bundle)
    played(recognizer, surfing[:80])
    frame = surfing[80].copy()
    draw_reading(frame, recognizer.reading())
    recognizer.close()
    changed = np.any(frame != surfing[80], axis=2)
    rows, columns = np.nonzero(changed)
    assert rows.max() < 90 and columns.min() >= 6  # two lines of text, top left
    assert changed[:90].mean() > 0.05 and not changed[90:].any()
    waiting = surfing[0].copy()
    draw_reading(waiting, None, warm_up_s=3.25)  # before the first window: says so
    assert np.any(waiting != surfing[0])
