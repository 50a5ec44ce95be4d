"""Teaching actions from a few clips (core/training/teach.py), on real UCF101 clips."""

import json
import tempfile

import pytest

from core.engine import strictness
from core.engine.analysis import analyze
from core.errors import DatasetError, ModelError, VideoError
from core.models import bundle
from core.training.teach import (
    TeachClip,
    TeachLimits,
    check_actions,
    clip_windows,
    teach,
    unzip_bundle,
    zip_bundle,
)
from core.training.teach_sources import cut_piece
from tests.support import SAMPLES, SURFING, UCF6

ACTIONS = ("Archery", "PlayingPiano", "Surfing")
# as a user might name them: one names a reference action, two do not
NAMES = {"Archery": "my Archery", "PlayingPiano": "keys", "Surfing": "waves"}
UNTAUGHT = [p for p in sorted(SAMPLES.iterdir()) if p.stem not in ("v_Archery_g08_c01", "v_Surfing_g10_c02")]


def _takes(label: str) -> list[TeachClip]:
    """Four takes of ``label`` from two scenes, as issue 24's user filmed them: two clips of
    UCF group 12 and two of group 13 (each group one person and place)."""
    paths = [p for group in (12, 13) for p in sorted((UCF6 / label).glob(f"*_g{group}_*"))[:2]]
    return [TeachClip(f"take {i}.mp4", p.read_bytes()) for i, p in enumerate(paths, 1)]


def _clips(label: str, count: int) -> list[TeachClip]:
    """``count`` real clips of ``label``, each from another source video (UCF groups 12, 13, ...),
    under names a user might give them."""
    sources = [sorted((UCF6 / label).glob(f"*_g{group}_*"))[0] for group in range(12, 12 + count)]
    return [TeachClip(f"my {label.lower()} {i}.mp4", p.read_bytes()) for i, p in enumerate(sources, 1)]


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    """Three actions from four takes each, filmed in two scenes, as the Teach page sends them."""
    actions = {NAMES[label]: _takes(label) for label in ACTIONS}
    records = []
    result = teach(
        actions, tmp_path_factory.mktemp("teach") / "my-actions", epochs=12, on_epoch=records.append
    )
    return result, records


def test_a_few_clips_per_action_teach_a_model_that_says_how_it_was_taught(taught):
    result, records = taught
    model = bundle.load(result.bundle_dir)
    assert model.spec.classes == tuple(sorted(NAMES.values()))  # class folders, in name order
    assert model.spec.open_set is not None and model.spec.open_set.groups == ()
    assert model.spec.open_set.rule == "equal_error"
    assert result.clips == 12 and result.duration_s > 12
    assert [r["epoch"] for r in records] == list(range(1, result.epochs + 1))
    metrics = model.metrics
    assert metrics["split"]["by"] == "clip" and metrics["split"]["val_clips"] == 3
    assert [c["clip"] for c in metrics["taught"]["waves"]] == [f"take {i}.mp4" for i in range(1, 5)]
    card = (result.bundle_dir / "README.md").read_text()
    assert "## The clips it was taught" in card and "| my Archery | take 1.mp4 |" in card
    assert "## How it says unknown" in card and "rule `equal_error`" in card


@pytest.fixture(scope="module")
def judged(taught):
    """New takes from four scenes none of the takes came from (UCF groups 8-11), and the
    untaught real clips of samples/, analysed by the taught model."""
    model = bundle.load(taught[0].bundle_dir)
    new = [
        (NAMES[label], analyze(sorted((UCF6 / label).glob(f"*_g{group:02d}_*"))[0], model))
        for label in ACTIONS
        for group in (8, 9, 10, 11)
    ]
    return model, new, [analyze(path, model) for path in UNTAUGHT]


def test_new_takes_from_other_scenes_are_named_and_untaught_clips_refused(judged):
    """Issue 24: four takes from two scenes used to make a model that called every new take
    unknown."""
    model, new, untaught = judged
    named_right = sum(timeline.verdict().label == name for name, timeline in new)
    assert named_right >= 9, [(name, timeline.verdict()) for name, timeline in new]  # measured 11
    refused = sum(not timeline.verdict().known for timeline in untaught)
    assert refused >= 7  # of 15; measured 8 (calibrated on the held-back takes: 15, and 0 named)
    figures = model.metrics["takes_calibration"]
    # two UCF groups of surfing are as alike as one video: the measure says one scene, and warns
    assert figures["scenes"]["my Archery"] >= 2 and figures["one_scene"] == ["waves"]
    assert figures["left_out_takes"] == 12 and 0.3 <= figures["left_out_takes_accepted"] <= 1
    assert figures["reference_refused"] >= 0.3 and figures["reference_clips"] >= 45


def test_say_unknown_readily_refuses_more_of_both_and_rarely_fewer(judged):
    model, new, untaught = judged
    settings = strictness.levels(model)
    assert [level.name for level in settings] == ["rarely", "as calibrated", "readily"]
    assert settings[0].threshold < settings[1].threshold < settings[2].threshold
    assert settings[0].known_accepted >= settings[1].known_accepted >= settings[2].known_accepted
    assert settings[0].unknown_refused <= settings[1].unknown_refused <= settings[2].unknown_refused

    def accepted(timelines, level) -> int:
        return sum(strictness.applied(t, level).verdict().known for t in timelines)

    new_timelines = [timeline for _, timeline in new]
    on_new = [accepted(new_timelines, level) for level in settings]
    on_untaught = [accepted(untaught, level) for level in settings]
    assert on_new == sorted(on_new, reverse=True) and on_untaught == sorted(on_untaught, reverse=True)
    assert on_untaught[0] > on_untaught[2]


def test_a_reference_action_the_user_taught_again_is_not_refused(judged):
    """'my Archery' names a reference action; 'waves' is surfing under another name. Neither
    reference action may stay, or it would teach the model to refuse the user's own."""
    model, new, _ = judged
    left_out = model.metrics["takes_calibration"]["reference_left_out"]
    assert left_out["Archery"] == "you taught it ('my Archery')"
    assert "Surfing" in left_out and "Surfing" not in model.metrics["takes_calibration"]["reference_actions"]
    assert sum(timeline.verdict().known for name, timeline in new if name == "my Archery") >= 3


def test_the_zip_round_trip_is_exact(taught, tmp_path):
    folder = taught[0].bundle_dir
    unpacked = unzip_bundle(zip_bundle(folder), tmp_path / "back")
    assert sorted(p.name for p in unpacked.iterdir()) == sorted(p.name for p in folder.iterdir())
    for path in folder.iterdir():
        assert (unpacked / path.name).read_bytes() == path.read_bytes()


def test_a_taught_bundle_is_published_with_the_given_token_and_loads_back(taught, hub_stand_in):
    """The Teach page publishes with its user's token: none is read from the host."""
    from core.models import hub
    from tests.hub_server import TOKEN

    folder = taught[0].bundle_dir
    card = (folder / "README.md").read_text()
    assert "python -m core train my-actions --arch movinet_linear --out my-actions" in card
    with pytest.raises(ModelError, match="HTTP 401"):
        hub.publish(folder, "me/my-actions", private=True, token="hf_wrong")
    published = hub.publish(folder, "me/my-actions", token=TOKEN)
    metadata = hub_stand_in.cards[-1]
    assert "datasets" not in metadata  # no Hub dataset holds a user's own clips
    assert metadata["model-index"][0]["results"][0]["dataset"]["type"] == "own-clips"
    loaded = bundle.load(published.ref)
    assert loaded.spec.classes == bundle.load(folder).spec.classes
    assert loaded.metrics["taught"] == json.loads((folder / "metrics.json").read_text())["taught"]


def test_a_zip_that_is_no_bundle_is_refused(tmp_path):
    import io
    import zipfile

    with pytest.raises(ModelError, match="not a zip"):
        unzip_bundle(b"not a zip at all", tmp_path / "a")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../outside.txt", "x")
    with pytest.raises(ModelError, match="top level"):
        unzip_bundle(buffer.getvalue(), tmp_path / "b")
    assert not (tmp_path / "outside.txt").exists()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(ModelError):
        unzip_bundle(buffer.getvalue(), tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_cancel_stops_after_the_epoch_it_was_asked_in_and_ucf_names_still_split_by_clip(tmp_path):
    """UCF names under 'bow' are split by clip all the same; the two pieces of one video under
    'surf' are held back together."""
    day = _clips("Surfing", 2)[1]
    actions = {
        "bow": [TeachClip(p.name, p.read_bytes()) for p in sorted((UCF6 / "Archery").glob("*_g12_*"))[:2]],
        "surf": [_clips("Surfing", 1)[0], cut_piece(day, 0, 3), cut_piece(day, 3, 6)],
    }
    result = teach(actions, tmp_path / "stopped", epochs=20, on_epoch=lambda record: record["epoch"] >= 2)
    assert result.epochs == 2
    taught = bundle.load(result.bundle_dir)
    assert taught.spec.classes == ("bow", "surf")
    split = taught.metrics["split"]
    assert split["by"] == "clip" and split["val_clips"] == 3
    assert [n for n in split["val_clip_names"] if "~" in n] == [
        "02-my surfing 2~my surfing 2 0-3s.mp4",
        "02-my surfing 2~my surfing 2 3-6s.mp4",
    ]
    assert taught.metrics["taught"]["surf"][1]["source"] == "my surfing 2.mp4"


VIDEO = TeachClip("a.mp4", b"...")
WAVES = [VIDEO, TeachClip("a2.mp4", b"....")]


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ({"wave": WAVES}, "between 2 and 10 actions"),
        (
            {"wave": WAVES, " Wave ": [TeachClip("b.mp4", b"..")] * 2},
            "Two actions are called 'Wave'",
        ),
        ({"wave": WAVES, "Unknown": [TeachClip("b.mp4", b"..")] * 2}, "does not know"),
        ({"wave": WAVES, "": [TeachClip("b.mp4", b"..")] * 2}, "has no name"),
        ({"wave": WAVES, "a/b": [TeachClip("b.mp4", b"..")] * 2}, "no slashes"),
        ({"wave": WAVES, "jump": []}, "'jump' has no clips yet"),
        ({"wave": WAVES, "jump": [TeachClip("b.mp4", b"..")]}, "it needs 1 more"),
        ({"wave": WAVES, "jump": [TeachClip("b.mp4", b""), VIDEO]}, "b.mp4 .under 'jump'. is empty"),
        (
            {"wave": WAVES, "jump": [TeachClip("b.mp4", b".."), VIDEO]},
            "under both 'wave' and 'jump'",
        ),
        ({"wave": [VIDEO, VIDEO], "jump": WAVES}, "a.mp4 is given twice under 'wave'"),
    ],
)
def test_what_cannot_make_a_model_is_refused_with_its_reason(actions, message):
    with pytest.raises(DatasetError, match=message):
        check_actions(actions)


def test_limits_count_clips_and_megabytes():
    actions = {"wave": [TeachClip(f"{i}.mp4", bytes([i]) * 1000) for i in range(3)], "jump": WAVES}
    with pytest.raises(DatasetError, match="5 clips is more than this app takes at once .4."):
        check_actions(actions, TeachLimits(max_clips=4))
    with pytest.raises(DatasetError, match="this app takes 0 MB at most"):
        check_actions(actions, TeachLimits(max_mb=0.001))


def test_a_clip_that_is_no_video_is_named_and_nothing_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    actions = {
        "bow": _clips("Archery", 2),
        "surf": [_clips("Surfing", 1)[0], TeachClip("notes.mp4", b"hello" * 100)],
    }
    with pytest.raises(DatasetError, match=r"notes.mp4 \(under 'surf'\)"):
        teach(actions, tmp_path / "never")
    actions["surf"][1] = TeachClip("notes.txt", b"hello")
    with pytest.raises(DatasetError, match="notes.txt is not a video file"):
        teach(actions, tmp_path / "never")
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "never").exists()


def test_a_clip_is_measured_in_the_windows_analysis_would_cut():
    seconds, windows = clip_windows(TeachClip(SURFING.name, SURFING.read_bytes()))
    assert seconds == pytest.approx(9.6, abs=0.05)
    assert windows == 6  # 48 frames at 5 fps: six 8-frame units of the video network, a window each
    with pytest.raises(VideoError):
        clip_windows(TeachClip("notes.mp4", b"hello"))
