import json
import subprocess
import sys

import pytest

from core.config import PROJECT_ROOT
from core.models import bundle
from core.training.trainer import TrainingConfig, make_strategy
from tests.support import UCF6


def run_train(tmp_path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess, object]:
    out = tmp_path / name
    command = [
        sys.executable, "-m", "core", "train", str(UCF6), "--out", str(out), "--epochs", "1",
        "--limit-clips", "2", "--windows-per-clip", "2", "--cache-dir", str(tmp_path / "cache"), *extra,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, out


# The app's main model, and a cheap one through MirroredStrategy (the LRCN's per-frame CNN is
# unrolled over 20 frames when traced, so each extra replica costs it half a minute here).
@pytest.mark.parametrize(
    ("arch", "strategy", "replicas"), [("lrcn", "default", 1), ("early_fusion", "mirrored", 2)]
)
def test_train_writes_a_complete_bundle(tmp_path, arch, strategy, replicas):
    extra = ["--arch", arch, "--strategy", strategy]
    if strategy == "mirrored":
        extra += ["--cpu-devices", "2"]  # MirroredStrategy over two logical CPU devices
    result, out = run_train(tmp_path, f"{arch}-tiny", *extra)
    assert f"({replicas} replica(s))" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "metrics.json",
        "model.keras",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"]["val_groups"] == [8, 9, 10, 11]
    assert not set(metrics["split"]["train_groups"]) & set(metrics["split"]["val_groups"])
    assert metrics["training"]["config"]["strategy"] == strategy
    assert len(metrics["history"]) == 1 and "val_clip_accuracy" in metrics["history"][0]
    validation = metrics["validation"]
    assert validation["n_clips"] == 12 and set(validation["per_class"]) == set(validation["classes"])
    card = (out / "README.md").read_text()
    assert "library_name: keras" in card and f"--arch {arch}" in card

    trained = bundle.load(out)
    assert trained.spec.architecture == arch


def test_fixed_seed_makes_training_repeatable(tmp_path):
    _, first = run_train(tmp_path, "a", "--arch", "early_fusion", "--limit-clips", "1")
    _, second = run_train(tmp_path, "b", "--arch", "early_fusion", "--limit-clips", "1")
    history = [json.loads((p / "metrics.json").read_text())["history"] for p in (first, second)]
    assert history[0] == history[1]


def test_multiworker_needs_a_cluster(monkeypatch):
    from core.errors import ActionLabError

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ActionLabError, match="TF_CONFIG"):
        make_strategy("multiworker")


def test_frozen_backbone_trains_only_its_head_on_cached_features(tmp_path):
    result, out = run_train(tmp_path, "effnet-tiny", "--arch", "effnet_lstm", "--limit-clips", "1")
    assert "trained on cached frame features" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    training = metrics["training"]
    assert training["frozen_frame_encoder"] is True
    assert training["trained_parameters"] < training["parameters"] / 5
    assert training["config"]["image_size"] == 160  # the architecture's own input, not the scratch 64
    assert len(list((tmp_path / "cache" / "features").glob("*.npy"))) == 12  # 6 train + 6 val clips
    trained = bundle.load(out)
    assert trained.spec.image_size == (160, 160) and trained.spec.architecture == "effnet_lstm"


def test_input_settings_left_at_zero_come_from_the_architecture():
    lrcn = TrainingConfig(architecture="lrcn").resolved()
    assert (lrcn.sequence_length, lrcn.image_size, lrcn.sampling_fps, lrcn.hop_frames) == (20, 64, 6.0, 3)
    chosen = TrainingConfig(architecture="effnet_lstm", image_size=128).resolved()
    assert chosen.image_size == 128 and chosen.sequence_length == 13  # 4 fps: 3.25 s windows
