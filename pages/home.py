import streamlit as st

st.title("🎬 Action Recognition Lab")
st.markdown(
    "Upload a video and a CNN + LSTM network trained on real UCF101 clips tells you which "
    "action happens when, as a timeline. Along the way, see how video classifiers work."
)
st.page_link("pages/analyze.py", label="Analyze a video", icon="🎞️")
