"""Action Recognition Lab: the entry point that sets up navigation."""

import streamlit as st

from core.engine.memory import release_free_memory

st.set_page_config(page_title="Action Recognition Lab", page_icon="🎬", layout="wide")

navigation = st.navigation(
    {
        "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
        "Learn": [
            st.Page("pages/learn_video.py", title="What is a video", icon=":material/movie_info:"),
            st.Page("pages/learn_single_frame.py", title="Single frame", icon=":material/image:"),
            st.Page("pages/learn_late_fusion.py", title="Late fusion", icon=":material/merge:"),
            st.Page("pages/learn_early_fusion.py", title="Early fusion", icon=":material/layers:"),
            st.Page("pages/learn_slow_fusion.py", title="Slow fusion (3D CNN)", icon=":material/view_in_ar:"),
            st.Page("pages/learn_pose.py", title="Pose + LSTM", icon=":material/accessibility_new:"),
            st.Page("pages/learn_lrcn.py", title="CNN + LSTM (LRCN)", icon=":material/timeline:"),
            st.Page("pages/learn_convlstm.py", title="ConvLSTM", icon=":material/grid_on:"),
            st.Page("pages/learn_stream.py", title="Streaming 3D CNN (MoViNet)", icon=":material/stream:"),
            st.Page("pages/compare.py", title="Compare the approaches", icon=":material/leaderboard:"),
        ],
        "Use": [
            st.Page("pages/analyze.py", title="Analyze a video", icon=":material/movie:"),
            st.Page("pages/live.py", title="Live view", icon=":material/videocam:"),
            st.Page("pages/teach.py", title="Teach it your actions", icon=":material/school:"),
            st.Page("pages/model.py", title="Model", icon=":material/neurology:"),
        ],
    },
    expanded=True,  # 16 pages: collapsed, Streamlit would hide the "Use" section behind "View more"
)
navigation.run()
release_free_memory()  # what the page's run freed goes back to the system (core/engine/memory.py)
