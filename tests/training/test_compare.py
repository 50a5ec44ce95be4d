"""``python -m core compare`` on tiny bundles trained on real clips; FLOP counting; the committed
approach bundles and their results table."""

import json
from collections import Counter

import keras
import numpy as np
import pytest

from core import cli
from core.engine.analysis import predictor
from core.models import bundle, contract, registry
from core.training import compare
from core.training.compare import APPROACHES_DIR, RESULTS_FILE, clip_flops, count_flops
from core.training.dataset import DEFAULT_VAL_GROUPS, scan
from tests.support import SHARED, UCF6, tiny_dataset, train_tiny

pytestmark = pytest.mark.xdist_group("compare")  # the tiny bundles are trained once

SHAPE = contract.InputShape(20, 64, 64)
ROW_KEYS = {
    "architecture", "approach", "footing", "description", "params", "flops_per_clip", "latency_ms_batch1",
    "latency_ms_batched", "batch_size", "accuracy", "within", "direction_by_action", "train_s", "stopped_by",
    "classes", "bundles",
}  # fmt: skip
TINY = ("single_frame", "early_fusion", "effnet_single_frame")  # the last on the shared frozen backbone


@pytest.fixture(scope="module")
def tiny_approaches(tmp_path_factory):
    """Two classes of real clips (groups 8 for validation, 12 for training) and bundles trained
    for one short epoch on each task, laid out as models/approaches is."""
    root = tmp_path_factory.mktemp("compare")
    data = tiny_dataset(root / "ucf-2", ("Archery", "Surfing"))
    bundles = root / "approaches"
    for task in ("action", "direction"):
        for arch in TINY:
            options = ("--task", task, "--windows-per-clip", "1")
            train_tiny(data, bundles / task / arch, arch, *options, cache_dir=root / "cache")
    return data, bundles


def test_direction_bundle_records_its_task_and_group_split(tiny_approaches):
    _, bundles = tiny_approaches
    loaded = bundle.load(bundles / "direction" / "early_fusion")
    assert loaded.spec.task == "direction" and loaded.spec.classes == ("forward", "backward")
    assert loaded.metrics["task"] == "direction"
    assert loaded.metrics["training"]["config"]["task"] == "direction"
    assert loaded.metrics["split"]["val_groups"] == [8, 9, 10, 11]
    assert loaded.metrics["split"]["train_groups"] == [12]
    assert loaded.metrics["validation"]["n_clips"] == 8  # 4 clips, each played both ways
    assert "plays forwards or backwards" in loaded.card
    assert bundle.load(bundles / "action" / "early_fusion").spec.task == "action"


def test_compare_command_writes_the_results_table(tiny_approaches, tmp_path, capsys):
    data, bundles = tiny_approaches
    out = tmp_path / "results.json"
    assert cli.main(["compare", str(data), "--bundles", str(bundles), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed
    assert set(printed) == {"command", "data", "validation_groups", "tasks", "rows"}
    assert printed["command"].startswith("python -m core compare")
    assert printed["data"] == "ucf-2" and printed["validation_groups"] == [8, 9, 10, 11]
    assert printed["tasks"] == ["action", "direction"]
    # pretrained footing first, then the Learn pages' order
    ranked = [row["architecture"] for row in printed["rows"]]
    assert ranked == ["effnet_single_frame", "single_frame", "early_fusion"]
    for row in printed["rows"]:
        assert set(row) == ROW_KEYS
        assert row["description"] == registry.architectures()[row["architecture"]]
        footing = "pretrained" if row["architecture"].startswith("effnet_") else "scratch"
        assert (row["approach"], row["footing"]) == (row["architecture"].removeprefix("effnet_"), footing)
        assert row["within"] == {"cricket": None, "string instruments": None}  # neither pair in ucf-2
        assert row["classes"] == 2
        assert row["params"] == registry.build(row["architecture"], SHAPE, 2).count_params()
        assert row["flops_per_clip"] == clip_flops(bundle.load(row["bundles"]["action"]))
        assert row["batch_size"] == 16
        # per clip, a batch of 16 costs no more than one clip alone (batching amortises the call)
        assert 0 < row["latency_ms_batched"] <= 1.25 * row["latency_ms_batch1"] < 5000
        for task in ("action", "direction"):
            assert 0.0 <= row["accuracy"][task] <= 1.0
            trained = bundle.load(row["bundles"][task])
            assert row["train_s"][task] == trained.metrics["training"]["seconds"]
            assert row["stopped_by"][task] == "budget"  # one epoch of one
            # measured again the way training scored the bundle: the same number
            assert row["accuracy"][task] == trained.metrics["validation"]["accuracy"]
        assert set(row["direction_by_action"]) == {"Archery", "Surfing"}
        assert_shares_make_the_accuracy(row, data)


def assert_shares_make_the_accuracy(row: dict, data) -> None:
    """Each action's direction share, weighted by its validation clips, gives the row's direction
    accuracy: every clip was counted once forwards and once backwards, under its own action."""
    _, clips = scan(data, tuple(DEFAULT_VAL_GROUPS))
    counts = Counter(clip.label for clip in clips if clip.label in row["direction_by_action"])
    shares = row["direction_by_action"]
    assert all(0.0 <= share <= 1.0 for share in shares.values())
    weighted = sum(shares[action] * n for action, n in counts.items()) / sum(counts.values())
    assert weighted == pytest.approx(row["accuracy"]["direction"], abs=1e-3)


def test_compare_without_bundles_is_a_user_error(tmp_path, capsys):
    assert cli.main(["compare", str(UCF6), "--bundles", str(tmp_path)]) == 2
    assert "No bundles" in capsys.readouterr().err


def test_every_timed_call_sees_frames_no_earlier_call_saw():
    """Latency is timed on new frames each call (a remembering frame encoder, BlazePose, would
    otherwise be timed on lookups), changed in one pixel of each frame only."""
    windows = np.random.default_rng(0).integers(0, 256, size=(2, 3, 8, 8, 3), dtype=np.uint8)
    calls = [compare.numbered(windows, call) for call in range(300)]
    frames = {frame.tobytes() for batch in calls for frame in batch.reshape(-1, 8, 8, 3)}
    assert len(frames) == 300 * 6  # every frame of every call is new
    changed = (calls[7] != windows).any(axis=-1)  # pixels that differ from the originals
    assert changed.sum(axis=(-2, -1)).max() == 1 and not changed[..., 1:, :].any()


def test_flops_are_counted_from_layer_shapes():
    frame = keras.Input((8, 8, 3))
    tiny = keras.Model(frame, keras.layers.Dense(5)(keras.layers.Conv2D(4, 3, padding="same")(frame)))
    assert count_flops(tiny) == 2 * (8 * 8 * 4 * 3 * 3 * 3) + 2 * (8 * 8 * 4 * 5)
    single = count_flops(registry.build("single_frame", SHAPE, 6))
    # late fusion is the single-frame network run on every frame of the window
    assert count_flops(registry.build("late_fusion", SHAPE, 6)) == SHAPE.sequence_length * single
    lrcn = registry.build("lrcn", SHAPE, 6)
    encoder, _ = contract.split(lrcn)
    lstm = 2 * SHAPE.sequence_length * (96 + 64) * 4 * 64
    assert count_flops(lrcn) == SHAPE.sequence_length * count_flops(encoder) + lstm + 2 * 64 * 6
    # temporal and depthwise convolutions (the pretrained heads, the backbone) count too
    steps = keras.Input((13, 6))
    temporal = keras.Model(steps, keras.layers.Conv1D(4, 3, padding="same")(steps))
    assert count_flops(temporal) == 2 * 13 * 4 * 3 * 6
    image = keras.Input((8, 8, 5))
    depthwise = keras.Model(image, keras.layers.DepthwiseConv2D(3, padding="same")(image))
    assert count_flops(depthwise) == 2 * 8 * 8 * 5 * 3 * 3
    # a ConvLSTM cell convolves its input and its state for all four gates at every step
    clip = keras.Input((5, 8, 8, 3))
    cell = keras.Model(clip, keras.layers.ConvLSTM2D(2, 3, padding="same")(clip))
    assert count_flops(cell) == 2 * 5 * 8 * 8 * (3 * 3 * (3 + 2) * 4 * 2)


COMMITTED = sorted(APPROACHES_DIR.glob("*/*/config.json"))
COMMITTED_IDS = [f"{p.parent.parent.name}/{p.parent.name}" for p in COMMITTED]


@pytest.mark.parametrize("config", COMMITTED, ids=COMMITTED_IDS)
def test_committed_bundles_load_safely_and_match_their_folder(config):
    loaded = bundle.load(config.parent)  # safe_mode=True
    assert loaded.spec.task == config.parent.parent.name
    assert loaded.spec.architecture == config.parent.name
    window = np.zeros((1, loaded.spec.sequence_length, *loaded.spec.image_size, 3), np.uint8)
    probabilities = predictor(loaded).forward(window)  # through a pose estimator where it has one
    assert probabilities.shape == (1, len(loaded.spec.classes))


@pytest.mark.skipif(not (APPROACHES_DIR / RESULTS_FILE).is_file(), reason="no results table committed yet")
def test_committed_results_table_matches_its_bundles():
    table = json.loads((APPROACHES_DIR / RESULTS_FILE).read_text())
    assert table["command"].startswith("python -m core compare")
    for row in table["rows"]:
        for task, path in row["bundles"].items():
            trained = bundle.load(compare.PROJECT_ROOT / path)
            assert row["train_s"][task] == trained.metrics["training"]["seconds"]
            assert row["accuracy"][task] == trained.metrics["validation"]["accuracy"]
        if row["bundles"]["direction"]:
            assert_shares_make_the_accuracy(row, SHARED / table["data"])


def test_the_approaches_estimates_are_read_by_architecture(tmp_path):
    from core.training.compare import CROSSVAL_DIR, estimates

    assert estimates(tmp_path) == {}
    (tmp_path / CROSSVAL_DIR).mkdir()
    summary = {
        "accuracy": {"mean": 0.8, "min": 0.7, "max": 0.9},
        "settings": {"training": {"architecture": "effnet_lrcn"}},
    }
    (tmp_path / CROSSVAL_DIR / "any-name.json").write_text(json.dumps(summary))
    (tmp_path / CROSSVAL_DIR / "being-written.json").write_text("")
    (tmp_path / CROSSVAL_DIR / "other.json").write_text('{"not": "a summary"}')
    assert estimates(tmp_path) == {"effnet_lrcn": summary}
