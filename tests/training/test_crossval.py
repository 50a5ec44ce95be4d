"""Cross-validation by group, end to end on real clips: ``python -m core crossval`` trains and
judges every fold in worker processes, then trains the bundle on every group (core.training.crossval)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.config import PROJECT_ROOT
from core.models import bundle as bundles
from tests.support import SAMPLES, UCF6, assert_one_error_line, run_cli_here

CLASSES = ("Archery", "PlayingPiano", "Surfing")
GROUPS = (8, 9, 10, 11)
UNTAUGHT = ("v_TaiChi_g01_c02.avi", "kinetics_abseiling.mp4", "v_Archery_g08_c01.avi")
QUICK = ("--folds", "2", "--inner-groups", "1", "--batch-size", "8", "--windows-per-clip", "2")


def _dataset(root, groups=GROUPS, classes=CLASSES):
    for label in classes:
        (root / label).mkdir(parents=True)
        for group in groups:
            for clip in (1, 2):
                name = f"v_{label}_g{group:02d}_c{clip:02d}.mp4"
                shutil.copy(UCF6 / label / name, root / label / name)
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("crossval")
    unknown = root / "untaught"
    unknown.mkdir()
    for name in UNTAUGHT:  # the Archery sample names a taught class: it must not count as unknown
        shutil.copy(SAMPLES / name, unknown / name)
    return _dataset(root / "clips"), unknown, root / "cache"


def _command(data, out, *extra):
    clips, unknown, cache = data
    return [
        sys.executable, "-m", "core", "crossval", str(clips), "--arch", "effnet_mean", *QUICK,
        "--unknown", str(unknown), "--cache-dir", str(cache), "--out", str(out), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """One real run: two folds in two worker processes, one augmented copy per clip, one class
    left out of a second head per fold; then the bundle on every group."""
    out = tmp_path_factory.mktemp("bundle") / "cv-bundle"
    command = _command(data, out, "--epochs", "3", "--augment", "1", "--leave-out", "1", "--json")
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), out, result.stderr


def test_every_fold_is_judged_by_a_model_that_never_saw_its_groups(run):
    summary, _, log = run
    assert "2 folds in 2 process(es)" in log
    folds = summary["per_fold"]
    assert [f["test_groups"] for f in folds] == [[8, 9], [10, 11]]
    assert [f["inner_groups"] for f in folds] == [[11], [9]]
    assert summary["clips"] == len(CLASSES) * len(GROUPS) * 2
    accuracy = [f["accuracy"] for f in folds]
    assert summary["accuracy"] == {
        "mean": round(float(np.mean(accuracy)), 4),
        "min": min(accuracy),
        "max": max(accuracy),
    }
    assert set(summary["per_class"]) == set(CLASSES)
    assert summary["accuracy"]["mean"] >= 0.6  # three easy actions: far above a third
    assert all(1 <= f["best_epoch"] <= 3 for f in folds)


def test_the_open_set_is_judged_on_untaught_clips_and_left_out_classes(run):
    summary, _, _ = run
    open_set = summary["open_set"]
    assert open_set["n_unknown"] == 2  # TaiChi and abseiling; the Archery sample is a taught class
    for key in (
        "known_accepted",
        "accepted_accuracy",
        "unknown_refused",
        "unknown_auroc",
        "other_classes_refused",
    ):
        assert 0 <= open_set[key]["min"] <= open_set[key]["mean"] <= open_set[key]["max"] <= 1
    assert [f["left_out"] for f in summary["per_fold"]] == [["Archery"], ["PlayingPiano"]]


def test_the_bundle_carries_the_estimate_and_leads_its_card_with_it(run):
    summary, out, _ = run
    trained = bundles.load(out)
    assert trained.metrics["cross_validation"] == summary
    assert trained.metrics["split"]["train_groups"] == list(GROUPS)  # every group
    assert trained.metrics["training"]["config"]["epochs"] == int(
        np.median(summary["settings"]["best_epochs"])
    )
    assert trained.metrics["validation"]["n_clips"] == summary["clips"]  # out of fold
    calibration = trained.spec.open_set
    assert calibration.score == "knn_energy" and calibration.groups == GROUPS
    card = (out / "README.md").read_text()
    assert card.index("## Expected on new footage") < card.index("## Training")
    assert "crossval" in card and "--augment 1" in card
    assert not list(out.parent.glob(".*partial*"))


def test_the_folds_judge_clips_as_analysis_does(run, data):
    """The fold's shortcut (cached features through the head) and ``analyze`` on the file agree."""
    from core.engine.analysis import analyze
    from core.models import contract
    from core.models.backbone import EffnetFeatures
    from core.training.crossval_worker import FeatureJudge
    from core.training.dataset import FeatureCache, FrameCache

    _, out, _ = run
    trained = bundles.load(out)
    clip = data[0] / "Surfing" / "v_Surfing_g09_c01.mp4"
    encoder = EffnetFeatures()
    features = FeatureCache(FrameCache(data[2], 4.0, (160, 160)), encoder, encoder.fingerprint()).features(
        clip
    )[0]
    spec = trained.spec
    judge = FeatureJudge(
        contract.split(trained.model)[1], spec.open_set, spec.sequence_length, spec.hop_frames
    )
    probabilities, scores = judge.windows(features)
    timeline = analyze(clip, trained)
    np.testing.assert_allclose(probabilities, timeline.probabilities, atol=1e-4)
    np.testing.assert_allclose(scores, timeline.knownness, atol=1e-3)


def test_evaluate_shows_the_estimate_and_says_when_clips_were_trained_on(run, data, capfd):
    summary, out, _ = run
    code, stdout, _ = run_cli_here(
        capfd, "evaluate", str(data[0]), "--model", str(out), "--groups", "8", "--json"
    )
    assert code == 0
    report = json.loads(stdout)
    assert report["cross_validation"] == summary
    assert report["trained_on"] == 6 and len(report["warnings"]) == 1
    assert report["warnings"][0].startswith(
        "6 of the 6 clips scored here come from the model's training data"
    )


@pytest.mark.parametrize(
    ("groups", "extra", "message"),
    [
        ((8, 9, 10), ("--folds", "4"), "more folds than the 3 groups"),
        ((8,), ("--folds", "2"), "at least 2 groups"),
        ((8, 9, 10, 11), ("--folds", "2", "--leave-out", "2"), "keep at least 2 of the 3 classes"),
        ((8, 9, 10, 11), ("--arch", "lrcn"), "invalid choice: 'lrcn'"),
    ],
)
def test_impossible_cross_validations_get_one_error_line(tmp_path, capfd, groups, extra, message):
    clips = _dataset(tmp_path / "clips", groups)
    arguments = ["crossval", str(clips), "--inner-groups", "1", "--cache-dir", str(tmp_path / "c"), *extra]
    code, _, err = run_cli_here(capfd, *arguments)
    assert_one_error_line(code, err)
    assert message in err


def test_an_interrupted_run_leaves_no_half_written_bundle(data, tmp_path, monkeypatch):
    """Ctrl-C while the bundle is being written leaves neither a bundle nor its partial folder.
    The interrupt is raised where the bundle's last files are written, so that it lands there
    every time (a signal sent when the final model is announced can arrive after a fast run)."""
    from core import cli

    written: list[list[str]] = []

    def interrupted(folder, *_) -> None:
        written.append(sorted(path.name for path in Path(folder).iterdir()))
        raise KeyboardInterrupt

    monkeypatch.setattr(bundles, "write_documents", interrupted)
    out = tmp_path / "never"
    with pytest.raises(KeyboardInterrupt):
        cli.main(_command(data, out, "--epochs", "1", "--leave-out", "0")[3:])
    assert "model.keras" in written[0]  # halfway through writing the bundle
    assert not out.exists() and not list(tmp_path.glob(".never.partial*"))


def test_the_bundle_says_what_a_stricter_or_looser_threshold_costs(run):
    _, out, _ = run
    trained = bundles.load(out)
    curve = trained.metrics["open_set_curve"]
    assert [p["accepted_target"] for p in curve] == [0.8, 0.85, 0.9, 0.95, 0.98, 0.99]
    calibrated = next(p for p in curve if p["accepted_target"] == trained.spec.open_set.accepted)
    assert calibrated["threshold"] == pytest.approx(trained.spec.open_set.threshold, abs=1e-5)
    assert calibrated["window_threshold"] == pytest.approx(trained.spec.open_set.window_threshold, abs=1e-5)
    # looser thresholds accept more known clips and refuse fewer others
    for looser, stricter in zip(curve[1:], curve, strict=False):
        assert looser["threshold"] <= stricter["threshold"]
        assert looser["known_accepted"] >= stricter["known_accepted"]
        assert looser["unknown_refused"] <= stricter["unknown_refused"]
        assert looser["other_classes_refused"] <= stricter["other_classes_refused"]


def test_one_worker_runs_the_folds_one_after_the_other(data, tmp_path):
    """--workers 1 (and any 1-core machine): each fold still gets a fresh process of its own."""
    clips, unknown, cache = data
    command = [
        sys.executable, "-m", "core", "crossval", str(clips), "--arch", "effnet_mean", *QUICK,
        "--cache-dir", str(cache), "--epochs", "1", "--leave-out", "0", "--workers", "1", "--json",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 folds in 1 process(es)" in result.stderr and result.stderr.count("fold ") >= 2
    assert json.loads(result.stdout)["folds"] == 2
