"""The live view's glue between streamlit-webrtc and ``core.engine.live``: the camera component,
and one processor per camera connection, which hands every frame to a ``LiveRecognizer`` and
draws the current label on the frame it sends back. The processor runs in the connection's own
thread, never in a page run, so it must return at once (the recognizer's worker does the
model's work).

Pages use streamlit-webrtc only through this module, because of how it must be imported (below).
"""

from __future__ import annotations

import os
import sys


def _load_srtp_apart() -> None:
    """Import pylibsrtp (aiortc's SRTP) so that it calls its own OpenSSL. Its wheels link OpenSSL
    in and export its symbols, while TensorFlow loads its BoringSSL into the process's global
    scope (RTLD_GLOBAL); loaded plainly after TensorFlow, pylibsrtp's OpenSSL calls land in
    BoringSSL and the server dies of a segmentation fault at import. RTLD_DEEPBIND makes the
    library look in itself first, whatever was loaded before (Linux; elsewhere there is no
    global clash to avoid)."""
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    if not deepbind or "pylibsrtp" in sys.modules:
        return
    flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | deepbind)
    try:
        import pylibsrtp  # noqa: F401
    finally:
        sys.setdlopenflags(flags)


_load_srtp_apart()

# isort: split
import time  # noqa: E402

import av  # noqa: E402
from streamlit_webrtc import VideoProcessorBase, WebRtcMode, WebRtcStreamerContext, webrtc_streamer  # noqa: E402

from core.engine.live import LiveRecognizer, draw_reading  # noqa: E402
from core.models.bundle import ModelBundle  # noqa: E402

# What the browser is asked for: the model sees 160x160 at 4 fps, so a small, slow stream is
# plenty, and every frame sent back is encoded again on the server's two cores.
CAMERA = {
    "video": {"width": {"ideal": 640}, "height": {"ideal": 480}, "frameRate": {"ideal": 15, "max": 30}},
    "audio": False,
}

# The component's own messages, in the app's words: what went wrong, and the way on.
WORDING = {
    "start": "Start the live view",
    "stop": "Stop",
    "device_ask_permission": "Allow this page to use your camera to start the live view.",
    "device_access_denied": "Camera permission was refused: allow it in the browser's address bar and "
    "start again, or record or upload a clip on Analyze",
    "device_not_available": "No camera could be used: none was found, or another application holds it",
    "media_api_not_available": "This browser gives no camera access here (the page must be opened over "
    "HTTPS or on localhost). Record or upload a clip on Analyze instead.",
}


class LiveProcessor(VideoProcessorBase):
    """Frames in, the same frames with the label drawn out; ``recognizer`` is what the page reads."""

    def __init__(self, bundle: ModelBundle):
        self.recognizer = LiveRecognizer(bundle)

    def recv(self, frame: av.VideoFrame) -> av.VideoFrame:
        image = frame.to_ndarray(format="rgb24")
        self.recognizer.push(image, time.monotonic())
        draw_reading(image, self.recognizer.reading(), self.recognizer.warm_up_s())
        shown = av.VideoFrame.from_ndarray(image, format="rgb24")
        shown.pts, shown.time_base = frame.pts, frame.time_base
        return shown

    def on_ended(self) -> None:
        self.recognizer.close()


def live_camera(key: str, bundle: ModelBundle, rtc_configuration: dict) -> WebRtcStreamerContext:
    """The camera component: the browser's camera to the server and back with the label drawn.
    Frames are handled in memory as they come (``async_processing``: only the newest is handed
    on), and a connection's processor uses the bundle it started with."""
    return webrtc_streamer(
        key=key,
        mode=WebRtcMode.SENDRECV,
        rtc_configuration=rtc_configuration,
        media_stream_constraints=CAMERA,
        video_processor_factory=lambda: LiveProcessor(bundle),
        async_processing=True,
        translations=WORDING,
    )
