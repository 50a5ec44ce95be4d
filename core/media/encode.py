"""Videos a browser can play: H.264 MP4 re-encodes of any decodable video.

Browsers play H.264 but not OpenCV's mp4v, and OpenCV cannot write H.264, so encoding goes
through the ffmpeg binary that the ``imageio-ffmpeg`` package ships (libx264 inside). Frames are
piped to it one at a time: memory stays flat however long the video is.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

from core.errors import VideoError
from core.media.video import VideoInfo, ffmpeg_exe, open_capture, probe

_H264_FOURCCS = {"avc1", "h264", "x264"}


def fourcc(path: str | Path) -> str:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    capture.release()
    return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4)).strip("\0 ").lower()


def plays_in_browsers(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".mp4" and fourcc(path) in _H264_FOURCCS


def _encoder(out: Path, width: int, height: int, fps: float) -> subprocess.Popen:
    command = [
        ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
        "-r", f"{fps:.6f}", "-i", "-", "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
        "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart", str(out),
    ]  # fmt: skip
    return subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)


def write_frames(source: Path, info: VideoInfo, out: Path, draw=None) -> Path:
    """Decode ``source`` and encode every frame (after ``draw(frame, time_s)``) to H.264."""
    capture = open_capture(source)
    encoder = _encoder(out, info.width, info.height, info.fps)
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if frame.shape[1] != info.width or frame.shape[0] != info.height:
                frame = cv2.resize(frame, (info.width, info.height))
            if draw:
                draw(frame, index / info.fps)
            encoder.stdin.write(np.ascontiguousarray(frame).tobytes())
            index += 1
    except BrokenPipeError:
        pass  # ffmpeg stopped early; its own message is read below
    finally:
        capture.release()
        encoder.stdin.close()
        errors = encoder.stderr.read().decode(errors="replace")
        encoder.wait()
    if encoder.returncode != 0 or index == 0:
        out.unlink(missing_ok=True)
        raise VideoError(f"Could not encode a playable copy of {source.name}: {errors.strip()[:200]}")
    return out


def cut(source: str | Path, start_s: float, end_s: float, out: str | Path) -> Path:
    """The stretch ``start_s``-``end_s`` of ``source`` as an H.264 MP4 of its own. ffmpeg seeks
    and re-encodes, so the piece starts on the asked-for frame, not on the key frame before it."""
    source, out = Path(source), Path(out)
    command = [
        ffmpeg_exe(), "-v", "error", "-y", "-ss", f"{start_s:.3f}", "-i", str(source),
        "-t", f"{end_s - start_s:.3f}", "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
        "-pix_fmt", "yuv420p", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        out.unlink(missing_ok=True)
        message = done.stderr.decode(errors="replace").strip()[:200]
        raise VideoError(f"Could not cut {start_s:g}-{end_s:g} s out of {source.name}: {message}")
    return out


def browser_copy(source: str | Path, folder: str | Path) -> Path:
    """The video itself when browsers can play it, else an H.264 MP4 copy in ``folder``."""
    source = Path(source)
    if plays_in_browsers(source):
        return source
    return write_frames(source, probe(source), Path(folder) / f"{source.stem}.playable.mp4")
