"""The frame every Learn page about an approach shares: its data flow with the real tensor
shapes, the approach's model live on a clip, the time-direction check, the trade-offs and the
measured row of the results table. A page brings its words and its own visual (``live``)."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from core.config import MODELS_DIR
from core.engine.windows import cut_windows, window_starts
from core.errors import ActionLabError
from core.media.video import read_frames, staged
from core.views.charts import timeline_figure
from core.views.flow import bundle_flow
from core.views.introspect import direction_check
from core.views.learn_charts import direction_figure, flow_figure
from pages._app.common import (
    current_bundle,
    demo_clip,
    load_bundle,
    run_analysis,
    settings,
    use_app_navigation,
)

APPROACHES_DIR = MODELS_DIR / "approaches"
RESULTS_FILE = APPROACHES_DIR / "results.json"
TASKS = {"action": "Which action?", "direction": "Which way does time run?"}


def approach_ref(architecture: str, task: str) -> str | None:
    """The approach's bundle for a task; for the action task the app's own bundle of that
    architecture stands in until the comparison's bundle exists."""
    candidates = [APPROACHES_DIR / task / architecture]
    if task == "action":
        candidates.append(MODELS_DIR / f"{architecture}-ucf101-6")
    return next((str(folder) for folder in candidates if (folder / "config.json").is_file()), None)


@st.cache_data(show_spinner=False)
def _results(modified: float) -> dict:
    return json.loads(RESULTS_FILE.read_text(encoding="utf-8"))


def results() -> dict | None:
    """``models/approaches/results.json`` (written by ``python -m core compare``), if present."""
    return _results(RESULTS_FILE.stat().st_mtime) if RESULTS_FILE.is_file() else None


def result_row(architecture: str) -> dict | None:
    rows = (results() or {}).get("rows", [])
    return next((row for row in rows if row["architecture"] == architecture), None)


@st.cache_data(show_spinner="Sampling frames as the model does…", max_entries=16)
def sampled_frames(digest: str, _data: bytes, suffix: str, fps: float, size: tuple[int, int]) -> np.ndarray:
    with staged(_data, suffix) as path:
        return read_frames(path, fps, size)


def clip_frames(clip: tuple[str, bytes], spec) -> np.ndarray:
    """The clip's frames as this model samples and sizes them, uint8 (N, H, W, 3)."""
    name, data = clip
    digest, suffix = hashlib.sha256(data).hexdigest(), Path(name).suffix.lower()
    return sampled_frames(digest, data, suffix, spec.sampling_fps, spec.frame_size)


def clip_windows(clip: tuple[str, bytes], spec) -> np.ndarray:
    """Every analysis window of the clip for this model, uint8 (N, T, H, W, 3)."""
    frames = clip_frames(clip, spec)
    if len(frames) < spec.sequence_length:
        frames = np.concatenate([frames, np.repeat(frames[-1:], spec.sequence_length - len(frames), axis=0)])
    starts = window_starts(len(frames), spec.sequence_length, spec.hop_frames)
    return cut_windows(frames, starts, spec.sequence_length)


def clip_timeline(clip: tuple[str, bytes], ref: str):
    name, data = clip
    digest, suffix = hashlib.sha256(data).hexdigest(), Path(name).suffix.lower()
    return run_analysis(digest, data, suffix, ref, settings().hop_s, None)  # the app's hop, as on Analyze


def _measured(architecture: str) -> None:
    row = result_row(architecture)
    if row is None:
        st.info("No measured row yet: `python -m core compare ../shared/data/ucf101-6 --json` writes it.")
        return
    cols = st.columns(6)
    for col, (task, label) in zip(cols[:2], TASKS.items(), strict=True):
        accuracy = row["accuracy"].get(task)
        col.metric(label, "-" if accuracy is None else f"{accuracy:.1%}")
    cols[2].metric("Parameters", f"{row['params']:,}")
    cols[3].metric("FLOPs per clip", f"{row['flops_per_clip'] / 1e6:,.0f} M")
    cols[4].metric("Latency, 1 clip", f"{row['latency_ms_batch1']:.1f} ms")
    cols[5].metric(f"Per clip in batches of {row['batch_size']}", f"{row['latency_ms_batched']:.1f} ms")
    st.caption(f"Clip accuracy on the validation groups; from `{results()['command']}`.")


def approach_page(
    architecture: str,
    title: str,
    intro: str,
    tradeoffs: str,
    live: Callable[[object, tuple[str, bytes]], None] | None = None,
) -> None:
    use_app_navigation()
    st.title(title)
    st.markdown(intro)
    current_bundle()  # the sidebar's model picker, as on every page
    ref = approach_ref(architecture, "action")
    if ref is None:
        st.warning(f"The `{architecture}` model has not been trained in this checkout yet.")
        return
    bundle = load_bundle(ref)
    st.subheader("Data flow, with the real tensor shapes")
    st.plotly_chart(flow_figure(bundle_flow(bundle)), width="stretch")
    weights = bundle.model.count_params()
    st.caption(f"Read from the trained model `{Path(ref).name}` itself: {weights:,} weights.")

    st.subheader("Live on a clip")
    clip = demo_clip()
    if clip is not None:
        try:
            st.plotly_chart(timeline_figure(clip_timeline(clip, ref)), width="stretch")
            if live is not None:
                live(bundle, clip)
            direction_ref = approach_ref(architecture, "direction")
            if direction_ref is not None:
                direction = load_bundle(direction_ref)
                check = direction_check(direction, clip_windows(clip, direction.spec))
                st.subheader(TASKS["direction"])
                st.plotly_chart(direction_figure(check), width="stretch")
        except ActionLabError as error:
            st.error(str(error))

    st.subheader("Trade-offs")
    st.markdown(tradeoffs)
    st.subheader("Measured")
    _measured(architecture)
