"""Settings read from ``ARL_*`` environment variables, with defaults safe for a public host."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.errors import ActionLabError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
BACKBONES_DIR = MODELS_DIR / "backbones"  # third-party frozen weights (their README says whence)
# The default: a head on the Kinetics-600 video network's units, chosen by cross-validation
# (docs/movinet.md). The former default (ImageNet EfficientNet-Lite0 frames + LSTM) stays as a
# bundle; the scratch LRCN stays as the small, classic model the Learn pages take apart.
DEFAULT_BUNDLE = MODELS_DIR / "movinet-linear-ucf101-11"
EFFNET_BUNDLE = MODELS_DIR / "effnet-lstm-ucf101-11"
LRCN_BUNDLE = MODELS_DIR / "lrcn-ucf101-6"
# Sample clips for the app: shipped ones first, else the shared data folder beside a checkout.
SAMPLE_DIRS = (PROJECT_ROOT / "assets" / "samples", PROJECT_ROOT.parent / "shared" / "data" / "samples")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
# The live view's WebRTC ICE servers unless ARL_ICE_SERVERS says otherwise: a public STUN server
# lets a browser and the app find each other through most home routers.
PUBLIC_STUN = '[{"urls": ["stun:stun.l.google.com:19302"]}]'


def cache_root() -> Path:
    """Where decoded frames, backbone features and converted models are kept between runs
    (``ARL_CACHE_DIR``, read from the environment only)."""
    return Path(os.environ.get("ARL_CACHE_DIR", Path.home() / ".cache" / "action-lab"))


def sample_clips() -> list[Path]:
    """Video files in the first sample folder that exists (none on a bare deployment)."""
    for folder in SAMPLE_DIRS:
        if folder.is_dir():
            return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    return []


def _lookup(name: str, fallback: Mapping[str, str]) -> str:
    return os.environ.get(name, fallback.get(name, "")).strip()


def _is_set(name: str, fallback: Mapping[str, str]) -> bool:
    """An empty value counts as set: ``ARL_MODEL_REPO=`` switches the Hub off."""
    return name in os.environ or name in fallback


def _env_hosts(name: str, fallback: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(host.strip().lower() for host in _lookup(name, fallback).split(",") if host.strip())


def _env_float(name: str, default: float, low: float, high: float, fallback: Mapping[str, str]) -> float:
    raw = _lookup(name, fallback)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise ActionLabError(f"{name}={raw!r} is not a number between {low:g} and {high:g}.")
    return value


def _is_ice_server(server: object) -> bool:
    """An RTCIceServer: ``{"urls": "stun:..." or [...], "username": ..., "credential": ...}``."""
    urls = server.get("urls") if isinstance(server, dict) else None
    urls = [urls] if isinstance(urls, str) else urls
    return isinstance(urls, list) and bool(urls) and all(isinstance(url, str) for url in urls)


def _env_ice_servers(name: str, default: str, fallback: Mapping[str, str]) -> str:
    """A JSON list of ICE servers, checked here so that a typo is reported once, in words, rather
    than as a live view whose connection never comes. Empty: none."""
    raw = _lookup(name, fallback) if _is_set(name, fallback) else default
    try:
        servers = json.loads(raw or "[]")
    except ValueError:
        servers = None
    if not (isinstance(servers, list) and all(_is_ice_server(server) for server in servers)):
        raise ActionLabError(
            f"{name} must be a JSON list of ICE servers such as "
            '[{"urls": ["stun:stun.l.google.com:19302"]}] (or [] for none); '
            f"it is {raw[:80]!r}."
        )
    return json.dumps(servers)


@dataclass(frozen=True)
class Settings:
    """Everything an operator may change without touching code."""

    default_model: str = str(DEFAULT_BUNDLE)
    hop_s: float = 0.5
    uncertain_below: float = 0.5
    max_duration_s: float = 600.0  # longer uploads are refused before decoding
    # The Hub bundle tried first; the bundled default_model is the fall-back. The revision is a
    # commit hash or a tag that `python -m core publish --tag` made: never a moving branch unless
    # an operator writes one on purpose.
    model_repo: str = "action-recognition-lab/movinet-linear-ucf101-11"
    model_revision: str = "v1"
    allowed_hosts: tuple[str, ...] = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be")
    max_download_mb: float = 200.0
    # One teach (core/training/teach.py): clips, minutes of video and megabytes at most.
    teach_max_clips: int = 60
    teach_max_total_s: float = 900.0
    teach_max_mb: float = 200.0
    # The live view's ICE servers as JSON: a STUN server by default; a host behind a strict NAT
    # or firewall (a cloud host, often) needs a TURN server too; "[]" for none, enough when the
    # browser and the app are on one machine or one network.
    ice_servers: str = PUBLIC_STUN

    @property
    def rtc_configuration(self) -> dict:
        """What WebRTC's peers are configured with (``RTCConfiguration``)."""
        return {"iceServers": json.loads(self.ice_servers)}

    @property
    def hub_default(self) -> str | None:
        """The configured Hub reference (``hf://owner/name@revision``), or None when switched off."""
        if not self.model_repo or self.model_repo.lower() == "none":
            return None
        return f"hf://{self.model_repo}@{self.model_revision}"

    @classmethod
    def from_env(cls, fallback: Mapping[str, str] | None = None) -> Settings:
        """From the environment; ``fallback`` (e.g. Streamlit secrets) fills what it lacks."""
        fallback = fallback or {}
        defaults = cls()
        return cls(
            default_model=_lookup("ARL_DEFAULT_MODEL", fallback) or defaults.default_model,
            hop_s=_env_float("ARL_HOP_S", defaults.hop_s, 0.05, 60.0, fallback),
            uncertain_below=_env_float("ARL_UNCERTAIN_BELOW", defaults.uncertain_below, 0.0, 1.0, fallback),
            max_duration_s=_env_float("ARL_MAX_DURATION_S", defaults.max_duration_s, 1.0, 86400.0, fallback),
            model_repo=_lookup("ARL_MODEL_REPO", fallback)
            if _is_set("ARL_MODEL_REPO", fallback)
            else defaults.model_repo,
            model_revision=_lookup("ARL_MODEL_REVISION", fallback) or defaults.model_revision,
            allowed_hosts=_env_hosts("ARL_ALLOWED_HOSTS", fallback) or defaults.allowed_hosts,
            max_download_mb=_env_float(
                "ARL_MAX_DOWNLOAD_MB", defaults.max_download_mb, 1.0, 100_000.0, fallback
            ),
            teach_max_clips=int(
                _env_float("ARL_TEACH_MAX_CLIPS", defaults.teach_max_clips, 4, 1000, fallback)
            ),
            teach_max_total_s=_env_float(
                "ARL_TEACH_MAX_TOTAL_S", defaults.teach_max_total_s, 10.0, 86400.0, fallback
            ),
            teach_max_mb=_env_float("ARL_TEACH_MAX_MB", defaults.teach_max_mb, 1.0, 100_000.0, fallback),
            ice_servers=_env_ice_servers("ARL_ICE_SERVERS", defaults.ice_servers, fallback),
        )
