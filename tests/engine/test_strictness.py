"""How readily the default bundle says unknown, as a display setting (core.engine.strictness),
on a real video that is Surfing, then abseiling (an action it was never taught)."""

import csv
import io
from dataclasses import replace

import pytest

from core.engine.analysis import analyze
from core.engine.strictness import CALIBRATED, applied, levels
from tests.support import surfing_then_abseiling


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return surfing_then_abseiling(tmp_path_factory.mktemp("strictness"))


def test_the_settings_trade_known_clips_accepted_against_others_refused(default_bundle):
    found = levels(default_bundle)
    assert [level.name for level in found] == ["rarely", CALIBRATED, "readily"]
    rarely, calibrated, readily = found
    assert (calibrated.threshold, calibrated.window_threshold) == (
        default_bundle.spec.open_set.threshold,
        default_bundle.spec.open_set.window_threshold,
    )
    assert rarely.threshold < calibrated.threshold < readily.threshold
    assert rarely.known_accepted >= calibrated.known_accepted >= readily.known_accepted
    assert rarely.unknown_refused <= calibrated.unknown_refused <= readily.unknown_refused
    assert rarely.known_accepted >= 0.97 and readily.known_accepted <= 0.9  # what their names promise
    assert "clips of untaught actions refused" in readily.cost()


def test_a_setting_changes_the_verdicts_not_the_analysis(default_bundle, mixed):
    timeline = analyze(mixed, default_bundle)
    judged = {level.name: applied(timeline, level) for level in levels(default_bundle)}
    unknown = {name: int((~t.known_windows()).sum()) for name, t in judged.items()}
    assert unknown["rarely"] <= unknown[CALIBRATED] <= unknown["readily"]
    assert unknown["rarely"] < unknown["readily"]  # the setting matters on this video
    for name, shown in judged.items():
        assert (shown.probabilities == timeline.probabilities).all()  # the model was not run again
        assert shown.to_dict()["open_set"]["strictness"] == name
        rows = list(csv.DictReader(io.StringIO(shown.to_csv())))
        assert {row["strictness"] for row in rows} == {name}


def test_an_uncalibrated_bundle_has_no_setting(lrcn_bundle):
    assert levels(lrcn_bundle) == []
    assert levels(replace(lrcn_bundle, metrics={"open_set_curve": []})) == []
