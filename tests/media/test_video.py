import subprocess

import cv2
import numpy as np
import pytest

from core.errors import VideoError
from core.media import video
from core.media.video import FALLBACK_FPS, frames_at, iter_frames, probe, read_frames, staged
from tests.support import ARCHERY, SURFING, UCF6, moving_square, write_video


def test_probe_reads_real_ucf_clip():
    info = probe(ARCHERY)
    assert (info.width, info.height) == (320, 240)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 363
    assert info.duration_s == pytest.approx(363 / 25)
    assert not info.fps_assumed


def test_frames_are_sampled_at_the_target_rate_and_resized():
    info = probe(ARCHERY)
    frames = list(iter_frames(ARCHERY, 6.0, (64, 48)))
    assert len(frames) == pytest.approx(info.duration_s * 6, abs=1)
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    times = np.array([f.time_s for f in frames])
    assert np.allclose(np.diff(times), 1 / 6)


def test_h264_mp4_and_xvid_avi_of_the_same_clip_decode_alike():
    avi = read_frames(ARCHERY, 6.0, (64, 64)).astype(float)
    mp4 = read_frames(UCF6 / "Archery" / "v_Archery_g08_c01.mp4", 6.0, (64, 64)).astype(float)
    assert avi.shape == mp4.shape
    assert np.abs(avi - mp4).mean() < 6  # re-encoded at CRF 26: close, not equal


def test_source_slower_than_target_repeats_frames(tmp_path):
    path = write_video(tmp_path / "slow.avi", moving_square(20), fps=3.0, fourcc="MJPG")
    frames = list(iter_frames(path, 6.0, (32, 32)))
    assert len(frames) == pytest.approx(40, abs=2)
    assert np.array_equal(frames[0].image, frames[1].image)


def test_streaming_is_lazy(tmp_path, monkeypatch):
    """The first sampled frame costs one decoded frame, not the video; closing the stream early
    releases the file."""
    path = write_video(tmp_path / "long.avi", moving_square(200), fps=25.0, fourcc="MJPG")
    captures = []

    class Counting:
        def __init__(self, real):
            self.real, self.grabs, self.released = real, 0, False
            captures.append(self)

        def grab(self):
            self.grabs += 1
            return self.real.grab()

        def release(self):
            self.released = True
            self.real.release()

        def __getattr__(self, name):
            return getattr(self.real, name)

    real_open = video.open_capture
    monkeypatch.setattr(video, "open_capture", lambda p: Counting(real_open(p)))
    stream = iter_frames(path, 6.0, (32, 32))
    first = next(stream)
    assert first.index == 0 and first.time_s == 0
    capture = captures[-1]  # probe opened (and closed) one of its own first
    assert capture.grabs == 1 and not capture.released
    second = next(stream)  # 6 of 25 fps: the next sample is 4 or 5 frames on
    assert second.index == 1 and capture.grabs in (5, 6)
    stream.close()
    assert capture.released and capture.grabs < 10


class _MisreportingCapture:
    """A real OpenCV capture whose container metadata lies, as some files' does."""

    def __init__(self, real, fps: float, timestamps: bool):
        self._real, self._fps, self._timestamps = real, fps, timestamps

    def get(self, prop):
        if prop == cv2.CAP_PROP_FPS:
            return self._fps
        if prop == cv2.CAP_PROP_POS_MSEC and not self._timestamps:
            return 0.0
        return self._real.get(prop)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.mark.parametrize("reported", [0.0, float("nan"), -1.0, 90000.0])
@pytest.mark.parametrize("timestamps", [True, False])
def test_implausible_fps_metadata_is_corrected(tmp_path, monkeypatch, reported, timestamps):
    path = write_video(tmp_path / "clip.avi", moving_square(50), fps=20.0, fourcc="MJPG")
    real_capture = cv2.VideoCapture
    monkeypatch.setattr(
        video.cv2, "VideoCapture", lambda *a: _MisreportingCapture(real_capture(*a), reported, timestamps)
    )
    info = probe(path)
    if timestamps:  # recovered from the decoder's frame timestamps
        assert info.fps == pytest.approx(20.0) and not info.fps_assumed
    else:  # nothing to go on: a stated assumption
        assert info.fps == FALLBACK_FPS and info.fps_assumed
    assert len(list(iter_frames(path, 5.0, (32, 32), info))) > 0


def test_truncated_avi_keeps_the_readable_frames(tmp_path):
    path = write_video(tmp_path / "full.avi", moving_square(100), fps=25.0, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    frames = list(iter_frames(cut, 25.0, (32, 32)))
    assert 20 < len(frames) < 100


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.mp4", b"this is a text file, not a video\n" * 20, "could not be opened"),
        ("noise.avi", bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8)), "could not"),
        ("empty.mp4", b"", "empty"),
    ],
)
def test_files_that_are_not_videos(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VideoError, match=message):
        probe(path)


def test_truncated_mp4_is_refused(tmp_path):
    path = write_video(tmp_path / "whole.mp4", moving_square(60))
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VideoError, match="truncated or corrupt"):
        probe(cut)


def test_still_image_is_refused(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), moving_square(1)[0])
    with pytest.raises(VideoError, match="still image"):
        probe(path)


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(VideoError, match="No such file"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(VideoError, match="folder"):
        probe(tmp_path)


def test_frames_at_picks_the_frames_nearest_the_times(tmp_path):
    path = write_video(tmp_path / "clip.avi", moving_square(50, size=(96, 72)), fps=25.0, fourcc="MJPG")
    frames = frames_at(path, [0.0, 1.0, 1.96, 30.0], width=48)
    assert [f.shape for f in frames] == [(36, 48, 3)] * 4
    grey = [int(f[0, 0].mean()) for f in frames]  # the background brightness encodes the frame index
    assert grey[0] == pytest.approx(0, abs=3) and grey[1] == pytest.approx(25 * 7, abs=3)
    assert grey[2] == grey[3] == pytest.approx((49 * 7) % 255, abs=3)  # past the end: the last frame


def test_staged_bytes_are_removed_with_what_was_written_beside_them():
    with staged(b"data", ".mp4") as path:
        assert path.read_bytes() == b"data"
        (path.parent / "copy.mp4").write_bytes(b"x")
        folder = path.parent
    assert not folder.exists()


def _streamed_webm(out, frame_filter: str = "null"):
    """75 frames of real footage as a browser's MediaRecorder writes them: WebM muxed as a live
    stream, with no duration in its header (so OpenCV reports no frame count)."""
    command = [video.ffmpeg_exe(), "-v", "error", "-i", str(SURFING), "-frames:v", "75", "-an",
               "-vf", frame_filter, "-fps_mode", "passthrough", "-c:v", "libvpx", "-b:v", "1M",
               "-live", "1", "-f", "webm", str(out)]  # fmt: skip
    subprocess.run(command, check=True, timeout=60)
    capture = cv2.VideoCapture(str(out), cv2.CAP_FFMPEG)
    assert not capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0  # the premise: nothing stated
    capture.release()
    return out


def test_a_recording_that_states_no_length_is_measured_from_its_packets(tmp_path):
    """Without its length, a recording's duration read 0 s: a limit on duration let any such
    file through, and the thumbnails could not tell where its end was."""
    info = probe(_streamed_webm(tmp_path / "recording.webm"))
    assert info.frame_count == 75 and info.fps == pytest.approx(25.0, abs=0.1) and not info.fps_assumed
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert len(list(iter_frames(info.path, 5.0, (32, 32), info))) == 15


def test_a_recording_whose_frame_rate_varies_is_timed_at_its_average_rate(tmp_path):
    """A webcam slows down in dim light: 50 frames at 25 fps, then 25 at 12.5 fps. The container
    states the first rate (25 fps), which would make 4 s of recording last 3 s."""
    varying = "setpts='if(lt(N,50),N/25,2+(N-50)/12.5)/TB'"
    info = probe(_streamed_webm(tmp_path / "recording.webm", varying))
    assert info.frame_count == 75
    assert info.duration_s == pytest.approx(3.96, abs=0.05)  # the last frame lasts 40 ms
    assert info.fps == pytest.approx(75 / 3.96, abs=0.1)
