import numpy as np

from core.engine.windows import window_indices, window_starts


def test_regular_starts_end_flush_with_the_last_frame():
    assert window_starts(30, 20, 3) == [0, 3, 6, 9, 10]
    assert window_starts(29, 20, 3) == [0, 3, 6, 9]


def test_short_video_gets_one_window():
    assert window_starts(7, 20, 3) == [0]
    assert window_starts(20, 20, 3) == [0]


def test_indices_repeat_the_last_frame_past_the_end():
    assert window_indices(0, 5, 3).tolist() == [0, 1, 2, 2, 2]


def test_stride_stretches_the_window():
    indices = window_indices(2, 4, 100, stride=1.5)
    assert indices.tolist() == [2, 4, 5, 6]
    assert np.all(np.diff(indices) > 0)
