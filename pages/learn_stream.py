import streamlit as st

from core.config import MODELS_DIR
from core.errors import ActionLabError
from core.models import movinet
from core.views.charts import timeline_figure
from core.views.learn_charts import flow_figure
from core.views.network import network_flow, stages
from pages._app.common import current_bundle, demo_clip, use_app_navigation
from pages._app.learn import clip_timeline, estimates

KINETICS = str(MODELS_DIR / "kinetics-600")
HEADS = ("movinet_linear", "movinet_mlp", "movinet_lstm")

INTRO = """
**A streaming 3D CNN** sees motion the way slow fusion does (its kernels span time as well as
space) but is built to run on a camera: it takes **one frame at a time** and carries what it
needs of the past in its own state. The one here is **MoViNet-A0** (Kondratyuk et al., 2021),
pretrained on **Kinetics-600**: half a million YouTube clips of 600 human actions.

- **(2+1)D, causal.** Each block splits a 3D convolution into a spatial one (k x k on the frame)
  and a temporal one (k frames in time). The temporal one is *causal*: it looks only at the
  current frame and the ones before, never ahead, so a frame's answer never waits for the future.
- **Stream buffers.** To see 3 or 5 frames while taking one, a block keeps the last 2 or 4
  frames' activations in a *stream buffer*, handed back with the output and fed in with the next
  frame. Run frame by frame, the network computes exactly what it would on the whole clip.
- **Cumulative pooling.** Every squeeze-excitation block and the head average over *all* frames
  since the start (a running sum and a count, also state). That is why the app zeroes the states
  every 1.6 s unit: never zeroed, the network would describe the whole video so far, and a
  timeline could not follow a change of action.
- **What pretraining gives.** The 600 logits already separate actions that one frame cannot
  (bowling from batting on one camera), and name most actions a user films. The app's default
  model is a small head on these logits; the `kinetics-600` model is the network's own classifier.
"""


def estimate_rows() -> list[dict]:
    found = estimates()
    rows = []
    for name in HEADS:
        estimate = found.get(name)
        if estimate is not None:
            accuracy = estimate["accuracy"]
            rows.append(
                {
                    "head": name,
                    "which action, new footage": f"{accuracy['mean']:.1%}",
                    "folds": f"{accuracy['min']:.0%}-{accuracy['max']:.0%}",
                }
            )
    return rows


use_app_navigation()
st.title("Streaming 3D CNN (MoViNet)")
st.markdown(INTRO)
current_bundle()
st.subheader("Data flow, read from the network file")
try:
    st.plotly_chart(flow_figure(network_flow(), per_row=5), width="stretch")
    buffered = sum(stage.buffered_frames for stage in stages())
    pooled = sum(stage.cumulative_pool for stage in stages())
    st.caption(
        f"{len(stages())} stages from `models/backbones/{movinet.NETWORK_FILE.name}`: {buffered} frames "
        f"of activations kept in stream buffers across {sum(s.temporal_kernel > 0 for s in stages())} "
        f"causal temporal convolutions, and {pooled} cumulative pools; "
        f"{movinet.MovinetUnits.flops_per_frame() / 1e9:.2f} GFLOPs a frame."
    )
except ActionLabError as error:
    st.error(str(error))

st.subheader("Live on a clip: its Kinetics-600 top 5 over time")
clip = demo_clip()
if clip is not None:
    try:
        timeline = clip_timeline(clip, KINETICS)
        st.plotly_chart(timeline_figure(timeline, lines=5), width="stretch")
        top = ", ".join(f"**{label}** {p:.0%}" for label, p in timeline.top_k(5))
        st.markdown(f"Over the whole clip: {top}.")
        st.caption(
            f"One point per {movinet.UNIT_FRAMES / movinet.FPS:.1f} s unit: the states zeroed at its "
            "first frame, its logits after the last, through a softmax. Nothing here was trained by this app."
        )
    except ActionLabError as error:
        st.error(str(error))

st.subheader("Heads on it, cross-validated by group")
rows = estimate_rows()
if rows:
    st.dataframe(rows, hide_index=True, width="stretch")
    st.caption("The same 6 folds of UCF101 groups as every approach on the Compare page.")
else:
    st.info(
        "No cross-validated head yet: `python -m core crossval ../shared/data/ucf101 --arch movinet_linear`."
    )
