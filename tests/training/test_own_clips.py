"""A folder of a user's own clips (any names, no UCF groups) trains with a split by clip."""

import shutil
from dataclasses import replace

import pytest

from core.errors import DatasetError
from core.models import bundle
from core.training.dataset import scan, split_clips
from core.training.evaluation import evaluate, open_set_figures
from tests.support import UCF6, moving_square, train_tiny, write_video


def _own_folder(root, names: dict[str, list[str]]):
    """Real UCF101 clips copied under names a user might give them."""
    for label, files in names.items():
        (root / label).mkdir(parents=True)
        sources = sorted((UCF6 / label).glob("*_g1[2-9]_*"))
        for source, name in zip(sources, files, strict=False):
            shutil.copy(source, root / label / name)
    return root


def test_clips_without_groups_are_split_by_clip_evenly_and_repeatably(tmp_path):
    data = _own_folder(
        tmp_path / "own",
        {"Archery": [f"bow-{i}.mp4" for i in range(1, 6)], "Surfing": ["wave-a.mp4", "wave-b.mp4"]},
    )
    _, clips = scan(data)
    split = split_clips(clips)
    assert split.by_clip and split.val_groups == ()
    assert [c.path.name for c in split.val] == ["bow-3.mp4", "wave-b.mp4"]  # the middle of 5; 1 of 2
    assert {c.path.name for c in split.train} == {
        "bow-1.mp4",
        "bow-2.mp4",
        "bow-4.mp4",
        "bow-5.mp4",
        "wave-a.mp4",
    }
    assert split_clips(clips) == split
    assert split.describe()["val_clip_names"] == ["bow-3.mp4", "wave-b.mp4"]


def test_pieces_of_one_source_are_held_back_together(tmp_path):
    """``<source>~<piece>`` names: a source's pieces fall on one side of the split; an action
    whose pieces all come from one source is split by piece."""
    data = _own_folder(
        tmp_path / "own",
        {
            "Archery": ["a~1.mp4", "a~2.mp4", "b~1.mp4", "c~1.mp4", "c~2.mp4", "d.mp4"],
            "Surfing": ["long~0-5s.mp4", "long~5-10s.mp4", "long~10-15s.mp4"],
        },
    )
    split = split_clips(scan(data)[1])
    held = sorted(c.path.name for c in split.val)
    # the middle one of 4 sources (a, b, c, d), both its pieces; piece 2 of 3 in name order
    assert held == ["c~1.mp4", "c~2.mp4", "long~10-15s.mp4"]


def test_an_action_with_one_clip_says_how_many_it_needs(tmp_path):
    data = _own_folder(tmp_path / "own", {"Archery": ["bow-1.mp4", "bow-2.mp4"], "Surfing": ["wave.mp4"]})
    with pytest.raises(DatasetError, match=r"Surfing: only one clip.*at least 2"):
        split_clips(scan(data)[1])


def test_named_and_unnamed_clips_together_are_refused(tmp_path):
    (tmp_path / "Waving").mkdir()
    for name in ("v_Waving_g08_c01.avi", "holiday.avi"):
        write_video(tmp_path / "Waving" / name, moving_square(10), fourcc="MJPG")
    with pytest.raises(DatasetError, match="Some clips name a UCF group"):
        split_clips(scan(tmp_path)[1])


def test_a_users_folder_trains_a_calibrated_bundle_that_says_how_it_was_split(tmp_path):
    data = _own_folder(
        tmp_path / "own",
        {
            "Archery": ["bow-1.mp4", "bow-2.mp4", "bow-3.mp4"],
            "Surfing": ["wave-1.mp4", "wave-2.mp4", "wave-3.mp4"],
        },
    )
    out = train_tiny(data, tmp_path / "mine", "effnet_lstm", cache_dir=tmp_path / "cache")
    taught = bundle.load(out)
    split = taught.metrics["split"]
    assert split["by"] == "clip" and split["val_clip_names"] == ["bow-2.mp4", "wave-2.mp4"]
    assert (split["train_clips"], split["val_clips"]) == (4, 2)
    assert taught.spec.open_set.score == "knn" and taught.spec.open_set.groups == ()
    card = (out / "README.md").read_text()
    assert "Split by clip" in card and "bow-2.mp4, wave-2.mp4" in card
    assert "the held-back validation clips so that" in card

    # Evaluated on the whole folder, the open-set figures count the held-back clips alone: the
    # kNN bank holds the training clips' own frames, so these score as known as anything can.
    report = evaluate(data, taught)
    assert report.n_clips == 6
    held_back = [j.knownness for j in report.judgements if j.clip in split["val_clip_names"]]
    trained_on = [j.knownness for j in report.judgements if j.clip not in split["val_clip_names"]]
    between = (max(held_back) + min(trained_on)) / 2
    assert max(held_back) < between < min(trained_on)
    strict = replace(taught.spec.open_set, threshold=between)
    figures = open_set_figures(replace(taught, spec=replace(taught.spec, open_set=strict)), report, None)
    assert figures["known_accepted"] == 0.0  # 4 of 6 if the training clips counted


def test_new_takes_are_told_from_training_clips_by_content_not_by_name(tmp_path):
    """evaluate on a folder of new takes: a take is new unless its bytes are a training clip's,
    whatever it is called, so a folder of new takes gets open-set figures of its own."""
    data = _own_folder(
        tmp_path / "own",
        {
            "Archery": ["bow-1.mp4", "bow-2.mp4", "bow-3.mp4"],
            "Surfing": ["wave-1.mp4", "wave-2.mp4", "wave-3.mp4"],
        },
    )
    taught = bundle.load(train_tiny(data, tmp_path / "mine", "effnet_lstm", cache_dir=tmp_path / "cache"))
    takes = tmp_path / "takes"
    (takes / "Archery").mkdir(parents=True)
    (takes / "Surfing").mkdir(parents=True)
    shutil.copy(data / "Archery" / "bow-1.mp4", takes / "Archery" / "renamed-training-clip.mp4")
    shutil.copy(UCF6 / "Archery" / "v_Archery_g20_c01.mp4", takes / "Archery" / "bow-1.mp4")  # new bytes
    shutil.copy(UCF6 / "Surfing" / "v_Surfing_g20_c01.mp4", takes / "Surfing" / "take-2.mp4")
    report = evaluate(takes, taught)
    assert report.trained_clips == {("Archery", "renamed-training-clip.mp4")}
    assert (
        report.to_dict()["trained_on"] == 1 and "come from the model's training data" in report.warnings()[0]
    )
    assert report.open_set is not None and report.open_set["known_accepted"] in (0.0, 0.5, 1.0)  # 2 new takes
