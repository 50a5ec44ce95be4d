import streamlit as st

from core.errors import ActionLabError
from core.views.learn_charts import (
    direction_by_action_figure,
    direction_lesson,
    results_scatter,
    sequence_against_frame,
    spread_lesson,
    stacked_timelines,
)
from pages._app.common import demo_clip, use_app_navigation
from pages._app.learn import FOOTINGS, TASKS, approach_ref, clip_timeline, estimates, results

use_app_navigation()
st.title("Compare the approaches")
st.markdown(
    "Two questions: **which action** and **which way time runs** (the same clips played forwards "
    "or reversed; order-blind approaches are at chance on it by construction). **On pretrained "
    "eyes** (a frozen ImageNet EfficientNet-Lite0 encodes every frame, BlazePose for the pose "
    "approach; the approach only decides how to fuse time) every approach had the same eleven "
    "UCF101 classes, split, seed and stopping rule: trained until the validation groups stopped "
    "improving. **From scratch** (small "
    "networks that learn from pixels, six classes) they are 3-epoch demonstrations, kept to look "
    "inside: *stopped by: budget* says so."
)
table = results()
if table is None:
    st.info("No results yet: `python -m core compare ../shared/data/ucf101 --json` writes them.")
else:
    rows = table["rows"]
    expected = estimates()

    def new_footage(row: dict) -> dict:
        estimate = expected.get(row["architecture"])
        if estimate is None:
            return {"which action, new footage": "", "folds": "not cross-validated"}
        accuracy = estimate["accuracy"]
        return {
            "which action, new footage": f"{accuracy['mean']:.1%}",
            "folds": f"{accuracy['min']:.0%}-{accuracy['max']:.0%}",
        }

    st.dataframe(
        [
            {
                "approach": row.get("approach") or row["architecture"],
                "footing": FOOTINGS[row.get("footing", "scratch")],
                **new_footage(row),
                **{f"{label} (one split)": row["accuracy"].get(task) for task, label in TASKS.items()},
                "cricket pair (one split)": (row.get("within") or {}).get("cricket"),
                "actions": row.get("classes"),
                "stopped by": (row.get("stopped_by") or {}).get("action"),
                "parameters": row["params"],
                "MFLOPs per clip": row["flops_per_clip"] / 1e6,
                "ms per clip (batch 1)": row["latency_ms_batch1"],
                f"ms per clip (batch {row['batch_size']})": row["latency_ms_batched"],
                "training s (action)": row["train_s"].get("action"),
            }
            for row in rows
        ],
        width="stretch",
        hide_index=True,
        column_config={
            label: st.column_config.NumberColumn(format="percent")
            for label in (*(f"{label} (one split)" for label in TASKS.values()), "cricket pair (one split)")
        },
    )
    task = st.radio("Accuracy on", list(TASKS), format_func=TASKS.get, horizontal=True)
    st.plotly_chart(results_scatter(rows, task, expected), width="stretch")
    st.caption(
        "*New footage*: a cross-validation by group (`python -m core crossval`, its command in "
        "`models/approaches/crossval/`): each fold's groups judged by a model that never saw them, "
        "the mean and the worst and best fold. *One split*: measured by "
        f"`{table['command']}` on validation groups {table['validation_groups']}, which also chose "
        "each model's epoch: expect less on new footage."
    )
    on_video_network = [
        {
            "head on the video network": name,
            "which action, new footage": f"{estimate['accuracy']['mean']:.1%}",
            "folds": f"{estimate['accuracy']['min']:.0%}-{estimate['accuracy']['max']:.0%}",
            "cricket pair, new footage": f"{estimate['cricket_pair']['mean']:.1%}",
        }
        for name, estimate in sorted(expected.items())
        if name.startswith("movinet_")
    ]
    if on_video_network:
        st.markdown(
            "**On a video network** (the Kinetics-600 MoViNet-A0 stream sees motion; the approach "
            "is a small head on its 1.6 s units), cross-validated on the same 6 folds of groups:"
        )
        st.dataframe(on_video_network, hide_index=True, width="stretch")
    lesson = spread_lesson(expected)
    if lesson:
        st.markdown(lesson)
    sequence = sequence_against_frame(expected)
    if sequence:
        st.markdown(sequence)

    pretrained = [row for row in rows if row.get("footing") == "pretrained"]
    lesson = direction_lesson(pretrained)
    if lesson:
        st.subheader("Which way time runs, action by action")
        st.markdown(lesson)
        st.plotly_chart(direction_by_action_figure(pretrained), width="stretch")

st.subheader("Compare on your clip (on pretrained eyes)")
clip = demo_clip()
if clip is not None:
    rows = [row for row in (table or {}).get("rows", []) if row.get("footing") == "pretrained"]
    refs = [(row["approach"], approach_ref(row["approach"], "action")) for row in rows]
    try:
        timelines = [(name, clip_timeline(clip, ref)) for name, ref in refs if ref is not None]
        st.plotly_chart(stacked_timelines(timelines), width="stretch")
    except ActionLabError as error:
        st.error(str(error))
