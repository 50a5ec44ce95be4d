"""Fixtures the tests share; plain helpers and constants are in tests/support.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import DEFAULT_BUNDLE, EFFNET_BUNDLE, LRCN_BUNDLE
from tests.support import ARCHERY, SURFING, clip_site, real_frames, write_video


@pytest.fixture(scope="session")
def default_bundle():
    from core.models import bundle

    return bundle.load(DEFAULT_BUNDLE)


@pytest.fixture(scope="session")
def effnet_bundle():
    """The former default, an LSTM on the frozen EfficientNet-Lite0 inside the model: what the
    frame encoder's machinery (shared LiteRT backbone, per-frame live windows) is tested on."""
    from core.models import bundle

    return bundle.load(EFFNET_BUNDLE)


@pytest.fixture(scope="session")
def lrcn_bundle():
    """The small scratch model: the fast way to test the machinery around any model."""
    from core.models import bundle

    return bundle.load(LRCN_BUNDLE)


@pytest.fixture(scope="session")
def joined_video(tmp_path_factory) -> Path:
    """Archery then Surfing, both real UCF101 footage, in one file."""
    path = tmp_path_factory.mktemp("joined") / "archery_then_surfing.avi"
    return write_video(path, real_frames(ARCHERY) + real_frames(SURFING), fps=25.0, fourcc="MJPG")


@pytest.fixture
def no_proxies(monkeypatch):
    """Connections go where the test points them, whatever proxies the machine is set up with."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def site(tmp_path, no_proxies):
    with clip_site(tmp_path / "site") as served:
        yield served


@pytest.fixture
def hub_stand_in(tmp_path, monkeypatch, no_proxies):
    """A stand-in Hub on 127.0.0.1 with the Hub endpoint pointed at it, an empty Hub cache of
    the test's own, and no token or offline switch from the environment."""
    from tests.hub_server import HubStandIn

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with HubStandIn() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server
