"""Augmented copies of a real clip, encoded by the real frozen backbone (core.training.augmented)."""

import numpy as np
import pytest

from core.media.video import probe, read_frames
from core.models.backbone import EffnetFeatures
from core.training.augmented import Augmentation, AugmentedFeatureCache, apply, sample_indices
from core.training.dataset import FeatureCache, FrameCache
from tests.support import SURFING


def test_sample_indices_follow_the_rate_and_the_offset():
    # 100 source frames at 25 fps (4 s) sampled at 5 fps from 0.4 of a period (2 source frames) in
    indices = sample_indices(100, 25.0, 5.0, 0.4)
    assert indices.tolist() == list(range(2, 100, 5))
    assert len(sample_indices(100, 25.0, 4.0 * 0.75, 0.0)) == 12  # 25% slower: 12 samples, not 16
    assert len(sample_indices(3, 25.0, 4.0, 0.9)) == 1  # a clip shorter than one period keeps a frame


def test_a_draw_is_one_camera_for_the_whole_copy():
    frames = np.stack(read_frames(SURFING, 4.0, (320, 240))[:6])
    draw = Augmentation.draw(np.random.default_rng(3))
    out = apply(frames, draw, (160, 160))
    assert out.shape == (6, 160, 160, 3) and out.dtype == np.uint8
    assert draw == Augmentation.draw(np.random.default_rng(3))  # seeded: the same copy every run
    plain = apply(
        frames, Augmentation(1.0, 0.0, (0.0, 0.0, 1.0, 1.0), False, 1.0, 1.0, 1.0, (1.0,) * 3), (160, 160)
    )
    mirrored = apply(
        frames, Augmentation(1.0, 0.0, (0.0, 0.0, 1.0, 1.0), True, 1.0, 1.0, 1.0, (1.0,) * 3), (160, 160)
    )
    np.testing.assert_array_equal(mirrored, plain[:, :, ::-1])
    darker = apply(
        frames, Augmentation(1.0, 0.0, (0.0, 0.0, 1.0, 1.0), False, 0.7, 1.0, 1.0, (1.0,) * 3), (160, 160)
    )
    assert darker.mean() == pytest.approx(plain.mean() * 0.7, rel=0.02)


def test_augmented_copies_are_encoded_once_and_differ_from_the_clip(tmp_path):
    encoder = EffnetFeatures()
    base = FeatureCache(FrameCache(tmp_path, 4.0, (160, 160)), encoder, encoder.fingerprint())
    cache = AugmentedFeatureCache(base, copies=2, seed=0)
    copies = cache.features(SURFING)
    plain = base.features(SURFING)[0]
    assert len(copies) == 2 and all(c.shape[1] == plain.shape[1] for c in copies)
    # temporal jitter: 0.75-1.25x the model's rate
    expected = probe(SURFING).duration_s * 4.0
    assert all(0.75 * expected - 1 <= len(c) <= 1.25 * expected + 1 for c in copies)
    # another camera, not another clip: the copies' mean feature is far closer to this clip's
    # than to nothing at all, yet no copy equals it
    for copy in copies:
        cosine = copy.mean(0) @ plain.mean(0) / np.linalg.norm(copy.mean(0)) / np.linalg.norm(plain.mean(0))
        assert 0.8 < cosine < 0.9999
    files = list(cache.root.glob("*.npz"))
    assert len(files) == 1 and not list(cache.root.glob("*.tmp"))
    again = AugmentedFeatureCache(base, copies=2, seed=0).features(SURFING)  # read back, not redrawn
    for first, second in zip(copies, again, strict=True):
        np.testing.assert_array_equal(first, second)
    other_seed = AugmentedFeatureCache(base, copies=2, seed=1).features(SURFING)
    assert not np.array_equal(other_seed[0][:5], copies[0][:5])
