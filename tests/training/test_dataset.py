import os
import shutil

import numpy as np
import pytest

from core.errors import DatasetError
from core.training.dataset import (
    FrameCache,
    augment,
    evaluation_windows,
    group_of,
    scan,
    split_by_group,
    training_windows,
)
from tests.support import SHARED, UCF6, moving_square, write_video

CLASSES = ["Archery", "BasketballDunk", "HorseRace", "PlayingPiano", "PlayingViolin", "Surfing"]


def test_scan_finds_every_shared_clip():
    classes, clips = scan(UCF6)
    assert classes == CLASSES
    assert len(clips) == 529
    assert {c.label for c in clips} == set(CLASSES)
    assert all(c.path.parent.name == c.label for c in clips)


def test_scan_follows_class_links_of_every_kind(tmp_path):
    """../shared/data/ucf101 is made of git-style link files (a few bytes naming a folder); a
    symbolic link or a folder stands for a class just as well, and other files are no class."""
    classes, clips = scan(SHARED / "ucf101")
    assert len(classes) == 11 and set(CLASSES) < set(classes) and len(clips) == 1063
    assert {c.path.parent.name for c in clips} == set(classes)

    (tmp_path / "Surfing").symlink_to(UCF6 / "Surfing")
    (tmp_path / "Archery").write_text(str(UCF6 / "Archery"))  # an absolute target works too
    (tmp_path / "notes.txt").write_text("nothing to see")
    (tmp_path / "Gone").write_text("../nowhere")
    classes, clips = scan(tmp_path)
    assert classes == ["Archery", "Surfing"]
    assert len(clips) == len(list((UCF6 / "Archery").iterdir())) + len(list((UCF6 / "Surfing").iterdir()))


def test_split_is_by_group_never_by_clip():
    _, clips = scan(UCF6)
    split = split_by_group(clips, (8, 9, 10, 11))
    train_groups = {c.group for c in split.train}
    val_groups = {c.group for c in split.val}
    assert val_groups == {8, 9, 10, 11}
    assert not train_groups & val_groups
    assert len(split.train) + len(split.val) == 529


def test_scan_can_restrict_to_groups():
    _, clips = scan(UCF6, groups=[8])
    assert clips and all(c.group == 8 for c in clips)


def test_group_is_required_for_a_split(tmp_path):
    (tmp_path / "Waving").mkdir()
    write_video(tmp_path / "Waving" / "holiday.avi", moving_square(10), fourcc="MJPG")
    _, clips = scan(tmp_path)
    with pytest.raises(DatasetError, match="_gNN_"):
        split_by_group(clips)
    assert group_of("holiday.avi") == 0
    assert group_of("v_Archery_g08_c01.avi") == 8


def test_not_a_dataset_folder(tmp_path):
    with pytest.raises(DatasetError):
        scan(tmp_path / "missing")
    with pytest.raises(DatasetError, match="No video clips"):
        scan(tmp_path)


def test_frame_cache_decodes_once_and_reuses(tmp_path):
    clip = UCF6 / "Surfing" / "v_Surfing_g10_c02.mp4"
    cache = FrameCache(tmp_path, 6.0, (64, 64))
    first = cache.frames(clip)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1
    modified = files[0].stat().st_mtime_ns
    second = cache.frames(clip)
    assert np.array_equal(first, second)
    assert files[0].stat().st_mtime_ns == modified
    assert FrameCache(tmp_path, 5.0, (64, 64))._key(clip) != cache._key(clip)


def test_frame_cache_is_keyed_on_content_not_on_path_or_time(tmp_path):
    clip = UCF6 / "Surfing" / "v_Surfing_g10_c02.mp4"
    cache = FrameCache(tmp_path / "cache", 6.0, (64, 64))
    copy = tmp_path / "copy.mp4"
    shutil.copyfile(clip, copy)
    assert cache._key(copy) == cache._key(clip)
    with copy.open("r+b") as file:
        file.seek(-1, os.SEEK_END)
        last = file.read(1)
        file.seek(-1, os.SEEK_END)
        file.write(bytes([last[0] ^ 0xFF]))
    assert cache._key(copy) != cache._key(clip)


def test_augment_keeps_shape_and_range_and_is_seeded():
    window = np.stack([f[:64, :64] for f in moving_square(20, size=(64, 64))])
    a = augment(window, np.random.default_rng(3))
    b = augment(window, np.random.default_rng(3))
    c = augment(window, np.random.default_rng(4))
    assert a.shape == (20, 64, 64, 3) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_training_windows_handle_short_clips():
    frames = np.arange(8)[:, None, None, None] * np.ones((8, 4, 4, 3), np.uint8)
    windows = list(training_windows(frames, 20, 3, np.random.default_rng(0)))
    assert len(windows) == 3
    for window in windows:
        assert window.shape == (20, 4, 4, 3)
        order = window[:, 0, 0, 0]
        assert np.all(np.diff(order.astype(int)) >= 0)  # time never runs backwards


def test_evaluation_windows_match_analysis_windows():
    frames = np.zeros((31, 2, 2, 3), np.uint8)
    assert evaluation_windows(frames, 20, 3).shape == (5, 20, 2, 2, 3)
