"""The command line with the outside world: links through yt-dlp and bundles through the Hub,
both served from 127.0.0.1, run as real processes."""

import json

from core.config import DEFAULT_BUNDLE, LRCN_BUNDLE
from tests.hub_server import TOKEN
from tests.support import SURFING, damaged_bundle, run_core


def test_analyze_a_link_on_an_allowed_host(site, monkeypatch, tmp_path):
    base, paths = site
    monkeypatch.setenv("ARL_ALLOWED_HOSTS", "127.0.0.1")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = run_core("analyze", f"{base}/clip.mp4", "--json", tmp_path=scratch)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["top"]["label"] == "Surfing"
    assert data["video"]["path"] == f"{base}/clip.mp4"
    assert list(scratch.iterdir()) == []


def test_a_refused_link_is_one_error_line_and_no_request(site):
    base, paths = site
    result = run_core("analyze", f"{base}/clip.mp4")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: 127.0.0.1 is a private, local or reserved address: links there are refused."
    ]
    assert paths == []


def test_default_model_comes_from_the_configured_hub_repo(hub_stand_in, monkeypatch):
    hub_stand_in.add_folder("lab/lrcn", LRCN_BUNDLE, tag="v1")
    monkeypatch.setenv("ARL_MODEL_REPO", "lab/lrcn")
    monkeypatch.setenv("ARL_MODEL_REVISION", "v1")
    result = run_core("analyze", str(SURFING), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"]["source"].startswith("hf://lab/lrcn@v1 (commit ")
    assert "note:" not in result.stderr

    hub_stand_in.stop()  # the Hub is gone: the bundled model, and a note saying why
    monkeypatch.setenv("ARL_MODEL_REPO", "lab/other")
    result = run_core("analyze", str(SURFING), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"]["source"] == str(DEFAULT_BUNDLE)
    assert "note: Using the bundled model: The Hub (127.0.0.1) could not be reached" in result.stderr


def test_publish_then_load_what_was_published(hub_stand_in, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = run_core("publish", str(LRCN_BUNDLE), "--repo", "lab/published", "--private", "--tag", "v1")
    assert result.returncode == 0, result.stderr
    repo = hub_stand_in.repos["lab/published"]
    commit = repo.refs["main"]
    assert repo.private and repo.refs["v1"] == commit
    assert sorted(repo.commits[commit]) == ["README.md", "config.json", "metrics.json", "model.keras"]
    assert repo.commits[commit]["model.keras"] == (LRCN_BUNDLE / "model.keras").read_bytes()
    assert f"hf://lab/published@{commit}" in result.stdout
    card = hub_stand_in.cards[0]  # the metadata the Hub indexes
    assert card["library_name"] == "keras" and card["pipeline_tag"] == "video-classification"
    assert card["model-index"][0]["results"][0]["metrics"][0]["value"] > 0.9

    loaded = run_core("analyze", str(SURFING), "--model", "hf://lab/published@v1", "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["top"]["label"] == "Surfing"


def test_the_default_on_the_video_network_is_published_and_pulled_back(hub_stand_in, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = run_core("publish", str(DEFAULT_BUNDLE), "--repo", "lab/movinet", "--tag", "v1")
    assert result.returncode == 0, result.stderr
    repo = hub_stand_in.repos["lab/movinet"]
    files = sorted(repo.commits[repo.refs["main"]])
    assert files == ["README.md", "calibration.npz", "config.json", "metrics.json", "model.keras"]
    loaded = run_core("analyze", str(SURFING), "--model", "hf://lab/movinet@v1", "--json")
    assert loaded.returncode == 0, loaded.stderr
    data = json.loads(loaded.stdout)
    assert data["top"]["label"] == "Surfing" and data["segments"][0]["kinetics"]["label"] == "surfing water"


def test_publish_without_a_token_or_a_card_is_a_clear_error(hub_stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))  # no stored token either
    result = run_core("publish", str(LRCN_BUNDLE), "--repo", "lab/x")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: No Hugging Face token: set HF_TOKEN or run `hf auth login` first."

    folder = damaged_bundle(tmp_path / "bare")
    (folder / "README.md").write_text("# no metadata\n")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = run_core("publish", str(folder), "--repo", "lab/x")
    assert result.returncode == 2 and "lacks 'library_name: keras'" in result.stderr
    assert hub_stand_in.requests == []


def test_missing_hub_repo_is_a_clear_error(hub_stand_in):
    result = run_core("analyze", str(SURFING), "--model", "hf://nobody/nothing@main")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: nobody/nothing was not found on the Hub: check the name, or set HF_TOKEN if it is private."
    ]
