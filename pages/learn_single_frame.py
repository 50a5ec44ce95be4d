import numpy as np
import streamlit as st

from core.training.dataset import label_in_name
from core.views.introspect import frame_probabilities
from core.views.learn_charts import class_lines_figure
from pages._app.learn import approach_page, clip_frames, computed_once

INTRO = """
The simplest video classifier ignores time: take **one frame** and classify it as if it were a
photo. The photo model here is the frozen ImageNet EfficientNet-Lite0 that every approach on
these pages shares, so the comparison is about time alone: this approach adds only a classifier
on the middle frame's 1280 features. For most of the eleven actions that works remarkably well,
because the scene gives the action away: a piano, a surfboard, a race track. Where two actions
share one scene, a cricket bowler and a batsman on the same pitch, one frame is not enough (see
*Measured*: the share of the cricket pair's clips it gets right).
"""

TRADEOFFS = """
- **Cheapest**: one frame of CNN per prediction, and any image model (or ImageNet weights) fits.
- **Flickers**: frames along a clip disagree (a frame of sky, a blurred pan, a moment that looks
  like another action), so the label jumps around on a timeline.
- **Blind to order by construction**: it cannot tell a clip from the same clip reversed, or
  a sitting-down from a standing-up. On *Which way does time run?* it is at chance.
"""


def every_frame_on_its_own(bundle, clip) -> None:
    name, spec = clip[0], bundle.spec
    frames = clip_frames(clip, spec)
    probabilities = computed_once("frames", bundle, clip, lambda: frame_probabilities(bundle, frames))
    labels = probabilities.argmax(axis=1)
    changes = int((labels[1:] != labels[:-1]).sum())
    truth = label_in_name(name, spec.classes)
    st.markdown(
        f"**Every sampled frame on its own** ({len(frames)} frames at {spec.sampling_fps:g} fps): the "
        f"predicted label changes **{changes}** times"
        + (f"; the true action is **{truth}**, right on {np.mean(labels == spec.classes.index(truth)):.0%} "
           "of the frames." if truth else ".")
    )  # fmt: skip
    times = np.arange(len(frames)) / spec.sampling_fps
    st.plotly_chart(class_lines_figure(times, probabilities, spec.classes, "time (s)"), width="stretch")


approach_page(
    "single_frame", "Single-frame classification", INTRO, TRADEOFFS, every_frame_on_its_own, "pretrained"
)
