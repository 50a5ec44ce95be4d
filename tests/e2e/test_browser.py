"""The app in a real browser: Debian's Chromium driven by Playwright against `streamlit run`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from core.config import PROJECT_ROOT
from tests.conftest import SURFING

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
def app_url():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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
def page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 2600})
        yield context.new_page()
        browser.close()


def test_upload_a_clip_and_get_a_playable_timeline(app_url, page):
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and console_errors.append(f"{message.text} ({message.location.get('url')})")
        ),
    )
    page.goto(app_url)
    page.get_by_role("link", name="Analyze a video").first.click()
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("stFileUploader").get_by_role("button", name="Upload", exact=True).last.click()
    chooser.value.set_files(str(SURFING))

    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.get_by_text("Overall:").wait_for(timeout=60_000)
    assert "Surfing" in page.get_by_text("Overall:").inner_text()

    video = page.locator("video").first
    video.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2; }", timeout=60_000
    )
    assert video.evaluate("v => v.error") is None
    assert video.evaluate("v => v.duration") == pytest.approx(9.6, abs=0.5)

    strip = page.get_by_test_id("stImage")
    strip.last.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('[data-testid=stImage] img')];"
        " return imgs.length >= 8 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        timeout=30_000,
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "analyze.png"), full_page=True)
    assert console_errors == []
