"""The command line as scripts see it: exit codes, stdout JSON, stderr lines. Commands that do
real work run as real processes; input mistakes, which are refused before any work, run through
``cli.main`` in this process with its file descriptors captured (a process each would spend its
time importing TensorFlow), and one runs as a process to show that nothing else reaches stderr."""

import json
import subprocess
import sys
import tempfile

import pytest

from core.config import LRCN_BUNDLE, PROJECT_ROOT
from tests.support import (
    SURFING,
    UCF6,
    assert_one_error_line,
    damaged_bundle,
    moving_square,
    one_more_class,
    run_cli_here,
    run_core,
    write_video,
)


def test_analyze_json_reports_surfing():
    result = run_core("analyze", str(SURFING), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["top"]["label"] == "Surfing"
    assert set(data["video"]) == {"path", "duration_s", "fps", "width", "height"}
    assert set(data["model"]) >= {"name", "architecture", "classes", "source"}
    assert data["windows"] and set(data["windows"][0]) == {"start_s", "end_s", "probabilities", "knownness"}
    segment_keys = {"start_s", "end_s", "label", "confidence", "known", "kinetics"}  # the video network's
    assert data["segments"] and set(data["segments"][0]) == segment_keys
    assert data["segments"][0]["kinetics"]["label"] == "surfing water"
    assert data["top"]["known"] is True and data["open_set"]["score"] == "knn_energy"  # the default
    top_k = data["top_k"]  # every class, best first, the first one the overall label
    assert [entry["label"] for entry in top_k][0] == "Surfing" and len(top_k) == len(data["model"]["classes"])
    assert [entry["confidence"] for entry in top_k] == sorted((e["confidence"] for e in top_k), reverse=True)
    assert data["warnings"] == []  # a whole, ordinary clip


def test_analyze_json_carries_the_warnings(tmp_path):
    short = write_video(tmp_path / "short.mp4", moving_square(25))  # 1 s: shorter than one window
    result = run_core("analyze", str(short), "--model", str(LRCN_BUNDLE), "--json")
    assert result.returncode == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 1 and "shorter than" in warnings[0]


def test_a_bug_exits_1_with_its_traceback():
    """Not every failure is the user's: an unexpected exception is not dressed as `error:`."""
    broken = (
        "import runpy, sys; from core.engine import timeline; "
        "timeline.Timeline.to_dict = lambda *args, **kwargs: 1 / 0; "
        f"sys.argv = ['core', 'analyze', {str(SURFING)!r}, '--model', {str(LRCN_BUNDLE)!r}, '--json']; "
        "runpy.run_module('core', run_name='__main__')"
    )
    result = subprocess.run([sys.executable, "-c", broken], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "ZeroDivisionError" in result.stderr and "error: " not in result.stderr


def test_analyze_prints_a_readable_timeline():
    result = run_core("analyze", str(SURFING))
    assert result.returncode == 0
    assert "overall: Surfing" in result.stdout


def _bad_inputs(folder):
    text = folder / "notes.mp4"
    text.write_text("hello, I am not a video\n" * 50)
    noise = folder / "noise.avi"
    noise.write_bytes(bytes(range(256)) * 400)
    empty = folder / "empty.mp4"
    empty.touch()
    whole = write_video(folder / "whole.mp4", moving_square(60))
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    image = folder / "still.png"
    import cv2

    cv2.imwrite(str(image), moving_square(1)[0])
    return {
        "text named .mp4": [str(text)],
        "random bytes": [str(noise)],
        "zero bytes": [str(empty)],
        "truncated": [str(truncated)],
        "still image": [str(image)],
        "missing path": [str(folder / "missing.mp4")],
        "folder": [str(folder)],
    }


@pytest.mark.parametrize(
    "case",
    ["text named .mp4", "random bytes", "zero bytes", "truncated", "still image", "missing path", "folder"],
)
def test_bad_videos_exit_2_with_one_error_line(tmp_path, case, capfd, monkeypatch):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # shows whether anything was left behind
    code, out, err = run_cli_here(capfd, "analyze", *_bad_inputs(inputs)[case])
    assert_one_error_line(code, err)
    assert out == ""
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("damage", ["no config", "class count"])
def test_bad_bundles_exit_2(tmp_path, damage, capfd):
    folder = damaged_bundle(tmp_path / "bundle", one_more_class if damage == "class count" else None)
    if damage == "no config":
        (folder / "config.json").unlink()
    code, _, err = run_cli_here(capfd, "analyze", str(SURFING), "--model", str(folder))
    assert_one_error_line(code, err)


def test_evaluate_json_on_one_group():
    result = run_core("evaluate", str(UCF6), "--groups", "g10", "--model", str(LRCN_BUNDLE), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["n_clips"] == len(list(UCF6.glob("*/*_g10_*")))
    assert set(data) >= {"accuracy", "n_clips", "per_class", "confusion"}
    validation = json.loads((LRCN_BUNDLE / "metrics.json").read_text())["validation"]
    expected = sorted(m["clip"] for m in validation["mistakes"] if "_g10_" in m["clip"])
    assert sorted(m["clip"] for m in data["mistakes"]) == expected  # as its model card measured
    assert data["accuracy"] == pytest.approx(1 - len(expected) / data["n_clips"], abs=1e-4)


def _bench_lrcn(tmp_path, *options: str) -> dict:
    """The LRCN rather than the default model: the per-frame baseline on EfficientNet takes
    minutes, and the figures' behaviour is the same (``make bench`` times the default)."""
    options = ("--model", str(LRCN_BUNDLE), "--json", *options)
    result = run_core("bench", str(SURFING), *options, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bench_json_figures(tmp_path):
    data = _bench_lrcn(tmp_path, "--repeat-to", "4")  # cut to 4 s: the per-frame loop is slow
    timings = ("decode_only_s", "analyze_s", "analyze_whole_windows_s", "per_frame_baseline_s")
    assert all(0 < data[key] < 120 for key in timings), data
    # what the figures promise: analysis faster than the video plays, and far faster than the
    # classic loop of one predict call per decoded frame (about 100x on an idle machine)
    assert data["analyze_s"] < data["video_s"]
    assert data["per_frame_baseline_s"] > 5 * data["analyze_s"]
    assert data["realtime_factor"] == pytest.approx(data["video_s"] / data["analyze_s"], rel=0.02)
    assert 300 < data["peak_rss_mb"] < 3000  # this process's own peak: TensorFlow and one small model
    assert data["video_s"] == pytest.approx(4, abs=0.1)
    assert data["frames_sampled"] == pytest.approx(4 * 6, abs=1)  # the LRCN samples 6 fps
    assert list(tmp_path.iterdir()) == []  # the cut clip was removed


def test_memory_does_not_grow_with_video_length(tmp_path):
    """10 minutes of video take no more memory than 1 minute (frames stream; nothing piles up)."""
    short = _bench_lrcn(tmp_path, "--repeat-to", "60", "--no-baseline")
    long = _bench_lrcn(tmp_path, "--repeat-to", "600", "--no-baseline")
    assert long["per_frame_baseline_s"] is None and long["analyze_whole_windows_s"] is None
    assert long["video_s"] == pytest.approx(600, abs=1)
    assert long["frames_sampled"] == pytest.approx(3600, abs=2)
    assert long["peak_rss_mb"] < 1.25 * short["peak_rss_mb"] + 100
    assert long["peak_rss_mb"] < 2500


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", str(SURFING), "--hop", "nan"],
        ["analyze", str(SURFING), "--smoothing", "0"],
        ["evaluate", str(UCF6), "--groups", "11-8"],
        ["train", str(UCF6), "--arch", "lrcn", "--out", "x", "--epochs", "0"],
        ["train", str(UCF6), "--arch", "resnet", "--out", "x"],
        ["frobnicate"],
    ],
)
def test_usage_mistakes_exit_2_with_one_error_line(args, capfd):
    code, _, err = run_cli_here(capfd, *args)
    assert_one_error_line(code, err)


def test_a_refused_command_prints_only_its_error_line():
    """The whole process: TensorFlow's import notices and logs do not reach stderr either."""
    result = run_core("analyze", str(SURFING), "--hop", "nan")
    assert_one_error_line(result.returncode, result.stderr)
    assert result.stdout == ""


def test_malformed_setting_is_a_clear_error(monkeypatch, capfd):
    monkeypatch.setenv("ARL_HOP_S", "fast")
    code, _, err = run_cli_here(capfd, "analyze", str(SURFING))
    assert code == 2
    assert err.strip() == "error: ARL_HOP_S='fast' is not a number between 0.05 and 60."
