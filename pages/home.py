import streamlit as st

from pages._app.common import use_app_navigation

use_app_navigation()
st.title("Action Recognition Lab")
st.markdown(
    "Upload a video or paste a link, and CNN + LSTM networks trained on real UCF101 clips tell you "
    "which action happens when, as a timeline. Along the way, see how every classic approach to video "
    "classification works, and how well each does on the same clips."
)
learn, analyze, teach, model = st.columns(4)
with learn.container(border=True):
    st.markdown("**Learn**: frames, single-frame models, fusion, 3D CNNs, LSTMs, ConvLSTMs, each run live.")
    st.page_link("pages/learn_video.py", label="Start with: what is a video", icon=":material/school:")
    st.page_link("pages/compare.py", label="Compare the approaches", icon=":material/leaderboard:")
with analyze.container(border=True):
    st.markdown("**Analyze a video**: a timeline of actions for your own clip, with downloads.")
    st.page_link("pages/analyze.py", label="Open", icon=":material/movie:")
with teach.container(border=True):
    st.markdown("**Teach it your actions**: a few clips of each, and a model of your own in minutes.")
    st.page_link("pages/teach.py", label="Open", icon=":material/school:")
with model.container(border=True):
    st.markdown("**Model**: what the model was trained on and how it scores on unseen groups.")
    st.page_link("pages/model.py", label="Open", icon=":material/neurology:")
