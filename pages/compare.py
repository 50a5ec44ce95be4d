import streamlit as st

from core.errors import ActionLabError
from core.views.learn_charts import results_scatter, stacked_timelines
from pages._app.common import demo_clip, use_app_navigation
from pages._app.learn import TASKS, approach_ref, clip_timeline, results

use_app_navigation()
st.title("Compare the approaches")
st.markdown(
    "Every approach trained with the same data, split, budget and seed, on two questions: "
    "**which action** (six UCF101 classes) and **which way time runs** (the same clips played "
    "forwards or reversed). Order-blind approaches are at chance on the second by construction."
)
table = results()
if table is None:
    st.info("No results yet: `python -m core compare ../shared/data/ucf101-6 --json` writes them.")
else:
    rows = table["rows"]
    st.dataframe(
        [
            {
                "approach": row["architecture"],
                **{label: row["accuracy"].get(task) for task, label in TASKS.items()},
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
        column_config={label: st.column_config.NumberColumn(format="percent") for label in TASKS.values()},
    )
    task = st.radio("Accuracy on", list(TASKS), format_func=TASKS.get, horizontal=True)
    st.plotly_chart(results_scatter(rows, task), width="stretch")
    st.caption(f"Measured by `{table['command']}` on validation groups {table['validation_groups']}.")

st.subheader("Compare on your clip")
clip = demo_clip()
if clip is not None:
    names = [row["architecture"] for row in table["rows"]] if table else ["lrcn", "convlstm"]
    refs = [(name, approach_ref(name, "action")) for name in names]
    try:
        timelines = [(name, clip_timeline(clip, ref)) for name, ref in refs if ref is not None]
        st.plotly_chart(stacked_timelines(timelines), width="stretch")
    except ActionLabError as error:
        st.error(str(error))
