import numpy as np
import streamlit as st

from core.views.introspect import frame_feature_maps, prediction_after_each_frame
from core.views.learn_charts import class_lines_figure, maps_figure, sequence_against_frame
from pages._app.learn import approach_page, computed_once, estimates, first_window

INTRO = """
**LRCN** (long-term recurrent convolutional network) is the idea behind the app's main model. A
CNN looks at each frame on its own and boils it down to a feature vector (what is in the
picture); an **LSTM** then reads those vectors in order and carries a memory from frame to frame,
so its answer can depend on what happened earlier. The CNN runs once per frame and is shared by
all frames; only the LSTM sees time. On pretrained eyes the CNN is the frozen ImageNet
EfficientNet-Lite0 (1280 numbers per frame); the small from-scratch CNN below learns its own
features from pixels, which is what lets us draw them.
"""

TRADEOFFS = """
- **Sees order**: the LSTM reads frames in sequence, so it can tell a dunk from a jump that
  lands first (and forwards from backwards), unlike averaging frame predictions.
- **Cheap to run on long videos**: the CNN's features of a frame are computed once and reused
  by every window that contains it; only the small LSTM runs per window.
- **Late temporal fusion**: time is only mixed after each frame is reduced to 96 numbers, so
  fine motion inside a frame pair (optical-flow-like cues) is mostly lost; 3D CNNs and
  ConvLSTMs mix time earlier, at a higher cost.
- **Features decide**: the same LSTM on a small CNN trained from scratch on 529 clips is weak
  on unusual footage; on ImageNet features it is the app's main model.
"""


def inside_the_lrcn(bundle, clip) -> None:
    window = first_window(clip, bundle.spec)
    st.markdown("**What the CNN sees in one frame**: the output of each convolution block.")
    left, right = st.columns([1, 3])
    index = left.slider("Frame of the first window", 0, len(window) - 1, len(window) // 2)
    height, width = bundle.spec.image_size
    left.image(window[index], caption=f"frame {index} ({width}x{height})", width="stretch")
    maps = computed_once("maps", bundle, clip, lambda: frame_feature_maps(bundle, window[index]), index)
    labels = [f"{m.label} -> {m.maps.shape[0]}x{m.maps.shape[1]}x{m.maps.shape[2]}" for m in maps]
    block = right.selectbox("Block", range(len(maps)), format_func=lambda i: labels[i])
    chosen = maps[block].maps
    strongest = np.argsort(chosen.mean(axis=(0, 1)))[::-1][:16]
    right.plotly_chart(
        maps_figure(np.moveaxis(chosen[..., strongest], -1, 0), [f"channel {c}" for c in strongest]),
        width="stretch",
    )
    st.markdown("**How the LSTM's answer forms**, frame by frame through the first window:")
    steps = computed_once("steps", bundle, clip, lambda: prediction_after_each_frame(bundle, window))
    seen = np.arange(1, len(steps) + 1)
    x_title = f"frames seen (at {bundle.spec.sampling_fps:g} fps)"
    st.plotly_chart(class_lines_figure(seen, steps, bundle.spec.classes, x_title), width="stretch")


approach_page("lrcn", "CNN + LSTM (LRCN)", INTRO, TRADEOFFS, inside_the_lrcn)
sequence = sequence_against_frame(estimates())
if sequence:
    st.markdown(sequence)
