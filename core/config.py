"""Settings read from ``ARL_*`` environment variables, with defaults safe for a public host."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import ActionLabError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"
DEFAULT_BUNDLE = MODELS_DIR / "lrcn-ucf101-6"


def _env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise ActionLabError(f"{name}={raw!r} is not a number between {low:g} and {high:g}.")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything an operator may change without touching code."""

    default_model: str = str(DEFAULT_BUNDLE)
    hop_s: float = 0.5
    uncertain_below: float = 0.5

    @classmethod
    def from_env(cls) -> Settings:
        defaults = cls()
        return cls(
            default_model=os.environ.get("ARL_DEFAULT_MODEL", defaults.default_model),
            hop_s=_env_float("ARL_HOP_S", defaults.hop_s, 0.05, 60.0),
            uncertain_below=_env_float("ARL_UNCERTAIN_BELOW", defaults.uncertain_below, 0.0, 1.0),
        )
