"""The Compare page's direction-by-action view, from rows shaped as ``results.json`` holds them."""

from core.views.learn_charts import actions_by_direction, direction_by_action_figure, direction_lesson

ROWS = [
    {"approach": "lrcn", "direction_by_action": {"Dunk": 0.95, "Cello": 0.5, "Archery": 0.7}},
    {"approach": "convlstm", "direction_by_action": {"Dunk": 0.85, "Cello": 0.56, "Archery": 0.6}},
    {"approach": "late_fusion", "direction_by_action": {}},  # no direction bundle
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
