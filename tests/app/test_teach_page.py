"""The Teach page end to end in AppTest: real clips uploaded, a real head trained, the new model
picked on Analyze and naming a clip it never saw."""

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


def test_teaching_two_actions_makes_the_model_analyze_uses():
    app = open_page("pages/teach.py")
    for index, (name, label) in enumerate([("bow", "Archery"), ("surf", "Surfing")]):
        app.text_input(key=f"teach_name_{index}").set_value(name)
        app.file_uploader(key=f"teach_clips_{index}").set_value(_files(label, range(12, 15)))
    app.slider[0].set_value(8)
    app.run()
    button(app, "Train").click().run()
    assert not app.exception and not app.error
    assert "is now the model on the Analyze page" in app.success[0].value
    taught = app.session_state["model_ref"]
    assert taught.endswith("my-actions") and taught in app.session_state["taught_models"]
    assert any(b.label == "Download my-actions (zip)" for b in app.get("download_button"))

    app.switch_page("pages/analyze.py")
    app.run()
    assert not app.exception
    picker = app.sidebar.selectbox(key="model_ref")
    assert picker.value == taught and "Taught · my-actions" in picker.options
    upload(app, SURFING)  # group 10: a source video none of the taught clips came from
    assert not app.error and "surf" in app.success[0].value
