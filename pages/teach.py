"""Teach: the user's own actions from a few clips each, trained into a bundle in this session."""

import hashlib
import shutil
from pathlib import Path

import streamlit as st

from core.config import VIDEO_SUFFIXES
from core.errors import ActionLabError, DatasetError, ModelError
from core.models.hub import publish
from core.training.takes import both_sides, one_scene_warning
from core.training.teach import (
    MAX_ACTIONS,
    MIN_ACTIONS,
    MIN_CLIPS,
    TeachClip,
    TeachLimits,
    check_actions,
    check_names,
    clip_windows,
    teach,
    unzip_bundle,
    windows_in,
    zip_bundle,
)
from core.training.teach_sources import EXAMPLE, gather_clips, parse_requests
from pages._app.common import fetch_link, settings, taught_folder, use_app_navigation, use_taught_model
from pages._app.recorded_takes import forget_takes, recorded_takes

use_app_navigation()
st.title("Teach it your own actions")
st.write(
    "Name a few actions and give each some short clips of it. The app's frozen EfficientNet-Lite0 "
    "encodes every sampled frame once and a small LSTM head learns your actions on top: transfer "
    "learning, the CNN + LSTM idea this app is built on. About a quarter of each action's clips are "
    "held back to check the result. *Unknown* is calibrated for your next take: on your takes, each "
    "with its own scene left out, against footage of other actions that ships with the app. Film "
    "each action in two places or more. What you teach stays in your session: takes you record "
    "with the camera are kept in it until you remove them or leave, and are sent nowhere else."
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


def what_it_has(action: str, uploads: list[TeachClip], lines: str) -> str:
    """How many clips an action has (uploaded or recorded), with their seconds and analysis
    windows, or what is wrong with one of them. Pieces are measured from their times; links once
    fetched, at Train."""
    try:
        requests = parse_requests(action, lines)
    except DatasetError as error:
        return str(error)
    cut_from = {r.source for r in requests if not r.is_link and r.start_s is not None}
    measured = {c.name: clip_measure(hashlib.sha256(c.data).hexdigest(), c) for c in uploads}
    problems = [f"{name}: {m}" for name, m in measured.items() if isinstance(m, str)]
    if problems:
        return "Cannot read " + "; ".join(problems)
    lengths = [m[0] for name, m in measured.items() if name not in cut_from]
    for request in requests:
        if not request.is_link and request.start_s is not None and request.source in measured:
            lengths.append(min(request.end_s, measured[request.source][0]) - request.start_s)
    links = sum(r.is_link for r in requests)
    clips = len(lengths) + links
    needed = max(0, MIN_CLIPS - clips)
    text = f"{clips} clip(s)" + (f": {needed} more needed" if needed else "")
    if lengths:
        text += f"; {sum(lengths):.0f} s of video, {sum(map(windows_in, lengths))} windows to learn from"
    if links:
        text += f"; {links} link(s), fetched when you press Train"
    return text


def fetch_once(url: str) -> TeachClip:
    """A linked video, fetched in view the first time it is asked for in this session."""
    fetched = st.session_state.setdefault("teach_fetched", {})
    if url not in fetched:
        fetched[url] = fetch_link(url, settings())
    name, data = fetched[url]
    return TeachClip(name, data, source=url)


def gathered(actions: list[tuple[str, list[TeachClip], str]]) -> list[tuple[str, list[TeachClip]]]:
    """Each action's clips: uploads, fetched links and cut pieces (in view when there are any)."""
    if not any(lines.strip() for _, _, lines in actions):
        return [(name, uploads) for name, uploads, _ in actions]
    with st.status("Fetching links and cutting pieces…") as status:
        result = [
            (name, gather_clips(name.strip() or "unnamed action", uploads, lines, fetch_once))
            for name, uploads, lines in actions
        ]
        status.update(label=f"{sum(len(c) for _, c in result)} clips ready", state="complete")
    asked = {r.source for name, _, lines in actions for r in parse_requests(name, lines) if r.is_link}
    for url in set(st.session_state["teach_fetched"]) - asked:  # keep only what the page still lists
        del st.session_state["teach_fetched"][url]
    return result


limits = TeachLimits.from_settings(settings())
suffixes = sorted(s.lstrip(".") for s in VIDEO_SUFFIXES)
count = st.number_input("How many actions", MIN_ACTIONS, MAX_ACTIONS, MIN_ACTIONS, step=1)
actions: list[tuple[str, list[TeachClip], str]] = []
columns = st.columns(2)
for index in range(int(count)):
    with columns[index % 2].container(border=True):
        name = st.text_input(
            f"Action {index + 1}", key=f"teach_name_{index}", placeholder="e.g. jumping jacks"
        )
        files = st.file_uploader(
            "Its clips", type=suffixes, accept_multiple_files=True, key=f"teach_clips_{index}"
        )
        label = name.strip() or f"Action {index + 1}"
        takes = recorded_takes(index, label)
        lines = st.text_area(
            "Links, or pieces of longer videos (optional, one per line)",
            key=f"teach_lines_{index}",
            placeholder=EXAMPLE,
            height=80,
            help="A link alone is one clip; a link or the name of a clip uploaded or recorded above "
            "(`take 1.webm`), followed by START-END (seconds, or minutes:seconds), is the piece "
            "between those times. A clip cut into pieces is used through its pieces only. Pieces of "
            "one video are held back together when the app checks what it learnt.",
        )
        clips = [TeachClip(f.name, f.getvalue()) for f in files] + takes
        st.caption(what_it_has(label, clips, lines))
        actions.append((name, clips, lines))
forget_takes(beyond=int(count))

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
        check_names([name for name, _, _ in actions])  # before anything is fetched
        actions = gathered(actions)
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
    st.markdown(
        "**How it says *unknown*** (it calls an action unknown where as many of your left-out "
        "takes would be refused as clips of other actions accepted):\n"
        + "".join(f"- {line}\n" for line in both_sides(result.calibration))
    )
    warning = one_scene_warning(result.calibration)
    if warning:
        st.warning(warning)
    st.page_link("pages/analyze.py", label="Analyze a video with it", icon=":material/movie:")
    st.session_state["teach_last"] = str(out)
st.caption("Training can be stopped at any time: press Stop (top right), or change anything on the page.")

with st.expander("Load a model you taught before (zip)"):
    archive = st.file_uploader("Bundle zip", type=["zip"], key="teach_zip")
    if archive is not None and st.button("Load it"):
        try:
            folder = unzip_bundle(archive.getvalue(), taught_folder(archive.name.removesuffix(".zip")))
        except ActionLabError as error:
            st.error(str(error))
        else:
            use_taught_model(folder)
            st.session_state["teach_last"] = str(folder)
            st.success(f"**{folder.name}** is now the model on the Analyze page.")

last = st.session_state.get("teach_last")
if last and Path(last).is_dir():  # taught folders are swept 12 h after a session's last teach
    st.download_button(
        f"Download {Path(last).name} (zip)", bundle_zip(last), f"{Path(last).name}.zip", "application/zip"
    )
    with st.expander(f"Publish {Path(last).name} on the Hugging Face Hub"), st.form("publish", border=False):
        repo = st.text_input("Hub repository", placeholder="your-name/my-actions", key="publish_repo")
        token = st.text_input(
            "Your Hub token (with write access)",
            type="password",
            key="publish_token",
            help="Used for this upload only. The app never publishes with a token of its own.",
        )
        private = st.checkbox("Private repository", value=True)
        if st.form_submit_button("Publish"):
            try:
                if not token.strip():
                    raise ModelError("Give your own Hugging Face token (write access) to publish.")
                with st.spinner(f"Uploading {Path(last).name}…"):
                    published = publish(Path(last), repo.strip(), private=private, token=token.strip())
            except ActionLabError as error:
                st.error(str(error))
            else:
                st.success(
                    f"Published: {published.url}. Anyone who can see the repository loads exactly "
                    f"this upload by typing `{published.ref.removeprefix('hf://')}` under "
                    "*Load a model from the Hub* in the sidebar."
                )
