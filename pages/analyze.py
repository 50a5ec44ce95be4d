import hashlib
import json
from dataclasses import replace
from pathlib import Path

import streamlit as st

from core.config import VIDEO_SUFFIXES, sample_clips
from core.engine.annotate import annotated_copy
from core.engine.strictness import CALIBRATED
from core.engine.strictness import applied as strictness_applied
from core.engine.strictness import levels as strictness_levels
from core.errors import ActionLabError
from core.media.encode import browser_copy
from core.media.video import frames_at, staged
from core.views.charts import segment_row, timeline_figure, top_k_figure
from pages._app.common import current_bundle, fetch_link, run_analysis, settings, use_app_navigation
from pages._app.recorder import record_clip

RECORD_MAX_S = 10.0


@st.cache_data(show_spinner="Preparing the video for the browser…", max_entries=16)
def playable_video(digest: str, _data: bytes, suffix: str) -> bytes:
    with staged(_data, suffix) as path:
        return browser_copy(path, path.parent).read_bytes()


@st.cache_data(show_spinner=False, max_entries=16)
def frame_strip(digest: str, _data: bytes, suffix: str, times_s: tuple[float, ...]) -> list:
    with staged(_data, suffix) as path:
        return frames_at(path, list(times_s), width=160)


@st.cache_data(show_spinner="Drawing labels on every frame…", max_entries=8)
def annotated_video(
    digest: str,
    _data: bytes,
    suffix: str,
    model_ref: str,
    hop_s: float,
    smoothing: int,
    strictness: str,
    _timeline,
):
    with staged(_data, suffix) as path:
        return annotated_copy(path, _timeline, path.parent, smoothing).read_bytes()


def forget_link_and_recording() -> None:
    """The latest choice wins: a sample picked now replaces a clip fetched or recorded before."""
    st.session_state.pop("link_clip", None)
    st.session_state.pop("recorded_clip", None)


use_app_navigation()
st.title("Analyze a video")
model = current_bundle()
if model is None:
    st.stop()
config = settings()
with st.expander("Settings"):
    hop_s = st.slider("Window hop (s)", 0.17, 2.0, config.hop_s, 0.17, help="Time between window starts.")
    smoothing = st.slider("Smoothing (windows)", 1, 9, 3, 2, help="Windows averaged before segmenting.")
    top_k = st.slider("Top-k", 1, len(model.spec.classes), 3)
    settings_of_unknown = {level.name: level for level in strictness_levels(model)}
    strictness = settings_of_unknown.get(CALIBRATED)
    if len(settings_of_unknown) > 1:
        chosen = st.select_slider(
            "Say unknown",
            list(settings_of_unknown),
            value=CALIBRATED,
            help="How readily a stretch that looks like none of the model's actions is called unknown. "
            "Changes the display only: the analysis is not run again.",
        )
        strictness = settings_of_unknown[chosen]
        if strictness.cost():
            st.caption(f"At this setting, on clips the model never saw: {strictness.cost()}.")

upload = st.file_uploader("Video file", type=[s.lstrip(".") for s in VIDEO_SUFFIXES])
with st.form("link", border=False):
    link_col, button_col = st.columns([5, 1], vertical_alignment="bottom")
    link = link_col.text_input(
        "…or paste a video link",
        placeholder="https://www.youtube.com/watch?v=…",
        help=f"Up to {config.max_duration_s / 60:.0f} minutes, from: {', '.join(config.allowed_hosts)}.",
    )
    if button_col.form_submit_button("Fetch", width="stretch"):
        st.session_state.pop("recorded_clip", None)  # the latest choice wins
        try:
            st.session_state["link_clip"] = fetch_link(link, config)
        except ActionLabError as error:
            st.session_state.pop("link_clip", None)
            st.error(str(error))
with st.expander("…or record a clip with your camera"):
    recorded = record_clip("analyze_recorder", max_seconds=RECORD_MAX_S)
if recorded is not None:
    st.session_state["recorded_clip"] = recorded
    st.session_state.pop("link_clip", None)
samples = sample_clips()
sample = None
if samples:
    sample = st.selectbox(
        "…or try a sample clip",
        [None, *samples],
        format_func=lambda p: "(none)" if p is None else p.name,
        on_change=forget_link_and_recording,
    )
st.caption(f"The model knows {len(model.spec.classes)} actions: {', '.join(model.spec.classes)}.")
if upload is not None:
    name, data = upload.name, upload.getvalue()
    if "link_clip" in st.session_state:
        st.caption("Analysing the uploaded file: remove it to analyse the fetched link.")
    elif "recorded_clip" in st.session_state:
        st.caption("Analysing the uploaded file: remove it to analyse your recording.")
elif "recorded_clip" in st.session_state:
    name, data = st.session_state["recorded_clip"]
    st.caption(f"Your recording: {name}")
elif "link_clip" in st.session_state:
    name, data = st.session_state["link_clip"]
    st.caption(f"Fetched from the link: {name}")
elif sample is not None:
    name, data = sample.name, sample.read_bytes()
else:
    st.info("Upload a clip, paste a link, record one or pick a sample to get a timeline of actions.")
    st.stop()

if not data:
    st.error("The uploaded file is empty (0 bytes).")
    st.stop()
suffix = Path(name).suffix.lower()
digest = hashlib.sha256(data).hexdigest()
model_ref = st.session_state["model_in_use"]

try:
    with st.status("Analysing…", expanded=False) as status:
        timeline = run_analysis(digest, data, suffix, model_ref, hop_s, config.max_duration_s)
        # exports name the user's file, not the temporary copy that was analysed
        timeline = replace(timeline, video=replace(timeline.video, path=name))
        st.session_state["last_clip"] = (name, data)  # the Learn pages can demonstrate on it
        status.update(label="Analysis done", state="complete")
except ActionLabError as error:
    st.error(str(error))
    st.stop()

if strictness is not None:
    timeline = strictness_applied(timeline, strictness)
for warning in timeline.warnings:
    st.warning(warning)
verdict = timeline.verdict()
segments = timeline.segments(smoothing)
# a video that is partly something else says so whatever the whole of it scores
grey = "" if all(s.known for s in segments) else " Grey stretches look like nothing it was taught."
looks = (
    f" It looks like **{verdict.kinetics[0]}** (Kinetics-600, {verdict.kinetics[1]:.0%})."
    if verdict.kinetics is not None
    else ""
)
if not verdict.known:
    st.warning(
        f"None of the {len(timeline.classes)} actions I know (closest: **{verdict.closest}**, "
        f"{verdict.confidence:.0%}).{looks}{grey}"
    )
elif verdict.confidence < config.uncertain_below:
    st.warning(
        f"The model is unsure: its best guess is **{verdict.label}** at only {verdict.confidence:.0%}. "
        f"The clip may show an action outside the {len(timeline.classes)} it knows.{grey}"
    )
else:
    st.success(f"Overall: **{verdict.label}** ({verdict.confidence:.0%}).{grey}")
if timeline.open_set is None:
    st.caption("This model has no open-set calibration: it always names one of its actions.")

st.plotly_chart(timeline_figure(timeline, smoothing), width="stretch")
left, right = st.columns([3, 2])
with left:
    st.subheader("Segments")
    picked = st.dataframe(
        [segment_row(s) for s in segments], width="stretch", on_select="rerun", selection_mode="single-row",
        key="segment_table",
    )  # fmt: skip
    rows = picked.selection.rows if picked else []
    start_s = segments[rows[0]].start_s if rows else 0.0
    try:
        st.video(playable_video(digest, data, suffix), start_time=int(start_s))
    except ActionLabError as error:
        st.warning(str(error))
with right:
    st.subheader(f"Top {top_k}")
    st.plotly_chart(top_k_figure(timeline.top_k(top_k), timeline.classes), width="stretch")

st.subheader("Sampled frames")
strip = timeline.spread_windows(8)
try:
    thumbnails = frame_strip(digest, data, suffix, tuple(time_s for time_s, _, _ in strip))
    for column, thumbnail, (time_s, label, probability) in zip(
        st.columns(len(strip)), thumbnails, strip, strict=True
    ):
        column.image(thumbnail, caption=f"{time_s:.1f} s · {label} {probability:.0%}")
except ActionLabError as error:
    st.warning(str(error))

st.subheader("Downloads")
csv_col, json_col, video_col = st.columns(3)
stem = Path(name).stem
csv_col.download_button("Timeline (CSV)", timeline.to_csv(), f"{stem}.timeline.csv", "text/csv")
json_col.download_button(
    "Full result (JSON)",
    json.dumps(timeline.to_dict(smoothing), indent=2),
    f"{stem}.json",
    "application/json",
)
if video_col.button("Make annotated video"):
    try:
        video = annotated_video(
            digest, data, suffix, model_ref, hop_s, smoothing, strictness.name if strictness else "", timeline
        )
        video_col.download_button("Annotated video (MP4)", video, f"{stem}.annotated.mp4", "video/mp4")
    except ActionLabError as error:
        video_col.error(str(error))
st.caption(f"Model: {model.name} ({model.spec.architecture}), {model.origin}")
