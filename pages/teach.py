"""Teach: the user's own actions from a few clips each, trained into a bundle in this session."""

import hashlib
import shutil
from pathlib import Path

import streamlit as st

from core.config import VIDEO_SUFFIXES
from core.errors import ActionLabError
from core.training.teach import (
    MAX_ACTIONS,
    MIN_ACTIONS,
    MIN_CLIPS,
    TeachClip,
    TeachLimits,
    check_actions,
    clip_windows,
    teach,
    unzip_bundle,
    zip_bundle,
)
from pages._app.common import settings, taught_folder, use_app_navigation, use_taught_model

use_app_navigation()
st.title("Teach it your own actions")
st.write(
    "Name a few actions and give each some short clips of it. The app's frozen EfficientNet-Lite0 "
    "encodes every sampled frame once and a small LSTM head learns your actions on top: transfer "
    "learning, the CNN + LSTM idea this app is built on. About a quarter of each action's clips are "
    "held back to check the result and to calibrate *unknown*. What you teach stays in your session."
)


@st.cache_data(show_spinner=False, max_entries=256)
def clip_measure(digest: str, _clip: TeachClip) -> tuple[float, int] | str:
    try:
        return clip_windows(_clip)
    except ActionLabError as error:
        return str(error)


@st.cache_data(show_spinner=False, max_entries=4)
def bundle_zip(folder: str) -> bytes:
    """Zipped once per taught folder, not on every rerun of the page (a bundle is ~20 MB)."""
    return zip_bundle(folder)


def what_it_has(clips: list[TeachClip]) -> str:
    """Seconds and analysis windows of an action's clips, or what is wrong with one of them."""
    measured = [clip_measure(hashlib.sha256(c.data).hexdigest(), c) for c in clips]
    problems = [f"{c.name}: {m}" for c, m in zip(clips, measured, strict=True) if isinstance(m, str)]
    if problems:
        return "Cannot read " + "; ".join(problems)
    seconds = sum(m[0] for m in measured)
    windows = sum(m[1] for m in measured)
    return f"{seconds:.0f} s of video, {windows} windows to learn from"


limits = TeachLimits.from_settings(settings())
suffixes = sorted(s.lstrip(".") for s in VIDEO_SUFFIXES)
count = st.number_input("How many actions", MIN_ACTIONS, MAX_ACTIONS, MIN_ACTIONS, step=1)
actions: list[tuple[str, list[TeachClip]]] = []
columns = st.columns(2)
for index in range(int(count)):
    with columns[index % 2].container(border=True):
        name = st.text_input(
            f"Action {index + 1}", key=f"teach_name_{index}", placeholder="e.g. jumping jacks"
        )
        files = st.file_uploader(
            "Its clips", type=suffixes, accept_multiple_files=True, key=f"teach_clips_{index}"
        )
        clips = [TeachClip(f.name, f.getvalue()) for f in files]
        needed = max(0, MIN_CLIPS - len(files))
        st.caption(f"{len(files)} clip(s)" + (f": {needed} more needed" if needed else ""))
        if clips:
            st.caption(what_it_has(clips))
        actions.append((name, clips))

with st.expander("Settings"):
    model_name = st.text_input("Model name", "my-actions")
    epochs = st.slider(
        "Epochs at most (training stops earlier once the held-back clips stop improving)", 3, 60, 30
    )
    st.caption(
        f"Limits here: {limits.max_clips} clips, {limits.max_total_s / 60:.0f} min of video and "
        f"{limits.max_mb:.0f} MB per teach (`ARL_TEACH_*`)."
    )

if st.button("Train", type="primary"):
    try:
        check_actions(actions, limits)
        out = taught_folder(model_name)
    except ActionLabError as error:
        st.error(str(error))
        st.stop()
    records: list[dict] = []
    with st.status("Teaching…", expanded=True) as status:
        step = st.empty()
        chart = st.empty()

        def on_epoch(record: dict) -> None:
            records.append(record)
            chart.line_chart(
                {
                    "epoch": [r["epoch"] for r in records],
                    "training loss": [r["loss"] for r in records],
                    "held-back clips right": [r["val_clip_accuracy"] for r in records],
                },
                x="epoch",
            )

        try:
            result = teach(
                actions, out, limits, epochs=epochs, log=lambda text: step.caption(text), on_epoch=on_epoch
            )
        except ActionLabError as error:
            shutil.rmtree(out, ignore_errors=True)
            status.update(label="Could not teach these actions", state="error")
            st.error(str(error))
            st.stop()
        except BaseException:  # a rerun (Cancel, any click) stops the script here: drop the half bundle
            shutil.rmtree(out, ignore_errors=True)
            raise
        status.update(
            label=f"Taught {len(actions)} actions in {result.seconds:.0f} s "
            f"({result.clips} clips, {result.duration_s:.0f} s of video)",
            state="complete",
        )
    use_taught_model(out)
    st.success(
        f"**{out.name}** is now the model on the Analyze page. On the held-back clips it named "
        f"{result.accuracy:.0%} right (best epoch {result.best_epoch} of {result.epochs})."
    )
    st.page_link("pages/analyze.py", label="Analyze a video with it", icon=":material/movie:")
    st.session_state["teach_last"] = str(out)
st.caption("Training can be stopped at any time: press Stop (top right), or change anything on the page.")

last = st.session_state.get("teach_last")
if last and Path(last).is_dir():  # taught folders are swept 12 h after a session's last teach
    st.download_button(
        f"Download {Path(last).name} (zip)", bundle_zip(last), f"{Path(last).name}.zip", "application/zip"
    )

with st.expander("Load a model you taught before (zip)"):
    archive = st.file_uploader("Bundle zip", type=["zip"], key="teach_zip")
    if archive is not None and st.button("Load it"):
        try:
            folder = unzip_bundle(archive.getvalue(), taught_folder(archive.name.removesuffix(".zip")))
        except ActionLabError as error:
            st.error(str(error))
        else:
            use_taught_model(folder)
            st.success(f"**{folder.name}** is now the model on the Analyze page.")
