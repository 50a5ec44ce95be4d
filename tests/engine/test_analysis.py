import json
from pathlib import Path

import numpy as np
import pytest

from core.config import MODELS_DIR
from core.engine.analysis import analyze, predictor
from core.models import bundle
from tests.support import ARCHERY, SAMPLES, SURFING, moving_square, real_frames, write_video


@pytest.mark.parametrize(("clip", "label"), [(ARCHERY, "Archery"), (SURFING, "Surfing")])
def test_lrcn_bundle_labels_real_clips(lrcn_bundle, clip, label):
    timeline = analyze(clip, lrcn_bundle)
    assert timeline.top_k(1)[0][0] == label
    assert timeline.probabilities.shape == (len(timeline.starts_s), 6)
    assert np.allclose(timeline.probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert timeline.starts_s[0] == 0 and timeline.ends_s[-1] <= timeline.duration_s + 1e-9


def test_same_clip_twice_gives_the_same_timeline(lrcn_bundle):
    first = analyze(SURFING, lrcn_bundle)
    second = analyze(SURFING, lrcn_bundle)
    assert np.array_equal(first.probabilities, second.probabilities)
    assert first.to_dict() == second.to_dict()


def test_two_joined_clips_give_two_segments(lrcn_bundle, joined_video):
    segments = analyze(joined_video, lrcn_bundle).segments()
    labels = [s.label for s in segments]
    assert len(segments) >= 2
    assert labels[0] == "Archery" and labels[-1] == "Surfing"


BUNDLES = sorted(config.parent for config in MODELS_DIR.glob("**/config.json"))
SHARED_ENCODER = {  # a frame encoder, then a head
    "effnet_lstm", "lrcn", "late_fusion", "pose_lstm", "effnet_single_frame", "effnet_late_fusion",
    "effnet_early_fusion", "effnet_slow_fusion", "effnet_lrcn", "effnet_convlstm",
}  # fmt: skip
SHARING = [
    b for b in BUNDLES if json.loads((b / "config.json").read_text())["architecture"] in SHARED_ENCODER
]
# heads on the video network: one path, its unit stream, held equal to fresh units in test_movinet
ON_UNITS = [b for b in BUNDLES if json.loads((b / "config.json").read_text()).get("unit_frames", 1) > 1]


def test_the_bundles_that_share_frame_features_are_all_tested():
    for folder in BUNDLES:
        assert predictor(bundle.load(folder)).split == (folder in SHARING or folder in ON_UNITS), folder


@pytest.fixture(scope="module")
def five_seconds(tmp_path_factory) -> Path:
    """5 s of a real clip of an action no model here knows: arbitrary, unsaturated probabilities."""
    path = tmp_path_factory.mktemp("clip") / "biking.avi"
    return write_video(path, real_frames(SAMPLES / "v_Biking_g01_c01.avi", limit=125), fourcc="MJPG")


@pytest.mark.parametrize("folder", SHARING, ids=lambda p: str(p.relative_to(MODELS_DIR)))
def test_shared_frame_features_equal_whole_model_windows(folder, five_seconds):
    """The fast path (encode each frame once, run only the head per window) must agree with
    running the whole model on every window, for every bundle that takes it."""
    loaded = bundle.load(folder)
    fast = analyze(five_seconds, loaded)
    plain = analyze(five_seconds, loaded, share_frame_features=False)
    assert np.array_equal(fast.starts_s, plain.starts_s) and len(fast.starts_s) >= 3
    np.testing.assert_allclose(fast.probabilities, plain.probabilities, atol=1e-5)
    if loaded.spec.open_set is not None:  # the known-ness score takes the same shortcut
        np.testing.assert_allclose(fast.knownness, plain.knownness, atol=1e-4)
        assert [s.label for s in fast.segments()] == [s.label for s in plain.segments()]


@pytest.mark.parametrize("hop_s", [0.5, 1.0, 1 / 6])
def test_hop_sets_window_spacing(lrcn_bundle, hop_s):
    timeline = analyze(SURFING, lrcn_bundle, hop_s=hop_s)
    spacing = np.diff(timeline.starts_s)[:-1]
    assert np.allclose(spacing, round(hop_s * 6) / 6)


def test_video_shorter_than_one_window_is_analysed_with_a_warning(lrcn_bundle, tmp_path):
    short = write_video(tmp_path / "short.avi", real_frames(SURFING, limit=25), fps=25.0, fourcc="MJPG")
    timeline = analyze(short, lrcn_bundle)
    assert len(timeline.starts_s) == 1
    assert any("shorter than one" in w for w in timeline.warnings)


def test_progress_reports_stages_up_to_done(lrcn_bundle, tmp_path):
    path = write_video(tmp_path / "clip.avi", moving_square(150), fps=25.0, fourcc="MJPG")
    seen = []
    analyze(path, lrcn_bundle, progress=lambda fraction, stage: seen.append((fraction, stage)))
    fractions = [f for f, _ in seen]
    assert seen[0] == (0.0, "reading video") and seen[-1] == (1.0, "done")
    assert fractions == sorted(fractions)


def test_whole_model_path_handles_short_and_odd_lengths(lrcn_bundle, tmp_path):
    counts = []
    for n_frames in (10, 84, 120, 128):
        path = write_video(tmp_path / f"c{n_frames}.avi", moving_square(n_frames), fourcc="MJPG")
        fast = analyze(path, lrcn_bundle)
        plain = analyze(path, lrcn_bundle, share_frame_features=False)
        assert np.array_equal(fast.starts_s, plain.starts_s)
        assert np.abs(fast.probabilities - plain.probabilities).max() < 1e-5
        counts.append(fast.frames_analysed)
    assert min(counts) < 20  # shorter than one window: padded
    assert any(c > 20 and (c - 20) % 3 == 0 for c in counts)  # last window on the hop grid
    assert any(c > 20 and (c - 20) % 3 for c in counts)  # an extra window flush with the end


def test_too_long_video_is_refused_before_decoding(lrcn_bundle, monkeypatch):
    import core.engine.analysis
    from core.errors import VideoError

    monkeypatch.setattr(core.engine.analysis, "iter_frames", lambda *a: pytest.fail("decoded anyway"))
    with pytest.raises(VideoError, match=r"9.6 s long; .* up to 6.0 s"):
        analyze(SURFING, lrcn_bundle, max_duration_s=6)
