"""BlazePose through TF Lite (core/models/pose.py): anchors, the estimator on real frames, the ROI
geometry, the pose features and the FLOPs count."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from core.errors import ModelError
from core.models import pose as pose_module
from core.models.pose import (
    FEATURES,
    LEFT_HIP,
    LEFT_SHOULDER,
    NUM_LANDMARKS,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    Pose,
    PoseEstimator,
    Region,
    detector_anchors,
    estimator_flops,
    pose_features,
)
from core.training.compare import APPROACHES_DIR, RESULTS_FILE
from tests.support import ARCHERY, real_frames

# Archery frame 30 at its native 320x240: the archer stands, legs cut off by the bottom edge.
FRAME_INDEX = 30
# Landmarks (frame pixels) of that frame when core/models/pose.py was checked by eye: nose, shoulders,
# hips. Pins the pipeline (letterbox, anchors, crop, projection) against silent changes.
REFERENCE = {
    0: (220.88, 57.75),
    LEFT_SHOULDER: (213.44, 104.77),
    RIGHT_SHOULDER: (150.48, 99.04),
    LEFT_HIP: (199.72, 226.39),
    RIGHT_HIP: (158.88, 225.50),
}


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return cv2.cvtColor(real_frames(ARCHERY, FRAME_INDEX + 1)[FRAME_INDEX], cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def archer(estimator, frame) -> Pose:
    found = estimator.estimate(frame)
    assert found is not None, "no person found in the Archery frame"
    return found


def hip_centre(pose: Pose) -> np.ndarray:
    return pose.landmarks[[LEFT_HIP, RIGHT_HIP]].mean(axis=0)


def test_detector_anchors():
    anchors = detector_anchors()
    assert anchors.shape == (2254, 2)
    assert ((anchors > 0) & (anchors < 1)).all()
    # the 28x28 grid (stride 8), two anchors per cell, row by row; then 14x14; then 7x7 (x6)
    assert np.allclose(anchors[0], anchors[1]) and np.allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    assert np.allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    assert np.allclose(anchors[28 * 28 * 2], [0.5 / 14, 0.5 / 14])
    assert np.allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_archer_is_found_upright_and_inside_the_frame(archer, frame):
    height, width = frame.shape[:2]
    assert archer.presence >= 0.5
    assert archer.landmarks.shape == (NUM_LANDMARKS, 2) and archer.visibility.shape == (NUM_LANDMARKS,)
    assert ((archer.visibility >= 0) & (archer.visibility <= 1)).all()
    inside = (archer.landmarks >= 0).all(axis=1) & (archer.landmarks < (width, height)).all(axis=1)
    assert inside[:25].all(), "head, arms and hips are in the picture"
    # the legs are below the frame's bottom edge: the model must say it cannot see them
    assert inside[archer.visibility >= 0.5].all()
    assert (archer.visibility[~inside] < 0.5).all() and (~inside).sum() >= 4
    shoulders = archer.landmarks[[LEFT_SHOULDER, RIGHT_SHOULDER], 1].mean()
    hips = archer.landmarks[[LEFT_HIP, RIGHT_HIP], 1].mean()
    assert shoulders < hips - 50
    assert abs(archer.region.angle) < 0.5
    assert np.allclose(hip_centre(archer), (archer.region.center_x, archer.region.center_y), atol=10)


def test_archer_matches_reference_landmarks(archer):
    for index, expected in REFERENCE.items():
        assert np.allclose(archer.landmarks[index], expected, atol=2.0), index


def test_blank_frame_has_nobody(estimator):
    for value in (0, 128, 255):
        assert estimator.estimate(np.full((240, 320, 3), value, np.uint8)) is None
    features = pose_features(None)
    assert features.shape == (FEATURES,) == (NUM_LANDMARKS * 3 + 1,)
    assert not features.any()


def test_pose_features_ignore_position_and_scale(archer):
    base = pose_features(archer)
    assert base.shape == (FEATURES,) and base[-1] == 1.0
    assert np.allclose(base[2 * NUM_LANDMARKS : 3 * NUM_LANDMARKS], archer.visibility)
    # hips at the origin, shoulders one torso length away
    body = base[: 2 * NUM_LANDMARKS].reshape(NUM_LANDMARKS, 2)
    assert np.allclose(body[[LEFT_HIP, RIGHT_HIP]].mean(axis=0), 0, atol=1e-5)
    assert np.linalg.norm(body[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=0)) == pytest.approx(1, abs=1e-5)
    for scale, shift in ((1.0, (55.0, -30.0)), (0.4, (10.0, 7.0)), (2.5, (-300.0, 120.0))):
        moved = Pose(archer.landmarks * scale + shift, archer.visibility, archer.presence, archer.region)
        assert np.abs(pose_features(moved) - base).max() < 1e-4, (scale, shift)
    # ...but a different posture changes them
    raised = archer.landmarks.copy()
    raised[15] -= (0, 80)  # left wrist
    other = pose_features(Pose(raised, archer.visibility, archer.presence, archer.region))
    assert np.abs(other - base).max() > 0.3


def test_mirrored_frame_mirrors_the_hips(estimator, frame, archer):
    mirrored = estimator.estimate(frame[:, ::-1])
    assert mirrored is not None
    width = frame.shape[1]
    assert abs((width - hip_centre(mirrored)[0]) - hip_centre(archer)[0]) < 0.03 * width
    # the hips sit near the bottom edge with the legs cut off: their height is the least sure
    # coordinate (17 px apart here, as much as between frames 30 and 40 of the clip itself)
    assert abs(hip_centre(mirrored)[1] - hip_centre(archer)[1]) < 0.1 * frame.shape[0]
    assert mirrored.region.angle == pytest.approx(-archer.region.angle, abs=0.15)


def test_rotated_frame_rotates_the_region(estimator, frame, archer):
    """A frame turned 90 degrees clockwise: the region turns with it and the landmarks follow."""
    height = frame.shape[0]
    turned = estimator.estimate(np.ascontiguousarray(np.rot90(frame, -1)))
    assert turned is not None
    assert turned.region.angle == pytest.approx(archer.region.angle + math.pi / 2, abs=0.25)
    expected = np.stack([height - 1 - archer.landmarks[:, 1], archer.landmarks[:, 0]], axis=1)
    upper_body = [0, LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP]
    assert np.abs(turned.landmarks[upper_body] - expected[upper_body]).max() < 12


@pytest.mark.parametrize("angle", [0.0, 0.7, -2.5])
def test_region_crop_to_frame(angle):
    region = Region(center_x=150.0, center_y=90.0, size=200.0, angle=angle)
    side = 256
    matrix = region.crop_to_frame(side)
    assert matrix.shape == (2, 3)

    def to_frame(x, y):
        return matrix @ np.array([x, y, 1.0])

    assert np.allclose(to_frame(side / 2, side / 2), (150, 90))
    for corner in ((0, 0), (side, 0), (0, side), (side, side)):
        distance = np.linalg.norm(to_frame(*corner) - (150, 90))
        assert distance == pytest.approx(200 * math.sqrt(2) / 2)
    # the crop's top-centre is "up" for the body: angle 0 is straight up in the frame, and a
    # positive angle turns it clockwise on screen (y points down)
    up = to_frame(side / 2, 0) - (150, 90)
    assert np.allclose(up, (100 * math.sin(angle), -100 * math.cos(angle)))


def test_estimator_flops():
    flops = estimator_flops()
    print(f"BlazePose detector + full landmark model: {flops / 1e9:.3f} GFLOPs per frame")
    # Two MobileNet-style networks (depthwise separable convolutions) on 224x224 and 256x256
    # inputs; MobileNetV2 1.0 at 224 px is 0.6 GFLOPs (2 per MAC), so 1-3 GFLOPs is the plausible
    # range. The exact figure is the one the README, the pose_lstm model cards and the results
    # table quote: a change in the counting rule or the graphs must show up here first.
    assert round(flops / 1e9, 2) == 1.63
    table = json.loads((APPROACHES_DIR / RESULTS_FILE).read_text())
    row = next(r for r in table["rows"] if r["architecture"] == "pose_lstm")
    head = row["flops_per_clip"] - 20 * flops  # 20 frames per clip, then the LSTM head
    assert 0 < head < 0.001 * row["flops_per_clip"]
    assert estimator_flops() is flops  # cached


def test_flops_counting_rule(tmp_path, monkeypatch):
    """The rule itself, on a tiny converted model whose arithmetic is known by hand."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((16, 16, 3), batch_size=1)
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
    outputs = keras.layers.Dense(4)(keras.layers.Flatten()(x))
    path = tmp_path / "tiny.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, outputs)).convert())
    monkeypatch.setattr(pose_module, "DETECTOR_FILE", path)
    monkeypatch.setattr(pose_module, "LANDMARK_FILE", path)
    macs = 16 * 16 * 8 * 3 * 3 * 3 + 8 * 8 * 8 * 3 * 3 + 8 * 8 * 8 * 4
    assert estimator_flops.__wrapped__() == 2 * 2 * macs  # the same model counted twice


def test_missing_model_names_the_fetch_tool(tmp_path):
    with pytest.raises(ModelError, match=r"tools/fetch_pose_models\.py"):
        PoseEstimator(detector=tmp_path / "x.tflite")


def test_a_frame_seen_again_is_answered_from_memory(frame):
    """The Pose page asks for the same frames three times; the networks run once per frame."""
    estimator = PoseEstimator()
    calls = []
    detect = estimator.detect
    estimator.detect = lambda image: calls.append(1) or detect(image)
    first = estimator.estimate(frame)
    assert estimator.estimate(frame.copy()) is first and len(calls) == 1
    other = np.ascontiguousarray(frame[:, ::-1])
    assert estimator.estimate(other) is not first and len(calls) == 2
    blank = np.zeros_like(frame)
    assert estimator.estimate(blank) is None and estimator.estimate(blank) is None and len(calls) == 3
