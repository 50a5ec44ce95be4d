"""Teaching the app actions of one's own: a few clips per action become an ordinary bundle.

The clips are staged as a ``<action>/<clip>`` folder in a temporary directory and trained by the
same code as ``python -m core train`` (EfficientNet-Lite0 features, an LSTM head, the kNN
known-ness calibration), split by clip because a user's clips carry no UCF groups. Frames and
features are cached inside that temporary directory, not in the shared cache: what one user
teaches leaves nothing behind for another. Everything a user can get wrong is refused before
any encoding starts, with a message that names the action or clip.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.config import VIDEO_SUFFIXES, Settings
from core.engine.windows import window_starts
from core.errors import DatasetError, ModelError, VideoError
from core.media.video import probe, staged
from core.models import bundle as bundles
from core.models.registry import frame_encoder, input_defaults
from core.training.dataset import GROUP_PATTERN, MIN_CLIPS_PER_CLASS
from core.training.takes import calibrate_if_taught
from core.training.trainer import EpochHook, TrainingConfig, train

MIN_ACTIONS, MAX_ACTIONS = 2, 10
MIN_CLIPS = MIN_CLIPS_PER_CLASS  # per action: the split by clip needs one to learn from, one to check on
RESERVED = "unknown"  # the open-set label; no action may take it
# A linear head on the video network's units: it sees motion and names new takes best from a few
# (docs/open-set.md, the scenario measured on both backbones); the fewest weights to fit.
ARCHITECTURE = "movinet_linear"
# Windows drawn per epoch, whatever the number of clips: with a dozen clips the recipe's 4
# windows per clip would give the optimiser three steps an epoch, too few to learn in 30 epochs.
WINDOWS_PER_EPOCH = 320
# Chosen on two scenarios of 3 actions x 4 takes from 2 UCF101 groups, new takes from 3 others
# (Archery, HorseRace, PlayingPiano; BasketballDunk, PlayingCello, CricketShot; 3 draws each,
# tools/teach_scenario.py), before the scenario of docs/open-set.md was measured: 4 augmented
# copies of each take (core.training.augmented) and early stopping on the held-back takes' loss
# named 11.9 of 15 new takes right, against 10.9 with their clip accuracy (which reaches 100%
# within an epoch or two: best epoch 2) and 10.7 with neither.
AUGMENTED_COPIES = 4
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
TAUGHT_ROOT = Path(tempfile.gettempdir()) / "arl-taught"
STALE_S = 12 * 3600


@dataclass(frozen=True)
class TeachClip:
    """A clip as the user gave it. ``source`` names the video a piece was cut from (or the link
    a clip came from): clips of one source are held back together when the split is made."""

    name: str
    data: bytes
    source: str = ""


@dataclass(frozen=True)
class TeachLimits:
    """Bounds that keep one teach within a small shared host (Settings: ``ARL_TEACH_*``)."""

    max_clips: int = 60
    max_total_s: float = 900.0
    max_mb: float = 200.0

    @classmethod
    def from_settings(cls, settings: Settings) -> TeachLimits:
        return cls(settings.teach_max_clips, settings.teach_max_total_s, settings.teach_max_mb)


@dataclass(frozen=True)
class TeachResult:
    bundle_dir: Path
    accuracy: float  # on the held-back clips
    epochs: int
    best_epoch: int
    seconds: float
    clips: int
    duration_s: float
    calibration: dict  # how it says unknown, on both sides (core.training.takes)


def action_name(text: str) -> str:
    """The action's name as typed, trimmed; refused when it cannot name a class folder."""
    name = " ".join(text.split())
    if not name:
        raise DatasetError("An action has no name: give every action a name.")
    if name.startswith(".") or "/" in name or "\\" in name:
        raise DatasetError(f"'{name}' cannot name an action: no slashes, and no dot at the start.")
    if name.lower() == RESERVED:
        raise DatasetError(f"'{name}' is what the app says for actions it does not know: pick another name.")
    return name


Actions = Mapping[str, Sequence[TeachClip]] | Sequence[tuple[str, Sequence[TeachClip]]]


def _pairs(actions: Actions) -> list[tuple[str, Sequence[TeachClip]]]:
    """(name, clips) pairs: a page passes them as typed, where two may share a name."""
    return list(actions.items()) if isinstance(actions, Mapping) else list(actions)


def check_names(raw_names: Sequence[str]) -> list[str]:
    """The actions' names, trimmed; refused when there are too few or too many, or two alike.
    Checked on its own first where clips still have to be fetched."""
    if not MIN_ACTIONS <= len(raw_names) <= MAX_ACTIONS:
        raise DatasetError(
            f"Teach between {MIN_ACTIONS} and {MAX_ACTIONS} actions; there are {len(raw_names)}."
        )
    names: list[str] = []
    for raw in raw_names:
        name = action_name(raw)
        if name.lower() in (n.lower() for n in names):
            raise DatasetError(f"Two actions are called '{name}': give each action its own name.")
        names.append(name)
    return names


def check_actions(actions: Actions, limits: TeachLimits = TeachLimits()) -> None:
    """Refuse, with a message a user can act on, anything that cannot make a sensible model."""
    actions = _pairs(actions)
    names = check_names([raw for raw, _ in actions])
    seen_clips: dict[str, str] = {}
    for name, (_, clips) in zip(names, actions, strict=True):
        if not clips:
            raise DatasetError(f"'{name}' has no clips yet: give it at least {MIN_CLIPS}.")
        if len(clips) < MIN_CLIPS:
            raise DatasetError(
                f"'{name}' has {len(clips)} clip; it needs {MIN_CLIPS - len(clips)} more "
                f"(at least {MIN_CLIPS}: one to learn from, one to check on; 4 or more work better)."
            )
        for clip in clips:
            if not clip.data:
                raise DatasetError(f"{clip.name} (under '{name}') is empty.")
            digest = hashlib.sha256(clip.data).hexdigest()
            if seen_clips.get(digest) == name:
                raise DatasetError(f"{clip.name} is given twice under '{name}': give each clip once.")
            if digest in seen_clips:
                raise DatasetError(
                    f"{clip.name} is under both '{seen_clips[digest]}' and '{name}': "
                    "a clip can teach one action only."
                )
            seen_clips[digest] = name
    total = sum(len(clips) for _, clips in actions)
    if total > limits.max_clips:
        raise DatasetError(f"{total} clips is more than this app takes at once ({limits.max_clips}).")
    megabytes = sum(len(c.data) for _, clips in actions for c in clips) / 1e6
    if megabytes > limits.max_mb:
        raise DatasetError(
            f"The clips come to {megabytes:.0f} MB; this app takes {limits.max_mb:.0f} MB at most."
        )


def clip_windows(clip: TeachClip) -> tuple[float, int]:
    """(seconds, analysis windows) of one clip at the teach recipe's sampling: what the page
    shows per action, so that a user sees how much each action has to learn from. A clip that
    cannot be read raises VideoError."""
    with staged(clip.data, Path(clip.name).suffix.lower()) as path:
        info = probe(path)
    return info.duration_s, windows_in(info.duration_s)


def windows_in(seconds: float) -> int:
    """Analysis windows in ``seconds`` of video at the teach recipe's sampling."""
    defaults = input_defaults(ARCHITECTURE)
    frames = max(1, math.ceil(seconds * defaults.sampling_fps))
    encoder = frame_encoder(ARCHITECTURE)
    steps = encoder.steps(frames) if hasattr(encoder, "steps") else frames  # the video network's units
    return len(window_starts(steps, defaults.sequence_length, defaults.hop_frames))


def _file_name(order: int, clip: TeachClip) -> str:
    """Source order first (the split spreads its held-back clips through that order), then a
    name safe on any file system, keeping a video suffix. A piece is named
    ``<order>-<source>~<piece>``: the split holds back clips that share what comes before ``~``."""
    suffix = Path(clip.name).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise DatasetError(
            f"{clip.name} is not a video file this app reads ({', '.join(sorted(VIDEO_SUFFIXES))})."
        )

    def safe(text: str) -> str:  # a user's clips are split by clip: a UCF-style _gNN_ must not group them
        return GROUP_PATTERN.sub(r"-g\1-", _UNSAFE.sub("_", text))[:60]

    stem = safe(Path(clip.name).stem)
    if clip.source:
        stem = f"{safe(Path(clip.source).stem)}~{stem}"
    return f"{order:02d}-{stem}{suffix}"


def _stage(actions: Actions, root: Path, limits: TeachLimits) -> dict[str, list]:
    """Write the clips as ``root/<action>/<clip>``; every clip must decode. Returns, per action,
    each clip's given name, staged name and duration (for the model card)."""
    taught: dict[str, list] = {}
    total_s = 0.0
    for raw, clips in _pairs(actions):
        name = action_name(raw)
        folder = root / name
        folder.mkdir(parents=True)
        taught[name] = []
        order: dict[str, int] = {}  # upload order, pieces of one source sharing their source's place
        for clip in clips:
            path = folder / _file_name(order.setdefault(clip.source or clip.name, len(order) + 1), clip)
            path.write_bytes(clip.data)
            try:
                info = probe(path)
            except VideoError as error:
                raise DatasetError(f"{clip.name} (under '{name}'): {error}") from None
            total_s += info.duration_s
            record = {"clip": clip.name, "file": path.name, "duration_s": round(info.duration_s, 2)}
            taught[name].append({**record, "source": clip.source} if clip.source else record)
    if total_s > limits.max_total_s:
        raise DatasetError(
            f"The clips last {total_s / 60:.1f} min in all; "
            f"this app takes {limits.max_total_s / 60:.0f} min at most."
        )
    return taught


def _clips_section(taught: dict[str, list]) -> str:
    rows = "\n".join(
        f"| {action} | {c['clip']} | {c['duration_s']:.1f} s |"
        for action, clips in taught.items()
        for c in clips
    )
    return f"\n## The clips it was taught\n\n| action | clip | length |\n|---|---|---|\n{rows}\n"


def teach(
    actions: Actions,
    out_dir: str | Path,
    limits: TeachLimits = TeachLimits(),
    epochs: int = 30,
    log: Callable[[str], None] = lambda _: None,
    on_epoch: EpochHook | None = None,
) -> TeachResult:
    """Train a bundle on ``actions`` (name -> clips, or such pairs) into ``out_dir``. ``on_epoch`` sees each
    epoch's record and may stop training by returning True (the best epoch so far is kept)."""
    check_actions(actions, limits)
    started = time.perf_counter()
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="arl-teach-") as work:
        clips_dir = Path(work) / out_dir.name
        log("checking the clips")
        taught = _stage(actions, clips_dir, limits)
        clips = sum(len(own) for own in taught.values())
        config = TrainingConfig(
            architecture=ARCHITECTURE,
            epochs=epochs,
            patience=max(5, epochs // 3),
            windows_per_clip=max(4, math.ceil(WINDOWS_PER_EPOCH / clips)),
            augmented_copies=AUGMENTED_COPIES,
            stop_on="val_loss",
        )
        counts = ", ".join(f"{name} ({len(own)})" for name, own in taught.items())
        command = (
            f"# the Teach page, on {counts} clips (listed below) as {out_dir.name}/<action>/<clip>\n"
            f"python -m core train {out_dir.name} --arch {ARCHITECTURE} --out {out_dir.name} "
            f"--epochs {config.epochs} --patience {config.patience} "
            f"--windows-per-clip {config.windows_per_clip} --augment {config.augmented_copies} "
            f"--stop-on {config.stop_on}"
        )
        cache_dir = Path(work) / "cache"
        result = train(clips_dir, config, out_dir, command, cache_dir=cache_dir, log=log, on_epoch=on_epoch)
        calibrate_if_taught(out_dir, clips_dir, cache_dir, log)
    metrics = json.loads((out_dir / "metrics.json").read_text())
    card = (out_dir / "README.md").read_text() + _clips_section(taught)
    bundles.write_documents(out_dir, {**metrics, "taught": taught}, card)
    duration = sum(c["duration_s"] for own in taught.values() for c in own)
    return TeachResult(
        out_dir,
        result.accuracy,
        result.epochs_run,
        result.best_epoch,
        time.perf_counter() - started,
        clips,
        duration,
        metrics["takes_calibration"],
    )


def new_bundle_folder(session: str, name: str, root: Path | None = None) -> Path:
    """A fresh folder, ``root/<session>/<name>`` (``-2``, ``-3``, ... if taken), for a bundle one
    browser session teaches or loads; no other session's picker lists it. A session cannot say
    when it ends, so folders of sessions untouched for ``STALE_S`` (Streamlit Community Cloud
    sleeps an idle app after 12 h) are removed here, each time a new one is made."""
    root = root or TAUGHT_ROOT
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        if old.name != session and now - old.stat().st_mtime > STALE_S:
            shutil.rmtree(old, ignore_errors=True)
    home = root / _UNSAFE.sub("_", session)
    home.mkdir(exist_ok=True)
    home.touch()  # marks the session as alive for the sweep above
    base = _UNSAFE.sub("-", name).strip("-. ") or "my-actions"
    folder, copy = home / base, 1
    while folder.exists():
        copy += 1
        folder = home / f"{base}-{copy}"
    return folder


def zip_bundle(folder: str | Path) -> bytes:
    """A bundle folder as zip bytes (its files at the top level), for a download button."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).iterdir()):
            if path.is_file():
                archive.write(path, path.name)
    return buffer.getvalue()


def unzip_bundle(data: bytes, into: str | Path) -> Path:
    """A zipped bundle unpacked into ``into`` and loaded (safe_mode) to prove it is one. Only
    plain top-level files are taken: no paths, so nothing lands outside ``into``."""
    into = Path(into)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if any("/" in m.filename or "\\" in m.filename or m.filename.startswith(".") for m in members):
                raise ModelError(
                    "This zip holds folders; a bundle zip holds its files at the top level only."
                )
            into.mkdir(parents=True, exist_ok=True)
            for member in members:
                (into / member.filename).write_bytes(archive.read(member))
    except zipfile.BadZipFile:
        raise ModelError("This file is not a zip of a model bundle.") from None
    try:
        bundles.load(into)
    except ModelError:
        shutil.rmtree(into, ignore_errors=True)
        raise
    return into
