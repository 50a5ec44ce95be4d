"""An action's clips from links and from pieces of longer videos (core/training/teach_sources.py):
lines parsed strictly, real clips cut by ffmpeg, a link fetched by the real yt-dlp code from a
server on 127.0.0.1."""

import pytest

from core.errors import DatasetError, DownloadError
from core.media.video import probe, staged
from core.media.youtube import fetched
from core.training.teach import TeachClip
from core.training.teach_sources import ClipRequest, gather_clips, parse_requests, seconds
from tests.support import UCF6

LONG = sorted((UCF6 / "Surfing").glob("*_g12_*"))[0]  # 14.6 s
SHORT = sorted((UCF6 / "Surfing").glob("*_g13_*"))[0]


def _upload(path, name: str) -> TeachClip:
    return TeachClip(name, path.read_bytes())


def _no_links(url: str) -> TeachClip:
    raise AssertionError(f"nothing should be fetched here, not {url}")


def test_times_and_lines_are_read_as_people_write_them():
    assert [seconds(t) for t in ("75", "1:15", "0:01:15.5", "2.5")] == [75, 75, 75.5, 2.5]
    text = "\n# my notes\nhttps://www.youtube.com/watch?v=abc\nday.mp4 1:05-1:11.5\n  day.mp4 0-4  \n"
    assert parse_requests("wave", text) == [
        ClipRequest(3, "https://www.youtube.com/watch?v=abc"),
        ClipRequest(4, "day.mp4", 65.0, 71.5),
        ClipRequest(5, "day.mp4", 0.0, 4.0),
    ]
    assert parse_requests("wave", text)[0].is_link and not parse_requests("wave", text)[1].is_link


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("day.mp4 0:10", "is not a link or a clip name followed by START-END"),
        ("day.mp4 0:10 - 0:12 extra", "is not a link"),
        ("day.mp4 0:70-0:75", "0:70 is not a time"),
        ("day.mp4 5-4", "must end at least 1 s after it starts"),
        ("day.mp4 5-5.5", "must end at least 1 s after it starts"),
    ],
)
def test_a_line_that_cannot_be_read_is_refused_with_its_number(line, message):
    with pytest.raises(DatasetError, match=f"^'wave', line 2: .*{message}"):
        parse_requests("wave", f"day.mp4 0-3\n{line}")


def test_an_upload_cut_into_pieces_is_used_through_its_pieces_only():
    uploads = [_upload(LONG, "day.mp4"), _upload(SHORT, "other.mp4")]
    clips = gather_clips("surf", uploads, "day.mp4 1-4\nday.mp4 0:06-0:10.5\nother.mp4", _no_links)
    assert [c.name for c in clips] == ["other.mp4", "day 1-4s.mp4", "day 6-10.5s.mp4"]
    assert [c.source for c in clips] == ["", "day.mp4", "day.mp4"]
    for clip, expected in zip(clips[1:], (3.0, 4.5), strict=True):
        with staged(clip.data, ".mp4") as path:
            info = probe(path)
        assert abs(info.duration_s - expected) <= 0.1 and (info.width, info.height) == (320, 240)
    # a piece running past the end stops at the end
    (tail,) = gather_clips("surf", uploads[:1], "day.mp4 12-20", _no_links)
    assert tail.name == "day 12-14.56s.mp4"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("missing.mp4 0-3", DatasetError, "line 1: no clip called missing.mp4 is uploaded .*it has: day.mp4"),
        (
            "day.mp4 0-3\nday.mp4 30-40",
            DatasetError,
            "line 2: day.mp4 lasts 14.6 s: a piece cannot start at 30 s",
        ),
        ("https://example.com/v.mp4", DownloadError, "line 1: Links to example.com are not allowed"),
    ],
)
def test_what_cannot_give_a_clip_names_the_action_and_line(text, error, message):
    def fetch(url: str) -> TeachClip:
        with fetched(url, ("youtube.com",), 600, 10**8) as video:
            return TeachClip(video.title, video.path.read_bytes(), source=url)

    with pytest.raises(error, match=f"^'surf', {message}"):
        gather_clips("surf", [_upload(LONG, "day.mp4")], text, fetch)


def test_a_link_and_pieces_of_it_come_through_the_real_fetcher(site):
    base, paths = site
    fetches = []

    def fetch(url: str) -> TeachClip:
        fetches.append(url)
        with fetched(url, ("127.0.0.1",), 600, 10**8) as video:
            return TeachClip(video.path.name, video.path.read_bytes(), source=url)

    link = f"{base}/clip.mp4"
    clips = gather_clips("surf", [], f"{link}\n{link} 2-5", fetch)
    assert fetches == [link, link] and "/clip.mp4" in paths
    assert [c.source for c in clips] == [link, link]
    with staged(clips[1].data, ".mp4") as path:
        assert abs(probe(path).duration_s - 3.0) <= 0.1
