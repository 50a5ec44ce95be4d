"""The app as Streamlit runs it, without a browser (AppTest)."""

import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from core.config import LRCN_BUNDLE, MODELS_DIR, PROJECT_ROOT
from tests.support import (
    APP,
    SAMPLES,
    SURFING,
    button,
    open_page,
    surfing_then_abseiling,
    upload,
)

LEARN = [
    "video",
    "single_frame",
    "late_fusion",
    "early_fusion",
    "slow_fusion",
    "pose",
    "lrcn",
    "convlstm",
    "stream",
]
LEARN_PAGES = [*(f"pages/learn_{name}.py" for name in LEARN), "pages/compare.py"]
APPROACH_PAGES = [
    page
    for page in LEARN_PAGES
    if page not in ("pages/learn_video.py", "pages/compare.py", "pages/learn_stream.py")
]


@pytest.mark.parametrize("page", [None, *LEARN_PAGES, "pages/analyze.py", "pages/teach.py", "pages/model.py"])
def test_every_page_runs(page):
    app = open_page(page)
    assert app.title
    assert not app.error, [e.value for e in app.error]  # a page that only shows st.error fails here
    if page in APPROACH_PAGES:  # the live demo, on pretrained eyes, on its first sample (Archery)
        said = " ".join(m.value for m in app.main.markdown)
        assert "Over the whole clip: **Archery**" in said and not app.main.info
        # under its direction check, what the comparison measured of that model on Archery clips
        name = page.removeprefix("pages/learn_").removesuffix(".py")
        approach = {"pose": "pose_lstm"}.get(name, name)
        table = json.loads((MODELS_DIR / "approaches" / "results.json").read_text())
        (row,) = [r for r in table["rows"] if r["approach"] == approach and r["footing"] == "pretrained"]
        share = row["direction_by_action"]["Archery"]
        captions = " ".join(c.value for c in app.main.caption)
        measured = f"of Archery, each played both ways, this approach judged the direction right {share:.0%}"
        assert measured in captions


def test_the_streaming_page_draws_the_network_from_its_file_and_names_kinetics_actions():
    app = open_page("pages/learn_stream.py")
    assert not app.error
    said = " ".join(m.value for m in app.main.markdown)
    assert "Over the whole clip: **archery**" in said  # its first sample is UCF101 Archery
    captions = " ".join(c.value for c in app.main.caption)
    assert "18 stages" in captions and "causal temporal convolutions" in captions
    assert len(app.get("plotly_chart")) == 2  # the data flow and the top 5 over time


def test_analyze_page_waits_for_an_upload():
    app = open_page("pages/analyze.py")
    assert app.info and "Upload a clip" in app.info[0].value


def test_uploading_a_real_clip_gives_timeline_table_video_and_downloads():
    app = upload(open_page("pages/analyze.py"), SURFING)
    assert not app.error
    assert "Surfing" in app.success[0].value
    assert len(app.get("plotly_chart")) == 2  # timeline and top-k
    assert app.dataframe
    assert app.get("video")
    strip = app.get("image")
    assert len(strip) == 8 and "Surfing" in str(strip[0].proto)
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Timeline (CSV)", "Full result (JSON)"]
    button(app, "Make annotated video").click().run()
    assert not app.exception
    assert "Annotated video (MP4)" in [b.proto.label for b in app.get("download_button")]


@pytest.fixture
def model_runs(monkeypatch) -> list[tuple[str, float]]:
    """Every real analysis the app runs, as (model, hop), counted where the app looks ``analyze``
    up; the process-wide analysis cache starts empty so that earlier tests cannot answer."""
    from pages._app import common

    runs = []
    real = common.analyze

    def counted(path, bundle, hop_s=None, **kwargs):
        runs.append((bundle.spec.name, hop_s))
        return real(path, bundle, hop_s=hop_s, **kwargs)

    monkeypatch.setattr(common, "analyze", counted)
    common.analysis_jobs.clear()
    yield runs
    common.analysis_jobs.clear()


def test_changing_a_display_option_does_not_rerun_the_model(model_runs):
    app = upload(open_page("pages/analyze.py"), SURFING)
    assert len(model_runs) == 1
    app.slider[1].set_value(5).run()  # smoothing is a display option
    app.slider[2].set_value(2).run()  # and so is top-k
    assert not app.exception and "Surfing" in app.success[0].value
    assert len(model_runs) == 1


def test_a_new_hop_or_model_does_rerun_the_model(model_runs):
    app = upload(open_page("pages/analyze.py"), SURFING)
    app.slider[0].set_value(1.02).run()  # window hop: new windows, a new analysis
    app.sidebar.selectbox[0].select(str(LRCN_BUNDLE)).run()
    assert not app.exception and "Surfing" in app.success[0].value
    assert [hop for _, hop in model_runs] == [0.5, 1.02, 1.02]
    assert model_runs[-1][0] == "lrcn-ucf101-6" and model_runs[0][0] != "lrcn-ucf101-6"


def test_a_non_video_upload_shows_an_error_and_the_page_stays_usable(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("not a video at all\n" * 30)
    app = upload(open_page("pages/analyze.py"), bogus)
    assert "could not be opened as a video" in app.error[0].value
    app = upload(app, SURFING)
    assert not app.error and "Surfing" in app.success[0].value


def test_model_page_leads_with_the_estimate_for_new_footage(default_bundle):
    app = open_page("pages/model.py")
    estimate = default_bundle.metrics["cross_validation"]
    assert app.subheader[0].value == "Expected on new footage"
    table = app.dataframe[0].value
    assert table["what"][0] == "Right action, clip by clip"
    assert table["expected"][0] == f"{estimate['accuracy']['mean']:.1%}"
    assert table["worst fold"][0] == f"{estimate['accuracy']['min']:.1%}"
    assert table["worst fold"].tolist()[-1] == "pooled over folds"  # the open set, at its thresholds
    assert f"{estimate['accuracy']['mean']:.1%}" in app.markdown[1].value
    assert "Out of fold" in app.subheader[1].value  # the single split is no headline any more
    assert len(app.get("plotly_chart")) == 4  # per-class ranges, confusion, per-class, training curve
    # where it came from, in words: never the machine's own path
    assert "bundled: models/" in app.markdown[0].value
    shown = " ".join(e.value for e in [*app.markdown, *app.caption] if isinstance(e.value, str))
    assert str(PROJECT_ROOT) not in shown


def test_model_picker_switches_to_the_convlstm():
    app = open_page("pages/model.py")
    app.sidebar.selectbox[0].select(str(PROJECT_ROOT / "models" / "convlstm-ucf101-6")).run()
    assert not app.exception
    assert "convlstm" in app.markdown[0].value


def test_low_confidence_says_unsure_and_settings_come_from_secrets(monkeypatch):
    monkeypatch.delenv("ARL_UNCERTAIN_BELOW", raising=False)
    app = AppTest.from_file(APP, default_timeout=180)
    app.secrets["ARL_UNCERTAIN_BELOW"] = "0.99"  # above the model's 96% on this clip
    app.run()
    app.switch_page("pages/analyze.py").run()
    app.sidebar.selectbox[0].select(str(LRCN_BUNDLE)).run()  # 96% sure on this clip
    upload(app, SURFING)
    assert not app.success
    assert "unsure" in app.warning[0].value and "Surfing" in app.warning[0].value
    assert "ARL_UNCERTAIN_BELOW" not in os.environ  # secrets are read, not copied into the process


def test_empty_upload_is_refused(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    app = upload(open_page("pages/analyze.py"), empty)
    assert "empty" in app.error[0].value


def test_a_sample_clip_is_one_choice_away():
    app = open_page("pages/analyze.py")
    samples = app.main.selectbox[0]
    samples.select_index(samples.options.index("v_Archery_g08_c01.avi")).run()
    assert not app.exception and "Archery" in app.success[0].value


def test_too_long_clip_is_refused_with_the_limit(monkeypatch):
    monkeypatch.setenv("ARL_MAX_DURATION_S", "5")
    app = upload(open_page("pages/analyze.py"), SURFING)
    assert "9.6 s long" in app.error[0].value and "up to 5.0 s" in app.error[0].value


def test_what_is_a_video_shows_the_real_clips_numbers_and_the_models_frames(default_bundle):
    app = open_page("pages/learn_video.py")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Resolution"] == "320x240" and metrics["Frame rate"] == "25 fps"  # v_Surfing_g10_c02
    assert len(app.get("plotly_chart")) == 1
    assert len(app.get("image")) == 1 + default_bundle.spec.sequence_length  # the scrubbed frame, the model's
    app.slider[0].set_value(2.0).run()
    assert "frame 50 at 2.00 s" in str(app.get("image")[0].proto)


def test_learn_pages_use_the_clip_last_analysed():
    app = upload(open_page("pages/analyze.py"), SURFING)
    app.switch_page("pages/learn_video.py").run()
    assert app.main.selectbox[0].value == "last"
    assert {m.label: m.value for m in app.metric}["Duration"] == "9.6 s"


def test_learn_pages_demonstrate_on_the_first_20_s_of_a_long_clip(tmp_path):
    """Each Learn page runs models of its own on its clip: a long one is cut to its first 20 s."""
    from core.engine.bench import loop_video

    app = upload(open_page("pages/analyze.py"), loop_video(SURFING, 45, tmp_path))
    app.switch_page("pages/learn_video.py").run()
    assert not app.exception and app.main.selectbox[0].value == "last"
    assert any("The first 20 s of looped.mp4" in caption.value for caption in app.caption)
    duration = {m.label: m.value for m in app.metric}["Duration"]
    assert float(duration.split()[0]) == pytest.approx(20.0, abs=0.2)


def test_lrcn_page_draws_the_real_flow_feature_maps_and_the_forming_prediction():
    app = open_page("pages/learn_lrcn.py")
    charts = app.get("plotly_chart")
    assert len(charts) == 5  # flow, timeline, direction; the scratch CNN's maps, its prediction per frame
    flow = str(charts[0].proto)  # on pretrained eyes: the frozen backbone is one block
    assert "(13, 160, 160, 3)" in flow and "EfficientNet-Lite0" in flow
    assert "(13, 1280)" in flow and "LSTM 64" in flow
    segments = [a["text"] for a in json.loads(charts[1].proto.spec)["layout"]["annotations"]]
    # the first sample, a real UCF101 Archery clip, begins and ends as Archery (a short stretch in
    # between may read otherwise; the whole-clip verdict is checked with every page above)
    assert segments[0] == segments[-1] == "Archery"
    app.main.selectbox[1].select(3).run()  # the last convolution block
    assert not app.exception


def test_pose_page_shows_the_skeleton_and_what_it_throws_away():
    app = open_page("pages/learn_pose.py")
    assert not app.main.error and not app.main.warning
    charts = app.get("plotly_chart")
    assert len(charts) == 4  # data flow, timeline, time direction, person found per frame
    boxes = [a["text"] for a in json.loads(charts[0].proto.spec)["layout"]["annotations"] if a.get("text")]
    encoder = next(text for text in boxes if "BlazePose" in text)  # wrapped to the box's width
    assert encoder.replace("</b><br><b>", " ").startswith("<b>BlazePose per frame</b>")
    assert "(20, 240, 320, 3)" in str(charts[0].proto) and "(20, 100)" in str(charts[0].proto)
    found = next(m.value for m in app.markdown if "A person was found in" in m.value)
    assert "in 0 of" not in found  # the Archery sample: the archer is in view
    frame, skeleton = app.get("image")
    assert "230,400 numbers" in str(frame.proto) and "100 numbers" in str(skeleton.proto)
    app.main.slider[0].set_value(0).run()
    assert not app.exception


def test_compare_page_stacks_a_timeline_per_approach_on_the_clip():
    app = open_page("pages/compare.py")
    assert not app.main.error
    table = json.loads((MODELS_DIR / "approaches" / "results.json").read_text())
    architectures = [row["architecture"] for row in table["rows"]]
    pretrained = [row["approach"] for row in table["rows"] if row["footing"] == "pretrained"]
    scatter, by_action, stacked = (json.loads(chart.proto.spec) for chart in app.get("plotly_chart"))
    points = sorted(point for trace in scatter["data"] for point in trace.get("text", []))
    assert points == sorted(architectures)
    # which way time runs, approach by action, easiest action first, and the lesson read from it
    (heatmap,) = by_action["data"]
    assert heatmap["y"] == pretrained
    assert sorted(heatmap["x"]) == sorted(table["rows"][0]["direction_by_action"])
    best = [max(row[i] for row in heatmap["z"]) for i in range(len(heatmap["x"]))]
    assert best == sorted(best, reverse=True)
    lesson = next(md.value for md in app.markdown if "give their direction away" in md.value)
    assert f"**{heatmap['x'][0]} (" in lesson and heatmap["x"][-1] in lesson
    titles = [a["text"] for a in stacked["layout"]["annotations"]]
    assert titles == pretrained  # one timeline per approach on pretrained eyes, in the table's order
    classes = sum(row["classes"] for row in table["rows"] if row["footing"] == "pretrained")
    assert len(stacked["data"]) == classes  # one line per class of each model
    shown = app.dataframe[0].value
    assert shown["footing"].tolist()[: len(pretrained)] == ["On pretrained eyes"] * len(pretrained)


def test_compare_leads_with_what_each_approach_scores_on_new_footage():
    """The approaches' cross-validated estimates beside the single split, each named for what it is."""
    from core.training.compare import estimates

    expected = estimates()
    assert len(expected) >= 5  # every pooled-feature approach on pretrained eyes
    app = open_page("pages/compare.py")
    table = json.loads((MODELS_DIR / "approaches" / "results.json").read_text())
    shown = app.dataframe[0].value
    for row, mean, folds in zip(
        table["rows"], shown["which action, new footage"], shown["folds"], strict=True
    ):
        estimate = expected.get(row["architecture"])
        if estimate is None:
            assert folds == "not cross-validated"
        else:
            assert mean == f"{estimate['accuracy']['mean']:.1%}"
            assert folds == f"{estimate['accuracy']['min']:.0%}-{estimate['accuracy']['max']:.0%}"
    scatter = json.loads(app.get("plotly_chart")[0].proto.spec)
    crossval = [t for t in scatter["data"] if "cross-validated" in t["name"]]
    approaches = {row["architecture"] for row in table["rows"]}
    assert sorted(x for t in crossval for x in t["text"]) == sorted(set(expected) & approaches)
    assert all(t["error_y"]["array"] for t in crossval)
    heads = app.dataframe[1].value  # the heads on the video network, on the same folds
    assert heads["head on the video network"].tolist() == ["movinet_linear", "movinet_lstm", "movinet_mlp"]
    assert (
        heads["which action, new footage"].tolist()[0]
        == f"{expected['movinet_linear']['accuracy']['mean']:.1%}"
    )
    lessons = [md.value for md in app.markdown]
    assert any("pairs of cross-validated approaches" in m or "the ranking holds" in m for m in lessons)
    assert any(m.startswith("**On new scenes, the sequence model") for m in lessons)


def test_learn_pages_sample_frames_in_the_models_own_shape():
    """Height and width kept apart: the pose model's 320x240 frames are not turned on their side."""
    from core.models.bundle import BundleSpec
    from pages._app.learn import clip_frames

    spec = BundleSpec("p", "pose_lstm", ("a", "b"), 20, (240, 320), 6.0)
    assert spec.frame_size == (320, 240)
    frames = clip_frames((SURFING.name, SURFING.read_bytes()), spec)
    assert frames.shape[1:] == (240, 320, 3)


def test_a_video_partly_of_something_else_says_so_in_its_headline(tmp_path):
    """Surfing, then abseiling: mostly Surfing as a whole, and the headline points at the grey."""
    app = upload(open_page("pages/analyze.py"), surfing_then_abseiling(tmp_path))
    headline = (app.success or app.warning)[0].value
    assert "**Surfing**" in headline and headline.endswith("Grey stretches look like nothing it was taught.")


def test_an_action_the_model_does_not_know_is_said_to_be_none_of_them():
    app = upload(open_page("pages/analyze.py"), SAMPLES / "kinetics_abseiling.mp4")
    assert not app.error and not app.success
    headline = app.warning[0].value
    assert headline.startswith("None of the 11 actions I know (closest: **")
    assert "It looks like **" in headline and "(Kinetics-600, " in headline  # named among 600
    timeline = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert "known-ness" in [trace.get("name") for trace in timeline["data"]]  # the score under the lines
    bands = [a["text"] for a in timeline["layout"]["annotations"]]
    assert any(text.startswith("unknown · ") for text in bands)  # the grey band says what it looks like
    rows = app.dataframe[0].value  # the segments table names the Kinetics action beside
    assert "Kinetics-600" in rows.columns and rows["Kinetics-600"].str.contains("%").all()
    assert any(s.get("fillcolor") == "#bdbdbd" for s in timeline["layout"]["shapes"])


def test_how_readily_it_says_unknown_is_a_display_setting_with_its_cost(tmp_path):
    app = upload(open_page("pages/analyze.py"), surfing_then_abseiling(tmp_path))
    setting = next(s for s in app.select_slider if s.label == "Say unknown")
    assert setting.value == "as calibrated" and setting.options == ["rarely", "as calibrated", "readily"]
    unknown = {}
    for name in ("rarely", "readily"):
        setting.set_value(name).run()
        assert not app.exception
        cost = next(c.value for c in app.caption if c.value.startswith("At this setting"))  # in Settings
        assert "of clips of its actions accepted" in cost and "untaught actions refused" in cost
        rows = app.dataframe[0].value  # the segments table: the seconds said to be unknown
        stretches = zip(rows["start_s"], rows["end_s"], rows["label"], strict=True)
        unknown[name] = sum(end - start for start, end, label in stretches if label == "unknown")
        setting = next(s for s in app.select_slider if s.label == "Say unknown")
    assert unknown["rarely"] <= unknown["readily"]
