import pytest

from core.training.evaluation import evaluate, scores
from tests.support import UCF6


def test_scores_from_a_known_confusion():
    per_class, confusion = scores(["a", "b"], truth=[0, 0, 0, 1], predicted=[0, 0, 1, 1])
    assert confusion == [[2, 1], [0, 1]]
    assert per_class["a"].precision == 1.0 and per_class["a"].recall == pytest.approx(0.6667, abs=1e-4)
    assert per_class["b"].precision == 0.5 and per_class["b"].recall == 1.0
    assert per_class["a"].support == 3


def test_evaluate_reproduces_the_model_card_accuracy(lrcn_bundle):
    """The bundle's stated accuracy is what `evaluate` measures on the same validation groups."""
    validation = lrcn_bundle.metrics["validation"]
    report = evaluate(UCF6, lrcn_bundle, groups=validation["groups"])
    assert report.n_clips == validation["n_clips"]
    assert report.accuracy == pytest.approx(validation["accuracy"], abs=1e-4)
    assert report.confusion == validation["confusion"]
    assert sum(map(sum, report.confusion)) == report.n_clips
    assert report.accuracy == pytest.approx(1 - len(report.mistakes) / report.n_clips)
