"""Record a clip with the camera, in the browser: a Streamlit Components v2 component whose
browser side (plain HTML, CSS and JavaScript, no build step and nothing fetched from elsewhere)
is in ``recorder/``. A countdown, a few seconds of ``MediaRecorder`` video with a timer and a Stop
button, a preview, then keep or retake. Only a kept recording reaches the server, as the bytes of
an ordinary video file (WebM from Chromium and Firefox, MP4 from Safari): pages hand it to the
same path and checks as an upload (DESIGN.md, "Camera")."""

from __future__ import annotations

import base64
import binascii
import functools
import time
from pathlib import Path

import streamlit as st
import streamlit.components.v2 as components

from core.errors import VideoError

ASSETS = Path(__file__).with_name("recorder")
COUNTDOWN_S = 3
MIN_SECONDS = 1.0  # shorter than this is a slip of the finger, not a clip to learn from
LONGEST_S = 10.0
MAX_BYTES = 32 * 2**20  # the recorder sends ~3 MB for 10 s; far more is not from it
SUFFIXES = {"video/webm": ".webm", "video/mp4": ".mp4", "video/x-matroska": ".mkv"}

_recorder = components.component(
    "action_lab_recorder",
    html=(ASSETS / "recorder.html").read_text(),
    css=(ASSETS / "recorder.css").read_text(),
    js=(ASSETS / "recorder.js").read_text(),
)


def recording_file(payload: object) -> tuple[str, bytes]:
    """What the browser sent on "Keep" (``{mime, seconds, data}``, the video in base64) as a file
    name and its bytes. The payload comes from the browser, so nothing in it is trusted: a
    ``VideoError`` says what was wrong with it."""
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in ("mime", "data")):
        raise VideoError("The recording arrived incomplete: record it again.")
    kind = payload["mime"].split(";")[0].strip().lower()
    suffix = SUFFIXES.get(kind)
    if suffix is None:
        raise VideoError(
            f"The browser recorded {kind or 'an unnamed format'}, which this app cannot read: "
            "upload a file instead."
        )
    if len(payload["data"]) > MAX_BYTES * 4 // 3 + 4:
        raise VideoError(f"The recording is larger than {MAX_BYTES // 2**20} MB: record a shorter clip.")
    try:
        data = base64.b64decode(payload["data"], validate=True)
    except (binascii.Error, ValueError):
        raise VideoError("The recording arrived damaged: record it again.") from None
    if not data:
        raise VideoError("The recording is empty (0 bytes): record it again.")
    return f"recording-{time.strftime('%Y%m%d-%H%M%S')}{suffix}", data


def _inbox(key: str) -> str:
    return f"_recorded:{key}"


def _receive(key: str) -> None:
    """Runs first thing in the run that follows "Keep", before any other script line, so that an
    interrupted run cannot lose the clip: it waits in the session until ``record_clip`` takes it."""
    try:
        st.session_state[_inbox(key)] = recording_file(st.session_state[key].get("recording"))
    except VideoError as error:
        st.session_state[_inbox(key)] = str(error)


def record_clip(
    key: str, max_seconds: float = LONGEST_S, label: str = "Record a clip"
) -> tuple[str, bytes] | None:
    """Show the recorder; return the recording the user has just kept, as (file name, bytes).

    A kept clip is returned once, in the run that follows "Keep", and ``None`` on every other run:
    the page decides where it goes (the clip to analyse, or one more take of an action). The
    recording stops by itself after ``max_seconds`` (2 to 10); one under ``MIN_SECONDS`` is
    refused in the browser."""
    if not 2.0 <= max_seconds <= LONGEST_S:
        raise ValueError(f"max_seconds must be between 2 and {LONGEST_S:g}, not {max_seconds}")
    _recorder(
        key=key,
        data={
            "label": label,
            "max_seconds": max_seconds,
            "min_seconds": MIN_SECONDS,
            "countdown_s": COUNTDOWN_S,
        },
        on_recording_change=functools.partial(_receive, key),
    )
    received = st.session_state.pop(_inbox(key), None)
    if isinstance(received, str):
        st.error(received)
        return None
    return received
