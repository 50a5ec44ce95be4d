"""Figures for the Learn pages, built from plain data (no Streamlit), so tests can inspect them."""

from __future__ import annotations

import plotly.graph_objects as go

from core.anatomy import VideoAnatomy


def numbers_figure(video: VideoAnatomy, example_s: float = 10.0) -> go.Figure:
    """How many numbers each view of the clip is, on a log axis: a frame, ten seconds, the whole
    clip, and the one window the model reads."""
    height, width = video.window_size
    bars = [
        ("one frame", video.numbers_per_frame, f"{video.height}x{video.width}x3"),
        (f"{example_s:g} s of video", video.numbers_for(example_s), f"{example_s * video.fps:.0f} frames"),
        ("the whole clip", video.numbers, f"{video.frames} frames"),
        ("one model window", video.window_numbers, f"{video.window_frames} frames of {height}x{width}x3"),
    ]
    figure = go.Figure(
        go.Bar(
            x=[value for _, value, _ in bars],
            y=[label for label, _, _ in bars],
            orientation="h",
            text=[f"{value:,.0f} ({detail})" for _, value, detail in bars],
            textposition="auto",
            marker_color=["#8da0cb", "#8da0cb", "#8da0cb", "#fc8d62"],
            hovertemplate="%{y}: %{x:,.0f} numbers<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"type": "log", "title": "numbers (bytes, one per colour channel of a pixel)"},
        yaxis={"autorange": "reversed"},
        height=280,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure
