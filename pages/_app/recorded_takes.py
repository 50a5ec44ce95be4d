"""Takes of an action recorded with the camera on the Teach page. A kept take becomes one more of
the action's clips, beside its uploads, and goes through the same checks and the same staging
(DESIGN.md, "Camera"). Takes live in the session, per action, as ``{number: TeachClip}``: a
rerun keeps them, and a removed take, or the takes of an action no longer on the page, leave it.
Each take is a recording of its own, so each is a source of its own (an empty ``source``) and
the check on held-back takes can hold back any one of them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.training.teach import MAX_ACTIONS, TeachClip
from pages._app.recorder import record_clip


def _key(index: int) -> str:
    return f"teach_takes_{index}"


def recorded_takes(index: int, action: str) -> list[TeachClip]:
    """The recorder for the action at ``index`` ("Record a take of <action>"), then its kept
    takes, each with a button that removes it; returns them in recording order."""
    takes: dict[int, TeachClip] = st.session_state.setdefault(_key(index), {})
    with st.expander("…or record takes with your camera"):
        kept = record_clip(f"teach_recorder_{index}", label=f"Record a take of {action}")
    if kept is not None:
        number = max(takes, default=0) + 1
        takes[number] = TeachClip(f"take {number}{Path(kept[0]).suffix}", kept[1])
    for number, take in takes.items():
        name_col, remove_col = st.columns([3, 1], vertical_alignment="center")
        name_col.caption(f"Recorded: {take.name}")
        remove_col.button("Remove", key=f"teach_remove_{index}_{number}", on_click=takes.pop, args=(number,))
    return list(takes.values())


def forget_takes(beyond: int) -> None:
    """Drop the takes of actions past the first ``beyond``: fewer actions asked for, so their
    recordings are used no more (their uploads leave with their widgets in the same way)."""
    for index in range(beyond, MAX_ACTIONS):
        st.session_state.pop(_key(index), None)
