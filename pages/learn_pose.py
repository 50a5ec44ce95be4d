import hashlib

import numpy as np
import streamlit as st

from core.models.pose import FEATURES, NUM_LANDMARKS, shared_estimator
from core.views.learn_charts import presence_figure
from core.views.skeleton import draw
from pages._app.learn import approach_page, clip_frames

INTRO = f"""
A **pose estimator** turns each frame into the positions of a person's joints, and an **LSTM**
classifies the sequence of skeletons. Here the estimator is Google's BlazePose (from MediaPipe,
run by TensorFlow Lite): a detector finds the person, a second network places {NUM_LANDMARKS}
landmarks (nose, eyes, shoulders, elbows, wrists, hips, knees, ankles, fingers, toes). The LSTM
gets {FEATURES} numbers per frame: every landmark relative to the hips in torso lengths, how
visible it is, and whether a person was found at all. Nothing else of the picture reaches it.
"""

TRADEOFFS = """
- **A tiny input for the sequence model**: once every frame's pose is computed (about an hour on
  2 cores for the 1,063 clips here, as recorded and mirrored), fitting the LSTM takes about a
  minute, until its validation accuracy stops improving.
- **Blind to objects and context**: the surfboard, the piano, the horse are gone; what is left
  is the body, the same whatever the background.
- **Only as good as the pose**: small, occluded or many people, unusual viewpoints and a
  person who is not the subject give wrong skeletons or none. Over all 1,063 clips a person was
  found in 97% of the sampled frames of PlayingCello, 93% of PlayingSitar, 85% of PlayingPiano,
  83% of Archery and 82% of PlayingViolin, in 54-57% of the cricket and pizza clips, but in 16%
  of BasketballDunk, 9% of Surfing and 2.5% of HorseRace.
- **So the scene sneaks back in**: "nobody found" is itself a strong hint of a horse race or a
  surfer far out, and part of this model's score comes from the estimator's failures, not from
  movement.
- **Two models to run, and the estimator costs most**: a detector and a landmark network on
  every frame, 1.6 GFLOPs per frame: 33 GFLOPs for a 20-frame window against 1.7 MFLOPs for the
  LSTM on top.
"""


@st.cache_data(show_spinner="Finding the person in every sampled frame…", max_entries=8)
def clip_poses(digest: str, fps: float, size: tuple[int, int], _frames: np.ndarray) -> list:
    estimator = shared_estimator()
    return [estimator.estimate(frame) for frame in _frames]


def what_the_skeleton_keeps(bundle, clip) -> None:
    spec = bundle.spec
    frames = clip_frames(clip, spec)
    poses = clip_poses(hashlib.sha256(clip[1]).hexdigest(), spec.sampling_fps, spec.frame_size, frames)
    found = np.array([pose is not None for pose in poses])
    st.markdown(
        f"**A person was found in {found.sum()} of {len(found)} sampled frames** (green). Where "
        "there is none the LSTM reads zeros: a surfer far out on a wave, the riders of a horse "
        "race and the players at a dunk are usually too small or too many for the estimator."
    )
    st.plotly_chart(presence_figure(found, spec.sampling_fps), width="stretch")
    first = int(np.argmax(found)) if found.any() else 0
    index = st.slider("Sampled frame", 0, len(frames) - 1, first) if len(frames) > 1 else 0
    height, width = spec.image_size
    left, right = st.columns(2)
    left.image(
        draw(frames[index], poses[index]),
        caption=f"the frame: {width * height * 3:,} numbers",
        width="stretch",
    )
    right.image(
        draw(frames[index], poses[index], alone=True),
        caption=f"what the LSTM gets: {FEATURES} numbers" if poses[index] else "nobody found: zeros",
        width="stretch",
    )


WHEN_WRONG = (
    "Only the skeleton reaches its LSTM. Where the estimator finds nobody (a surfer far out, a "
    "horse race) it reads zeros, and look-alike poses have little else to tell them apart: an "
    "archer's raised arm and a violinist's, a bowler's stride and a batsman's."
)

approach_page("pose_lstm", "Pose + LSTM", INTRO, TRADEOFFS, what_the_skeleton_keeps, "pretrained", WHEN_WRONG)
