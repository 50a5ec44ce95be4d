import streamlit as st

from core.models.fusion import FUSION_CONV
from core.views.introspect import fusion_weights
from core.views.learn_charts import frame_weights_figure
from pages._app.learn import approach_page, first_window

INTRO = """
**Early fusion** merges the frames at the very first layer. On pretrained eyes, the 13 frames'
ImageNet features are laid side by side (13 x 1280 numbers) and one dense layer sees them all at
once, with a weight of its own for every frame position: it can compare frames, and tell
forwards from backwards. The small from-scratch model below shows the idea on pixels: its
frames are stacked like the colour channels of one picture (20 frames x 3 colours = 60
channels), so its first convolution's filters can compare frames (a difference between two
frames is motion); after that layer it is an ordinary 2D image CNN.
"""

TRADEOFFS = """
- **Sees order and motion at once**: the first layer has a separate weight for every frame, so
  it can learn "brighter here now than a moment ago", and tell forwards from backwards.
- **Cheap**: one 2D CNN pass per window, whatever its length.
- **Rigid**: all temporal reasoning happens in one layer over a fixed number of frames; a longer
  or differently-timed window needs a new network, and nothing of a frame is reused between
  overlapping windows.
"""


def what_the_first_layer_sees(bundle, clip) -> None:
    spec = bundle.spec
    window = first_window(clip, spec)
    height, width = spec.image_size
    st.markdown(
        f"**The input**: {len(window)} frames stacked into one {width}x{height}x{3 * len(window)} picture "
        "(every fourth frame shown)."
    )
    for column, (index, frame) in zip(st.columns(5), list(enumerate(window))[::4], strict=False):
        column.image(frame, caption=f"channels {3 * index}-{3 * index + 2}", width="stretch")
    st.markdown(
        "**What the first layer weighs**: for each of its filters, the share of its weights on each "
        "frame. Filters that spread their weight over many frames, or put opposite signs on "
        "neighbouring ones, are looking at change over time."
    )
    weights = fusion_weights(bundle, FUSION_CONV)
    st.plotly_chart(frame_weights_figure(weights, spec.sampling_fps), width="stretch")


approach_page("early_fusion", "Early fusion", INTRO, TRADEOFFS, what_the_first_layer_sees)
