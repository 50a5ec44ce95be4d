"""The frozen backbone under LiteRT (core.models.litert): the features Keras computes, converted
once per weights and frame size, and the one backbone every model in the process runs on."""

import os

import keras
import numpy as np
import pytest

from core.config import MODELS_DIR
from core.engine.analysis import predictor
from core.errors import ModelError
from core.media.video import read_frames
from core.models import backbone, litert
from core.models.bundle import load
from tests.support import ARCHERY, SURFING


@pytest.fixture(scope="module")
def real_frames() -> np.ndarray:
    """21 frames, so that the last LiteRT batch is shorter than 8."""
    return np.concatenate(
        [read_frames(ARCHERY, 4.0, (160, 160))[:11], read_frames(SURFING, 4.0, (160, 160))[:10]]
    )


def test_litert_features_equal_keras_features_on_real_frames(real_frames):
    """Tolerance: XNNPACK adds in another order than TensorFlow's kernels, so float32 round-off
    differs (measured 2e-5 on features up to about 6); a wrong weight, layer or padding would be
    off by whole units. The maps are stored as float16 (steps of 0.004 at 4), hence their bound."""
    fast = backbone.EffnetFeatures("litert")(real_frames)
    plain = backbone.EffnetFeatures("keras")(real_frames)
    assert fast.shape == plain.shape == (21, 1280)
    np.testing.assert_allclose(fast, plain, atol=1e-4)
    fast_maps = backbone.EffnetMaps("litert")(real_frames).astype(np.float32)
    plain_maps = backbone.EffnetMaps("keras")(real_frames).astype(np.float32)
    np.testing.assert_allclose(fast_maps, plain_maps, atol=1e-2, rtol=2e-3)
    assert backbone.EffnetFeatures("litert")(real_frames[:0]).shape == (0, 1280)


def test_a_model_is_converted_once_and_a_shipped_file_comes_first(tmp_path, monkeypatch):
    monkeypatch.setenv("ARL_CACHE_DIR", str(tmp_path / "cache"))
    keras.utils.set_random_seed(0)
    frames = keras.Input((None, None, 3))
    features = keras.layers.Conv2D(4, 3)(frames)
    model = keras.Model(frames, [keras.layers.GlobalAveragePooling2D()(features), features], name="tiny")
    built = []

    def build():
        built.append(1)
        return model

    first = litert.model_file(build, "tiny-abc-32x32.tflite", 32, 32, shipped_in=tmp_path / "shipped")
    converted_at = first.stat().st_mtime_ns
    again = litert.model_file(build, "tiny-abc-32x32.tflite", 32, 32)
    assert again == first and first.stat().st_mtime_ns == converted_at and len(built) == 1
    assert [p.name for p in (tmp_path / "cache" / "litert").iterdir()] == ["tiny-abc-32x32.tflite"]
    (tmp_path / "shipped").mkdir()
    shipped = tmp_path / "shipped" / "tiny-abc-32x32.tflite"
    shipped.write_bytes(first.read_bytes())
    assert litert.model_file(build, "tiny-abc-32x32.tflite", 32, 32, shipped_in=shipped.parent) == shipped
    # both outputs, in the Keras model's order; 11 frames: a batch of 8, then one of 3
    pixels = np.random.default_rng(0).integers(0, 256, (11, 32, 32, 3), dtype=np.uint8)
    expected = [np.asarray(out) for out in model(pixels.astype(np.float32) / 255.0)]
    got = litert.FrameRunner(first)(pixels)
    assert [g.shape for g in got] == [(11, 4), (11, 30, 30, 4)]
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_the_shipped_backbone_is_current_and_no_process_converts_or_builds_it(monkeypatch, tmp_path):
    """tools/convert_backbone_litert.py wrote it for today's weights: a fresh clone runs it as it is."""
    computed = backbone.remember_fingerprints(tmp_path / "fingerprints.json")
    assert backbone.fingerprints() == computed, "run tools/convert_backbone_litert.py"
    shipped = backbone.efficientnet_lite.WEIGHTS.parent / backbone.litert_name(160, 160)
    assert shipped.is_file(), "run tools/convert_backbone_litert.py"
    monkeypatch.setattr(litert, "convert", lambda *args: pytest.fail("converted again"))
    path = litert.model_file(lambda: pytest.fail("built"), shipped.name, 160, 160, shipped.parent)
    assert path == shipped


def test_the_runtime_is_chosen_by_setting(monkeypatch):
    monkeypatch.delenv("ARL_BACKBONE_RUNTIME", raising=False)
    assert backbone.runtime() == "litert"
    monkeypatch.setenv("ARL_BACKBONE_RUNTIME", "Keras")
    assert backbone.runtime() == "keras"
    monkeypatch.setenv("ARL_BACKBONE_RUNTIME", "onnx")
    with pytest.raises(ModelError, match="ARL_BACKBONE_RUNTIME='onnx'"):
        backbone.runtime()


def test_every_model_on_the_backbone_runs_the_one_shared_copy(effnet_bundle, monkeypatch):
    """The default model embeds the backbone; the Learn pages' heads are fed it, pooled or as
    maps. One LiteRT interpreter runs it for all of them: visiting every page loads it once."""
    monkeypatch.delenv("ARL_BACKBONE_RUNTIME", raising=False)
    made = []
    real_interpreter = litert.interpreter
    monkeypatch.setattr(litert, "interpreter", lambda path: made.append(path) or real_interpreter(path))
    backbone._runner.cache_clear()
    backbone._litert_runner.cache_clear()
    action = MODELS_DIR / "approaches" / "action"
    heads = [load(action / name) for name in ("effnet_lrcn", "effnet_late_fusion", "effnet_convlstm")]
    frames = np.zeros((3, 160, 160, 3), np.uint8)
    for model in (effnet_bundle, *heads):
        encode = predictor(model).frame_encoder
        assert isinstance(encode, (backbone.EffnetFeatures, backbone.EffnetMaps))
        assert encode(frames).shape == (3, encode.features)
    assert len(made) == 1  # the maps of the ConvLSTM come from the same interpreter


def test_available_cpus_is_within_what_the_machine_has():
    assert 1 <= litert.available_cpus() <= (os.cpu_count() or 1)
