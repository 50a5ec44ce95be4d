import streamlit as st

from app_shared import current_bundle, demo_clip, use_app_navigation
from learn_shared import clip_frames

use_app_navigation()
st.title("Pose + LSTM")
st.markdown(
    """
A **pose estimator** turns each frame into the positions of a person's joints (17 keypoints:
nose, shoulders, elbows, wrists, hips, knees, ankles), and an **LSTM** classifies the sequence
of skeletons. It is the approach of choice when the action *is* the movement of the body
(exercise repetitions, sign language, falls), and it works the same in any room or light.
"""
)
st.warning(
    "This checkout has no pose model, so this approach is explained, not run. None of the "
    "pose estimators installable here from the package registries ships its weights (MediaPipe "
    "1.x leaves the model out, and a model hub cannot be reached from this machine), and this "
    "project will not claim results it did not measure."
)
model = current_bundle()
clip = demo_clip()
if model is not None and clip is not None:
    spec = model.spec
    frame = clip_frames(clip, spec)[0]
    left, right = st.columns(2)
    left.image(frame, caption="what a frame-based model reads", width="stretch")
    height, width = spec.image_size
    right.markdown(
        f"""
**What the skeleton throws away.** A {width}x{height} frame is {width * height * 3:,} numbers; a
skeleton is 17 joints x 2 coordinates = **34**. Gone with the rest: the surfboard and the wave,
the piano, the bow, the race track, everything that the single-frame model relies on to name
these six actions. For them, the scene is most of the signal; for *which way time runs* and
for actions that look alike in every frame, the body's movement is.
"""
    )
st.subheader("Trade-offs")
st.markdown(
    """
- **Robust to scene and clothing**, and tiny inputs for the sequence model: fast to train.
- **Blind to objects and context**: a tennis swing and a badminton swing look alike as skeletons.
- **Fails when the pose fails**: small, occluded or many people, unusual viewpoints.
- **Two models to run**: the pose estimator usually costs more than the classifier on top.
"""
)
