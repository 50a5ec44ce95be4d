import numpy as np
import streamlit as st

from core.training.dataset import label_in_name
from core.views.introspect import frame_probabilities, shuffled_prediction
from core.views.learn_charts import fusion_figure
from pages._app.learn import approach_page, clip_frames, computed_once, first_window

INTRO = """
**Late fusion** classifies every frame of the window on its own, like the single-frame model,
and only then merges the frames' answers, here by averaging their class probabilities. Time is
fused at the very end, after each frame has already been reduced to one probability per action.
Each frame is seen through the same frozen ImageNet EfficientNet-Lite0 as on every approach page.
"""

TRADEOFFS = """
- **Steadier than one frame**: averaging the votes of a window's 13 frames absorbs the odd
  misleading frame, so the timeline flickers less. Clip accuracy hardly moves (see *Measured*):
  a clip's verdict already averages all its windows, which gave the single frame most of this
  benefit too.
- **Still order-blind**: the mean of the frames is the same in any order. Shuffle a window's
  frames (below) and the answer does not move; on *Which way does time run?* it is at chance.
- **Cost grows with the frames**: every frame goes through the backbone (shared between
  overlapping windows in analysis, as for the LRCN).
"""


def fusion_steadies_flicker(bundle, clip) -> None:
    spec = bundle.spec
    frames = clip_frames(clip, spec)
    per_frame = computed_once("frames", bundle, clip, lambda: frame_probabilities(bundle, frames))
    label = label_in_name(clip[0], spec.classes) or spec.classes[int(per_frame.mean(axis=0).argmax())]
    index = spec.classes.index(label)
    st.markdown(f"**Fusion steadies the flicker**: the probability of **{label}**, frame by frame and fused.")
    st.plotly_chart(fusion_figure(per_frame[:, index], label, spec.sampling_fps), width="stretch")
    as_is, shuffled = computed_once(
        "shuffled", bundle, clip, lambda: shuffled_prediction(bundle, first_window(clip, spec))
    )
    st.markdown(
        f"**What it cannot see**: the first window's frames in order give {label} "
        f"{as_is[index]:.1%}; shuffled, {shuffled[index]:.1%} "
        f"(largest difference over all classes: {np.abs(as_is - shuffled).max():.1e})."
    )


approach_page("late_fusion", "Late fusion", INTRO, TRADEOFFS, fusion_steadies_flicker, "pretrained")
