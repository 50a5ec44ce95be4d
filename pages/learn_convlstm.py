import numpy as np
import streamlit as st

from core.views.introspect import recurrent_state_maps
from core.views.learn_charts import maps_figure
from pages._app.learn import approach_page, computed_once, first_window

INTRO = """
A **ConvLSTM** puts the convolution *inside* the recurrent cell. Where the LRCN first squeezes
each frame into a vector and then remembers vectors, a ConvLSTM remembers whole feature *maps*:
at every step it convolves the new frame together with its previous hidden state, so its memory
keeps the layout of the scene (where the wave is, where the rider is) as it changes over time.
On pretrained eyes it runs on the frozen EfficientNet-Lite0's last 5x5 maps (320 channels, cut
to 64 by a 1x1 convolution); the small from-scratch model below runs on pixels.
"""

TRADEOFFS = """
- **Space and time together from the first layer**: motion at a place in the picture can be
  followed directly, which a per-frame CNN + LSTM only sees after pooling.
- **Costly**: every recurrent step is a convolution over full maps, and steps cannot run in
  parallel over time; it is the slowest model here per clip, and there is no per-frame feature
  to reuse between overlapping windows.
- **Small but slow to train**: it has few weights, yet every training step runs convolutions
  over maps at every time step (see *Measured* for how it compares with the LRCN).
"""


def hidden_state_over_time(bundle, clip) -> None:
    window = first_window(clip, bundle.spec)
    layers = computed_once("states", bundle, clip, lambda: recurrent_state_maps(bundle, window))
    st.markdown(
        "**The hidden state over time** (first window): each map is the layer's memory after that "
        "frame, averaged over its channels. Watch it build up where things move."
    )
    chosen = st.selectbox("Layer", range(len(layers)), format_func=lambda i: layers[i].label)
    states = layers[chosen].maps  # (T, H, W, C)
    mean_state = states.mean(axis=-1)
    fps = bundle.spec.sampling_fps
    st.plotly_chart(
        maps_figure(mean_state, [f"{t / fps:.2f} s" for t in range(len(mean_state))], columns=10),
        width="stretch",
    )
    change = np.abs(np.diff(mean_state, axis=0)).mean(axis=(1, 2))
    st.caption(
        "How much the memory changes from one frame to the next: " + ", ".join(f"{c:.3f}" for c in change)
    )


approach_page("convlstm", "ConvLSTM", INTRO, TRADEOFFS, hidden_state_over_time)
