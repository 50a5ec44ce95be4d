import csv
import io
from dataclasses import replace

import numpy as np
import pytest

from core.engine.timeline import UNKNOWN, OpenSetRule, Timeline
from core.media.video import VideoInfo

CLASSES = ("A", "B", "C")


def timeline(labels: list[int], confidence: float = 0.8) -> Timeline:
    n = len(labels)
    probabilities = np.full((n, 3), (1 - confidence) / 2)
    probabilities[np.arange(n), labels] = confidence
    starts = np.arange(n) * 0.5
    info = VideoInfo("x.mp4", 25.0, 25 * (n + 6), starts[-1] + 3.0, 320, 240)
    return Timeline(info, {"name": "m"}, CLASSES, starts, starts + 3.0, probabilities, n + 6)


def test_segments_merge_runs_and_cover_the_video():
    segments = timeline([0] * 6 + [1] * 6).segments(smoothing=1)
    assert [s.label for s in segments] == ["A", "B"]
    assert segments[0].start_s == 0.0
    assert segments[-1].end_s == timeline([0] * 6 + [1] * 6).duration_s
    assert segments[0].end_s == segments[1].start_s
    assert segments[0].confidence == pytest.approx(0.8)


def test_a_one_window_flicker_is_absorbed():
    segments = timeline([0] * 5 + [2] + [0] * 5).segments(smoothing=1, min_windows=2)
    assert [s.label for s in segments] == ["A"]


def test_top_k_averages_windows():
    top = timeline([0, 0, 0, 1]).top_k(2)
    assert [label for label, _ in top] == ["A", "B"]
    assert abs(sum(p for _, p in timeline([0, 1]).top_k(3)) - 1.0) < 1e-9


def test_csv_and_dict_exports_agree():
    line = timeline([0, 1, 1, 2])
    rows = list(csv.DictReader(io.StringIO(line.to_csv())))
    data = line.to_dict()
    assert len(rows) == len(data["windows"]) == 4
    assert rows[3]["top_label"] == "C"
    assert float(rows[3]["C"]) == data["windows"][3]["probabilities"]["C"]
    assert set(data) >= {"video", "model", "windows", "segments", "top"}


def test_spread_windows_cover_start_to_end():
    line = timeline([0] * 10 + [1] * 10)
    strip = line.spread_windows(4)
    assert len(strip) == 4
    assert strip[0][1] == "A" and strip[-1][1] == "B"
    assert strip[0][0] == 1.5 and strip[-1][0] == 11.0  # window centres
    assert len(timeline([2]).spread_windows(8)) == 1


def calibrated(labels: list[int], knownness: list[float], threshold: float = 0.0) -> Timeline:
    rule = OpenSetRule("knn", threshold=threshold, window_threshold=threshold)
    return replace(timeline(labels), knownness=np.array(knownness, float), open_set=rule)


def test_windows_below_the_threshold_make_an_unknown_segment_with_the_closest_class():
    mixed = calibrated([0] * 6 + [1] * 6, [0.5] * 6 + [-0.5] * 6)
    segments = mixed.segments(smoothing=1)
    assert [(s.label, s.known) for s in segments] == [("A", True), (UNKNOWN, False)]
    assert segments[1].closest == "B" and segments[1].confidence == pytest.approx(0.8)
    assert segments[0].end_s == segments[1].start_s
    data = mixed.to_dict(smoothing=1)
    assert data["segments"][1] == {**segments[1].to_dict(), "known": False, "closest": "B"}
    assert [w["knownness"] for w in data["windows"]] == [0.5] * 6 + [-0.5] * 6
    assert data["open_set"]["score"] == "knn" and data["open_set"]["video_score"] == 0.0


def test_the_whole_video_is_unknown_when_its_mean_score_is_below_the_threshold():
    unknown = calibrated([2] * 8, [-0.2] * 8)
    verdict = unknown.verdict()
    assert (verdict.label, verdict.closest, verdict.known) == (UNKNOWN, "C", False)
    assert unknown.to_dict()["top"] == {"label": UNKNOWN, "confidence": 0.8, "known": False,
                                         "closest": {"label": "C", "confidence": 0.8}}  # fmt: skip
    assert unknown.top_k(1)[0][0] == "C"  # the known classes' ranking is unchanged
    assert calibrated([2] * 8, [0.2] * 8).verdict().label == "C"


def test_a_one_window_dip_in_knownness_is_smoothed_away():
    dip = calibrated([0] * 9, [0.3] * 4 + [-0.1] + [0.3] * 4)
    assert [s.label for s in dip.segments(smoothing=3)] == ["A"]
    assert [s.label for s in dip.segments(smoothing=1)] == ["A"]  # and a one-window run is absorbed


def test_an_uncalibrated_timeline_never_says_unknown():
    plain = timeline([1] * 5)
    assert plain.open_set is None and plain.verdict().known and plain.verdict().score is None
    assert all(s.known for s in plain.segments()) and "open_set" not in plain.to_dict()
    assert "knownness" not in plain.to_csv().splitlines()[0]


def test_csv_marks_unknown_windows():
    rows = list(csv.DictReader(io.StringIO(calibrated([0] * 4, [0.5, 0.5, -0.5, -0.5]).to_csv())))
    assert [r["top_label"] for r in rows] == ["A", "A", UNKNOWN, UNKNOWN]
    assert [r["known"] for r in rows] == ["True", "True", "False", "False"]
