"""Looking inside the trained bundles: the diagrams and views must agree with the real models."""

import numpy as np
import pytest

from core.config import MODELS_DIR
from core.engine.analysis import predictor
from core.engine.windows import cut_windows, window_starts
from core.errors import ModelError
from core.media.video import probe, read_frames
from core.models import bundle
from core.views.anatomy import anatomy
from core.views.flow import model_flow
from core.views.introspect import (
    direction_check,
    frame_feature_maps,
    prediction_after_each_frame,
    recurrent_state_maps,
)
from tests.support import ARCHERY, SURFING

CONVLSTM = MODELS_DIR / "convlstm-ucf101-6"


@pytest.fixture(scope="module")
def convlstm():
    return bundle.load(CONVLSTM)


@pytest.fixture(scope="module")
def surfing_window(lrcn_bundle):
    spec = lrcn_bundle.spec
    return read_frames(SURFING, spec.sampling_fps, spec.frame_size)[: spec.sequence_length]


@pytest.mark.parametrize("name", ["lrcn-ucf101-6", "convlstm-ucf101-6"])
def test_flow_accounts_for_every_weight_and_ends_in_the_classes(name):
    loaded = bundle.load(MODELS_DIR / name)
    steps = model_flow(loaded.model)
    assert sum(step.params for step in steps) == loaded.model.count_params()
    assert steps[0].shape == (20, 64, 64, 3) and steps[-1].shape == (6,)


def test_lrcn_flow_keeps_the_time_axis_through_the_frame_cnn(lrcn_bundle):
    labels = [(step.label, step.shape) for step in model_flow(lrcn_bundle.model)]
    assert ("Conv2D 24, 3x3", (20, 64, 64, 24)) in labels
    assert ("GlobalAveragePooling2D", (20, 96)) in labels and ("LSTM 64", (64,)) in labels


def test_prediction_after_the_last_frame_is_the_models_prediction(lrcn_bundle, surfing_window):
    steps = prediction_after_each_frame(lrcn_bundle, surfing_window)
    whole = lrcn_bundle.model.predict(surfing_window[np.newaxis] / 255.0, verbose=0)[0]
    assert steps.shape == (20, 6)
    np.testing.assert_allclose(steps[-1], whole, atol=1e-5)
    surfing = lrcn_bundle.spec.classes.index("Surfing")
    assert steps[-1, surfing] > steps[0, surfing]  # the answer firms up as frames come in


def test_feature_maps_of_each_block(lrcn_bundle, surfing_window):
    maps = frame_feature_maps(lrcn_bundle, surfing_window[0])
    assert [m.maps.shape for m in maps] == [(64, 64, 24), (32, 32, 48), (16, 16, 64), (8, 8, 96)]
    assert all((m.maps >= 0).all() for m in maps)  # after ReLU


def test_convlstm_states_over_time_and_clear_errors_for_models_without_them(convlstm, surfing_window):
    states = recurrent_state_maps(convlstm, surfing_window)
    assert [s.maps.shape for s in states] == [(20, 64, 64, 8), (20, 32, 32, 16)]
    assert not np.allclose(states[0].maps[0], states[0].maps[-1])  # the memory changes over time
    with pytest.raises(ModelError, match="no separate per-frame CNN"):
        prediction_after_each_frame(convlstm, surfing_window)


def test_anatomy_of_a_real_clip(lrcn_bundle):
    facts = anatomy(probe(SURFING), lrcn_bundle.spec)
    assert (facts.width, facts.height, facts.fps) == (320, 240, 25.0)
    assert facts.numbers_per_frame == 320 * 240 * 3
    assert facts.numbers_for(10) == 250 * 320 * 240 * 3
    assert facts.window_numbers == 20 * 64 * 64 * 3


@pytest.mark.parametrize("name", ["effnet_lrcn", "effnet_late_fusion", "early_fusion"])
def test_direction_check_judges_every_window_both_ways(name):
    """The check encodes frames once and reverses feature windows (or, for a model without a
    frame encoder, pixel windows); it must equal judging each reversed pixel window whole. An
    order-blind model gives the same answer both ways, to round-off."""
    loaded = bundle.load(MODELS_DIR / "approaches" / "direction" / name)
    spec = loaded.spec
    frames = read_frames(ARCHERY, spec.sampling_fps, spec.frame_size)
    check = direction_check(loaded, frames)
    starts = window_starts(len(frames), spec.sequence_length, spec.hop_frames)
    windows = cut_windows(frames, starts, spec.sequence_length)
    forward = spec.classes.index("forward")
    run = predictor(loaded)
    assert check.forward_played == pytest.approx(run.classify_windows(windows)[:, forward].mean(), abs=1e-5)
    assert check.reversed_played == pytest.approx(
        run.classify_windows(np.ascontiguousarray(windows[:, ::-1]))[:, forward].mean(), abs=1e-5
    )
    if name == "effnet_late_fusion":
        assert check.tells_apart < 1e-5
    with pytest.raises(ModelError, match="forward from backward"):
        direction_check(bundle.load(MODELS_DIR / "approaches" / "action" / name), frames)
