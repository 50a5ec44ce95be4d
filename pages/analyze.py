import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from core import bundle as bundles
from core.analysis import analyze
from core.charts import timeline_figure, top_k_figure
from core.config import Settings
from core.errors import ActionLabError

settings = Settings.from_env()


@st.cache_resource(show_spinner="Loading the model…")
def load_bundle(ref: str):
    return bundles.load(ref)


@st.cache_data(show_spinner=False, max_entries=32)
def run_analysis(digest: str, _data: bytes, suffix: str, model_ref: str, hop_s: float):
    """Cached by file hash, model and hop: changing display options never re-runs the model.
    The progress bar is created in here so that a cache hit replays it, finished."""
    bar = st.progress(0.0, text="reading video")
    with tempfile.TemporaryDirectory(prefix="arl-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(_data)
        return analyze(
            path, load_bundle(model_ref), hop_s=hop_s, progress=lambda f, stage: bar.progress(f, text=stage)
        )


st.title("Analyze a video")
with st.expander("Settings"):
    hop_s = st.slider("Window hop (s)", 0.17, 2.0, settings.hop_s, 0.17)
    smoothing = st.slider("Smoothing (windows)", 1, 9, 3, 2)
    top_k = st.slider("Top-k", 1, 6, 3)

upload = st.file_uploader("Video file", type=["mp4", "avi", "mov", "mkv", "webm"])
if upload is None:
    st.info("Upload a clip to get a timeline of actions.")
    st.stop()

data = upload.getvalue()
if not data:
    st.error("The uploaded file is empty.")
    st.stop()

try:
    model = load_bundle(settings.default_model)
    with st.status("Analysing…", expanded=False) as status:
        timeline = run_analysis(
            hashlib.sha256(data).hexdigest(),
            data,
            Path(upload.name).suffix.lower(),
            settings.default_model,
            hop_s,
        )
        status.update(label="Done", state="complete")
except ActionLabError as error:
    st.error(str(error))
    st.stop()

for warning in timeline.warnings:
    st.warning(warning)
label, confidence = timeline.top_k(1)[0]
if confidence < settings.uncertain_below:
    st.warning(f"The model is unsure: its best guess is {label} at {confidence:.0%}.")
else:
    st.success(f"Overall: **{label}** ({confidence:.0%})")
st.plotly_chart(timeline_figure(timeline, smoothing), width="stretch")
left, right = st.columns([2, 1])
left.dataframe([s.to_dict() for s in timeline.segments(smoothing)], width="stretch")
right.plotly_chart(top_k_figure(timeline.top_k(top_k), timeline.classes), width="stretch")
st.download_button("Timeline CSV", timeline.to_csv(), file_name="timeline.csv", mime="text/csv")
st.caption(f"Model: {model.name} ({model.spec.architecture}, {model.source})")
