"""The pieces of a taught bundle's calibration (core/training/takes.py, reference.py): scenes
found among real takes, the equal-error threshold, the reference footage and which of its
actions a user's names cover. The whole of it, on a taught bundle, is in test_teach.py."""

import numpy as np
import pytest

from core.errors import ModelError
from core.models.backbone import EffnetFeatures
from core.training.dataset import FeatureCache, FrameCache
from core.training.reference import REFERENCE_FOOTAGE, load_reference, middle, words
from core.training.takes import equal_error, same_words, scenes_of
from tests.support import UCF6


def _features(tmp_path, names: list[str]) -> list[np.ndarray]:
    encoder = EffnetFeatures()
    cache = FeatureCache(FrameCache(tmp_path, 4.0, (160, 160)), encoder, encoder.fingerprint())
    return [cache.features(next(UCF6.glob(f"*/{name}.mp4")))[0] for name in names]


def test_takes_cut_from_one_video_are_one_scene_and_other_groups_are_not(tmp_path):
    names = ["v_Surfing_g12_c01", "v_Surfing_g12_c02", "v_Surfing_g13_c01", "v_Archery_g12_c01"]
    scenes = scenes_of(_features(tmp_path, names))
    assert scenes[0] == scenes[1]
    assert len({scenes[1], scenes[2], scenes[3]}) == 3


def test_the_equal_error_threshold_refuses_as_many_known_as_it_accepts_others():
    known = np.array([0.2, 0.5, 0.6, 0.7, 0.8, 0.9])
    other = np.array([0.1, 0.3, 0.4, 0.55, 0.65, 0.75])
    threshold = equal_error(known, other)
    refused, accepted = (known < threshold).mean(), (other >= threshold).mean()
    assert refused == accepted == pytest.approx(2 / 6)
    # well apart, nothing is lost on either side
    assert equal_error(np.array([5.0, 6.0]), np.array([1.0, 2.0])) == 5.0


def test_the_reference_is_other_actions_of_real_footage_from_the_shared_backbone():
    reference = load_reference(EffnetFeatures.fingerprint())
    labels = {clip.label for clip in reference}
    assert len(labels) == 11 and "Surfing" in labels and "PizzaTossing" in labels
    assert all(clip.features.shape[1] == 1280 and 1 <= len(clip.features) <= 16 for clip in reference)
    assert len({(clip.label, clip.group) for clip in reference}) == len(reference)
    with pytest.raises(ModelError, match="another backbone"):
        load_reference("0123456789abcdef")
    with pytest.raises(ModelError, match="cannot be read"):
        load_reference(EffnetFeatures.fingerprint(), REFERENCE_FOOTAGE.with_name("missing.npz"))


def test_middle_keeps_the_action_not_the_lead_in():
    rows = np.arange(40)[:, None]
    assert middle(rows, 16)[:, 0].tolist() == list(range(12, 28))
    assert len(middle(rows[:5], 16)) == 5


@pytest.mark.parametrize(
    ("action", "label", "same"),
    [
        ("Surfing", "Surfing", True),
        ("my surfing", "Surfing", True),
        ("pizza tossing", "PizzaTossing", True),
        ("pizza", "PizzaTossing", True),
        ("Pizza-Tossing!", "PizzaTossing", True),
        ("waves", "Surfing", False),
        ("cricket bowling", "CricketShot", False),
        ("", "Surfing", False),
    ],
)
def test_a_users_name_covers_a_reference_action_when_its_words_do(action, label, same):
    assert same_words(action, label) is same
    assert words("PlayingCello") == "playing cello"
