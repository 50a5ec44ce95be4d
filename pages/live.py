import time

import streamlit as st

from core.engine.live import HORIZON_S, LiveRecognizer, check_live
from core.engine.timeline import UNKNOWN
from core.errors import ActionLabError
from core.views.charts import live_figure
from pages._app.common import current_bundle, load_bundle, settings, use_app_navigation
from pages._app.live import live_camera

CONNECT_WAIT_S = 20.0  # asking for a connection this long without video: it is not coming


@st.cache_resource(show_spinner="Getting the model ready for live video…", max_entries=8)
def ready_for_live(ref: str) -> bool:
    """Once per model and process, before any camera starts: its first frames must not wait for
    the backbone to load and the head to be traced."""
    LiveRecognizer(load_bundle(ref)).warm_up()
    return True


def say_the_connection_failed() -> None:
    st.warning(
        "The video connection could not be made. Your browser sends the camera's video to this app "
        "over WebRTC; between networks that needs a STUN server, and behind strict firewalls a TURN "
        "server too (the app's operator sets them in ARL_ICE_SERVERS). You can still record a clip "
        "or upload one on Analyze.",
        icon=":material/videocam_off:",
    )
    st.page_link("pages/analyze.py", label="Record or upload on Analyze", icon=":material/movie:")


def track_connection(playing: bool, signalling: bool) -> bool:
    """Whether this run should say that the connection failed: one was asked for (the time is
    kept in the session) and the view stopped without ever playing."""
    flags = st.session_state
    if playing:
        flags.pop("live_asked_at", None)
    elif signalling:
        flags.setdefault("live_asked_at", time.monotonic())
    elif "live_asked_at" in flags:
        del flags["live_asked_at"]
        return True
    return False


@st.fragment(run_every=1.0)
def live_panel(ctx) -> None:
    """Redrawn every second while the view runs: the current label and the last minute."""
    if not ctx.state.playing:
        asked = st.session_state.get("live_asked_at")
        if asked is not None and time.monotonic() - asked > CONNECT_WAIT_S:
            say_the_connection_failed()
        else:
            st.info("Connecting to your camera…")
        return
    processor = ctx.video_processor
    if processor is None:
        return
    recognizer = processor.recognizer
    if recognizer.failure:
        st.error(recognizer.failure)
        return
    reading = recognizer.reading()
    if reading is None:
        st.info(f"Watching… the first label comes in {recognizer.warm_up_s():.1f} s.")
    else:
        if reading.known:
            st.markdown(f"### Now: {reading.label} · {reading.probability:.0%}")
        else:
            st.markdown(f"### Now: {UNKNOWN} · closest {reading.closest} ({reading.probability:.0%})")
        if reading.knownness is not None:
            threshold = recognizer.bundle.spec.open_set.window_threshold
            st.caption(f"Known-ness {reading.knownness:.2f}; below {threshold:.2f} it says unknown.")
    st.plotly_chart(live_figure(recognizer.history()), key="live_timeline")
    stats = recognizer.stats()
    st.caption(
        f"Frames sampled at {recognizer.bundle.spec.sampling_fps:g} fps: {stats.frames_sampled}, of which "
        f"{stats.frames_dropped} dropped to keep up; {stats.mean_step_s * 1000:.0f} ms of model work "
        "per frame."
    )


use_app_navigation()
st.title("Live view")
st.caption(
    "Privacy: your camera's frames are processed in this app's memory as they arrive and then "
    "forgotten; nothing is recorded, stored or sent anywhere else."
)
model = current_bundle()
if model is None:
    st.stop()
try:
    check_live(model)
    config = settings()
    ready_for_live(st.session_state["model_in_use"])
except ActionLabError as error:
    st.error(str(error))
    st.stop()
st.markdown(
    f"Point your camera at an action and press start: every {1 / model.spec.sampling_fps:g} s the model "
    f"names what the last {model.spec.window_s:.1f} s show, on the video and in a timeline of the last "
    f"{HORIZON_S:.0f} s. It knows {len(model.spec.classes)} actions: {', '.join(model.spec.classes)}; "
    "anything else it calls unknown."
)
context = live_camera("live", model, config.rtc_configuration)
failed = track_connection(context.state.playing, context.state.signalling)
if context.state.playing or context.state.signalling:
    live_panel(context)
elif failed:
    say_the_connection_failed()
st.caption(
    f"Model: {model.name} ({model.spec.architecture}), {model.origin}. A model picked in the sidebar "
    "while the view runs is used from its next start. No camera, or no connection? Record or upload a "
    "clip on Analyze."
)
