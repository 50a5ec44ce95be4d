"""The live view's glue to streamlit-webrtc (pages/_app/live.py), without a browser: what a camera
connection's processor does with real frames, and that loading WebRTC's libraries beside
TensorFlow does not crash the server."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction

import av
import cv2
import numpy as np

from core.config import PROJECT_ROOT
from pages._app.live import LiveProcessor
from tests.support import SURFING, real_frames

SRTP_AFTER_TENSORFLOW = """
import tensorflow
import pages._app.live
from pylibsrtp import Policy, Session
key = bytes(30)
packet = bytes.fromhex("8008000100000001deadbeef") + bytes(100)
sent = Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)).protect(packet)
assert Session(Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND)).unprotect(sent) == packet
print("srtp ok")
"""


def test_webrtc_loads_after_tensorflow_and_its_srtp_works():
    """pylibsrtp's OpenSSL and TensorFlow's BoringSSL share symbol names; loaded plainly after
    TensorFlow, pylibsrtp crashed the process (a segmentation fault at import)."""
    result = subprocess.run(
        [sys.executable, "-c", SRTP_AFTER_TENSORFLOW],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "srtp ok" in result.stdout


def test_frames_come_back_as_they_came_with_the_label_drawn_once_a_window_is_in(default_bundle):
    """Seven seconds of the surfing clip at its own rate, as a camera connection delivers them."""
    processor = LiveProcessor(default_bundle)
    processor.recognizer.warm_up()
    frames = [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in real_frames(SURFING, limit=175)]
    started = time.monotonic()
    for index, image in enumerate(frames):
        time.sleep(max(0.0, started + index / 25 - time.monotonic()))
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = index, Fraction(1, 25)
        shown = processor.recv(frame)
    reading = processor.recognizer.reading()
    assert reading is not None and reading.label == "Surfing"
    out = shown.to_ndarray(format="rgb24")
    assert out.shape == frames[-1].shape and (shown.pts, shown.time_base) == (frame.pts, frame.time_base)
    drawn = np.any(out != frames[-1], axis=2)
    assert drawn[:60, :200].mean() > 0.05 and not drawn[100:].any()  # two lines of text, top left
    processor.on_ended()
    assert processor.recognizer.push(frames[0], time.monotonic()) is False  # the connection is over
