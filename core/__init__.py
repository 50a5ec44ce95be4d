"""Action Recognition Lab's logic, importable without Streamlit.

FFmpeg and OpenCV log to stderr on every bad file, and our own VideoError says it better: the
levels are set here, before any module of the package can import cv2.
"""

import os

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
