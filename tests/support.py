"""What the tests share besides fixtures: the real clips they use, small videos written with
OpenCV, a web server for links, and drivers for the command line and the app (AppTest).
Fixtures live in conftest.py; no test module imports from another."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import core  # noqa: E402, F401  before cv2: it sets OpenCV's log levels, which cv2 reads on import

# isort: split
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from core.config import LRCN_BUNDLE, PROJECT_ROOT  # noqa: E402

SHARED = PROJECT_ROOT.parent / "shared" / "data"
SAMPLES = SHARED / "samples"
UCF6 = SHARED / "ucf101-6"
ARCHERY = SAMPLES / "v_Archery_g08_c01.avi"
SURFING = SAMPLES / "v_Surfing_g10_c02.avi"
LINK_CLIP = UCF6 / "Surfing" / "v_Surfing_g10_c02.mp4"  # H.264 MP4, what a link usually serves
APP = str(PROJECT_ROOT / "streamlit_app.py")


def write_video(path: Path, frames, fps: float = 25.0, fourcc: str = "mp4v") -> Path:
    """Write BGR uint8 frames with OpenCV (the container follows the file suffix)."""
    frames = list(frames)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def surfing_then_abseiling(folder: Path) -> Path:
    """Surfing (UCF101, a taught action) then abseiling (Kinetics, never taught) in one 320x240
    file: a video that is partly something else."""
    surfing = real_frames(SURFING)
    height, width = surfing[0].shape[:2]
    abseiling = [cv2.resize(f, (width, height)) for f in real_frames(SAMPLES / "kinetics_abseiling.mp4")]
    return write_video(
        Path(folder) / "surfing_then_abseiling.avi", surfing + abseiling, fps=25.0, fourcc="MJPG"
    )


def moving_square(n: int, size=(96, 72)) -> list[np.ndarray]:
    """Frames whose content changes over time, so that decoding order is checkable."""
    width, height = size
    frames = []
    for i in range(n):
        frame = np.full((height, width, 3), (i * 7) % 255, np.uint8)
        x = (i * 3) % (width - 16)
        frame[20:36, x : x + 16] = (0, 0, 255)
        frames.append(frame)
    return frames


def real_frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


class _LoggingHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        self.server.paths.append(self.path)
        return super().send_head()


def video_page(content_url: str, duration: str) -> str:
    """A page that describes its video the schema.org way, which yt-dlp's generic extractor reads."""
    return (
        '<html><head><title>Clip</title><script type="application/ld+json">{"@context": "https://schema.org",'
        f' "@type": "VideoObject", "name": "Clip", "duration": "{duration}", "contentUrl": "{content_url}"'
        "}</script></head><body></body></html>"
    )


@contextmanager
def clip_site(root: Path) -> Iterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 with a real clip, a page describing a 2-hour video and one
    pointing at an internal address; yields its base URL and the log of requested paths."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "clip.mp4").write_bytes(LINK_CLIP.read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_LoggingHandler, directory=str(root)))
    server.paths = []
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (root / "long.html").write_text(video_page(f"{base}/clip.mp4", "PT2H"))
    (root / "internal.html").write_text(video_page("http://127.0.0.2:9/clip.mp4", "PT1M"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield base, server.paths
    finally:
        server.shutdown()
        server.server_close()


def damaged_bundle(folder: Path, edit: Callable[[dict], None] | None = None) -> Path:
    """A copy of the small LRCN bundle in ``folder``, its config.json changed by ``edit``."""
    copy = Path(shutil.copytree(LRCN_BUNDLE, folder))
    if edit is not None:
        config = json.loads((copy / "config.json").read_text())
        edit(config)
        (copy / "config.json").write_text(json.dumps(config))
    return copy


def one_more_class(config: dict) -> None:
    """A config that lists a class the model does not predict."""
    config["classes"].append("Juggling")


def run_core(*args: str, tmp_path=None, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m core ARGS`` as a real process. A private TMPDIR (``tmp_path``) shows whether
    anything was left behind."""
    environment = {**os.environ, **(env or {})}
    if tmp_path is not None:
        environment["TMPDIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=300, env=environment,
    )  # fmt: skip


def run_cli_here(capfd, *args: str) -> tuple[int, str, str]:
    """``python -m core ARGS`` in this process: exit code, stdout, stderr."""
    from core import cli

    try:
        code = cli.main(list(args))
    except SystemExit as exit:  # argparse refuses usage mistakes this way
        code = exit.code
    out, err = capfd.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err


def open_page(page: str | None = None):
    """The app in AppTest, on ``page`` (a path under pages/) or the home page."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=180)
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception
    return app


def upload(app, path: Path):
    app.file_uploader[0].upload(path.name, path.read_bytes(), "video/x-msvideo")
    app.run()
    assert not app.exception
    return app


def button(app, label: str):
    return next(b for b in app.button if b.label == label)


def tiny_dataset(root: Path, labels: tuple[str, ...], clips: tuple[int, ...] = (1, 2)) -> Path:
    """A <Class>/<clip> folder of real UCF101 clips: for each label, clips ``cMM`` of group 8
    (validation) and group 12 (training)."""
    for label in labels:
        (root / label).mkdir(parents=True)
        for group in (8, 12):
            for clip in clips:
                name = f"v_{label}_g{group:02d}_c{clip:02d}.mp4"
                shutil.copy(UCF6 / label / name, root / label / name)
    return root


def train_tiny(data: Path, out: Path, arch: str, *options: str, cache_dir: Path) -> Path:
    """``python -m core train`` for one short epoch (in this process): a real bundle in seconds."""
    from core import cli

    arguments = ["train", str(data), "--arch", arch, "--out", str(out), "--epochs", "1", "--batch-size", "4"]
    assert cli.main([*arguments, "--cache-dir", str(cache_dir), *options]) == 0
    return out
