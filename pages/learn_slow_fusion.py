import streamlit as st

from core.views.introspect import space_time_slice, temporal_reach
from core.views.learn_charts import reach_figure, space_time_figure
from pages._app.learn import approach_page, clip_frames, result_row

INTRO = """
**Slow fusion** mixes time a little at every layer. On pretrained eyes, temporal convolutions
slide along the frames' ImageNet features: the first sees 3 neighbouring frames, the next 7
(dilated), and their outputs are pooled over the window. From scratch it is a 3D CNN, drawn
below: its kernels are small cubes, 3 frames x 3 x 3 pixels, that slide along time as well as
across the picture; layer by layer the network's view of time widens until the last layers see
the whole window.
"""

TRADEOFFS = """
- **Motion everywhere**: every layer can respond to how things change, not just the first
  (early fusion) or the last (LRCN, late fusion).
- **Expensive**: every weight is applied at every position in space *and* time, so its FLOPs per
  clip are the highest for its size (see below and on the Compare page).
- **Data-hungry**: a 3D kernel has three times the weights of a 2D one; from scratch on 529
  clips it has the hardest time generalising.
"""


def kernel_sliding_in_time(bundle, clip) -> None:
    spec = bundle.spec
    frames = clip_frames(clip, spec)[: 4 * spec.sequence_length]
    st.markdown(
        "**A 3D kernel sliding over the frame stack**: this is one row of pixels from every sampled "
        "frame, stacked downwards in time; moving things draw slanted lines. Press the button: a "
        "kernel covers 3 frames at a time."
    )
    st.plotly_chart(space_time_figure(space_time_slice(frames), spec.sampling_fps), width="stretch")
    reach = temporal_reach(bundle.model)
    st.markdown("**How far in time each layer sees**, from the model's own kernel and pooling sizes:")
    window = spec.sequence_length  # padding lets later layers reach past it; the window is all there is
    seen = [min(frames, window) for _, frames in reach]
    st.plotly_chart(reach_figure([label for label, _ in reach], seen, window), width="stretch")
    row = result_row("slow_fusion")
    if row:
        flops = row["flops_per_clip"] / 1e6
        st.caption(f"Cost: {flops:,.0f} million FLOPs per clip; the Compare page ranks it.")


approach_page("slow_fusion", "Slow fusion (3D CNN)", INTRO, TRADEOFFS, kernel_sliding_in_time)
