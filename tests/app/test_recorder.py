"""The camera recorder's server side: what the browser sends on "Keep" becomes a video file, or a
message; and on Analyze a recording takes the upload's path. (The browser side, with a camera, is
tested in tests/e2e/test_camera.py.)"""

import base64

import pytest

from core.errors import VideoError
from pages._app.recorder import MAX_BYTES, record_clip, recording_file
from tests.support import open_page


def _sent(data: bytes, mime: str = "video/webm;codecs=vp8") -> dict:
    return {"mime": mime, "seconds": 3.2, "data": base64.b64encode(data).decode()}


@pytest.mark.parametrize(
    ("mime", "suffix"),
    [("video/webm;codecs=vp8", ".webm"), ("video/webm", ".webm"), ("video/mp4;codecs=avc1", ".mp4")],
)
def test_a_kept_recording_becomes_a_video_file_named_for_its_format(mime, suffix):
    """The suffix decides how the file is staged and checked, as for an upload."""
    name, data = recording_file(_sent(b"\x1aE\xdf\xa3 video", mime))
    assert name.startswith("recording-") and name.endswith(suffix)
    assert data == b"\x1aE\xdf\xa3 video"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "arrived incomplete"),
        ({"mime": "video/webm"}, "arrived incomplete"),
        (_sent(b"x", "image/png"), "recorded image/png, which this app cannot read"),
        ({"mime": "video/webm", "data": "not base64!"}, "arrived damaged"),
        (_sent(b""), "empty"),
        ({"mime": "video/webm", "data": "A" * (MAX_BYTES * 4 // 3 + 8)}, "larger than 32 MB"),
    ],
)
def test_what_the_browser_sent_is_checked_before_use(payload, message):
    """It comes from the browser: anything else than a kept recording gets a message, not a traceback."""
    with pytest.raises(VideoError, match=message):
        recording_file(payload)


@pytest.mark.parametrize("seconds", [1.0, 30.0])
def test_a_recording_lasts_two_to_ten_seconds(seconds):
    with pytest.raises(ValueError, match="between 2 and 10"):
        record_clip("recorder", max_seconds=seconds)


def test_a_recording_goes_through_the_uploads_checks_on_analyze():
    """A recording that is no video is refused with the message an upload gets."""
    app = open_page("pages/analyze.py")
    app.session_state["recorded_clip"] = ("recording-20250101-120000.webm", b"not a video at all")
    app.run()
    assert not app.exception
    assert "Your recording: recording-20250101-120000.webm" in [c.value for c in app.caption]
    assert [e.value for e in app.error] == [
        "upload.webm could not be opened as a video: it is not a video file, or it is truncated or corrupt."
    ]
