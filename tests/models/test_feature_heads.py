"""The approaches on pretrained eyes (core.models.feature_heads) and the shared frozen backbone
that feeds them (core.models.backbone), on real frames."""

import numpy as np
import pytest

from core.media.video import read_frames
from core.models import backbone, contract, registry
from core.models.efficientnet_lite import FEATURES
from tests.support import ARCHERY, SURFING

SHAPE = contract.InputShape(13, 160, 160)
HEADS = (
    "effnet_single_frame",
    "effnet_late_fusion",
    "effnet_early_fusion",
    "effnet_slow_fusion",
    "effnet_lrcn",
    "effnet_convlstm",
)
# Exact, so that a change to a head is a decision: these numbers are in the results table.
PARAMETERS = {
    "effnet_single_frame": 14_091,
    "effnet_late_fusion": 14_091,
    "effnet_early_fusion": 1_068_299,
    "effnet_slow_fusion": 543_755,
    "effnet_lrcn": 345_035,
    "effnet_convlstm": 131_627,
}


def _windows(name: str, n: int = 2, seed: int = 0) -> np.ndarray:
    width = registry.frame_encoder(name).features
    return np.random.default_rng(seed).random((n, SHAPE.sequence_length, width), dtype=np.float32)


@pytest.mark.parametrize("name", HEADS)
def test_each_head_takes_backbone_features_and_gives_probabilities(name):
    model = registry.build(name, SHAPE, 11)
    probabilities = np.asarray(model(_windows(name)))
    assert probabilities.shape == (2, 11) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert model.count_params() == PARAMETERS[name]
    approach, footing = registry.approach_of(name)
    assert footing == "pretrained" and name == f"effnet_{approach}"


def test_order_blind_heads_are_shuffle_invariant_and_the_others_are_not():
    for name in HEADS:
        model = registry.build(name, SHAPE, 11)
        windows = _windows(name, 1)
        shuffled = windows[:, np.random.default_rng(3).permutation(SHAPE.sequence_length)]
        same = np.allclose(np.asarray(model(shuffled)), np.asarray(model(windows)), atol=1e-6)
        assert same == (name == "effnet_late_fusion"), name  # single frame: another frame is in the middle
    single = registry.build("effnet_single_frame", SHAPE, 11)
    windows = _windows("effnet_single_frame", 1)
    others = windows.copy()
    others[:, : SHAPE.sequence_length // 2] = 0.0
    others[:, SHAPE.sequence_length // 2 + 1 :] = 1.0
    assert np.allclose(np.asarray(single(others)), np.asarray(single(windows)), atol=1e-6)


@pytest.fixture(scope="module")
def real_frames() -> np.ndarray:
    return np.concatenate([read_frames(clip, 4.0, (160, 160))[:13] for clip in (ARCHERY, SURFING)])


def test_one_backbone_feeds_every_head_and_equals_the_full_models_encoder(real_frames, effnet_bundle):
    """The shared encoder is the default model's own frame encoder, numerically (so its cached
    features are shared too), and one instance serves every head in the process."""
    pooled = backbone.EffnetFeatures()(real_frames)
    encoder, _ = contract.split(effnet_bundle.model)
    assert pooled.shape == (26, FEATURES)
    assert np.allclose(pooled, np.asarray(encoder(contract.to_unit(real_frames))), atol=1e-4)
    assert backbone.EffnetFeatures.fingerprint() == backbone.weights_fingerprint(encoder)
    maps = backbone.EffnetMaps()(real_frames)
    assert maps.shape == (26, 5 * 5 * 320) and maps.dtype == np.float16
    assert backbone._runner("pooled", "litert", 160, 160) is backbone._runner("pooled", "litert", 160, 160)


@pytest.mark.parametrize("name", HEADS)
def test_a_short_training_run_on_real_features_lowers_the_loss(name, real_frames):
    """Two real clips' windows (Archery, Surfing), a few steps of the trainer's optimiser."""
    import keras

    keras.utils.set_random_seed(0)
    features = registry.frame_encoder(name)()(real_frames).astype(np.float32)
    windows = features.reshape(2, SHAPE.sequence_length, -1)
    x, y = np.repeat(windows, 8, axis=0), np.repeat(np.array([0, 1]), 8)
    model = registry.build(name, SHAPE, 2)
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=6, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0], history


def test_late_fusion_on_pretrained_eyes_is_the_mean_of_its_frames_alone(real_frames):
    """What the Late fusion page draws: each frame's probabilities on its own, whose mean over a
    window is exactly the model's answer for that window."""
    from core.engine.analysis import predictor
    from core.models import bundle
    from core.training.compare import APPROACHES_DIR
    from core.views.introspect import frame_probabilities

    late = bundle.load(APPROACHES_DIR / "action" / "effnet_late_fusion")
    window = real_frames[:13]
    per_frame = frame_probabilities(late, window)
    assert per_frame.shape == (13, len(late.spec.classes))
    assert np.allclose(per_frame.mean(axis=0), predictor(late).classify_windows(window[None])[0], atol=1e-5)
