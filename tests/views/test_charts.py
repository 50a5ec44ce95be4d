"""Figures from plain data (core.views.charts): the live view's rolling timeline."""

import numpy as np

from core.engine.live import LiveHistory
from core.engine.timeline import UNKNOWN
from core.views.charts import live_figure

CLASSES = ("Archery", "Surfing")


def history(times_s, labels, knownness=None, threshold=None) -> LiveHistory:
    probabilities = np.array([[0.1, 0.9] if label == "Surfing" else [0.6, 0.4] for label in labels])
    times = np.asarray(times_s, float)
    return LiveHistory(CLASSES, times, probabilities.reshape(-1, 2), knownness, tuple(labels), threshold)


def test_the_live_timeline_rolls_with_the_newest_reading_and_bands_each_run_of_a_label():
    times = np.arange(70.0, 100.0, 0.25)
    labels = ["Surfing"] * 40 + [UNKNOWN] * 40 + ["Surfing"] * 40
    figure = live_figure(history(times, labels, np.linspace(-5, 5, len(times)), -3.6), horizon_s=60.0)
    assert list(figure.layout.xaxis2.range) == [times[-1] - 60.0, times[-1]]
    assert [a.text for a in figure.layout.annotations if a.text in (*CLASSES, UNKNOWN)] == [
        "Surfing",
        UNKNOWN,
        "Surfing",
    ]
    assert [t.name for t in figure.data] == [*CLASSES, "known-ness"]
    assert any(shape.y0 == shape.y1 == -3.6 for shape in figure.layout.shapes)  # the threshold line


def test_before_the_first_reading_and_without_calibration_the_axis_shows_the_first_minute():
    figure = live_figure(history([], []), horizon_s=60.0)
    assert list(figure.layout.xaxis.range) == [0.0, 60.0]
    assert [t.name for t in figure.data] == list(CLASSES)
