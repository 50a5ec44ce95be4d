"""The pose + LSTM approach: its builder, training on pose features of real clips, and the
analysis, comparison and Learn-page paths that run the pose estimator in front of the model."""

import numpy as np
import pytest

from core.engine.analysis import analyze, predictor
from core.media.video import read_frames
from core.models import bundle, contract, pose, registry
from core.training.compare import clip_flops, count_flops
from core.views.flow import bundle_flow
from tests.support import ARCHERY, tiny_dataset, train_tiny

pytestmark = pytest.mark.xdist_group("pose_lstm")  # the tiny pose bundle is trained once

SHAPE = contract.InputShape(20, 240, 320)


def _features(n: int, seed: int = 0) -> np.ndarray:
    return (
        np.random.default_rng(seed).normal(size=(n, SHAPE.sequence_length, pose.FEATURES)).astype(np.float32)
    )


def test_builder_takes_pose_features_and_has_a_stable_size():
    model = registry.build("pose_lstm", SHAPE, 6)
    probabilities = np.asarray(model(_features(3)))
    assert probabilities.shape == (3, 6) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # exact, so that a change to the builder is a decision: the number is in the results table
    assert model.count_params() == 42_630
    defaults = registry.input_defaults("pose_lstm")
    assert (defaults.image_size, defaults.image_width) == (240, 320)  # people are not squashed
    assert registry.frame_encoder("pose_lstm") is pose.PoseEncoder
    assert registry.frame_encoder("lrcn") is None


@pytest.fixture(scope="module")
def tiny_pose_bundle(tmp_path_factory):
    """pose_lstm trained for one short epoch on pose features of real clips: Archery and
    PlayingViolin (people large in the frame), one clip of group 12 each to train, of group 8 to
    validate."""
    root = tmp_path_factory.mktemp("pose")
    data = tiny_dataset(root / "ucf-2", ("Archery", "PlayingViolin"), clips=(1,))
    options = ("--windows-per-clip", "2")
    out = train_tiny(data, root / "pose_lstm", "pose_lstm", *options, cache_dir=root / "cache")
    return bundle.load(out), root / "cache"


def test_training_caches_pose_features_and_saves_a_bundle_of_the_head(tiny_pose_bundle):
    loaded, cache = tiny_pose_bundle
    assert loaded.spec.image_size == (240, 320)
    assert loaded.model.input_shape[1:] == (20, pose.FEATURES)
    training = loaded.metrics["training"]
    assert training["frozen_frame_encoder"] is True
    assert training["parameters"] == training["trained_parameters"] == 42_630 - 4 * 65  # two classes
    assert "BlazePose" in loaded.card and "Apache-2.0" in loaded.card
    cached = list((cache / "features").glob("*.npy"))
    assert len(cached) == 4  # each clip's poses computed once, as recorded and mirrored
    found = []
    for path in cached:
        features = np.load(path)
        assert features.shape[0] == 2 and features.shape[2] == pose.FEATURES
        presence = features[0, :, -1]
        assert set(np.unique(presence)) <= {0.0, 1.0}
        assert not features[0, presence == 0].any()  # nobody found: the LSTM reads zeros
        found.append(presence.mean())
    assert max(found) > 0.5  # the violinists and archers are found in most frames of some clips


def test_analysis_runs_the_pose_estimator_in_front_of_the_model(tiny_pose_bundle):
    loaded, _ = tiny_pose_bundle
    timeline = analyze(ARCHERY, loaded)  # equal to the whole model per window: tests/engine
    assert timeline.probabilities.shape == (len(timeline.starts_s), 2)
    assert timeline.classes == ("Archery", "PlayingViolin")


def test_windows_that_share_frames_are_estimated_once(tiny_pose_bundle, monkeypatch):
    loaded, _ = tiny_pose_bundle
    run = predictor(loaded)
    frames = read_frames(ARCHERY, 6.0, loaded.spec.frame_size)[:24]
    windows = np.stack([frames[0:20], frames[4:24], frames[0:20][::-1]])
    encoded = []
    original = run.encode_frames
    monkeypatch.setattr(run, "encode_frames", lambda f: encoded.append(len(f)) or original(f))
    probabilities = run.forward(windows)
    assert encoded == [24] and probabilities.shape == (3, 2)
    monkeypatch.undo()
    # each window's features, in its own order, as if every frame had been estimated in place
    separately = np.stack([run.encode_frames(w) for w in windows])
    assert separately[0, :, -1].mean() > 0.5  # the archer is found: real, varied features
    assert not np.allclose(separately[0, 0], separately[0, 10])
    np.testing.assert_allclose(separately[2], separately[0][::-1])
    np.testing.assert_allclose(np.asarray(loaded.model(separately)), probabilities, atol=1e-5)


def test_flops_and_flow_include_the_pose_estimator(tiny_pose_bundle):
    loaded, _ = tiny_pose_bundle
    head = count_flops(loaded.model)
    assert clip_flops(loaded) == head + 20 * pose.PoseEncoder.flops_per_frame()
    assert clip_flops(loaded) > 100 * head  # the estimator is nearly all of the cost
    steps = bundle_flow(loaded)
    assert steps[0].shape == (20, 240, 320, 3)
    assert steps[1].label.startswith("BlazePose") and steps[1].shape == (20, pose.FEATURES)
    assert steps[2].label == "LSTM 64" and steps[-1].shape == (2,)


def test_the_shared_estimator_answers_each_thread_as_if_alone():
    """Streamlit sessions share one estimator; its interpreters must not mix their calls."""
    from concurrent.futures import ThreadPoolExecutor

    frames = read_frames(ARCHERY, 6.0, (320, 240))[:12]
    estimator = pose.shared_estimator()
    alone = [estimator.estimate(frame) for frame in frames]
    with ThreadPoolExecutor(4) as threads:
        together = list(threads.map(estimator.estimate, frames))
    for a, b in zip(alone, together, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.landmarks, b.landmarks, atol=1e-3)
