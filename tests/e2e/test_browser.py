"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from core.config import LRCN_BUNDLE, PROJECT_ROOT
from tests.hub_server import HubStandIn
from tests.support import ARCHERY, SAMPLES, SURFING, clip_site

pytestmark = pytest.mark.xdist_group("browser")  # one Streamlit server and browser for the module

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def link_site(tmp_path_factory):
    with clip_site(tmp_path_factory.mktemp("site")) as served:
        yield served


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with HubStandIn() as server:
        server.add_folder("lab/lrcn", LRCN_BUNDLE, tag="v1")
        yield server


@pytest.fixture(scope="module")
def app_url(hub, tmp_path_factory):
    """The app as `make run` starts it, with its default model on a stand-in Hub and links
    allowed to 127.0.0.1."""
    port = _free_port()
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(tmp_path_factory.mktemp("hub-cache")),
        "ARL_MODEL_REPO": "lab/lrcn",
        "ARL_MODEL_REVISION": "v1",
        "ARL_ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("HF_HUB_OFFLINE", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("streamlit did not come up") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture()
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Session:
    """One browser tab on the app, collecting console errors."""

    def __init__(self, browser, app_url: str, path: str = ""):
        self.page = browser.new_context(viewport={"width": 1280, "height": 2600}).new_page()
        self.console_errors: list[str] = []
        self.page.on("console", self._console)
        self.page.goto(app_url + path)
        if not path:
            self.page.get_by_role("link", name="Analyze a video").first.click()

    def _console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def upload(self, path: Path) -> None:
        uploader = self.page.get_by_test_id("stFileUploader")
        with self.page.expect_file_chooser() as chooser:
            uploader.get_by_role("button", name="Upload", exact=True).last.click()
        chooser.value.set_files(str(path))

    def overall(self) -> str:
        self.page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        self.page.get_by_text("Overall:").wait_for(timeout=60_000)
        return self.page.get_by_text("Overall:").inner_text()

    def assert_video_plays(self, duration_s: float) -> None:
        video = self.page.locator("video").first
        video.wait_for(timeout=60_000)
        self.page.wait_for_function(
            "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }",
            timeout=60_000,
        )
        assert video.evaluate("v => v.error") is None
        assert video.evaluate("v => v.duration") == pytest.approx(duration_s, abs=0.5)


def test_a_deep_link_on_a_fresh_server_gets_the_apps_navigation(app_url, browser):
    """First in this module, so that the server has served nobody yet (streamlit#10276)."""
    session = Session(browser, app_url, "/model")
    session.page.get_by_test_id("stMetric").first.wait_for(timeout=60_000)
    sidebar = session.page.get_by_test_id("stSidebar").inner_text()
    assert "Use" in sidebar and "Analyze a video" in sidebar  # st.navigation's sections and titles
    assert session.page.title() == "Action Recognition Lab"
    # the front end looks for the server under the deep path first; those two 404s are expected
    probes = f"{app_url}/model/_stcore/"
    assert [e for e in session.console_errors if probes not in e] == []


def test_upload_a_clip_and_get_a_playable_timeline(app_url, browser):
    session = Session(browser, app_url)
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
    assert session.console_errors == []


def test_paste_a_link_and_get_a_timeline(app_url, browser, link_site):
    base, paths = link_site
    session = Session(browser, app_url)
    session.page.get_by_role("textbox", name="…or paste a video link").fill(f"{base}/clip.mp4")
    session.page.get_by_role("button", name="Fetch").click()
    assert "Surfing" in session.overall()
    assert "/clip.mp4" in paths
    session.assert_video_plays(9.6)
    session.page.screenshot(path=str(ARTIFACTS / "link.png"), full_page=True)
    assert session.console_errors == []


def test_a_new_upload_while_an_analysis_runs_wins(app_url, browser):
    session = Session(browser, app_url)
    session.upload(SAMPLES / "v_Biking_g01_c01.avi")  # not analysed by this server before: not cached
    uploader = session.page.get_by_test_id("stFileUploader")
    uploader.get_by_text("v_Biking_g01_c01.avi").wait_for(timeout=30_000)
    # The name shows while the file is still being sent; replacing it then cancels that request in
    # the browser, which logs an error. Wait until the server has the file and runs the analysis.
    session.page.get_by_text(re.compile("Analysing…|Analysis done")).first.wait_for(timeout=60_000)
    # replace the file while the first one is being analysed (the uploader now shows the first
    # file instead of its button, so the new one goes straight to its file input)
    uploader.locator("input[type=file]").set_input_files(str(ARCHERY))
    session.page.get_by_text(re.compile("Overall: Archery")).wait_for(timeout=120_000)
    assert session.page.get_by_test_id("stException").count() == 0
    assert session.console_errors == []


def test_two_sessions_analyse_at_once(app_url, browser):
    """Two people upload different clips at the same moment: each gets their own result."""
    first, second = Session(browser, app_url), Session(browser, app_url)
    first.upload(ARCHERY)
    second.upload(SURFING)
    assert "Archery" in first.overall()
    assert "Surfing" in second.overall()
    assert first.console_errors == second.console_errors == []


LEARN_TITLES = [
    "What is a video", "Single frame", "Late fusion", "Early fusion", "Slow fusion (3D CNN)", "Pose + LSTM",
    "CNN + LSTM (LRCN)", "ConvLSTM", "Compare the approaches",
]  # fmt: skip
HEADINGS = {"Single frame": "Single-frame classification"}  # where a page's heading differs


def test_every_learn_page_renders_its_charts(app_url, browser):
    session = Session(browser, app_url, "/")
    page = session.page
    for title in LEARN_TITLES:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        heading = HEADINGS.get(title, title)
        page.get_by_role("heading", level=1, name=heading).first.wait_for(timeout=60_000)
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        page.wait_for_load_state("networkidle")
        assert page.get_by_test_id("stException").count() == 0, title
    assert session.console_errors == []
