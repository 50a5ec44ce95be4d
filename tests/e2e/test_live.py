"""The live view in a real browser: Chromium's fake camera plays a real UCF101 surfing clip
(``--use-file-for-fake-video-capture``, a y4m made from it at test time), streamlit-webrtc sends
it to the app over WebRTC, and the default model names it while it plays. WebRTC between
Chromium and the app on 127.0.0.1 needs no STUN server (and this machine reaches none), so the
server runs with ``ARL_ICE_SERVERS=[]``; the bundled default model is the one in use.

Every test opens a tab of its own on the module's server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import IDLE, chromium, streamlit_server, tabs, websocket_reconnect_noise
from tests.hub_server import HubStandIn
from tests.support import SURFING

pytestmark = pytest.mark.xdist_group("live")  # one Streamlit server and browser for the module

ARTIFACTS = Path(__file__).parent / "artifacts"
COMPONENT = "iframe[title='streamlit_webrtc.component.webrtc_streamer']"
# Before the page's scripts, in every frame (the camera component is an iframe): peer connections
# that may use relayed candidates only, with no TURN server to relay them: no path ever opens.
NO_PATH = """(() => {
  const Plain = window.RTCPeerConnection;
  if (!Plain) return;
  window.RTCPeerConnection = function (config) {
    return new Plain({ ...(config || {}), iceServers: [], iceTransportPolicy: 'relay' });
  };
  window.RTCPeerConnection.prototype = Plain.prototype;
})();"""
REFUSED = (
    "if (navigator.mediaDevices) navigator.mediaDevices.getUserMedia = () =>"
    " Promise.reject(new DOMException('refused by the test', 'NotAllowedError'));"
)


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory) -> Path:
    """The surfing clip as raw YUV frames (y4m), which Chromium's fake camera plays in a loop."""
    import imageio_ffmpeg

    out = tmp_path_factory.mktemp("camera") / "surfing.y4m"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(SURFING), "-an",
               "-pix_fmt", "yuv420p", "-r", "25", str(out)]  # fmt: skip
    subprocess.run(command, check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    settings = {"ARL_MODEL_REPO": "", "ARL_ICE_SERVERS": "[]"}  # the bundled default; no STUN
    with (
        HubStandIn() as hub,
        streamlit_server(hub.url, tmp_path_factory.mktemp("hub-cache"), settings) as url,
    ):
        yield url


@pytest.fixture(scope="module")
def browser(fake_camera):
    """Chromium with a camera that plays the clip, allowed without asking."""
    with chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={fake_camera}",
    ) as browser:
        yield browser


@pytest.fixture()
def open_live(browser, app_url):
    """``open_live(init_script=None)``: a tab of its own on the live view, reached from the
    navigation, collecting console errors in ``page.errors``."""
    with tabs(browser, app_url) as open_tab:

        def open_on_live(init_script: str | None = None) -> Page:
            page = open_tab(init_script)
            page.get_by_role("link", name="Live view").first.click()
            page.get_by_role("heading", level=1, name="Live view").wait_for(timeout=120_000)
            return page

        yield open_on_live


def console_errors(page: Page, app_url: str) -> list[tuple[str, str]]:
    noise = websocket_reconnect_noise(page.errors, app_url)
    if noise:
        page.locator(IDLE).wait_for(timeout=30_000)
    return [error for error in page.errors if error not in noise]


def test_the_live_view_names_the_fed_clips_action_on_the_video_and_in_a_timeline(open_live, app_url):
    page = open_live()
    expect(
        page.get_by_text("Privacy: your camera's frames are processed in this app's memory")
    ).to_be_visible()
    # the model is loaded and made ready for live video before the camera component shows
    expect(page.get_by_text("Model: movinet-linear-ucf101-11 (movinet_linear)")).to_be_visible(
        timeout=120_000
    )
    camera = page.frame_locator(COMPONENT)
    camera.get_by_role("button", name="Start the live view").click(timeout=60_000)
    # the first label needs half a unit (0.8 s of video); the connection and a busy machine more
    page.get_by_text("Now: Surfing").wait_for(timeout=90_000)
    expect(page.get_by_text("Now: unknown")).to_have_count(0)
    # the video comes back from the server, playing, with the label drawn on it
    camera.locator("video").evaluate("v => new Promise(r => v.readyState >= 2 ? r() : v.oncanplay = r)")
    assert camera.locator("video").evaluate("v => v.videoWidth") > 0  # (WebRTC may scale it down)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)  # the rolling timeline
    sampled = page.get_by_text("Frames sampled at 5 fps:")
    expect(sampled).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)
    camera.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Now: Surfing")).to_have_count(0, timeout=30_000)  # the panel goes with it
    page.locator(IDLE).wait_for(timeout=30_000)
    expect(page.get_by_text("The video connection could not be made.")).to_have_count(0)  # it was made
    assert page.get_by_test_id("stException").count() == 0
    assert console_errors(page, app_url) == []


def test_a_connection_that_cannot_be_made_says_so_and_points_to_analyze(open_live, app_url):
    page = open_live(NO_PATH)
    page.frame_locator(COMPONENT).get_by_role("button", name="Start the live view").click(timeout=60_000)
    expect(page.get_by_text("The video connection could not be made.")).to_be_visible(timeout=90_000)
    expect(page.get_by_role("link", name="Record or upload on Analyze")).to_be_visible()
    assert page.get_by_test_id("stException").count() == 0
    assert console_errors(page, app_url) == []


def test_a_refused_camera_is_said_in_the_component_and_the_page_keeps_working(open_live, app_url):
    """The component shows the browser's error itself (for a real refusal, "NotAllowedError:
    Permission denied"); the page under it says where to go instead, and no connection is tried."""
    page = open_live(REFUSED)
    camera = page.frame_locator(COMPONENT)
    camera.get_by_role("button", name="Start the live view").click(timeout=60_000)
    expect(camera.get_by_text("NotAllowedError: refused by the test")).to_be_visible(timeout=30_000)
    expect(camera.get_by_role("button", name="Start the live view")).to_be_visible()  # to try again
    expect(
        page.get_by_text("No camera, or no connection? Record or upload a clip on Analyze")
    ).to_be_visible()
    page.locator(IDLE).wait_for(timeout=30_000)
    expect(page.get_by_text("The video connection could not be made.")).to_have_count(0)
    assert page.get_by_test_id("stException").count() == 0
    assert console_errors(page, app_url) == []
