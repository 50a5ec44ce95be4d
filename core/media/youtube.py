"""Videos from links (YouTube by default), fetched with yt-dlp's Python API, never a shell.

The app may be hosted publicly, so a link is a request we make on a stranger's behalf: the
URL is checked against an allow-list of hosts before yt-dlp sees it (no other schemes, no
credentials, no private or local addresses unless an operator lists them), and the media URL
that extraction picks is checked the same way before anything is downloaded. Metadata is read
first, so live streams, playlists and videos over the limits are refused without a download.
A single-file MP4 of at most 480p is asked for: nothing has to be merged, so no ffprobe.
"""

from __future__ import annotations

import ipaddress
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import DownloadError

FORMAT = "best[ext=mp4][height<=?480]/best[height<=?480]"
SOCKET_TIMEOUT_S = 20
# Media servers that YouTube's own extractor hands out; they are not pages a user can name.
EXTRACTOR_MEDIA_HOSTS = {"youtube": ("googlevideo.com",)}
LIVE_STATES = {"is_live", "is_upcoming", "post_live"}
UPLOAD_INSTEAD = "Download the video yourself and upload the file instead."

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class FetchedVideo:
    path: Path
    title: str
    url: str
    duration_s: float | None
    size_bytes: int


def safe_name(title: str, limit: int = 60) -> str:
    """A file-name stem from a video title, for the names of exports."""
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in title.strip())
    stem = "_".join(part for part in stem.split("_") if part)[:limit]
    return stem or "video"


def check_url(url: str, allowed_hosts: Iterable[str]) -> str:
    """The URL, stripped, if it may be fetched; otherwise DownloadError saying why."""
    text = url.strip()
    if not text:
        raise DownloadError("Paste a link to a video.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError as error:
        raise DownloadError(f"'{text}' is not a valid link.") from error
    if parts.scheme.lower() not in ("http", "https"):
        raise DownloadError(f"Only http and https links are accepted, not '{parts.scheme or text}'.")
    if "@" in parts.netloc:
        raise DownloadError("Links with a user name or password in them are refused.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise DownloadError(f"'{text}' names no host.")
    allowed = {h.strip().lower() for h in allowed_hosts}
    if host in allowed:
        return text
    if _internal(host):
        raise DownloadError(f"{host} is a private, local or reserved address: links there are refused.")
    raise DownloadError(
        f"Links to {host} are not allowed here; this app fetches videos from: {', '.join(sorted(allowed))}."
    )


def _internal(host: str) -> bool:
    """Loopback, private, link-local or reserved: places a public app must not be made to reach."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def _refuse_internal(url: str, allowed: tuple[str, ...]) -> None:
    host = (urlsplit(url).hostname or "").lower()
    if host not in allowed and _internal(host):
        raise DownloadError(f"The link led to {host}, a private, local or reserved address: refused.")


def _guarded_downloader(allowed: tuple[str, ...]):
    """A YoutubeDL that checks every request yt-dlp makes, not only the link: a page on an
    allowed host could point the extractor at an internal address, and a response could
    redirect there. Redirects are followed inside yt-dlp's request handler, after ``urlopen``,
    so the downloader uses only its urllib handler, whose redirect step checks the target
    before anything is sent there."""
    import yt_dlp
    from yt_dlp.networking._urllib import RedirectHandler, UrllibRH
    from yt_dlp.networking.exceptions import RequestError

    class RefusedRedirect(RequestError):
        """What yt-dlp lets through its request handling unwrapped: it carries the refusal."""

        def __init__(self, refusal: DownloadError):
            super().__init__(str(refusal))
            self.refusal = refusal

    class GuardedRedirects(RedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            try:
                _refuse_internal(newurl, allowed)
            except DownloadError as refusal:
                raise RefusedRedirect(refusal) from None
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    class GuardedUrllibRH(UrllibRH):
        def _create_instance(self, *args, **kwargs):
            opener = super()._create_instance(*args, **kwargs)
            for handler in opener.handlers:
                if type(handler) is RedirectHandler:
                    handler.__class__ = GuardedRedirects  # the same handler, its redirect step checked
            return opener

    class GuardedYoutubeDL(yt_dlp.YoutubeDL):
        def urlopen(self, req):
            _refuse_internal(req if isinstance(req, str) else req.url, allowed)
            return super().urlopen(req)

        def build_request_director(self, handlers, preferences=None):
            return super().build_request_director([GuardedUrllibRH], preferences)

    return GuardedYoutubeDL


def check_metadata(info: dict, max_duration_s: float, max_bytes: int) -> None:
    """Refuse, before any download, what the analysis cannot or should not take."""
    if info.get("_type") in ("playlist", "multi_video") or info.get("entries") is not None:
        raise DownloadError("This link is a playlist or a channel: paste a link to one video.")
    if info.get("is_live") or info.get("live_status") in LIVE_STATES:
        raise DownloadError("This is a live stream: only finished videos can be analysed.")
    duration = info.get("duration")
    if duration and duration > max_duration_s:
        raise DownloadError(
            f"The video is {duration / 60:.1f} minutes long; the limit is {max_duration_s / 60:.0f} minutes."
        )
    size = info.get("filesize") or info.get("filesize_approx")
    if size and size > max_bytes:
        raise DownloadError(f"The video file is {size / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB.")


def _check_media_url(info: dict, allowed_hosts: Iterable[str]) -> None:
    media_url = info.get("url")
    if not media_url:
        raise DownloadError("No single-file video of 480p or less is offered at this link.")
    host = (urlsplit(media_url).hostname or "").lower()
    extractor = str(info.get("extractor_key") or info.get("extractor") or "").lower()
    if any(host == d or host.endswith("." + d) for d in EXTRACTOR_MEDIA_HOSTS.get(extractor, ())):
        return
    check_url(media_url, allowed_hosts)


_MESSAGES = (  # (fragments of yt-dlp's message, what the user reads), first match wins
    (("confirm you", "not a bot", "sign in to confirm", "age-restricted", "inappropriate for some users",
      "members-only", "join this channel"),
     f"YouTube wants a signed-in user to show this video (age or bot check). {UPLOAD_INSTEAD}"),
    (("private video", "video unavailable", "is not available", "has been removed", "http error 404",
      "http error 410"),
     "The video is unavailable or private."),
    (("unsupported url",), "No video was found at this link (unsupported URL)."),
    (("requested format is not available",), "No single-file video of 480p or less is offered at this link."),
    (("http error 403", "http error 429"), f"The video site refused the download. {UPLOAD_INSTEAD}"),
    (("unable to download", "failed to resolve", "connection refused", "timed out", "network is unreachable",
      "name or service not known", "temporary failure in name resolution", "urlopen error", "errno"),
     "The video site could not be reached: check the link and the connection, or upload the file instead."),
)  # fmt: skip


def _guard_refusal(error: BaseException) -> DownloadError | None:
    """The guard's own refusal, if that is what stopped yt-dlp: found along the chain of causes
    that yt-dlp wraps it in (``exc_info``, ``cause``, ``__cause__``)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, DownloadError):
            return error
        if isinstance(getattr(error, "refusal", None), DownloadError):
            return error.refusal
        wrapped = getattr(error, "exc_info", None)
        error = (wrapped[1] if wrapped else None) or getattr(error, "cause", None) or error.__cause__
    return None


def _plain_message(error: Exception) -> str:
    text = str(error).lower()
    for fragments, message in _MESSAGES:
        if any(fragment in text for fragment in fragments):
            return message
    return f"The video could not be downloaded ({str(error).removeprefix('ERROR: ')[:200]})."


class _Log:
    """Keeps yt-dlp's messages out of the terminal; remembers the ones that explain a skip."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        self.lines.append(message)

    info = warning = error = debug


def _options(folder: Path, max_bytes: int, log: _Log, progress: Progress | None) -> dict:
    import imageio_ffmpeg

    def hook(status: dict) -> None:
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if progress and status.get("status") == "downloading" and total:
            progress(min(status.get("downloaded_bytes", 0) / total, 1.0), "downloading")

    return {
        "format": FORMAT,
        "noplaylist": True,  # a watch link inside a playlist means that one video
        "extract_flat": "in_playlist",  # a playlist is refused without resolving its entries
        "outtmpl": {"default": str(folder / "video.%(ext)s")},
        "paths": {"home": str(folder), "temp": str(folder)},
        "ffmpeg_location": imageio_ffmpeg.get_ffmpeg_exe(),
        "max_filesize": max_bytes,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "retries": 1,
        "cachedir": False,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": log,
        "progress_hooks": [hook],
    }


@contextmanager
def fetched(
    url: str,
    allowed_hosts: Iterable[str],
    max_duration_s: float,
    max_bytes: int,
    progress: Progress | None = None,
    temp_root: Path | None = None,
) -> Iterator[FetchedVideo]:
    """``with fetched(url, ...) as video:`` the downloaded file, removed when the block ends."""
    allowed = tuple(allowed_hosts)
    url = check_url(url, allowed)
    import yt_dlp

    folder = Path(tempfile.mkdtemp(prefix="action-lab-link-", dir=temp_root))
    try:
        log = _Log()
        if progress:
            progress(0.0, "reading the link")
        with _guarded_downloader(allowed)(_options(folder, max_bytes, log, progress)) as ydl:
            try:
                info = ydl.extract_info(url, download=False)
                check_metadata(info, max_duration_s, max_bytes)
                _check_media_url(info, allowed)
                ydl.process_info(info)
            except yt_dlp.utils.YoutubeDLError as error:
                refusal = _guard_refusal(error)
                if refusal is not None:
                    raise refusal from error
                raise DownloadError(_plain_message(error)) from error
        files = [p for p in folder.iterdir() if p.is_file() and not p.name.endswith((".part", ".ytdl"))]
        if not files:
            if any("max-filesize" in line for line in log.lines):
                raise DownloadError(f"The video file is larger than the {max_bytes / 1e6:.0f} MB limit.")
            raise DownloadError("The download finished without a video file.")
        path = files[0]
        yield FetchedVideo(
            path, str(info.get("title") or path.stem), url, info.get("duration"), path.stat().st_size
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
