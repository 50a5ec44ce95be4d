"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Every test stands on its own, in whatever order the tests run: each analyses clips that no other
test here uses (analyses are cached per file, so a clip another test analysed first would come
from the cache and run no model), and the one that needs a server nobody has visited yet gets
its own."""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from core.config import LRCN_BUNDLE
from tests.e2e.support import CHROMIUM, CHROMIUM_FLAGS, IDLE, streamlit_server, websocket_reconnect_noise
from tests.hub_server import HubStandIn
from tests.support import ARCHERY, SURFING, UCF6

pytestmark = pytest.mark.xdist_group("browser")  # one Streamlit server and browser for the module

ARTIFACTS = Path(__file__).parent / "artifacts"

# Clips of this module's own, one test each (looped into minutes of footage where a test needs an
# analysis that lasts): the small LRCN model names them surely (89-99%).
HORSE_RACE = UCF6 / "HorseRace" / "v_HorseRace_g19_c06.mp4"  # 12.1 s
OTHER_HORSE_RACE = UCF6 / "HorseRace" / "v_HorseRace_g20_c04.mp4"  # 10.9 s
DUNK = UCF6 / "BasketballDunk" / "v_BasketballDunk_g24_c04.mp4"  # 6.2 s

# The progress bar that run_analysis shows while the model runs (and removes when it is done).
ANALYSIS_RUNNING = re.compile("reading video|predicting windows")
CURRENT = "[data-testid=stElementContainer][data-stale=false]"  # drawn by the run under way

# What each page records from its first moment: when the analysis progress bar was on the page
# (Date.now(), one clock for every page of the browser) and every alert it ever showed.
WATCH = """(() => {
  const watch = { runs: [], alerts: [] };
  window.__watch = watch;
  const running = () => [...document.querySelectorAll('[data-testid="stProgress"]')]
    .some(bar => /reading video|predicting windows/.test(bar.textContent));
  new MutationObserver(() => {
    const now = Date.now(), last = watch.runs[watch.runs.length - 1];
    if (running()) { if (!last || last.end !== null) watch.runs.push({ start: now, end: null }); }
    else if (last && last.end === null) last.end = now;
    for (const alert of document.querySelectorAll('[data-testid="stAlert"]')) {
      const text = alert.textContent.trim();
      if (text && !watch.alerts.includes(text)) watch.alerts.push(text);
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
})();"""


@pytest.fixture(scope="module")
def hub():
    with HubStandIn() as server:
        server.add_folder("lab/lrcn", LRCN_BUNDLE, tag="v1")
        yield server


@pytest.fixture(scope="module")
def app_url(hub, tmp_path_factory):
    """The server the module's tests share (each with clips of its own)."""
    with streamlit_server(hub.url, tmp_path_factory.mktemp("hub-cache")) as url:
        yield url


@pytest.fixture()
def fresh_app_url(hub, tmp_path):
    """A server that has served nobody yet."""
    with streamlit_server(hub.url, tmp_path / "hub-cache") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module; every session is a context of its own (no shared cookies,
    storage or cache)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Session:
    """One browser tab on the app, in a context of its own, collecting console errors."""

    def __init__(self, browser, app_url: str, path: str = ""):
        self.app_url = app_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 2600})
        self.page = self.context.new_page()
        self.errors: list[tuple[str, str]] = []  # (text, where)
        self.page.on("console", self._console)
        self.page.add_init_script(WATCH)
        self.page.goto(app_url + path)
        if not path:
            self.page.get_by_role("link", name="Analyze a video").first.click()
            self.page.get_by_role("heading", level=1, name="Analyze a video").wait_for(timeout=60_000)

    def close(self) -> None:
        self.context.close()

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append((message.text, message.location.get("url", "")))

    def console_errors(self, expected=lambda text, where: False) -> list[str]:
        """Console errors, less a websocket reconnect's (after which the app must be connected
        again) and those ``expected`` says a test expects."""
        noise = websocket_reconnect_noise(self.errors, self.app_url)
        if noise:
            self.page.locator(IDLE).wait_for(timeout=30_000)
        left = [(text, where) for text, where in self.errors if (text, where) not in noise]
        return [f"{text} ({where})" for text, where in left if not expected(text, where)]

    def upload(self, path: Path) -> None:
        """As a user does: the uploader's button, then the file chooser."""
        uploader = self.page.get_by_test_id("stFileUploader")
        with self.page.expect_file_chooser() as chooser:
            uploader.get_by_role("button", name="Upload", exact=True).last.click()
        chooser.value.set_files(str(path))

    def drop(self, path: Path) -> None:
        """Straight into the uploader's file input (also replaces a file already there)."""
        self.page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(path))

    def analysis_running(self) -> None:
        """Wait until run_analysis's progress bar is on the page: the model is running."""
        bar = self.page.get_by_test_id("stProgress").filter(has_text=ANALYSIS_RUNNING)
        bar.wait_for(state="attached", timeout=60_000)

    def overall(self) -> str:
        self.page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        self.page.get_by_text("Overall:").wait_for(timeout=60_000)
        return self.page.get_by_text("Overall:").inner_text()

    def watched(self) -> dict:
        """What WATCH recorded: ``runs`` (start and end of each showing of the analysis progress
        bar, in ms) and ``alerts`` (every alert text the page showed, once each)."""
        return self.page.evaluate("window.__watch")

    def video_state(self) -> dict:
        return self.page.evaluate(
            "() => { const v = document.querySelector('video');"
            " return v && {time: v.currentTime, ready: v.readyState, error: v.error && v.error.code}; }"
        )

    def assert_video_plays(self, duration_s: float) -> None:
        video = self.page.locator("video").first
        video.wait_for(timeout=60_000)
        self.page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }",
            timeout=60_000,
        )
        assert video.evaluate("v => v.error") is None
        assert video.evaluate("v => v.duration") == pytest.approx(duration_s, abs=0.5)


@pytest.fixture()
def session_factory(browser):
    sessions = []

    def open_session(app_url: str, path: str = "") -> Session:
        sessions.append(Session(browser, app_url, path))
        return sessions[-1]

    yield open_session
    for session in sessions:
        session.close()


def test_the_console_check_lets_through_only_a_websocket_reconnect():
    """What a reconnect logs (seen when the first handshake with the app was refused or reset),
    against errors that must still fail a test."""
    app = "http://127.0.0.1:8501"
    bundle = f"{app}/static/js/index.DormvYxC.js"
    handshake = "Error during WebSocket handshake: Unexpected response code: 503"
    reconnect = [
        (f"WebSocket connection to 'ws://127.0.0.1:8501/_stcore/stream' failed: {handshake}", bundle),
        ("Client Error: WebSocket onerror", bundle),
    ]
    real = [
        (
            "Failed to load resource: the server responded with a status of 404 (Not Found)",
            f"{app}/media/x.mp4",
        ),
        ("Failed to load resource: net::ERR_CONNECTION_REFUSED", f"{app}/_stcore/health"),
        ("TypeError: Cannot read properties of undefined (reading 'x')", bundle),
        ("WebSocket connection to 'ws://127.0.0.1:9999/_stcore/stream' failed: ", bundle),  # another server
        ("Client Error: Websocket connection encountered fatal error - boom", bundle),
    ]
    assert websocket_reconnect_noise(reconnect + real, app) == reconnect
    assert websocket_reconnect_noise(real, app) == []
    # Streamlit's own line alone, without the failed socket it comes with, is not a reconnect
    assert websocket_reconnect_noise(reconnect[1:] + real, app) == []


def test_a_deep_link_on_a_fresh_server_gets_the_apps_navigation(fresh_app_url, session_factory):
    """On a server of its own that nobody has visited yet (streamlit#10276)."""
    session = session_factory(fresh_app_url, "/model")
    session.page.get_by_test_id("stExpander").first.wait_for(timeout=60_000)  # the Model page's own
    sidebar = session.page.get_by_test_id("stSidebar").inner_text()
    assert "Use" in sidebar and "Analyze a video" in sidebar  # st.navigation's sections and titles
    assert session.page.title() == "Action Recognition Lab"
    # the front end looks for the server under the deep path first; those two 404s are expected
    probes = f"{fresh_app_url}/model/_stcore/"
    assert session.console_errors(lambda text, where: where.startswith(probes)) == []


def test_upload_a_clip_and_get_a_playable_timeline(app_url, session_factory):
    session = session_factory(app_url)
    page = session.page
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("From the Hub:").wait_for(timeout=60_000)
    assert "From the Hub: hf://lab/lrcn@v1" in sidebar.inner_text()
    session.upload(SURFING)
    assert "Surfing" in session.overall()
    session.assert_video_plays(9.6)

    strip = page.get_by_test_id("stImage")
    strip.last.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('[data-testid=stImage] img')];"
        " return imgs.length >= 8 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        timeout=30_000,
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "analyze.png"), full_page=True)
    assert session.console_errors() == []


def test_paste_a_link_and_get_a_timeline(app_url, session_factory, site):
    base, paths = site
    session = session_factory(app_url)
    session.page.get_by_role("textbox", name="…or paste a video link").fill(f"{base}/clip.mp4")
    session.page.get_by_role("button", name="Fetch").click()
    assert "Surfing" in session.overall()
    assert "/clip.mp4" in paths
    session.assert_video_plays(9.6)
    ARTIFACTS.mkdir(exist_ok=True)
    session.page.screenshot(path=str(ARTIFACTS / "link.png"), full_page=True)
    assert session.console_errors() == []


@pytest.fixture()
def looped(tmp_path):
    """``looped(clip)``: the clip played over and over for three minutes, in one H.264 MP4 (its
    stream copied, so in a moment): seconds of model work, while the app's progress bar is up."""
    import imageio_ffmpeg

    def loop(clip: Path, seconds: int = 180) -> Path:
        out = tmp_path / f"{clip.stem}_looped.mp4"
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-stream_loop", "-1", "-i", str(clip),
                   "-t", str(seconds), "-c", "copy", str(out)]  # fmt: skip
        subprocess.run(command, check=True, timeout=60)
        return out

    return loop


def test_a_new_upload_while_an_analysis_runs_wins(app_url, session_factory, looped):
    session = session_factory(app_url)
    page = session.page
    session.upload(looped(OTHER_HORSE_RACE))  # this test's own file: not an analysis in the cache
    # The model is running on it (for seconds): run_analysis's progress bar is on the page (in the
    # collapsed status). That also means that the server has the whole file: replacing a file still
    # being sent cancels that request in the browser, which logs an error.
    session.analysis_running()
    session.drop(ARCHERY)  # the uploader now shows the first file instead of its button
    page.get_by_text(re.compile("Overall: Archery")).wait_for(timeout=120_000)
    session.assert_video_plays(14.5)  # the player has the new clip too, not the 3-minute one
    page.locator(IDLE).wait_for(timeout=60_000)
    final = page.get_by_test_id("stAlert").filter(has_text="Overall:").text_content().strip()
    results = [a for a in session.watched()["alerts"] if "HorseRace" in a or "Archery" in a]
    assert results == [final], results  # the first clip's never showed, not even for a moment
    assert page.get_by_test_id("stException").count() == 0
    assert session.console_errors() == []


def test_two_sessions_analyse_at_once(app_url, session_factory, looped):
    """One person's clip is being analysed when another person uploads theirs: the model runs
    for both at once, and each gets their own result."""
    first, second = session_factory(app_url), session_factory(app_url)
    first.upload(looped(HORSE_RACE))  # clips no other test uses: the model runs for both
    first.analysis_running()
    # looped too, for a progress bar that stays up for seconds: in the full suite, on 2 busy cores,
    # the bar of a short analysis (the bare 6 s clip, then 40 s of it) came and went without the
    # page's DOM ever showing it, twice, though the model ran
    second.upload(looped(DUNK, seconds=120))
    assert "HorseRace" in first.overall()
    assert "BasketballDunk" in second.overall()
    runs = first.watched()["runs"], second.watched()["runs"]
    assert [len(r) for r in runs] == [1, 1], runs  # the model ran once for each
    (one,), (other,) = runs
    # neither is a cached result, and neither waited for the other: both progress bars were up at once
    assert one["start"] < other["end"] and other["start"] < one["end"], runs
    assert first.console_errors() == second.console_errors() == []


def test_choosing_a_segment_row_starts_the_player_there(app_url, session_factory, joined_video):
    """The README's promise for the segments table, on Archery then Surfing in one file."""
    session = session_factory(app_url)
    page = session.page
    session.upload(joined_video)
    table = page.get_by_test_id("stDataFrame")
    canvas = table.get_by_test_id("data-grid-canvas")
    # the grid is drawn on a canvas; its accessible copy inside holds the cells (column 0 holds
    # the rows' check boxes)
    second_start = canvas.get_by_test_id("glide-cell-1-1")
    second_start.wait_for(state="attached", timeout=120_000)
    assert canvas.locator("tbody tr").count() == 2
    start_s = float(second_start.text_content())
    assert start_s > 1.0
    page.locator(IDLE).wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1; }"
    )
    assert session.video_state()["time"] == 0

    box = canvas.bounding_box()
    row_height = box["height"] / 3  # the header and two rows, all in view
    page.mouse.click(box["x"] + 14, box["y"] + 2.5 * row_height)  # the second row's check box
    canvas.locator("tr[aria-rowindex='3'][aria-selected='true']").wait_for(state="attached", timeout=10_000)
    # st.video takes whole seconds: the player starts within the second the segment starts in
    low, high = math.floor(start_s), start_s
    try:
        page.wait_for_function(
            "([low, high]) => { const v = document.querySelector('video');"
            " return v && v.readyState >= 1 && v.currentTime >= low && v.currentTime <= high; }",
            arg=[low, high],
            timeout=30_000,
        )
    except PlaywrightError:
        pytest.fail(f"the player is at {session.video_state()}, not at the second row's start {start_s} s")
    assert session.video_state()["error"] is None
    assert page.get_by_test_id("stException").count() == 0
    assert session.console_errors() == []


LEARN_TITLES = [
    "What is a video", "Single frame", "Late fusion", "Early fusion", "Slow fusion (3D CNN)", "Pose + LSTM",
    "CNN + LSTM (LRCN)", "ConvLSTM", "Streaming 3D CNN (MoViNet)", "Compare the approaches",
]  # fmt: skip
HEADINGS = {"Single frame": "Single-frame classification"}  # where a page's heading differs
IMAGES_LOADED = f"() => [...document.querySelectorAll('{CURRENT} img')].every(image => image.complete)"


def test_every_learn_page_renders_its_charts(app_url, session_factory):
    """Each page's heading and a chart of its own drawn by Plotly in the browser (that every page
    runs to its end without an exception is AppTest's check, in tests/app/test_pages.py). Every
    page is opened twice; the seconds from the click until the page has run to its end, on the
    first visit in this server process and again, go to ``artifacts/page_open_times.json``
    (figures, not a pass mark: this machine's load varies)."""
    session = session_factory(app_url, "/")
    page = session.page
    timings: dict[str, dict[str, float]] = {}
    for visit in ("first", "again"):
        for title in LEARN_TITLES:
            started = time.perf_counter()
            page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
            heading = HEADINGS.get(title, title)
            page.get_by_role("heading", level=1, name=heading).first.wait_for(timeout=60_000)
            page.locator(f"{CURRENT} .js-plotly-plot").first.wait_for(timeout=120_000)
            page.locator(IDLE).wait_for(timeout=120_000)  # the page has run to its end
            # and its pictures have arrived: the server drops a page's media once the next page has
            # run, so a click before then cuts a fetch short (a 404 in the console, no picture)
            page.wait_for_function(IMAGES_LOADED, timeout=60_000)
            timings.setdefault(title, {})[visit] = round(time.perf_counter() - started, 2)
            assert page.get_by_test_id("stException").count() == 0, title
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page_open_times.json").write_text(json.dumps(timings, indent=1))
    assert session.console_errors() == []


def test_teach_two_actions_and_analyze_with_the_new_model(app_url, session_factory):
    """A new user's path: two actions from real clips (UCF names and all), Train, then Analyze
    lists the taught model as the one in use."""
    session = session_factory(app_url)
    page = session.page
    page.get_by_role("link", name="Teach it your actions").first.click()
    page.get_by_role("heading", level=1, name="Teach it your own actions").wait_for(timeout=60_000)
    expect(page.get_by_text("0 clip(s): 2 more needed", exact=True)).to_have_count(2, timeout=60_000)
    page.locator(IDLE).wait_for(timeout=30_000)
    actions = [("bow", "Archery"), ("surf", "Surfing")]
    for index, (name, _) in enumerate(actions):
        field = page.get_by_label(f"Action {index + 1}")
        field.fill(name)
        field.press("Enter")
        expect(field).to_have_value(name)
    page.wait_for_timeout(1000)
    page.locator(IDLE).wait_for(timeout=30_000)
    uploaders = page.get_by_test_id("stFileUploader").filter(has_text="Its clips")
    for index, (_, label) in enumerate(actions):
        clips = [str(sorted((UCF6 / label).glob(f"*_g{group}_*"))[0]) for group in (12, 13, 14)]
        uploaded = page.get_by_text(re.compile(r"^3 clip\(s\); \d+ s of video, \d+ windows to learn from$"))
        for _attempt in range(3):  # an upload racing a rerun of the page can be dropped: give it again
            uploaders.nth(index).locator("input[type=file]").set_input_files(clips)
            try:
                expect(uploaded).to_have_count(index + 1, timeout=15_000)
                break
            except AssertionError:
                continue
        expect(uploaded).to_have_count(index + 1)
        page.locator(IDLE).wait_for(timeout=30_000)
    started = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.get_by_text("is now the model on the Analyze page").wait_for(timeout=240_000)
    timings = {"train_click_to_taught_s": round(time.perf_counter() - started, 1)}
    page.get_by_role("button", name="Download my-actions (zip)").wait_for(timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "teach.png"), full_page=True)

    page.get_by_role("link", name="Analyze a video").first.click()
    page.get_by_role("heading", level=1, name="Analyze a video").wait_for(timeout=60_000)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Model")).to_have_value("Taught · my-actions", timeout=30_000)
    started = time.perf_counter()
    session.upload(SURFING)
    assert "surf" in session.overall()
    timings["upload_to_timeline_s"] = round(time.perf_counter() - started, 1)
    (ARTIFACTS / "teach_timings.json").write_text(json.dumps(timings))
    assert session.console_errors() == []
