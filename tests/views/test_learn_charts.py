"""The Compare page's views, from rows shaped as ``results.json`` holds them, and the Learn
pages' data-flow diagram."""

import json

import numpy as np
import pytest

from core.training.compare import APPROACHES_DIR
from core.views.learn_charts import (
    actions_by_direction,
    direction_by_action_figure,
    direction_lesson,
    direction_note,
)

ROWS = [
    {"approach": "lrcn", "direction_by_action": {"Dunk": 0.95, "Cello": 0.5, "Archery": 0.7}},
    {"approach": "convlstm", "direction_by_action": {"Dunk": 0.85, "Cello": 0.56, "Archery": 0.6}},
    {"approach": "late_fusion", "direction_by_action": {}},  # no direction bundle
]
TABLE = [
    {"architecture": "effnet_lrcn", "footing": "pretrained", **ROWS[0]},
    {"architecture": "effnet_convlstm", "footing": "pretrained", **ROWS[1]},
    {"architecture": "early_fusion", "footing": "scratch", "direction_by_action": {"Dunk": 1.0}},
]


def test_actions_are_ranked_by_the_best_approach_on_each():
    ranked = actions_by_direction(ROWS)
    assert ranked == [("Dunk", 0.95), ("Archery", 0.7), ("Cello", 0.56)]


def test_the_lesson_names_what_gives_direction_away_and_what_stays_near_chance():
    lesson = direction_lesson(ROWS)
    assert "**Dunk (95%)** give their direction away" in lesson
    assert "**Cello (56%)** stay near chance" in lesson
    assert "Archery" not in lesson  # neither easy nor near chance
    assert direction_lesson([{"approach": "x", "direction_by_action": {}}]) == ""


def test_the_figure_has_a_row_per_approach_with_a_direction_bundle():
    (heatmap,) = direction_by_action_figure(ROWS).data
    assert list(heatmap.y) == ["lrcn", "convlstm"]
    assert list(heatmap.x) == ["Dunk", "Archery", "Cello"]
    assert [list(row) for row in heatmap.z] == [[0.95, 0.7, 0.5], [0.85, 0.6, 0.56]]
    assert [list(row) for row in heatmap.text] == [["95%", "70%", "50%"], ["85%", "60%", "56%"]]


def test_a_pages_note_gives_its_models_share_beside_the_best_on_pretrained_eyes():
    note = direction_note(TABLE, "effnet_convlstm", "Dunk")
    assert "judged the direction right 85% of the time" in note
    assert "the best approach on pretrained eyes: 95%" in note  # not the scratch row's 100%
    assert "right 100%" in direction_note(TABLE, "early_fusion", "Dunk")
    # a clip of no known action, an action the table lacks, a model the table lacks: no note
    assert direction_note(TABLE, "effnet_lrcn", None) == ""
    assert direction_note(TABLE, "effnet_lrcn", "Surfing") == ""
    assert direction_note(TABLE, "pose_lstm", "Dunk") == ""


def test_flow_boxes_snake_so_no_arrow_crosses_a_box():
    from core.views.flow import FlowStep
    from core.views.learn_charts import FLOW_BOX, FLOW_CHARACTERS, flow_figure, flow_positions

    positions = flow_positions(12, 5)
    assert [round(x, 2) for x, _ in positions[:6]] == [
        0.0,
        1.45,
        2.9,
        4.35,
        5.8,
        5.8,
    ]  # row 2 starts under row 1's end
    steps = [
        FlowStep(f"EfficientNet-Lite0 (frozen, ImageNet) per frame {i}", "conv", (13, 1280), 0)
        for i in range(12)
    ]
    figure = flow_figure(steps)
    boxes = [(s.x0, s.y0, s.x1, s.y1) for s in figure.layout.shapes]
    for note in figure.layout.annotations:
        if note.showarrow:  # the arrow's straight line meets a box only at its own two ends
            for t in np.linspace(0.05, 0.95, 19):
                x, y = note.ax + t * (note.x - note.ax), note.ay + t * (note.y - note.ay)
                assert not any(x0 < x < x1 and y0 < y < y1 for x0, y0, x1, y1 in boxes)
        else:  # the text stays within its box: lines no longer than the box holds
            lines = note.text.replace("<b>", "").replace("</b>", "").split("<br>")
            assert max(len(line) for line in lines) <= FLOW_CHARACTERS
            assert len(lines) * 14 < FLOW_BOX[1] * 140  # 11 px text, about 140 px a row


def test_the_compare_scatters_labels_do_not_overlap():
    from core.views.learn_charts import LABEL_PX, SCATTER_PX, label_offsets, results_scatter

    rows = json.loads((APPROACHES_DIR / "results.json").read_text())["rows"]
    for task in ("action", "direction"):
        xs = np.log10([row["latency_ms_batch1"] for row in rows])
        ys = [row["accuracy"][task] for row in rows]
        texts = [row["architecture"] for row in rows]
        radii = [(8 + 4 * np.log10(row["params"])) / 2 for row in rows]  # the markers' own
        offsets = label_offsets([row["latency_ms_batch1"] for row in rows], ys, texts, radii)
        px = (xs - xs.min()) / (xs.max() - xs.min()) * SCATTER_PX[0]
        py = np.asarray(ys) / 1.05 * SCATTER_PX[1]
        rects = []
        for i, (dx, dy) in enumerate(offsets):
            width, height = len(texts[i]) * LABEL_PX[0], LABEL_PX[1]
            cx, cy = px[i] + dx, py[i] + dy
            rects.append((cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2))
            assert not any(  # no label covers a point, its own included
                cx - width / 2 - 4 < px[j] < cx + width / 2 + 4
                and cy - height / 2 - 4 < py[j] < cy + height / 2 + 4
                for j in range(len(rows))
            )
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (task, a, b)
        figure = results_scatter(rows, task)
        assert sorted(note.text for note in figure.layout.annotations if note.showarrow) == sorted(texts)


def _estimate(architecture: str, folds: list[float], epochs=(3, 5), cricket: float = 0.5) -> dict:
    """A summary shaped as ``crossval --json`` writes it: three folds of two groups each."""
    return {
        "folds": len(folds),
        "accuracy": {"mean": round(float(np.mean(folds)), 4), "min": min(folds), "max": max(folds)},
        "cricket_pair": {"mean": cricket, "min": cricket, "max": cricket},
        "per_fold": [{"test_groups": [8 + 2 * i, 9 + 2 * i], "accuracy": a} for i, a in enumerate(folds)],
        "settings": {
            "training": {"architecture": architecture},
            "best_epochs": list(epochs),
            "inner_groups": 1,
            "augmented_copies": 0,
        },
    }


ESTIMATES = {
    "effnet_single_frame": _estimate("effnet_single_frame", [0.78, 0.84, 0.90], cricket=0.46),
    "effnet_lrcn": _estimate("effnet_lrcn", [0.74, 0.81, 0.91], epochs=(2, 9), cricket=0.5),
    "effnet_slow_fusion": _estimate("effnet_slow_fusion", [0.58, 0.60, 0.62]),
}


def test_a_cross_validated_approach_is_shown_at_its_mean_with_its_range():
    from core.views.learn_charts import results_scatter, shown_accuracy

    row = {"architecture": "effnet_lrcn", "accuracy": {"action": 0.88, "direction": 0.55}}
    assert shown_accuracy(row, "action", ESTIMATES) == (0.82, ESTIMATES["effnet_lrcn"]["accuracy"])
    assert shown_accuracy(row, "direction", ESTIMATES) == (0.55, None)  # estimated on actions only
    rows = json.loads((APPROACHES_DIR / "results.json").read_text())["rows"]
    figure = results_scatter(rows, "action", ESTIMATES)
    crossval = [t for t in figure.data if "cross-validated" in t.name]
    assert [list(t.text) for t in crossval] == [["effnet_single_frame", "effnet_slow_fusion", "effnet_lrcn"]]
    assert list(crossval[0].y) == [0.84, 0.60, 0.82]
    assert list(crossval[0].error_y.arrayminus) == pytest.approx([0.06, 0.02, 0.08])
    single = [t for t in figure.data if "one split" in t.name]
    assert all(t.marker.symbol == "circle-open" for t in single)
    assert sum(len(t.x) for t in figure.data) == len(rows)


def test_approaches_are_ranked_fold_by_fold():
    from core.views.learn_charts import spread_lesson, too_close_to_call

    # single frame beats the LSTM in two folds of three, and both beat slow fusion in every fold
    pairs = too_close_to_call(ESTIMATES)
    assert [(a, b, wins, folds) for a, b, _, wins, folds in pairs] == [
        ("effnet_single_frame", "effnet_lrcn", 2, 3)
    ]
    assert pairs[0][2] == pytest.approx(0.02)
    lesson = spread_lesson(ESTIMATES)
    assert lesson.startswith("1 of the 3 pairs") and "`effnet_single_frame` and `effnet_lrcn`" in lesson
    assert "better in 2 of 3 folds" in lesson
    apart = {k: v for k, v in ESTIMATES.items() if k != "effnet_lrcn"}
    assert spread_lesson(apart).endswith("the ranking holds.")
    # estimates on other folds are not set side by side
    other = {
        **apart,
        "effnet_lrcn": {**ESTIMATES["effnet_lrcn"], "per_fold": ESTIMATES["effnet_lrcn"]["per_fold"][:2]},
    }
    assert [p[:2] for p in too_close_to_call(other)] == []


def test_the_sequence_lesson_reads_the_measured_estimates():
    from core.views.learn_charts import sequence_against_frame

    text = sequence_against_frame(ESTIMATES)
    assert text.startswith("**On new scenes, the sequence model loses to a single frame.**")
    assert "82.0% of clips (folds 74%-91%)" in text and "84.0% (78%-90%)" in text
    assert "the better of the two in 1 of the 3 folds" in text
    assert "only 6 groups (one person or scene each; 3 train a fold's model)" in text
    assert "after 2-9 epochs" in text and "it scores 50% against 46%" in text
    better = {**ESTIMATES, "effnet_lrcn": _estimate("effnet_lrcn", [0.93, 0.95, 0.97])}
    beats = sequence_against_frame(better)
    assert "the sequence model beats a single frame" in beats and "Why order buys no more" not in beats
    assert sequence_against_frame({"effnet_lrcn": ESTIMATES["effnet_lrcn"]}) == ""
