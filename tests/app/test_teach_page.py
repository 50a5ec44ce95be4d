"""The Teach page end to end in AppTest: real clips uploaded, a real head trained, the new model
picked on Analyze and naming a clip it never saw."""

import json
from pathlib import Path

from core.config import LRCN_BUNDLE
from tests.support import SURFING, UCF6, button, open_page, upload


def _files(label: str, groups: range) -> list[tuple[str, bytes, str]]:
    paths = [sorted((UCF6 / label).glob(f"*_g{group}_*"))[0] for group in groups]
    return [(f"{label.lower()}-{i}.mp4", p.read_bytes(), "video/mp4") for i, p in enumerate(paths, 1)]


def test_a_short_action_list_is_refused_with_what_is_missing():
    app = open_page("pages/teach.py")
    app.text_input(key="teach_name_0").set_value("bow")
    app.file_uploader(key="teach_clips_0").set_value(_files("Archery", range(12, 14)))
    app.run()
    button(app, "Train").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["An action has no name: give every action a name."]
    assert any(c.value.endswith("windows to learn from") for c in app.caption)
    app.text_input(key="teach_name_1").set_value("surf")
    app.file_uploader(key="teach_clips_1").set_value(
        [*_files("Surfing", range(12, 13)), ("notes.mp4", b"not a video", "video/mp4")]
    )
    app.run()
    assert any(c.value.startswith("Cannot read notes.mp4: ") for c in app.caption)
    app.file_uploader(key="teach_clips_1").set_value(_files("Surfing", range(12, 13)))
    app.run()
    button(app, "Train").click().run()
    assert "'surf' has 1 clip; it needs 1 more" in app.error[0].value


def test_teaching_two_actions_makes_the_model_analyze_uses(site, tmp_path, monkeypatch):
    """'surf' is taught from an upload, two pieces of a longer upload and a link fetched by
    the real yt-dlp code from a server on 127.0.0.1."""
    base, paths = site
    monkeypatch.setenv("ARL_ALLOWED_HOSTS", "127.0.0.1")
    (tmp_path / "site" / "surf14.mp4").write_bytes(sorted((UCF6 / "Surfing").glob("*_g14_*"))[0].read_bytes())
    app = open_page("pages/teach.py")
    app.text_input(key="teach_name_0").set_value("bow")
    app.file_uploader(key="teach_clips_0").set_value(_files("Archery", range(12, 15)))
    app.text_input(key="teach_name_1").set_value("surf")
    app.file_uploader(key="teach_clips_1").set_value(_files("Surfing", range(12, 14)))  # 14.6 s, 8.2 s
    lines = f"surfing-1.mp4 0-6\nsurfing-1.mp4 0:07-0:13\n{base}/surf14.mp4"
    app.text_area(key="teach_lines_1").set_value(lines)
    app.slider[0].set_value(8)
    app.run()
    assert "4 clip(s); 20 s of video" in " ".join(c.value for c in app.caption)
    assert "1 link(s), fetched when you press Train" in " ".join(c.value for c in app.caption)
    button(app, "Train").click().run()
    assert not app.exception and not app.error
    assert "/surf14.mp4" in paths
    assert "is now the model on the Analyze page" in app.success[0].value
    both_sides = next(m.value for m in app.markdown if "How it says *unknown*" in m.value)
    assert "Held-back takes:" in both_sides and "each scored with its own scene left out" in both_sides
    assert "Clips of other actions (" in both_sides and "Surfing left out of those" in both_sides
    taught = app.session_state["model_ref"]
    assert taught.endswith("my-actions") and taught in app.session_state["taught_models"]
    assert any(b.label == "Download my-actions (zip)" for b in app.get("download_button"))
    clips = json.loads((Path(taught) / "metrics.json").read_text())["taught"]["surf"]
    names = ["surfing-2.mp4", "surfing-1 0-6s.mp4", "surfing-1 7-13s.mp4", "surf14.mp4"]
    assert [c["clip"] for c in clips] == names

    app.switch_page("pages/analyze.py")
    app.run()
    assert not app.exception
    picker = app.sidebar.selectbox(key="model_ref")
    assert picker.value == taught and "Taught · my-actions" in picker.options
    upload(app, SURFING)  # group 10: a source video none of the taught clips came from
    assert not app.error and "surf" in app.success[0].value

    app.switch_page("pages/model.py")
    app.run()
    assert not app.exception
    open_set = next(m.value for m in app.markdown if m.value.startswith("**Open set**"))
    assert "each scored with its own scene left out" in open_set and "Clips of other actions" in open_set


def test_a_loaded_zip_is_published_with_the_users_own_token(hub_stand_in, monkeypatch):
    from core.training.teach import zip_bundle
    from tests.hub_server import TOKEN

    monkeypatch.setenv("HF_TOKEN", TOKEN)  # the host's token: the page must not use it
    app = open_page("pages/teach.py")
    app.file_uploader(key="teach_zip").set_value([("lrcn.zip", zip_bundle(LRCN_BUNDLE), "application/zip")])
    app.run()
    button(app, "Load it").click().run()
    assert not app.exception and "**lrcn** is now the model" in app.success[0].value
    app.text_input(key="publish_repo").set_value("me/lrcn")
    button(app, "Publish").click().run()
    assert app.error[0].value == "Give your own Hugging Face token (write access) to publish."
    assert hub_stand_in.repos == {}
    app.text_input(key="publish_token").set_value(TOKEN)
    button(app, "Publish").click().run()
    assert not app.exception and not app.error
    repo = hub_stand_in.repos["me/lrcn"]
    assert repo.private
    assert repo.commits[repo.refs["main"]]["model.keras"] == (LRCN_BUNDLE / "model.keras").read_bytes()
    assert f"me/lrcn@{repo.refs['main']}" in app.success[-1].value


def _keep(app, index: int, data: bytes, name: str = "recording-20250101-120000.mp4") -> None:
    """What the recorder of action ``index`` hands the page in the run after "Keep"
    (pages/_app/recorder.py: a kept recording waits there for the page to take it)."""
    app.session_state[f"_recorded:teach_recorder_{index}"] = (name, data)
    app.run()
    assert not app.exception


def test_recorded_takes_count_and_are_checked_like_uploads_until_removed():
    app = open_page("pages/teach.py")
    app.text_input(key="teach_name_0").set_value("bow")
    archery = [data for _, data, _ in _files("Archery", range(12, 14))]
    _keep(app, 0, archery[0])
    assert any(c.value.startswith("1 clip(s): 1 more needed") for c in app.caption)
    _keep(app, 0, archery[1])
    captions = [c.value for c in app.caption]
    assert "Recorded: take 1.mp4" in captions and "Recorded: take 2.mp4" in captions
    assert any(c.startswith("2 clip(s); ") and c.endswith("windows to learn from") for c in captions)

    # a take is one more clip to the checks: the same footage uploaded under another action is refused
    app.text_input(key="teach_name_1").set_value("surf")
    surfing = _files("Surfing", range(12, 13))
    app.file_uploader(key="teach_clips_1").set_value([*surfing, ("same.mp4", archery[1], "video/mp4")])
    app.run()
    button(app, "Train").click().run()
    assert [e.value for e in app.error] == [
        "same.mp4 is under both 'bow' and 'surf': a clip can teach one action only."
    ]

    app.button(key="teach_remove_0_1").click().run()  # removed: gone from the session and the count
    assert list(app.session_state["teach_takes_0"]) == [2]
    assert "Recorded: take 1.mp4" not in [c.value for c in app.caption]
    assert any(c.value.startswith("1 clip(s): 1 more needed") for c in app.caption)
    _keep(app, 0, b"not a video", "recording-20250101-120500.webm")  # read like an upload that is none
    assert any(c.value.startswith("Cannot read take 3.webm: ") for c in app.caption)

    app.number_input[0].set_value(3).run()
    _keep(app, 2, archery[0])
    assert list(app.session_state["teach_takes_2"]) == [1]
    app.number_input[0].set_value(2).run()  # an action no longer asked for takes its takes along
    assert "teach_takes_2" not in app.session_state and list(app.session_state["teach_takes_0"]) == [2, 3]
