"""The fusion builders (core.models.fusion) and the direction task (core.training.dataset and
core.training.trainer)."""

import numpy as np
import pytest

from core.errors import DatasetError, ModelError
from core.models import contract, fusion, registry
from core.training.dataset import (
    DIRECTIONS,
    directed_views,
    labelled_windows,
    played,
    scan,
    split_by_group,
    task_classes,
)
from tests.support import UCF6

SHAPE = contract.InputShape(20, 64, 64)
SMALL = contract.InputShape(8, 32, 32)  # for training steps: same layers, a fraction of the work
NEW = ("single_frame", "late_fusion", "early_fusion", "slow_fusion")
# Exact, so that a change to a builder is a decision: these numbers are in the results table.
PARAMETERS = {"single_frame": 95_470, "late_fusion": 95_470, "early_fusion": 115_590, "slow_fusion": 126_710}


def _clips(n: int, shape: contract.InputShape = SHAPE, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape.clip), dtype=np.float32)


@pytest.mark.parametrize("name", NEW)
def test_builder_output_shape_and_parameter_count(name):
    model = registry.build(name, SHAPE, 6)
    probabilities = np.asarray(model(_clips(3)))
    assert probabilities.shape == (3, 6)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert model.count_params() == PARAMETERS[name]
    assert name in registry.architectures() and registry.input_defaults(name) == contract.SCRATCH_INPUT


def test_single_frame_sees_only_the_middle_frame():
    model = registry.build("single_frame", SHAPE, 6)
    clip = _clips(1)
    changed = clip.copy()
    changed[:, : SHAPE.sequence_length // 2] = 0.0
    changed[:, SHAPE.sequence_length // 2 + 1 :] = 1.0
    assert np.allclose(np.asarray(model(changed)), np.asarray(model(clip)), atol=1e-6)
    middle = clip[0, SHAPE.sequence_length // 2][None]
    assert np.allclose(fusion.per_frame_probabilities(model, middle), np.asarray(model(clip)), atol=1e-6)


def test_late_fusion_is_blind_to_frame_order_and_averages_frame_predictions():
    model = registry.build("late_fusion", SHAPE, 6)
    clip = _clips(1)
    shuffled = clip[:, np.random.default_rng(3).permutation(SHAPE.sequence_length)]
    assert np.allclose(np.asarray(model(shuffled)), np.asarray(model(clip)), atol=1e-6)
    per_frame = fusion.per_frame_probabilities(model, clip[0])
    assert per_frame.shape == (SHAPE.sequence_length, 6)
    assert np.allclose(per_frame.mean(axis=0), np.asarray(model(clip))[0], atol=1e-6)
    encoder, head = contract.split(model)  # analysis shares per-frame features between windows
    assert np.allclose(np.asarray(head(encoder(clip[0])[None])), np.asarray(model(clip)), atol=1e-6)


@pytest.mark.parametrize("name", ("early_fusion", "slow_fusion", "lrcn", "convlstm"))
def test_order_aware_models_see_a_reversed_clip_differently(name):
    model = registry.build(name, SHAPE, 6)
    clip = _clips(1)
    assert not np.allclose(np.asarray(model(clip[:, ::-1])), np.asarray(model(clip)), atol=1e-6)


def test_early_fusion_first_layer_sees_every_frame():
    model = registry.build("early_fusion", SHAPE, 6)
    kernel = model.get_layer(fusion.FUSION_CONV).kernel
    assert tuple(kernel.shape) == (3, 3, 3 * SHAPE.sequence_length, 32)


def test_per_frame_probabilities_refuses_models_that_fuse_frames_early():
    with pytest.raises(ModelError, match="does not classify single frames"):
        fusion.per_frame_probabilities(registry.build("early_fusion", SHAPE, 6), _clips(1)[0])


def _numbered(n: int) -> np.ndarray:
    """Frames whose every pixel is the frame's index: order is readable from any window."""
    return np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((n, 4, 4, 3), np.uint8)


def test_direction_windows_are_reversed_exactly_when_labelled_backward():
    rng = np.random.default_rng(0)
    pairs = list(labelled_windows(_numbered(40), 5, "direction", 20, 40, rng))
    assert len(pairs) == 40
    assert {label for _, label in pairs} == {0, 1}
    for window, label in pairs:
        steps = np.diff(window[:, 0, 0, 0].astype(int))
        assert (steps <= 0).all() if label else (steps >= 0).all()
        assert steps.any()


def test_short_clips_pad_at_the_end_in_both_directions():
    """A short clip is reversed before its window is cut, so the frame repeated to pad the
    window is the one played last either way: padding gives the direction away to no model."""
    for window, label in labelled_windows(_numbered(8), 0, "direction", 20, 20, np.random.default_rng(1)):
        order = window[:, 0, 0, 0].astype(int)
        last = 0 if label else 7
        assert order[-1] == last and (order[-5:] == last).all()


def test_action_windows_keep_their_label_and_order():
    for window, label in labelled_windows(_numbered(40), 4, "action", 20, 5, np.random.default_rng(2)):
        assert label == 4 and (np.diff(window[:, 0, 0, 0].astype(int)) >= 0).all()


def test_directed_views_play_every_clip_both_ways_with_balanced_labels():
    a, b = _numbered(10), _numbered(12)
    views, labels = directed_views([a, b])
    assert labels.tolist() == [0, 1, 0, 1]
    assert np.array_equal(views[0], a) and np.array_equal(views[1], a[::-1])
    assert np.array_equal(views[3], played(b, True)) and views[3].base is not None  # a view, no copy
    assert [DIRECTIONS[i] for i in labels[:2]] == ["forward", "backward"]


def test_direction_task_keeps_the_group_split():
    classes, clips = scan(UCF6)
    split = split_by_group(clips)
    assert task_classes("direction", classes) == ["forward", "backward"]
    assert task_classes("action", classes) == classes
    assert {c.group for c in split.val} == {8, 9, 10, 11}
    assert not {c.group for c in split.val} & {c.group for c in split.train}
    with pytest.raises(DatasetError, match="Unknown task"):
        task_classes("colour", classes)
