"""Settings read from ``ARL_*`` environment variables, with defaults safe for a public host."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
DEFAULT_BUNDLE = MODELS_DIR / "lrcn-ucf101-6"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything an operator may change without touching code."""

    default_model: str = str(DEFAULT_BUNDLE)
    model_repo: str = ""
    model_revision: str = ""
    allowed_hosts: tuple[str, ...] = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be")
    max_upload_mb: float = 200.0
    max_duration_s: float = 600.0
    hop_s: float = 0.5
    uncertain_below: float = 0.5

    @classmethod
    def from_env(cls) -> Settings:
        defaults = cls()
        return cls(
            default_model=os.environ.get("ARL_DEFAULT_MODEL", defaults.default_model),
            model_repo=os.environ.get("ARL_MODEL_REPO", defaults.model_repo),
            model_revision=os.environ.get("ARL_MODEL_REVISION", defaults.model_revision),
            allowed_hosts=_env_list("ARL_ALLOWED_HOSTS", defaults.allowed_hosts),
            max_upload_mb=_env_float("ARL_MAX_UPLOAD_MB", defaults.max_upload_mb),
            max_duration_s=_env_float("ARL_MAX_DURATION_S", defaults.max_duration_s),
            hop_s=_env_float("ARL_HOP_S", defaults.hop_s),
            uncertain_below=_env_float("ARL_UNCERTAIN_BELOW", defaults.uncertain_below),
        )
