"""The live view's figures (core.engine.bench.run_live_bench): a taught action, then one the model
was never taught, played in in real time."""

import pytest

from core.engine.bench import clip_label, run_live_bench
from core.engine.timeline import UNKNOWN
from tests.support import SAMPLES, SURFING

ABSEILING = SAMPLES / "kinetics_abseiling.mp4"


def test_clips_read_as_their_ucf101_class_when_the_model_knows_it(default_bundle):
    classes = default_bundle.spec.classes
    assert clip_label(SURFING, classes) == "Surfing"
    assert clip_label(SAMPLES / "v_TaiChi_g01_c02.avi", classes) == UNKNOWN  # UCF101, not taught
    assert clip_label(ABSEILING, classes) == UNKNOWN


def test_the_live_label_follows_a_cut_from_surfing_to_an_untaught_action(default_bundle):
    figures = run_live_bench(SURFING, ABSEILING, default_bundle)
    assert figures.first_label == figures.label_at_cut == "Surfing"
    assert figures.second_label == UNKNOWN
    assert figures.cut_s == pytest.approx(9.6)
    # a unit begins every 0.8 s and is read once half grown: the label changes once one shows
    # the new action, and the machine may be busy
    assert 0.2 <= figures.changed_s <= figures.named_s <= 8.0
    assert figures.settled_s is not None
    assert figures.frames_sampled == pytest.approx((9.6 + 10.0) * default_bundle.spec.sampling_fps, abs=3)
    assert figures.frames_encoded + figures.frames_dropped == figures.frames_sampled
    assert 0.0 < figures.cpu_cores <= 2.0
    assert figures.to_dict()["second"] == "kinetics_abseiling.mp4"
