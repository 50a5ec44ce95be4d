"""Links through the real yt-dlp code, against plain http.servers on 127.0.0.1 (and on 127.0.0.2, as
an internal address a link must not reach)."""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.config import Settings
from core.engine.analysis import analyze
from core.errors import DownloadError
from core.media import youtube
from tests.support import LINK_CLIP

LOCAL = ("127.0.0.1",)
LIMITS = {"max_duration_s": 600.0, "max_bytes": 50_000_000}


def fetch_only(url: str, hosts, **kwargs) -> None:
    """Fetch and throw away: for the checks that must refuse before or during the download."""
    with youtube.fetched(url, hosts, **kwargs):
        pass


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: bound by the system, then let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def answering(host: str, respond) -> Iterator[tuple[str, list[str]]]:
    """A web server on ``host`` whose every GET or HEAD is answered by ``respond(path)`` with
    ``(status, headers, body)``; yields its base URL and the log of requested paths."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.server.paths.append(self.path)
            status, headers, body = respond(self.path)
            self.send_response(status)
            for key, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

    server = ThreadingHTTPServer((host, 0), Handler)
    server.paths = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}", server.paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def redirect_inside():
    """A link on the allowed host 127.0.0.1 that redirects (HTTP 302) to an internal address,
    127.0.0.2, which is not allowed; yields the link and both servers' request logs."""
    with answering("127.0.0.2", lambda path: (200, {"Content-Type": "video/mp4"}, b"internal")) as inside:
        target, inside_paths = inside
        with answering("127.0.0.1", lambda path: (302, {"Location": f"{target}/secret.mp4"}, b"")) as outside:
            base, outside_paths = outside
            yield f"{base}/watch.mp4", outside_paths, inside_paths


@pytest.fixture
def no_requests(monkeypatch):
    """Fails the test if yt-dlp is ever asked to do anything."""
    import yt_dlp

    def refuse(*args, **kwargs):
        raise AssertionError("yt-dlp was called")

    monkeypatch.setattr(yt_dlp, "YoutubeDL", refuse)


def test_allowed_local_link_downloads_and_analyses_and_leaves_nothing(site, tmp_path):
    base, paths = site
    reports = []
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    with youtube.fetched(
        f"{base}/clip.mp4", LOCAL, progress=lambda f, s: reports.append((f, s)), temp_root=temp_root, **LIMITS
    ) as video:
        assert video.path.read_bytes() == LINK_CLIP.read_bytes()
        from core.config import LRCN_BUNDLE
        from core.models import bundle

        assert analyze(video.path, bundle.load(LRCN_BUNDLE)).top_k(1)[0][0] == "Surfing"
    assert list(temp_root.iterdir()) == []
    assert "/clip.mp4" in paths
    assert reports[0] == (0.0, "reading the link") and reports[-1] == (1.0, "downloading")


def test_default_settings_refuse_the_same_link(site, no_requests):
    base, paths = site
    with pytest.raises(DownloadError, match="127.0.0.1 is a private, local or reserved address"):
        fetch_only(f"{base}/clip.mp4", Settings().allowed_hosts, **LIMITS)
    assert paths == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https"),
        ("ftp://youtube.com/video.mp4", "Only http and https"),
        ("http://169.254.169.254/latest/meta-data/", "private, local or reserved"),
        ("http://10.0.0.1/", "private, local or reserved"),
        ("http://[::1]:8080/x.mp4", "private, local or reserved"),
        ("http://user:pw@youtube.com/watch?v=abc", "user name or password"),
        ("https://evil.example/watch?v=abc", "not allowed"),
        ("https://youtube.com.evil.example/watch", "not allowed"),
        ("https://youtube.com:99999/watch", "not a valid link"),
        ("   ", "Paste a link"),
    ],
)
def test_refused_links_make_no_request(url, message, no_requests):
    with pytest.raises(DownloadError, match=message):
        fetch_only(url, Settings().allowed_hosts, **LIMITS)


def test_youtube_links_pass_the_host_check():
    for url in ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://youtu.be/dQw4w9WgXcQ"):
        assert youtube.check_url(url, Settings().allowed_hosts) == url


def test_a_video_over_the_duration_limit_is_refused_before_download(site):
    base, paths = site
    reports = []
    with pytest.raises(DownloadError, match="120.0 minutes long; the limit is 10 minutes"):
        fetch_only(f"{base}/long.html", LOCAL, progress=lambda f, s: reports.append(s), **LIMITS)
    assert "/long.html" in paths
    assert reports == ["reading the link"]  # never reached "downloading"


def test_a_page_pointing_at_an_internal_address_is_refused_at_the_request(site):
    base, _ = site
    with pytest.raises(DownloadError, match="led to 127.0.0.2, a private, local or reserved address"):
        fetch_only(f"{base}/internal.html", LOCAL, **LIMITS)


def test_a_redirect_from_an_allowed_host_to_an_internal_address_is_refused(redirect_inside, tmp_path):
    link, outside_paths, _ = redirect_inside
    with pytest.raises(DownloadError) as refused:
        fetch_only(link, LOCAL, temp_root=tmp_path, **LIMITS)
    assert "/watch.mp4" in outside_paths  # the link itself was fetched, and it redirected
    assert str(refused.value) == "The link led to 127.0.0.2, a private, local or reserved address: refused."
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_to_an_internal_address_sends_nothing_there(redirect_inside):
    link, _, inside_paths = redirect_inside
    with pytest.raises(DownloadError, match="127.0.0.2, a private, local or reserved address"):
        fetch_only(link, LOCAL, **LIMITS)
    assert inside_paths == []


def test_a_file_over_the_size_limit_is_refused(site):
    base, _ = site
    with pytest.raises(DownloadError, match="limit is 0 MB|larger than the 0 MB limit"):
        fetch_only(f"{base}/clip.mp4", LOCAL, max_duration_s=600, max_bytes=10_000)


def test_missing_and_unreachable_videos_get_plain_messages(site, tmp_path):
    base, _ = site
    tmp_path = tmp_path / "tmp"
    tmp_path.mkdir()
    with pytest.raises(DownloadError, match="unavailable or private"):
        fetch_only(f"{base}/gone.mp4", LOCAL, temp_root=tmp_path, **LIMITS)
    with pytest.raises(DownloadError, match="could not be reached"):
        fetch_only(f"http://127.0.0.1:{closed_port()}/clip.mp4", LOCAL, temp_root=tmp_path, **LIMITS)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"_type": "playlist", "entries": []}, "playlist or a channel"),
        ({"is_live": True}, "live stream"),
        ({"live_status": "is_upcoming"}, "live stream"),
        ({"duration": 601}, "limit is 10 minutes"),
        ({"filesize_approx": 60_000_000}, "60 MB; the limit is 50 MB"),
    ],
)
def test_metadata_checks(info, message):
    with pytest.raises(DownloadError, match=message):
        youtube.check_metadata(info, **LIMITS)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ERROR: [youtube] abc: Sign in to confirm you’re not a bot. Use --cookies", "signed-in user"),
        (
            "ERROR: [youtube] abc: Private video. Sign in if you've been granted access",
            "unavailable or private",
        ),
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed", "unavailable or private"),
        ("ERROR: Unsupported URL: https://www.youtube.com/about", "unsupported URL"),
        ("ERROR: Unable to download webpage: <urlopen error [Errno -3]>", "could not be reached"),
    ],
)
def test_yt_dlp_errors_become_plain_messages(raw, message):
    assert message in youtube._plain_message(Exception(raw))


def test_downloaded_file_is_removed_even_when_analysis_fails(site, tmp_path):
    base, _ = site
    tmp_path = tmp_path / "tmp"
    tmp_path.mkdir()
    with (
        pytest.raises(RuntimeError),
        youtube.fetched(f"{base}/clip.mp4", LOCAL, temp_root=tmp_path, **LIMITS) as video,
    ):
        assert Path(video.path).is_file()
        raise RuntimeError("analysis failed")
    assert list(tmp_path.iterdir()) == []
