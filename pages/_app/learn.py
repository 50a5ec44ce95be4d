"""The frame every Learn page about an approach shares: its data flow with the real tensor
shapes, the approach's model live on a clip, the time-direction check, the trade-offs and the
measured row of the results table. A page brings its words and its own visual (``live``)."""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import streamlit as st

from core.config import MODELS_DIR
from core.engine.windows import window_indices
from core.errors import ActionLabError
from core.media.video import read_frames, staged
from core.models.registry import footings_of
from core.training.compare import CROSSVAL_DIR
from core.training.compare import estimates as approach_estimates
from core.training.dataset import label_in_name
from core.views.charts import timeline_figure
from core.views.flow import bundle_flow
from core.views.introspect import direction_check
from core.views.learn_charts import direction_figure, direction_note, flow_figure, shown_accuracy
from pages._app.common import (
    current_bundle,
    demo_clip,
    load_bundle,
    run_analysis,
    settings,
    use_app_navigation,
)

T = TypeVar("T")
APPROACHES_DIR = MODELS_DIR / "approaches"
RESULTS_FILE = APPROACHES_DIR / "results.json"
TASKS = {"action": "Which action?", "direction": "Which way does time run?"}
FOOTINGS = {"pretrained": "On pretrained eyes", "scratch": "From scratch"}


def approach_ref(approach: str, task: str, footing: str = "pretrained") -> str | None:
    """The approach's bundle for a task on one footing; for the action task the app's own
    from-scratch bundle of that architecture stands in until the comparison's bundle exists."""
    architecture = footings_of(approach).get(footing)
    if architecture is None:
        return None
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


@st.cache_data(show_spinner=False)
def _estimates(modified: tuple[float, ...]) -> dict[str, dict]:
    return approach_estimates(APPROACHES_DIR)


def estimates() -> dict[str, dict]:
    """The approaches' cross-validated estimates (``models/approaches/crossval/``), by architecture."""
    files = sorted((APPROACHES_DIR / CROSSVAL_DIR).glob("*.json"))
    return _estimates(tuple(f.stat().st_mtime for f in files))


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


def first_window(clip: tuple[str, bytes], spec) -> np.ndarray:
    """The clip's first analysis window for this model, uint8 (T, H, W, 3); a clip shorter than
    a window has its last frame repeated, as analysis does."""
    frames = clip_frames(clip, spec)
    return frames[window_indices(0, spec.sequence_length, len(frames))]


@st.cache_data(show_spinner=False, max_entries=128)
def _computed(view: str, source: str, digest: str, choice: tuple, _compute: Callable[[], T]) -> T:
    return _compute()


def computed_once(view: str, bundle, clip: tuple[str, bytes], compute: Callable[[], T], *choice) -> T:
    """``compute()``, a Learn page's look at ``bundle`` on ``clip``, once per process for each model,
    clip and ``choice`` (the frame or layer picked): every later visit, from any session, draws
    from memory, so a warm page opens in about the time Streamlit takes to send it."""
    return _computed(view, bundle.source, hashlib.sha256(clip[1]).hexdigest(), choice, compute)


def clip_timeline(clip: tuple[str, bytes], ref: str):
    name, data = clip
    digest, suffix = hashlib.sha256(data).hexdigest(), Path(name).suffix.lower()
    return run_analysis(digest, data, suffix, ref, settings().hop_s, None)  # the app's hop, as on Analyze


def _measured(approach: str) -> None:
    footings = footings_of(approach)
    rows = [(footing, result_row(footings[footing])) for footing in FOOTINGS if footing in footings]
    if all(row is None for _, row in rows):
        st.info("No measured row yet: `python -m core compare ../shared/data/ucf101 --json` writes it.")
        return
    measured = estimates()
    for footing, row in rows:
        if row is None:
            continue
        st.markdown(f"**{FOOTINGS[footing]}** (`{row['architecture']}`)")
        cols = st.columns(6)
        estimate = measured.get(row["architecture"])
        for col, (task, label) in zip(cols[:2], TASKS.items(), strict=True):
            accuracy, spread = shown_accuracy(row, task, measured)
            col.metric(label, "-" if accuracy is None else f"{accuracy:.1%}")
            if spread is not None:
                col.caption(f"new footage: folds {spread['min']:.0%}-{spread['max']:.0%}")
        cols[2].metric("Parameters", f"{row['params']:,}")
        cols[3].metric("FLOPs per clip", f"{row['flops_per_clip'] / 1e6:,.0f} M")
        cols[4].metric("Latency, 1 clip", f"{row['latency_ms_batch1']:.1f} ms")
        cols[5].metric(f"Per clip in batches of {row['batch_size']}", f"{row['latency_ms_batched']:.1f} ms")
        notes = [f"{row['classes']} actions"] if "classes" in row else []
        cricket = (row.get("within") or {}).get("cricket")
        if cricket is not None:
            notes.append(f"within the cricket pair (bowling or batting, one scene): {cricket:.1%} right")
        if (row.get("stopped_by") or {}).get("action") == "budget":
            notes.append("training ran out of epochs before its validation curve flattened: a demonstration")
        if notes:
            text = "; ".join(notes)
            st.caption(text[0].upper() + text[1:] + ".")
        if estimate is not None:
            st.caption(
                f"Which action: cross-validated by group ({estimate['folds']} folds; the range is the worst "
                f"and best fold), from `{estimate.get('command', 'python -m core crossval')}`; on one "
                f"split it scored {row['accuracy']['action']:.1%}."
            )
    st.caption(f"Other figures: clip accuracy on the validation groups; from `{results()['command']}`.")


def approach_page(
    approach: str,
    title: str,
    intro: str,
    tradeoffs: str,
    live: Callable[[object, tuple[str, bytes]], None] | None = None,
    live_footing: str = "scratch",
    when_wrong: str = "",
) -> None:
    """The approach on pretrained eyes drives the data flow, the timeline and the direction
    check; ``live`` looks inside the ``live_footing`` model (the small from-scratch one by default,
    whose filters and maps are worth drawing). ``when_wrong`` says why the approach can miss,
    shown when its verdict on a clip of a known action is wrong."""
    use_app_navigation()
    st.title(title)
    st.markdown(intro)
    current_bundle()  # the sidebar's model picker, as on every page
    footing = "pretrained" if approach_ref(approach, "action") else "scratch"
    ref = approach_ref(approach, "action", footing)
    if ref is None:
        st.warning(f"No `{approach}` model has been trained in this checkout yet.")
        return
    bundle = load_bundle(ref)
    st.subheader("Data flow, with the real tensor shapes")
    st.plotly_chart(flow_figure(bundle_flow(bundle)), width="stretch")
    weights = bundle.model.count_params()
    st.caption(
        f"Read from the trained model `{Path(ref).name}` itself ({FOOTINGS[footing].lower()}): "
        f"{weights:,} trained weights."
    )

    st.subheader("Live on a clip")
    clip = demo_clip()
    if clip is not None:
        try:
            timeline = clip_timeline(clip, ref)
            st.plotly_chart(timeline_figure(timeline), width="stretch")
            verdict = timeline.verdict()
            st.markdown(f"Over the whole clip: **{verdict.label}** ({verdict.confidence:.0%}).")
            truth = label_in_name(clip[0], bundle.spec.classes)
            if truth and verdict.label != truth:
                st.info(f"Wrong on this clip, which shows **{truth}**. {when_wrong}".strip())
            direction_ref = approach_ref(approach, "direction", footing)
            if direction_ref is not None:
                direction = load_bundle(direction_ref)
                frames = clip_frames(clip, direction.spec)
                check = computed_once(
                    "direction", direction, clip, lambda: direction_check(direction, frames)
                )
                st.subheader(TASKS["direction"])
                st.plotly_chart(direction_figure(check), width="stretch")
                rows = (results() or {}).get("rows", [])
                measured = direction_note(rows, footings_of(approach).get(footing, ""), truth)
                if measured:
                    st.caption(measured)
            inside_ref = approach_ref(approach, "action", live_footing)
            if live is not None and inside_ref is not None:
                if live_footing == "scratch":
                    st.subheader("Inside the small from-scratch model")
                    st.caption(_demonstration(approach))
                live(load_bundle(inside_ref), clip)
        except ActionLabError as error:
            st.error(str(error))

    st.subheader("Trade-offs")
    st.markdown(tradeoffs)
    st.subheader("Measured")
    _measured(approach)


def _demonstration(approach: str) -> str:
    """What the from-scratch model is for, with its measured accuracy where there is one."""
    row = result_row(footings_of(approach).get("scratch", ""))
    measured = (
        f" ({row['accuracy']['action']:.0%} right on the validation groups of its {row['classes']} actions)"
        if row and "classes" in row
        else ""
    )
    return (
        f"A small network trained from pixels{measured}: a demonstration of what the approach "
        "computes, small enough to look inside, not the approach at its best (that is the model above)."
    )
