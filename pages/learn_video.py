import hashlib
from pathlib import Path

import streamlit as st

from core.errors import ActionLabError
from core.media.video import frames_at, probe, read_frames, staged
from core.views.anatomy import anatomy
from core.views.learn_charts import numbers_figure
from pages._app.common import current_bundle, demo_clip, use_app_navigation


@st.cache_data(show_spinner=False, max_entries=16)
def clip_facts(digest: str, _data: bytes, suffix: str):
    with staged(_data, suffix) as path:
        return probe(path)


@st.cache_data(show_spinner="Decoding the frame…", max_entries=64)
def frame_at(digest: str, _data: bytes, suffix: str, time_s: float):
    with staged(_data, suffix) as path:
        return frames_at(path, [time_s], width=480)[0]


@st.cache_data(show_spinner="Sampling frames as the model does…", max_entries=16)
def model_view(digest: str, _data: bytes, suffix: str, fps: float, size: tuple[int, int], count: int):
    with staged(_data, suffix) as path:
        return read_frames(path, fps, size)[:count]


use_app_navigation()
st.title("What is a video")
st.markdown(
    "A video is a stack of still pictures (**frames**) shown quickly one after another: so many per "
    "second (the **frame rate**), each a grid of pixels (the **resolution**), each pixel three numbers "
    "for red, green and blue. A video classifier never sees all of it: it samples a few frames and "
    "shrinks them. Here is what that means for a real clip."
)
model = current_bundle()
clip = demo_clip()
if model is None or clip is None:
    st.stop()
name, data = clip
suffix, digest = Path(name).suffix.lower(), hashlib.sha256(data).hexdigest()
try:
    info = clip_facts(digest, data, suffix)
except ActionLabError as error:
    st.error(str(error))
    st.stop()
spec = model.spec
facts = anatomy(info, spec)

cols = st.columns(4)
cols[0].metric("Resolution", f"{facts.width}x{facts.height}")
cols[1].metric("Frame rate", f"{facts.fps:g} fps")
cols[2].metric("Duration", f"{facts.duration_s:.1f} s")
cols[3].metric("Frames", f"{facts.frames:,}")

st.subheader("Scrub through the frames")
last_s = max(0.0, facts.duration_s - 1 / facts.fps)
time_s = st.slider("Time (s)", 0.0, last_s, 0.0, 1 / facts.fps, format="%.2f")
frame_number = int(round(time_s * facts.fps))
st.image(frame_at(digest, data, suffix, time_s), caption=f"frame {frame_number} at {time_s:.2f} s")

st.subheader("How many numbers")
st.markdown(
    f"One frame is {facts.height} x {facts.width} pixels x 3 colours = **{facts.numbers_per_frame:,}** "
    f"numbers. Ten seconds at {facts.fps:g} fps is **{facts.numbers_for(10) / 1e6:,.0f} million**. "
    f"The model `{model.name}` reads {facts.window_frames} frames at {spec.sampling_fps:g} fps "
    f"({facts.window_s:.1f} s), shrunk to {spec.image_size[1]}x{spec.image_size[0]}: "
    f"**{facts.window_numbers:,}** numbers, {facts.window_share:.2%} of this clip."
)
st.plotly_chart(numbers_figure(facts), width="stretch")

st.subheader(f"What the model keeps: {facts.window_frames} frames, {spec.image_size[1]}x{spec.image_size[0]}")
frames = model_view(digest, data, suffix, spec.sampling_fps, spec.frame_size, spec.sequence_length)
per_row = 10
for row in range(0, len(frames), per_row):
    chunk = enumerate(frames[row : row + per_row], row)
    for column, (index, frame) in zip(st.columns(per_row), chunk, strict=False):
        column.image(frame, caption=f"{index / spec.sampling_fps:.2f} s", width="stretch")
st.caption(
    "Sampling keeps the motion that spans seconds (a surfer riding a wave) and drops what happens "
    "between two samples; shrinking keeps the scene and the shapes, and drops the detail."
)
