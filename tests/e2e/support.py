"""What the browser tests share: the app as `make run` starts it, on a port of its own, and the
Chromium that drives it (Debian's, through Playwright)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from core.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
IDLE = "[data-testid=stApp][data-test-script-state=notRunning][data-test-connection-state=CONNECTED]"


def websocket_reconnect_noise(errors: list[tuple[str, str]], app_url: str) -> list[tuple[str, str]]:
    """The console errors of a websocket reconnect to the app, and nothing else: Chromium's
    "WebSocket connection to 'ws://…/_stcore/stream' failed: …" for the app's own stream, and the
    "Client Error: WebSocket onerror" that Streamlit's front end logs with it (then it pings the
    server and connects again). Exceptions, failed requests and other sockets are not in it."""
    socket_url = app_url.replace("http", "ws", 1) + "/_stcore/stream"
    stream = re.compile(f"WebSocket connection to '{re.escape(socket_url)}' failed: ")
    failed = [e for e in errors if stream.match(e[0])]
    if not failed:
        return []
    return failed + [e for e in errors if e[0] == "Client Error: WebSocket onerror"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(hub_url: str, hub_cache: Path, settings: dict[str, str] | None = None):
    """The app as `make run` starts it, with its default model on a stand-in Hub and links
    allowed to 127.0.0.1; yields its URL. Without the file watcher: a source file edited while the
    tests run must not reload modules under them. ``settings``: more environment variables (such
    as ``ARL_*``), set last."""
    port = _free_port()
    env = {
        **os.environ,
        "HF_ENDPOINT": hub_url,
        "HF_HUB_CACHE": str(hub_cache),
        "ARL_MODEL_REPO": "lab/lrcn",
        "ARL_MODEL_REVISION": "v1",
        "ARL_ALLOWED_HOSTS": "127.0.0.1",
        **(settings or {}),
    }
    env.pop("HF_HUB_OFFLINE", None)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):  # the Hub and links are local
        env.pop(name, None)
        env.pop(name.lower(), None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
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


@contextmanager
def chromium(*flags: str) -> Iterator[Browser]:
    """Debian's Chromium under Playwright, with the suite's flags and ``flags`` (a fake camera's)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS + list(flags))
        yield browser
        browser.close()


@contextmanager
def tabs(browser: Browser, app_url: str) -> Iterator[Callable[[str | None], Page]]:
    """``open_tab(init_script=None)``: a tab of its own (a session of its own) on the app's home
    page, collecting console errors in ``page.errors``; every tab is closed at the end."""
    contexts = []

    def open_tab(init_script: str | None = None) -> Page:
        contexts.append(browser.new_context(viewport={"width": 1280, "height": 2000}))
        page = contexts[-1].new_page()
        page.errors = []

        def log(message) -> None:
            if message.type == "error":
                page.errors.append((message.text, message.location.get("url", "")))

        page.on("console", log)
        if init_script:
            page.add_init_script(init_script)
        page.goto(app_url)
        return page

    yield open_tab
    for context in contexts:
        context.close()
