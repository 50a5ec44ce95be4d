from pathlib import Path

import numpy as np
import pytest

from core.errors import DatasetError
from core.training.dataset import Clip
from core.training.folds import Fold, FoldResult, Judged, check_folds, make_folds, spread


def test_six_folds_of_eighteen_groups_test_each_group_once():
    groups = list(range(8, 26))
    folds = make_folds(groups, 6, 3)
    tested = [g for f in folds for g in f.test_groups]
    assert sorted(tested) == groups and all(len(f.test_groups) == 3 for f in folds)
    for fold in folds:
        parts = [set(fold.test_groups), set(fold.inner_groups), set(fold.train_groups)]
        assert set().union(*parts) == set(groups)
        assert sum(len(p) for p in parts) == len(groups)  # disjoint
        assert len(fold.inner_groups) == 3 and len(fold.train_groups) == 12
    # the inner groups are spread through the training groups, not bunched at one end
    assert folds[0].inner_groups == (13, 18, 23)


@pytest.mark.parametrize(
    ("groups", "folds", "inner", "message"),
    [
        ([8, 9, 10], 4, 1, "more folds than the 3 groups"),
        ([8], 2, 1, "at least 2 groups"),
        ([8, 9, 10, 11], 1, 1, "at least 2 folds"),
        ([8, 9, 10, 11], 2, 2, "--inner-groups must be between 1 and 1"),
    ],
)
def test_impossible_folds_are_refused_with_the_reason(groups, folds, inner, message):
    with pytest.raises(DatasetError, match=message):
        make_folds(groups, folds, inner)


def test_a_class_missing_from_a_fold_is_named():
    clips = [Clip(Path(f"v_A_g{g:02d}_c01.mp4"), "A", g) for g in (8, 9, 10, 11)]
    clips += [Clip(Path(f"v_B_g{g:02d}_c01.mp4"), "B", g) for g in (8, 9, 10)]  # no B in group 11
    folds = make_folds([8, 9, 10, 11], 2, 1)  # fold 1 tests 8-9, holds back 11 and trains on 10
    with pytest.raises(DatasetError, match=r"Fold 1 has no clips of B in its inner groups \[11\]"):
        check_folds(clips, ["A", "B"], folds)


def _judged(true: str, predicted: str, score: float) -> Judged:
    return Judged(f"v_{true}_g08_c01.mp4", 8, true, predicted, 0.9, score, (score,))


def test_fold_figures_count_what_they_say():
    judged = (
        _judged("CricketBowling", "CricketShot", 1.0),
        _judged("CricketShot", "CricketShot", 2.0),
        _judged("Archery", "Archery", -1.0),  # refused at threshold 0
        _judged("Archery", "Archery", 3.0),
    )
    result = FoldResult(
        Fold(0, (8,), (9,), (10,)),
        ("Archery", "CricketBowling", "CricketShot"),
        best_epoch=4,
        epochs_run=9,
        seconds=1.0,
        judged=judged,
        threshold=0.0,
        mix=None,
        unknown_scores=(-2.0, 0.5),
    )
    figures = result.figures()
    assert figures["accuracy"] == 0.75 and figures["cricket_pair"] == 0.5
    assert figures["per_class"] == {"Archery": 1.0, "CricketBowling": 0.0, "CricketShot": 1.0}
    assert figures["known_accepted"] == 0.75 and figures["accepted_accuracy"] == round(2 / 3, 4)
    assert figures["unknown_refused"] == 0.5
    # known scores 1, 2, -1, 3 against unknown -2, 0.5: 7 of the 8 pairs ranked right
    assert figures["unknown_auroc"] == 0.875
    assert "strings" not in figures  # none of the string instruments is a class here


def test_spread_is_mean_and_range():
    assert spread([0.5, 1.0, 0.75]) == {"mean": 0.75, "min": 0.5, "max": 1.0}
    assert spread(list(np.full(3, 0.9))) == {"mean": 0.9, "min": 0.9, "max": 0.9}
