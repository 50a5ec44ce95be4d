"""The pooling heads on the frozen EfficientNet-Lite0 (core.models.pooled): they split into the
shared frame encoder and a head, the energy score can read their logits, and pooling is what
its name says."""

import numpy as np
import pytest

from core.models import contract, registry

SHAPE = contract.InputShape(13, 160, 160)


@pytest.fixture(scope="module", params=["effnet_mean", "effnet_attention"])
def head(request):
    model = registry.build(request.param, SHAPE, 11)
    encoder, head = contract.split(model)
    assert not encoder.trainable  # frozen: training fits the head on cached features
    return request.param, head


def _windows(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((3, SHAPE.sequence_length, 1280), dtype=np.float32)


def test_the_head_gives_probabilities_and_its_logits(head):
    _, model = head
    windows = _windows()
    both, kernel, bias = contract.with_logits(model)
    probabilities, hidden = (np.asarray(x) for x in both(windows, training=False))
    logits = hidden @ kernel + bias
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_pooling_ignores_the_order_of_frames(head):
    """Mean and attention pooling see a set of frames: shuffled frames, the same answer (the
    direction of time is beyond them, which the Learn pages measure)."""
    _, model = head
    windows = _windows(1)
    shuffled = windows[:, np.random.default_rng(2).permutation(SHAPE.sequence_length)]
    np.testing.assert_allclose(np.asarray(model(windows)), np.asarray(model(shuffled)), atol=1e-5)


def test_attention_weights_are_a_distribution_over_frames():
    import keras

    model = registry.build("effnet_attention", SHAPE, 4)
    _, head = contract.split(model)
    weights = keras.Model(head.input, head.get_layer("frame_weights").output)(_windows(3))
    weights = np.asarray(weights)[..., 0]
    assert weights.shape == (3, SHAPE.sequence_length)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)
    assert (weights > 0).all()
