"""Measure the app's memory and page times in a real browser, as the README reports them.

    .venv/bin/python tools/app_memory.py [--arenas 2] [--json]

Starts the app as Community Cloud does (``streamlit run``, offline: the bundled default model;
``--arenas 2`` adds the ``MALLOC_ARENA_MAX=2`` that ``make run`` sets) and drives Chromium
with Playwright, as the browser tests do: two sessions upload different 60 s clips at once; one
of them then opens every page in the sidebar in turn and analyses a third 60 s clip. After each
step it prints the server process's resident memory and its peak so far (``VmRSS``, ``VmHWM``,
in MB of 2^20 bytes) and the seconds the step took. Needs Linux (``/proc``) and ``chromium``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from core.config import PROJECT_ROOT, sample_clips  # noqa: E402
from core.engine.bench import loop_video  # noqa: E402
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_FLAGS, IDLE, LEARN_TITLES  # noqa: E402

CLIPS = ("v_Surfing_g10_c02.avi", "v_Archery_g08_c01.avi", "v_Biking_g01_c01.avi")
OTHER_PAGES = ("Teach it your actions", "Model")


def memory_mb(pid: int) -> tuple[float, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def start_app(arenas: int = 0) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "ARL_MODEL_REPO": "", "HF_HUB_OFFLINE": "1"}
    if arenas:
        env["MALLOC_ARENA_MAX"] = str(arenas)
    command = [
        sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    quiet = subprocess.DEVNULL
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=quiet, stderr=quiet, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return server, url
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the app did not come up")


def open_analyze(browser, url: str):
    page = browser.new_context(viewport={"width": 1280, "height": 2600}).new_page()
    page.goto(url)
    page.get_by_role("link", name="Analyze a video").first.click()
    page.get_by_role("heading", level=1, name="Analyze a video").wait_for(timeout=120_000)
    page.locator(IDLE).wait_for(timeout=120_000)
    return page


def drop(page, clip: Path) -> None:
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(str(clip))


def analysed(page) -> None:
    page.get_by_text("Overall:").or_(page.get_by_text("None of the")).first.wait_for(timeout=300_000)
    page.locator(IDLE).wait_for(timeout=300_000)


def measure(arenas: int = 0) -> dict[str, tuple[float, float, float]]:
    samples = {path.name: path for path in sample_clips()}
    folder = Path(tempfile.mkdtemp(prefix="arl-memory-"))
    clips = []
    for index, name in enumerate(CLIPS):
        (folder / str(index)).mkdir()
        clips.append(loop_video(samples[name], 60, folder / str(index)))
    server, url = start_app(arenas)
    figures: dict[str, tuple[float, float, float]] = {}

    def note(step: str, started: float) -> None:
        figures[step] = (*memory_mb(server.pid), round(time.perf_counter() - started, 1))

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            started = time.perf_counter()
            first, second = open_analyze(browser, url), open_analyze(browser, url)
            note("two sessions on Analyze", started)
            started = time.perf_counter()
            drop(first, clips[0])
            drop(second, clips[1])
            analysed(first)
            analysed(second)
            note("both analysed a 60 s clip at once", started)
            for title in (*LEARN_TITLES, *OTHER_PAGES):
                started = time.perf_counter()
                first.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
                first.wait_for_timeout(300)  # the click's rerun has begun
                first.locator(IDLE).wait_for(timeout=120_000)
                note(f"page: {title}", started)
            analyze = "Analyze a video"
            first.get_by_test_id("stSidebarNav").get_by_role("link", name=analyze, exact=True).click()
            first.get_by_role("heading", level=1, name=analyze).wait_for(timeout=120_000)
            first.locator(IDLE).wait_for(timeout=120_000)
            started = time.perf_counter()
            drop(first, clips[2])
            analysed(first)
            note("a third 60 s clip", started)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--arenas", type=int, default=0, help="MALLOC_ARENA_MAX for the server (0: unset)")
    args = parser.parse_args()
    figures = measure(args.arenas)
    if args.json:
        print(json.dumps(figures))
        return
    for step, (rss, peak, seconds) in figures.items():
        print(f"{step:42s} {seconds:5.1f} s   RSS {rss:5.0f} MB   peak {peak:5.0f} MB")


if __name__ == "__main__":
    main()
