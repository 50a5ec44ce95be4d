import json
import shutil

import pytest

from core.config import DEFAULT_BUNDLE, LRCN_BUNDLE
from core.errors import ModelError
from core.models import bundle


def test_default_bundle_is_the_pretrained_model_and_meets_its_targets(default_bundle):
    spec = default_bundle.spec
    assert spec.architecture == "effnet_lstm" and len(spec.classes) == 6
    assert default_bundle.metrics["validation"]["accuracy"] >= 0.96
    assert "python -m core train" in default_bundle.card
    assert (DEFAULT_BUNDLE / "model.keras").stat().st_size < 25 * 2**20


def test_the_classic_lrcn_stays_small(lrcn_bundle):
    spec = lrcn_bundle.spec
    assert spec.architecture == "lrcn"
    assert spec.sequence_length == 20 and spec.image_size == (64, 64)
    assert lrcn_bundle.metrics["validation"]["accuracy"] >= 0.88
    assert (LRCN_BUNDLE / "model.keras").stat().st_size < 5 * 2**20


def copy_bundle(tmp_path):
    return shutil.copytree(LRCN_BUNDLE, tmp_path / "copy")


def test_folder_without_config(tmp_path):
    folder = copy_bundle(tmp_path)
    (folder / "config.json").unlink()
    with pytest.raises(ModelError, match="no config.json"):
        bundle.load(folder)


def test_class_count_mismatch(tmp_path):
    folder = copy_bundle(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["classes"] = config["classes"][:5]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="predicts 6 classes"):
        bundle.load(folder)


def test_input_shape_mismatch(tmp_path):
    folder = copy_bundle(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config["image_size"] = [112, 112]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="takes input"):
        bundle.load(folder)


def test_broken_files(tmp_path):
    folder = copy_bundle(tmp_path)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        bundle.load(folder)
    folder = copy_bundle(tmp_path / "second")
    (folder / "model.keras").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="could not be loaded"):
        bundle.load(folder)
    with pytest.raises(ModelError, match="not a folder"):
        bundle.load(tmp_path / "absent")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hop_frames", 0, "above zero"),
        ("sampling_fps", -6, "above zero"),
        ("normalization", "imagenet", "unknown"),
        ("sequence_length", "twenty", "malformed"),
    ],
)
def test_config_values_are_checked(tmp_path, key, value, message):
    folder = copy_bundle(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=message):
        bundle.load(folder)
