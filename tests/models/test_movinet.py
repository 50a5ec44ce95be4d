"""The video network as the app runs it: a stream whose states are carried from frame to frame
and zeroed per unit gives exactly what each unit's frames give when run alone from zero states
(MoViNet's own stream-equals-whole habit); a wrong file or a bundle made on other features is
refused; the kinetics-600 bundle names a real Kinetics clip."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.config import MODELS_DIR
from core.errors import ModelError
from core.media.video import read_frames
from core.models import bundle, movinet
from tests.support import SAMPLES, SURFING

KINETICS_BUNDLE = MODELS_DIR / "kinetics-600"


@pytest.fixture(scope="module")
def surfing_frames() -> np.ndarray:
    return read_frames(SURFING, movinet.FPS, movinet.DECODE_SIZE[::-1])


def test_units_cover_the_clip_and_end_flush_with_it():
    assert movinet.unit_bounds(0) == []
    assert movinet.unit_bounds(5) == [(0, 5)]
    assert movinet.unit_bounds(16) == [(0, 8), (8, 16)]
    assert movinet.unit_bounds(19) == [(0, 8), (8, 16), (11, 19)]
    assert movinet.unit_bounds(14, hop=4) == [(0, 8), (4, 12), (6, 14)]


@pytest.mark.parametrize("length", [5, 16, 21])  # shorter than a unit, whole units, a remainder
def test_the_stream_equals_each_unit_run_fresh_from_zero_states(surfing_frames, length):
    frames = surfing_frames[:length]
    fresh = np.stack([movinet.run_fresh(frames[a:b]) for a, b in movinet.unit_bounds(length)])
    whole = movinet.MovinetUnits()(frames)
    stream = movinet.UnitStream()
    pushed = []
    for start in range(0, length, 3):  # chunks that straddle the units' edges
        pushed += stream.push(frames[start : start + 3])
    pushed += stream.close()
    assert whole.shape == (len(movinet.unit_bounds(length)), movinet.CLASSES)
    np.testing.assert_array_equal(whole, fresh)
    np.testing.assert_array_equal(np.stack(pushed), fresh)


@pytest.mark.parametrize("length", [6, 21])
def test_staggered_units_equal_each_unit_run_fresh(surfing_frames, length):
    """Analysis starts a unit every half unit: two streams, each unit still from zero states."""
    frames = surfing_frames[:length]
    bounds = movinet.unit_bounds(length, hop=movinet.ANALYSIS_HOP)
    stream = movinet.UnitStream(hop=movinet.ANALYSIS_HOP)
    pushed = []
    for start in range(0, length, 5):
        pushed += stream.push(frames[start : start + 5])
    pushed += stream.close()
    assert stream.bounds(length) == bounds
    fresh = np.stack([movinet.run_fresh(frames[a:b]) for a, b in bounds])
    np.testing.assert_array_equal(np.stack(pushed), fresh)


def test_the_states_carry_memory(surfing_frames):
    """Carried states are not for show: a unit's logits differ from its last frame's alone."""
    unit = surfing_frames[:8]
    assert np.abs(movinet.run_fresh(unit) - movinet.run_fresh(unit[-1:])).max() > 0.1


def test_it_sees_surfing_as_surfing(surfing_frames):
    labels = movinet.kinetics_labels()
    assert len(labels) == 600 and labels[0] == "abseiling"
    mean = movinet.MovinetUnits()(surfing_frames).mean(axis=0)
    assert "surfing water" in [labels[i] for i in np.argsort(-mean)[:2]]


def test_a_file_that_is_not_the_network_is_refused(tmp_path):
    changed = tmp_path / movinet.NETWORK_FILE.name
    data = bytearray(movinet.NETWORK_FILE.read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="not the MoViNet-A0 stream network"):
        movinet.Network(changed)
    text = tmp_path / "notes.tflite"
    text.write_text("not a network")
    with pytest.raises(ModelError, match="not the MoViNet-A0"):
        movinet.Network(text)
    with pytest.raises(ModelError, match="missing"):
        movinet.Network(tmp_path / "absent.tflite")


def _bundle_copy(tmp_path, **changes):
    copy = shutil.copytree(KINETICS_BUNDLE, tmp_path / "copy")
    config = json.loads((copy / "config.json").read_text())
    config.update(changes)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_a_bundle_made_on_other_features_is_refused(tmp_path):
    with pytest.raises(ModelError, match="fingerprint"):
        bundle.load(_bundle_copy(tmp_path, backbone_fingerprint="0123456789abcdef"))


def test_a_bundle_naming_another_backbone_is_refused(tmp_path):
    with pytest.raises(ModelError, match="sits on the backbone 'i3d'"):
        bundle.load(_bundle_copy(tmp_path, backbone="i3d"))


def test_the_kinetics_bundle_loads_by_name_and_names_a_kinetics_clip():
    from core.engine.analysis import analyze

    model = bundle.load("kinetics-600")
    assert model.spec.backbone == movinet.NAME and len(model.spec.classes) == 600
    timeline = analyze(SAMPLES / "kinetics_abseiling.mp4", model)
    assert {label for label, _ in timeline.top_k(2)} & {"abseiling", "rock climbing"}
    assert timeline.ends_s[0] - timeline.starts_s[0] == pytest.approx(movinet.UNIT_FRAMES / movinet.FPS)
    assert timeline.starts_s[1] == pytest.approx(movinet.ANALYSIS_HOP / movinet.FPS)  # a unit every 0.8 s
    assert timeline.kinetics is None  # its own classes are the Kinetics names
