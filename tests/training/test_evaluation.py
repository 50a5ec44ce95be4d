import numpy as np
import pytest

from core.models import bundle
from core.training.dataset import group_of
from core.training.evaluation import LOOKALIKES, evaluate, scores, within
from tests.support import SHARED, tiny_dataset, train_tiny


def test_scores_from_a_known_confusion():
    per_class, confusion = scores(["a", "b"], truth=[0, 0, 0, 1], predicted=[0, 0, 1, 1])
    assert confusion == [[2, 1], [0, 1]]
    assert per_class["a"].precision == 1.0 and per_class["a"].recall == pytest.approx(0.6667, abs=1e-4)
    assert per_class["b"].precision == 0.5 and per_class["b"].recall == 1.0
    assert per_class["a"].support == 3


def test_evaluate_reproduces_the_model_card_accuracy(lrcn_bundle):
    """The bundle's stated accuracy is what `evaluate` measures on the same validation groups,
    also in the 11-class folder: clips of the five classes it does not know are skipped."""
    validation = lrcn_bundle.metrics["validation"]
    report = evaluate(SHARED / "ucf101", lrcn_bundle, groups=validation["groups"])
    others = [p for p in (SHARED / "ucf101-5").glob("*/*") if group_of(p.name) in validation["groups"]]
    assert report.skipped == len(others) > 0 and report.open_set is None
    assert report.n_clips == validation["n_clips"]
    assert report.accuracy == pytest.approx(validation["accuracy"], abs=1e-4)
    assert report.confusion == validation["confusion"]
    assert sum(map(sum, report.confusion)) == report.n_clips
    assert report.accuracy == pytest.approx(1 - len(report.mistakes) / report.n_clips)


def test_within_a_group_of_lookalike_classes():
    validation = {
        "classes": ["A", "CricketBowling", "CricketShot"],
        "confusion": [[5, 0, 0], [1, 6, 3], [0, 2, 8]],
    }
    cricket = within(validation, LOOKALIKES["cricket"])
    assert (
        cricket["accuracy"] == round(14 / 20, 4) and cricket["clips"] == 20
    )  # a clip called A counts as wrong
    assert cricket["confusion"] == [[6, 3], [2, 8]]
    assert cricket["table"][0] == {"true": "CricketBowling", "CricketBowling": 6, "CricketShot": 3}
    assert within(validation, LOOKALIKES["string instruments"]) is None


def test_leave_classes_out_scores_the_classes_a_calibrated_bundle_was_not_given(tmp_path):
    """A small real run of the leave-classes-out check: a frozen-backbone bundle taught two of
    three classes meets the third as unknown; evaluate reports its AUROC and refusals."""
    data = tiny_dataset(tmp_path / "three", ("Archery", "PlayingPiano", "Surfing"), clips=(1,))
    out = train_tiny(
        data, tmp_path / "two", "effnet_lstm", "--classes", "Archery,Surfing", cache_dir=tmp_path / "c"
    )
    taught = bundle.load(out)
    assert taught.spec.classes == ("Archery", "Surfing") and taught.spec.open_set.score == "knn"
    report = evaluate(data, taught, groups=[8])  # the validation group
    assert report.n_clips == 2 and report.skipped == 1  # the PlayingPiano clip
    open_set = report.open_set
    assert open_set["n_other_classes"] == 1 and 0.0 <= open_set["other_classes_auroc"] <= 1.0
    assert 0.0 <= open_set["other_classes_refused"] <= 1.0 and "auroc" not in open_set
    scores = [j.knownness for j in report.judgements]
    assert open_set["known_accepted"] == np.mean(np.array(scores) >= taught.spec.open_set.threshold)
