import json
import subprocess

import pytest

from core.models import bundle
from core.training.trainer import TrainingConfig, make_strategy
from tests.support import UCF6, assert_one_error_line, run_cli_here, run_core


def run_train(tmp_path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess, object]:
    """``python -m core train`` as a process, for one epoch on two clips per class of UCF6."""
    out = tmp_path / name
    cache = str(tmp_path / "cache")
    options = ("--epochs", "1", "--limit-clips", "2", "--windows-per-clip", "2", "--cache-dir", cache)
    result = run_core("train", str(UCF6), "--out", str(out), *options, *extra)
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
    options = ("--arch", "effnet_lstm", "--limit-clips", "1", "--open-set", "knn_energy")  # as the default
    result, out = run_train(tmp_path, "effnet-tiny", *options)
    assert "trained on cached frame features" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    training = metrics["training"]
    assert training["frozen_frame_encoder"] is True
    assert training["trained_parameters"] < training["parameters"] / 5
    assert training["config"]["image_size"] == 160  # the architecture's own input, not the scratch 64
    assert len(list((tmp_path / "cache" / "features").glob("*.npy"))) == 12  # 6 train + 6 val clips
    trained = bundle.load(out)
    assert trained.spec.image_size == (160, 160) and trained.spec.architecture == "effnet_lstm"
    # open-set calibration: reference frames from the training groups; the two parts' mean and
    # spread, and the thresholds, from validation
    calibration = trained.spec.open_set
    assert calibration.score == "knn_energy" and calibration.groups == (8, 9, 10, 11)
    assert calibration.feature_dim == 1280 and calibration.arrays["bank"].shape[1] == 1280
    assert 100 < len(calibration.arrays["bank"]) <= 3000  # the 6 training clips' frames, as recorded
    (knn_mean, knn_spread), (energy_mean, energy_spread) = calibration.arrays["mix"]
    assert -2.0 <= knn_mean <= 0.0 and knn_spread > 0 and energy_spread > 0
    # standardised parts: the 5% quantile of validation clips sits a little below their mean of 0
    assert -6.0 <= calibration.threshold <= 0.0 and -6.0 <= calibration.window_threshold <= 0.0
    assert (out / "calibration.npz").stat().st_size < 10 * 2**20
    open_set = metrics["validation"]["open_set"]
    assert open_set["score"] == "knn_energy" and open_set["known_accepted"] >= 0.8  # 95% of 6 clips: 5 or 6
    assert "**unknown**" in (out / "README.md").read_text()


def test_input_settings_left_at_zero_come_from_the_architecture():
    lrcn = TrainingConfig(architecture="lrcn").resolved()
    assert (lrcn.sequence_length, lrcn.image_size, lrcn.sampling_fps, lrcn.hop_frames) == (20, 64, 6.0, 3)
    chosen = TrainingConfig(architecture="effnet_lstm", image_size=128).resolved()
    assert chosen.image_size == 128 and chosen.sequence_length == 13  # 4 fps: 3.25 s windows


def test_classes_choose_the_folders_to_learn(tmp_path, capfd):
    result, out = run_train(
        tmp_path, "two", "--arch", "early_fusion", "--limit-clips", "1", "--classes", "Surfing,Archery"
    )
    assert "task action: 2 classes" in result.stdout
    trained = bundle.load(out)
    assert trained.spec.classes == ("Archery", "Surfing")
    assert trained.metrics["training"]["config"]["classes"] == ["Surfing", "Archery"]
    assert trained.metrics["validation"]["n_clips"] == 2
    assert "classes chosen with `--classes`: Surfing, Archery" in trained.card

    code, _, err = run_cli_here(
        capfd,
        "train",
        str(UCF6),
        "--arch",
        "lrcn",
        "--out",
        str(tmp_path / "x"),
        "--classes",
        "Archery,Juggling",
    )
    assert_one_error_line(code, err)
    assert "['Juggling']" in err and not (tmp_path / "x").exists()
