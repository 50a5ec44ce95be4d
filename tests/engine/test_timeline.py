import csv
import io

import numpy as np
import pytest

from core.engine.timeline import Timeline
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
