"""The camera recorder in a real browser: Chromium's fake camera plays a real UCF101 clip
(``--use-file-for-fake-video-capture``, a y4m made from it at test time), the recorder records it
with MediaRecorder, and a kept recording takes the same path as an upload: on Analyze, the clip
to analyse; on Teach, one more take of an action.

Every test opens a tab of its own on the module's server."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from core.config import LRCN_BUNDLE
from tests.e2e.support import IDLE, chromium, streamlit_server, tabs, websocket_reconnect_noise
from tests.hub_server import HubStandIn
from tests.support import SURFING, UCF6

pytestmark = pytest.mark.xdist_group("camera")  # one Streamlit server and browser for the module

ARTIFACTS = Path(__file__).parent / "artifacts"
RECORDED = re.compile(r"Recorded (\d+\.\d) s: keep it, or retake\.")
STOP_AT_ONCE = """() => new Promise(resolve => {
  const recorder = document.querySelector('[data-testid=stBidiComponentIsolated]').shadowRoot;
  const poll = () => {
    if (recorder.querySelector('.recorder').dataset.state !== 'recording') return setTimeout(poll, 10);
    recorder.querySelector('button[data-action=stop]').click();
    resolve();
  };
  poll();
})"""

# Two actions named as a user would, filmed from UCF101 clips: three takes of each (one to check
# on, two to learn from; with two, one to learn from, the model leant to one action), each from a
# scene (group) of its own; then a new take of each, from a scene that none of its takes came from.
ACTIONS = {"riding waves": "Surfing", "playing keys": "PlayingPiano"}
TAKE_GROUPS = (8, 9, 10)
NEW_TAKE_GROUP = 17


def ucf_clip(label: str, group: int) -> Path:
    return UCF6 / label / f"v_{label}_g{group:02d}_c01.mp4"


class FakeCamera:
    """What Chromium's fake camera plays: raw YUV frames (y4m) of a real clip, in a loop, from a
    file whose path the browser is given once, at launch. Chromium opens the file afresh each
    time a page starts the camera, so a clip put in its place (whole, by a rename) is what the
    next recording films: one browser, and one app session, can film several actions."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "camera.y4m"

    def play(self, clip: Path) -> None:
        """``clip`` from the next time the camera starts; one frame size for every clip, the one
        Chromium read when it first listed the camera."""
        from core.media.video import ffmpeg_exe

        staging = self.folder / "next.y4m"
        command = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-an", "-vf", "scale=320:240",
                   "-pix_fmt", "yuv420p", "-r", "25", str(staging)]  # fmt: skip
        subprocess.run(command, check=True, timeout=60)
        os.replace(staging, self.path)


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory) -> FakeCamera:
    camera = FakeCamera(tmp_path_factory.mktemp("camera"))
    camera.play(SURFING)
    return camera


@pytest.fixture()
def camera(fake_camera):
    """The module's camera, for a test that films other clips: it films the surfing clip again after."""
    yield fake_camera
    fake_camera.play(SURFING)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with HubStandIn() as hub:
        hub.add_folder("lab/lrcn", LRCN_BUNDLE, tag="v1")
        with streamlit_server(hub.url, tmp_path_factory.mktemp("hub-cache")) as url:
            yield url


@pytest.fixture(scope="module")
def browser(fake_camera):
    """Chromium with a camera that plays the clip, allowed without asking."""
    with chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={fake_camera.path}",
    ) as browser:
        yield browser


@pytest.fixture()
def new_tab(browser, app_url):
    """``new_tab(init_script=None)``: a tab of its own (a session of its own) on the app's home
    page, collecting console errors in ``page.errors``."""
    with tabs(browser, app_url) as open_tab:
        yield open_tab


def open_recorder_on_analyze(page: Page) -> Locator:
    """Go to Analyze and open its recorder; returns the expander that holds it."""
    page.get_by_role("link", name="Analyze a video").first.click()
    page.get_by_role("heading", level=1, name="Analyze a video").wait_for(timeout=60_000)
    recorder = page.get_by_test_id("stExpander").filter(has_text="record a clip with your camera")
    recorder.click()
    page.get_by_role("button", name="Record a clip").wait_for(timeout=60_000)
    return recorder


@pytest.fixture()
def open_analyze(new_tab):
    """``open_analyze(init_script=None)``: a tab of its own on Analyze with the recorder open."""

    def open_tab(init_script: str | None = None) -> Page:
        page = new_tab(init_script)
        open_recorder_on_analyze(page)
        return page

    return open_tab


def console_errors(page: Page, app_url: str) -> list[tuple[str, str]]:
    noise = websocket_reconnect_noise(page.errors, app_url)
    if noise:
        page.locator(IDLE).wait_for(timeout=30_000)
    return [error for error in page.errors if error not in noise]


def still_waiting_for_a_clip(page: Page) -> None:
    """Nothing reached the server: the page still asks for a clip, and shows no error."""
    page.locator(IDLE).wait_for(timeout=30_000)
    expect(page.get_by_text("record one or pick a sample")).to_be_visible()
    assert page.get_by_text("Your recording:").count() == 0
    assert page.get_by_test_id("stException").count() == 0


def test_record_a_clip_keep_it_and_get_its_timeline(open_analyze, app_url):
    page = open_analyze()
    page.get_by_role("button", name="Record a clip").click()
    expect(page.get_by_text("Get ready…")).to_be_visible()  # the countdown, then the recording
    page.get_by_text(re.compile(r"● 3\.\d s / 10 s")).wait_for(timeout=20_000)
    page.get_by_role("button", name="Stop").click()

    review = page.get_by_text(RECORDED)
    review.wait_for(timeout=10_000)
    seconds = float(RECORDED.search(review.inner_text()).group(1))
    assert 3.0 <= seconds < 6.0  # stopped by hand after 3 s, on a machine that may be busy
    page.wait_for_function(  # the preview has the recording (the only video so far)
        "() => { const r = document.querySelector('.stBidiComponent [data-testid=stBidiComponentIsolated]');"
        " const v = r && r.shadowRoot.querySelector('video.preview'); return v && v.readyState >= 2; }",
        timeout=10_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "camera_review.png"))
    page.get_by_role("button", name="Keep").click()
    # the page takes the kept clip at once (the recorder's own "Kept" line may be gone by then, as
    # the rerun that takes it can fold the recorder away)
    page.get_by_text(re.compile(r"^Your recording: recording-\d{8}-\d{6}\.webm$")).wait_for(timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)  # its timeline
    verdict = page.get_by_test_id("stAlert").filter(has_text=re.compile("Overall:|unsure|None of the"))
    verdict.first.wait_for(timeout=30_000)
    # a few seconds of the surfing clip, whichever seconds the fake camera was at: the model's
    # answer or, at worst, its closest guess is Surfing
    assert "Surfing" in verdict.first.inner_text()
    # the H.264 copy the page plays is as long as the recording
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=stVideo]'); return v && v.readyState >= 1; }",
        timeout=60_000,
    )
    duration = page.get_by_test_id("stVideo").evaluate("v => v.duration")
    assert duration == pytest.approx(seconds, abs=0.5)
    assert page.get_by_test_id("stException").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "camera.png"), full_page=True)
    assert console_errors(page, app_url) == []


def test_a_recording_under_a_second_is_refused_and_nothing_is_sent(open_analyze, app_url):
    page = open_analyze()
    page.get_by_role("button", name="Record a clip").click()
    # Stop pressed the moment the recording starts (from inside the page: a busy machine must not
    # turn a slip of the finger into a second of footage)
    page.evaluate(STOP_AT_ONCE)
    expect(page.get_by_text("Too short: record at least 1 s.")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Record a clip")).to_be_visible()  # and try again
    still_waiting_for_a_clip(page)
    assert console_errors(page, app_url) == []


def test_a_recording_stops_itself_at_the_limit_and_a_retake_starts_over(open_analyze, app_url):
    page = open_analyze()
    page.get_by_role("button", name="Record a clip").click()
    stopped = page.get_by_text(re.compile(r"Stopped at the 10 s limit\. Recorded 10\.\d s"))
    stopped.wait_for(timeout=30_000)
    page.get_by_role("button", name="Retake").click()
    expect(page.get_by_text("Get ready…")).to_be_visible()
    page.get_by_text(re.compile(r"● \d\.\d s / 10 s")).wait_for(timeout=20_000)
    still_waiting_for_a_clip(page)  # neither the first take nor the one under way was sent
    assert console_errors(page, app_url) == []


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        ("NotAllowedError", "Camera permission was refused."),
        ("NotFoundError", "No camera was found."),
        ("NotReadableError", "another application may be using it"),
    ],
)
def test_a_camera_that_cannot_be_used_gets_a_clear_message(open_analyze, app_url, failure, message):
    """What the browser reports when the user says no, or there is no camera, or it is busy."""
    refuse = (
        "navigator.mediaDevices.getUserMedia = () =>"
        f" Promise.reject(new DOMException('from the test', '{failure}'));"
    )
    page = open_analyze(refuse)
    page.get_by_role("button", name="Record a clip").click()
    expect(page.get_by_text(message)).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Record a clip")).to_be_visible()
    still_waiting_for_a_clip(page)
    assert console_errors(page, app_url) == []


def record_and_keep(recorder: Locator, start: str | re.Pattern, seconds: int) -> None:
    """In ``recorder``: press ``start``, stop once ``seconds`` s are recorded, and keep the clip."""
    recorder.get_by_role("button", name=start).click()
    recorder.get_by_text(re.compile(rf"● {seconds}\.\d s / 10 s")).wait_for(timeout=20_000)
    recorder.get_by_role("button", name="Stop").click()
    recorder.get_by_text(RECORDED).wait_for(timeout=10_000)
    recorder.get_by_role("button", name="Keep").click()  # the caller waits for the page to take it


def test_takes_recorded_on_teach_make_a_model_that_names_new_recordings(new_tab, camera, app_url):
    """The whole way with the camera, in one session: three takes of each of two actions on Teach,
    Train, then a new clip of each recorded on Analyze, each named by the model just taught."""
    page = new_tab()
    page.get_by_role("link", name="Teach it your actions").first.click()
    page.get_by_role("heading", level=1, name="Teach it your own actions").wait_for(timeout=60_000)
    recorders = page.get_by_test_id("stExpander").filter(has_text="record takes with your camera")
    for index, (action, label) in enumerate(ACTIONS.items()):
        page.get_by_label(f"Action {index + 1}", exact=True).fill(action)
        page.get_by_label(f"Action {index + 1}", exact=True).press("Enter")
        recorder = recorders.nth(index)
        recorder.click()
        recorder.get_by_role("button", name=f"Record a take of {action}").wait_for(timeout=30_000)
        for number, group in enumerate(TAKE_GROUPS, start=1):
            camera.play(ucf_clip(label, group))
            record_and_keep(recorder, re.compile(f"^(Record a take of {action}|Record another)$"), seconds=3)
            # listed under its action (the actions before it have this take number too)
            expect(page.get_by_text(f"Recorded: take {number}.webm")).to_have_count(index + 1, timeout=30_000)
    # counted as clips, measured from the WebM the browser recorded (3 s and a little each)
    counts = page.get_by_text(re.compile(r"^3 clip\(s\); (9|1\d) s of video, \d+ windows to learn from$"))
    expect(counts).to_have_count(2, timeout=30_000)

    page.get_by_role("button", name="Train").click()
    page.get_by_text("is now the model on the Analyze page").wait_for(timeout=150_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "camera_teach.png"), full_page=True)

    recorder = open_recorder_on_analyze(page)
    expect(page.get_by_text("The model knows 2 actions: playing keys, riding waves.")).to_be_visible()
    verdict = page.get_by_test_id("stAlert").filter(has_text=re.compile("Overall:|unsure|None of the"))
    for action, label in ACTIONS.items():  # each clip recorded replaces the one before
        camera.play(ucf_clip(label, NEW_TAKE_GROUP))
        record_and_keep(recorder, re.compile("^(Record a clip|Record another)$"), seconds=4)
        expect(verdict.first).to_have_text(re.compile(rf"^Overall: {action} \(\d+%\)\.$"), timeout=60_000)
    page.locator(IDLE).wait_for(timeout=60_000)  # the rest of the page drawn for the last clip too
    page.screenshot(path=str(ARTIFACTS / "camera_taught.png"), full_page=True)
    assert page.get_by_test_id("stException").count() == 0
    assert console_errors(page, app_url) == []
