import streamlit as st

from app_shared import use_app_navigation

use_app_navigation()

st.title("Action Recognition Lab")
st.markdown(
    "Upload a video and a CNN + LSTM network trained on real UCF101 clips tells you which action "
    "happens when, as a timeline. Along the way, see how video classifiers work and how well ours do."
)
analyze, model = st.columns(2)
with analyze.container(border=True):
    st.markdown("**Analyze a video**: a timeline of actions for your own clip, with downloads.")
    st.page_link("pages/analyze.py", label="Open", icon=":material/movie:")
with model.container(border=True):
    st.markdown("**Model**: what the model was trained on and how it scores on unseen groups.")
    st.page_link("pages/model.py", label="Open", icon=":material/neurology:")
