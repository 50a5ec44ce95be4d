"""Teaching actions from a few clips (core/training/teach.py), on real UCF101 clips."""

import json
import tempfile

import pytest

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
from tests.support import SURFING, UCF6

ACTIONS = ("Archery", "PlayingPiano", "Surfing")


def _clips(label: str, count: int) -> list[TeachClip]:
    """``count`` real clips of ``label``, each from another source video (UCF groups 12, 13, ...),
    under names a user might give them."""
    sources = [sorted((UCF6 / label).glob(f"*_g{group}_*"))[0] for group in range(12, 12 + count)]
    return [TeachClip(f"my {label.lower()} {i}.mp4", p.read_bytes()) for i, p in enumerate(sources, 1)]


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    """Three actions from four clips each, as the Teach page would send them."""
    actions = {f"my {label}": _clips(label, 4) for label in ACTIONS}
    records = []
    result = teach(
        actions, tmp_path_factory.mktemp("teach") / "my-actions", epochs=12, on_epoch=records.append
    )
    return result, records


def test_a_few_clips_per_action_teach_a_model_that_names_clips_it_never_saw(taught):
    result, records = taught
    model = bundle.load(result.bundle_dir)
    assert model.spec.classes == tuple(f"my {label}" for label in ACTIONS)
    assert model.spec.open_set is not None and model.spec.open_set.groups == ()
    assert result.clips == 12 and result.duration_s > 12
    assert [r["epoch"] for r in records] == list(range(1, result.epochs + 1))
    # clips of other UCF groups (other source videos), which no part of teaching saw
    for label in ACTIONS:
        unseen = sorted((UCF6 / label).glob("*_g08_*"))[0]
        label_found, _ = analyze(unseen, model).top_k(1)[0]
        assert label_found == f"my {label}", unseen.name
    metrics = model.metrics
    assert metrics["split"]["by"] == "clip" and metrics["split"]["val_clips"] == 3
    assert [c["clip"] for c in metrics["taught"]["my Surfing"]] == [
        f"my surfing {i}.mp4" for i in range(1, 5)
    ]
    card = (result.bundle_dir / "README.md").read_text()
    assert "## The clips it was taught" in card and "| my Archery | my archery 1.mp4 |" in card


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
    assert "python -m core train my-actions --arch effnet_lstm --out my-actions" in card
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
    assert windows == 14  # 39 frames at 4 fps: a 13-frame window every 2 frames, the last flush with the end
    with pytest.raises(VideoError):
        clip_windows(TeachClip("notes.mp4", b"hello"))
