"""Where a taught action's clips come from besides whole uploads: video links (fetched through
the link fetcher, with its allow-list and limits) and pieces cut out of longer videos.

People rarely have a folder of short clips of one action; they have a long video with the
action in several places, or a link to one. Under each action they write one line per clip:

    https://www.youtube.com/watch?v=...            the whole linked video
    https://www.youtube.com/watch?v=... 0:12-0:17  a piece of it
    training-day.mp4 1:05-1:11.5                   a piece of a clip uploaded under the action

An uploaded clip that pieces are cut from is used only through its pieces. Pieces of one
video keep its name as their ``source``, so that the split holds them back together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ActionLabError, DatasetError
from core.media.encode import cut
from core.media.video import probe, staged
from core.training.teach import TeachClip

MIN_PIECE_S = 1.0  # shorter than a second says too little about an action to learn from
_TIME = r"\d+(?::\d+){0,2}(?:\.\d+)?"
_LINE = re.compile(rf"^(?P<source>\S+)(?:\s+(?P<start>{_TIME})\s*-\s*(?P<end>{_TIME}))?$")
EXAMPLE = "https://www.youtube.com/watch?v=… 0:12-0:17\nmy-long-video.mp4 1:05-1:11"

Fetch = Callable[[str], TeachClip]


@dataclass(frozen=True)
class ClipRequest:
    """One line under an action: a link or an uploaded clip's name, and optionally a stretch."""

    line: int
    source: str
    start_s: float | None = None
    end_s: float | None = None

    @property
    def is_link(self) -> bool:
        return self.source.lower().startswith(("http://", "https://"))


def seconds(text: str) -> float:
    """``75``, ``1:15`` or ``0:01:15.5`` as seconds; minutes and seconds after a colon stay under 60."""
    parts = text.split(":")
    if any(float(part) >= 60 for part in parts[1:]):
        raise ValueError(f"{text} is not a time (minutes and seconds run to 59)")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def parse_requests(action: str, text: str) -> list[ClipRequest]:
    """The non-empty lines under ``action``, each a ClipRequest; a line that cannot be read is
    refused with its number and what a line looks like."""
    requests = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"'{action}', line {number}"
        match = _LINE.match(line)
        if match is None:
            raise DatasetError(
                f"{where}: '{line}' is not a link or a clip name followed by START-END "
                "(e.g. 'my-video.mp4 0:12-0:17')."
            )
        if match["start"] is None:
            requests.append(ClipRequest(number, match["source"]))
            continue
        try:
            start, end = seconds(match["start"]), seconds(match["end"])
        except ValueError as error:
            raise DatasetError(f"{where}: {error}.") from None
        if end - start < MIN_PIECE_S:
            raise DatasetError(
                f"{where}: {match['start']}-{match['end']} must end at least "
                f"{MIN_PIECE_S:g} s after it starts."
            )
        requests.append(ClipRequest(number, match["source"], start, end))
    return requests


def cut_piece(clip: TeachClip, start_s: float, end_s: float) -> TeachClip:
    """``start_s``-``end_s`` of ``clip`` as a clip of its own (H.264 MP4), its source kept."""
    with staged(clip.data, Path(clip.name).suffix.lower()) as path:
        duration = probe(path).duration_s
        if start_s >= duration - MIN_PIECE_S / 2:
            raise DatasetError(f"{clip.name} lasts {duration:.1f} s: a piece cannot start at {start_s:g} s.")
        end_s = min(end_s, duration)
        data = cut(path, start_s, end_s, path.parent / "piece.mp4").read_bytes()
    name = f"{Path(clip.name).stem} {start_s:g}-{end_s:g}s.mp4"
    return TeachClip(name, data, source=clip.source or clip.name)


def gather_clips(action: str, uploads: Sequence[TeachClip], text: str, fetch: Fetch) -> list[TeachClip]:
    """An action's clips: its uploads, less those cut into pieces, then one clip per line of
    ``text`` (a fetched link, or a piece of a link or an upload). Errors name the action and line."""
    requests = parse_requests(action, text)
    uploaded = {clip.name: clip for clip in uploads}
    cut_from = {r.source for r in requests if not r.is_link and r.start_s is not None}
    clips = [clip for clip in uploads if clip.name not in cut_from]
    for request in requests:
        where = f"'{action}', line {request.line}"
        try:
            if request.is_link:
                whole = fetch(request.source)
            elif request.source in uploaded:
                whole = uploaded[request.source]
            else:
                raise DatasetError(
                    f"no clip called {request.source} is uploaded under this action "
                    f"(it has: {', '.join(uploaded) or 'none'})."
                )
            if request.start_s is None:
                if not request.is_link:
                    continue  # a name alone: the whole upload, which is in already
                clips.append(whole)
            else:
                clips.append(cut_piece(whole, request.start_s, request.end_s))
        except ActionLabError as error:
            raise type(error)(f"{where}: {error}") from error
    return clips
