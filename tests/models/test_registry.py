import keras
import numpy as np
import pytest

from core.errors import ModelError
from core.models import contract, registry

SHAPE = contract.InputShape(20, 64, 64)
SMALL = contract.InputShape(8, 32, 32)  # for training steps: same layers, a fraction of the work


UNTRAINED = {"kinetics_600"}  # the video network's own classifier: nothing to fit


def test_the_kinetics_classifier_is_the_softmax_of_the_last_units_logits():
    model = registry.build("kinetics_600", contract.InputShape(2, 172, 229), 600)
    units = np.random.default_rng(0).normal(size=(3, 2, 600)).astype(np.float32) * 4
    expected = np.exp(units[:, -1]) / np.exp(units[:, -1]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(model(units)), expected, atol=1e-6)
    assert not model.trainable_weights
    with pytest.raises(ValueError, match="600"):
        registry.build("kinetics_600", SHAPE, 6)


@pytest.mark.parametrize("name", sorted(set(registry.architectures()) - UNTRAINED))
def test_every_architecture_builds_saves_and_loads_safely(tmp_path, name):
    model = registry.build(name, SHAPE, 6)
    # frames, or per-frame features for a model whose frame encoder is outside Keras (pose_lstm)
    clips = np.random.default_rng(0).random((2, *model.input_shape[1:]), dtype=np.float32)
    probabilities = np.asarray(model(clips))
    assert probabilities.shape == (2, 6)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert np.allclose(np.asarray(loaded(clips)), probabilities, atol=1e-6)


def test_lrcn_splits_into_frame_encoder_and_sequence_head():
    model = registry.build("lrcn", SHAPE, 6)
    encoder, head = contract.split(model)
    clip = np.random.default_rng(1).random((1, *SHAPE.clip), dtype=np.float32)
    features = np.asarray(encoder(clip[0]))
    assert np.allclose(np.asarray(head(features[None])), np.asarray(model(clip)), atol=1e-6)
    assert contract.split(registry.build("convlstm", SHAPE, 6)) is None


def test_unknown_architecture():
    with pytest.raises(ModelError, match="Unknown architecture"):
        registry.build("transformer9000", SHAPE, 6)


def test_effnet_lstm_is_a_frozen_backbone_under_a_trainable_head():
    model = registry.build("effnet_lstm", SHAPE, 6)
    encoder, head = contract.split(model)
    assert not encoder.trainable and head.trainable
    assert encoder.output.shape[-1] == 1280
    trained = {id(w) for w in model.trainable_weights}
    assert trained == {id(w) for w in head.trainable_weights}
    clip = np.random.default_rng(2).random((1, *SHAPE.clip), dtype=np.float32)
    features = np.asarray(encoder(clip[0]))
    assert np.allclose(np.asarray(head(features[None])), np.asarray(model(clip)), atol=1e-6)


def test_architectures_state_their_input():
    assert registry.input_defaults("lrcn") == contract.InputDefaults(20, 64, 6.0, 3)
    assert registry.input_defaults("effnet_lstm").image_size == 160
    with pytest.raises(ModelError, match="Unknown architecture"):
        registry.input_defaults("transformer9000")


ON_THE_SHARED_BACKBONE = {"effnet_single_frame", "effnet_late_fusion", "effnet_early_fusion",
                          "effnet_slow_fusion", "effnet_lrcn", "effnet_convlstm"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(set(registry.architectures()) - ON_THE_SHARED_BACKBONE - UNTRAINED))
def test_a_few_training_steps_lower_the_loss(name):
    """On random inputs; the heads on the shared backbone are trained on real features instead
    (tests/models/test_feature_heads.py), where random 1280-wide inputs say nothing."""
    keras.utils.set_random_seed(0)
    model = registry.build(name, SMALL, 3)
    parts = contract.split(model)
    if parts and not parts[0].trainable:  # a frozen backbone: training fits the head on its features
        model = parts[1]
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    inputs = np.random.default_rng(1).random((6, *model.input_shape[1:]), dtype=np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    losses = [float(model.train_on_batch(inputs, labels)) for _ in range(12)]
    assert losses[-1] < 0.7 * losses[0], losses
