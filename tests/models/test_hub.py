"""Hub bundles through the real huggingface_hub code, against a stand-in Hub on 127.0.0.1."""

import socket
import time
from dataclasses import replace

import pytest

from core.config import DEFAULT_BUNDLE, EFFNET_BUNDLE, LRCN_BUNDLE, Settings
from core.engine.analysis import analyze
from core.errors import ModelError
from core.models import bundle, hub
from tests.support import SURFING, damaged_bundle, one_more_class

REPO = "action-lab-test/lrcn"
# The fall-back decision takes the Hub's 2 s deadline at most; without the deadline
# huggingface_hub waits about 23 s. A bound in between proves the deadline on a slow machine.
NOT_THE_STALL_S = 10.0


@pytest.fixture
def hub_env(hub_stand_in):
    """The shared stand-in Hub, serving the small LRCN bundle tagged v1."""
    hub_stand_in.add_folder(REPO, LRCN_BUNDLE, tag="v1")
    return hub_stand_in


@pytest.fixture
def unanswered_port():
    """A port on 127.0.0.1 where a connection never opens, as at an address with no route: a
    listener whose accept queue is full drops further handshakes (Linux), so connecting stalls
    until the caller's own time limit. Made here, it does not depend on the host's routes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = []
    try:
        for _ in range(16):  # fill the queue until a handshake goes unanswered
            probe = socket.socket()
            probe.settimeout(0.5)
            try:
                probe.connect(("127.0.0.1", port))
            except TimeoutError:
                probe.close()
                break
            queued.append(probe)
        else:
            pytest.fail("the listener kept accepting connections: no stalled port to test with")
        yield port
    finally:
        for probe in queued:
            probe.close()
        listener.close()


def settings_for(repo: str, revision: str = "v1") -> Settings:
    return replace(Settings(), model_repo=repo, model_revision=revision)


def test_hub_bundle_downloads_analyses_and_then_loads_from_cache_without_the_server(hub_env):
    commit = hub_env.repos[REPO].refs["v1"]
    loaded = bundle.load(f"hf://{REPO}@{commit}")
    assert loaded.source == f"hf://{REPO}@{commit} (commit {commit[:12]})"
    assert any("/resolve/" in request for request in hub_env.requests)
    assert analyze(SURFING, loaded).top_k(1)[0][0] == "Surfing"

    hub_env.stop()
    started = time.monotonic()
    again = bundle.load(f"hf://{REPO}@{commit}")
    assert time.monotonic() - started < NOT_THE_STALL_S
    assert again.spec == loaded.spec


def test_a_tag_resolves_through_the_cache_when_offline(hub_env, monkeypatch):
    bundle.load(f"hf://{REPO}@v1")
    hub_env.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert bundle.load(f"hf://{REPO}@v1").spec.name == "lrcn-ucf101-6"


def test_download_progress_is_reported(hub_env):
    reports = []
    bundle.load(f"hf://{REPO}@v1", progress=lambda fraction, stage: reports.append((fraction, stage)))
    assert reports[-1][0] == 1.0
    assert any("model.keras" in stage for _, stage in reports)


def test_the_large_former_default_comes_through_the_hub_with_progress(hub_env):
    """The 18 MB EfficientNet + LSTM bundle: streamed to the cache with byte progress, then used."""
    hub_env.add_folder("lab/effnet", EFFNET_BUNDLE)
    reports = []
    loaded = bundle.load("hf://lab/effnet@main", progress=lambda f, stage: reports.append((f, stage)))
    model_reports = [fraction for fraction, stage in reports if stage == "downloading model.keras"]
    assert model_reports[0] < 1.0 and model_reports[-1] == 1.0  # reported while it streams (10 MB chunks)
    assert loaded.spec.architecture == "effnet_lstm"
    assert analyze(SURFING, loaded).top_k(1)[0][0] == "Surfing"


def test_the_default_on_the_video_network_comes_through_the_hub(hub_env):
    """The default bundle names its backbone; pulled from the Hub it is checked and runs."""
    hub_env.add_folder("lab/movinet", DEFAULT_BUNDLE)
    loaded = bundle.load("hf://lab/movinet@main")
    assert loaded.spec.backbone == "movinet_a0_stream_k600"
    assert analyze(SURFING, loaded).top_k(1)[0][0] == "Surfing"


def assert_falls_back_to_the_bundled_model_in_time() -> None:
    """The default choice gives way to the bundled model, says the Hub missed its 2 s deadline,
    and decides well before huggingface_hub's own stall would end."""
    started = time.monotonic()
    choice = hub.choose_default(settings_for(REPO), bundle.load)
    elapsed = time.monotonic() - started
    assert not choice.from_hub and choice.ref == str(DEFAULT_BUNDLE)
    assert "could not be reached within 2 s" in choice.reason
    assert elapsed < NOT_THE_STALL_S, elapsed


def test_default_choice_uses_the_hub_when_it_answers(hub_env):
    choice = hub.choose_default(settings_for(REPO), bundle.load)
    assert choice.from_hub and choice.ref == f"hf://{REPO}@v1"


def test_the_cached_hub_model_is_the_default_while_the_hub_is_down(hub_env):
    bundle.load(f"hf://{REPO}@v1")  # downloaded once
    hub_env.stop()
    started = time.monotonic()
    choice = hub.choose_default(settings_for(REPO), bundle.load)
    elapsed = time.monotonic() - started
    assert choice.from_hub and choice.ref == f"hf://{REPO}@v1"
    assert choice.reason == f"From the Hub: hf://{REPO}@v1 (cached)."
    assert elapsed < NOT_THE_STALL_S, elapsed


def test_stopped_hub_and_empty_cache_fall_back_to_the_bundled_model_quickly(hub_env):
    hub_env.stop()
    assert_falls_back_to_the_bundled_model_in_time()


def test_a_hub_whose_connections_never_open_falls_back_within_the_limit(
    hub_stand_in, no_proxies, unanswered_port, monkeypatch
):
    """As at a blackholed address: no refusal comes, the connection just never opens."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{unanswered_port}")
    assert_falls_back_to_the_bundled_model_in_time()


def test_a_hub_that_accepts_and_never_answers_falls_back_within_the_limit(
    hub_stand_in, no_proxies, monkeypatch
):
    """The worst case: the connection opens (so no quick refusal), then nothing comes back."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes handshakes; nobody ever reads or answers
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        assert_falls_back_to_the_bundled_model_in_time()
    finally:
        silent.close()


def test_offline_mode_is_honoured_without_any_request(hub_env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    choice = hub.choose_default(settings_for(REPO), bundle.load)
    assert not choice.from_hub and "HF_HUB_OFFLINE" in choice.reason
    assert hub_env.requests == []


def test_missing_repo_gives_a_clear_message(hub_env):
    with pytest.raises(ModelError, match="not found on the Hub"):
        bundle.load("hf://nobody/nothing@main")
    choice = hub.choose_default(settings_for("nobody/nothing"), bundle.load)
    assert not choice.from_hub and "not found on the Hub" in choice.reason


def test_private_repo_needs_a_token(hub_env):
    hub_env.add_folder("someone/private", LRCN_BUNDLE, private=True)
    with pytest.raises(ModelError, match="HF_TOKEN"):
        bundle.load("hf://someone/private@main")


def test_unknown_revision_and_a_repo_that_is_no_bundle(hub_env, tmp_path):
    with pytest.raises(ModelError, match="no revision 'v9'"):
        bundle.load(f"hf://{REPO}@v9")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("just text")
    hub_env.add_folder("someone/notes", tmp_path / "notes")
    with pytest.raises(ModelError, match="not an Action Lab model bundle: it has no config.json"):
        bundle.load("hf://someone/notes@main")
    assert not any("notes/resolve/main/model.keras" in r for r in hub_env.requests)  # stopped at config


def test_incompatible_bundle_is_refused(hub_env, tmp_path):
    hub_env.add_folder("someone/broken", damaged_bundle(tmp_path / "broken", one_more_class))
    with pytest.raises(ModelError, match="predicts 6 classes, but config.json lists 7"):
        bundle.load("hf://someone/broken@main")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hf://owner/name", "names no revision"),
        ("hf://owner@v1", "not a Hub model id"),
        ("hf://../etc@v1", "not a Hub model id"),
        ("hf://owner/name@..", "not a valid Hub revision"),
    ],
)
def test_references_are_checked_before_any_request(text, message):
    with pytest.raises(ModelError, match=message):
        hub.HubRef.parse(text)
