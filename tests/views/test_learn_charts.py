"""The Compare page's direction-by-action view, from rows shaped as ``results.json`` holds them."""

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
