"""Plotly figures built from plain data (no Streamlit), so tests can inspect them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from core.engine.live import HORIZON_S, LiveHistory
from core.engine.timeline import UNKNOWN, Timeline


def class_colours(classes) -> dict[str, str]:
    palette = qualitative.Set2 + qualitative.Dark2
    return {name: palette[i % len(palette)] for i, name in enumerate(classes)}


UNKNOWN_GREY = "#bdbdbd"
MAX_LINES = 10  # a model of 600 actions draws the ones that peak highest, not 600 lines


def drawn_classes(timeline: Timeline, lines: int = MAX_LINES) -> list[int]:
    """The classes whose lines the timeline draws: all of a small model's, else the ``lines``
    that reach the highest probability somewhere in the video."""
    count = len(timeline.classes)
    if count <= lines or not len(timeline.probabilities):
        return list(range(count))
    peaks = timeline.probabilities.max(axis=0)
    return sorted(np.argsort(-peaks)[:lines].tolist())


def band_text(segment) -> str:
    """A segment's label on the band; an unknown one with its Kinetics-600 look-alike."""
    if not segment.known and segment.kinetics is not None:
        return f"unknown · {segment.kinetics[0]}?"
    return segment.label


def segment_row(segment) -> dict:
    """A segment as the Analyze page's table shows it: an unknown one says what it looks like
    among the Kinetics-600 actions, when the model's backbone can tell."""
    row = {
        "start_s": round(segment.start_s, 1),
        "end_s": round(segment.end_s, 1),
        "label": segment.label,
        "confidence": f"{segment.confidence:.0%}",
    }
    if not segment.known:
        row["closest known"] = segment.closest
    if segment.kinetics is not None:
        row["Kinetics-600"] = f"{segment.kinetics[0]} ({segment.kinetics[1]:.0%})"
    return row


def timeline_figure(timeline: Timeline, smoothing: int = 3, lines: int = MAX_LINES) -> go.Figure:
    """Probability of each class over time, with the segments as a labelled band on top (unknown
    stretches in grey); for a calibrated bundle, the known-ness score and its threshold below."""
    from plotly.subplots import make_subplots

    colours = {**class_colours(timeline.classes), UNKNOWN: UNKNOWN_GREY}
    centres = (timeline.starts_s + timeline.ends_s) / 2
    scored = timeline.open_set is not None and timeline.knownness is not None
    figure = make_subplots(rows=2 if scored else 1, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           row_heights=[0.72, 0.28] if scored else [1.0])  # fmt: skip
    for index in drawn_classes(timeline, lines):
        name = timeline.classes[index]
        figure.add_trace(
            go.Scatter(
                x=centres,
                y=timeline.probabilities[:, index],
                name=name,
                mode="lines",
                line={"color": colours[name], "width": 2},
                hovertemplate=f"{name}: %{{y:.0%}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for segment in timeline.segments(smoothing):
        figure.add_shape(
            type="rect", x0=segment.start_s, x1=segment.end_s, y0=1.04, y1=1.16, xref="x", yref="y",
            fillcolor=colours[segment.label], line={"width": 0},
        )  # fmt: skip
        if not segment.known:  # the stretch itself greyed out, under the lines
            figure.add_shape(
                type="rect", x0=segment.start_s, x1=segment.end_s, y0=0, y1=1.02, xref="x", yref="y",
                fillcolor=UNKNOWN_GREY, opacity=0.25, line={"width": 0}, layer="below",
            )  # fmt: skip
        figure.add_annotation(
            x=(segment.start_s + segment.end_s) / 2, y=1.10, xref="x", yref="y", text=band_text(segment),
            showarrow=False, font={"size": 11},
        )  # fmt: skip
    if scored:
        figure.add_trace(
            go.Scatter(
                x=centres, y=timeline.smoothed_knownness(), name="known-ness", mode="lines",
                line={"color": "#555555", "width": 2}, hovertemplate="known-ness: %{y:.3f}<extra></extra>",
            ),
            row=2, col=1,
        )  # fmt: skip
    _probability_axes(
        figure,
        timeline.open_set.window_threshold if scored else None,
        [0, timeline.duration_s],
        480 if scored else 360,
    )
    return figure


def _probability_axes(
    figure, window_threshold: float | None, x_range: list[float], height: int, **layout
) -> None:
    """The axes and layout of a probability panel over time and, given a window threshold, of the
    known-ness panel under it with that threshold drawn: a finished timeline's and the live one's."""
    scored = window_threshold is not None
    if scored:
        figure.add_hline(
            y=window_threshold, line_dash="dot", line_color=UNKNOWN_GREY, row=2, col=1,
            annotation_text="below: unknown", annotation_position="bottom right",
        )  # fmt: skip
        figure.update_yaxes(title="known-ness", row=2, col=1)
    figure.update_xaxes(title="time (s)", range=x_range, row=2 if scored else 1, col=1)
    figure.update_yaxes(title="probability", range=[0, 1.18], tickformat=".0%", row=1, col=1)
    figure.update_layout(
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=height,
        **layout,
    )


def live_figure(history: LiveHistory, horizon_s: float = HORIZON_S) -> go.Figure:
    """The live view's last ``horizon_s`` seconds drawn as Analyze draws a timeline: each class's
    probability, the label shown as a band on top (unknown in grey), and for a calibrated bundle
    the known-ness under its threshold. The time axis rolls: it ends at the newest reading."""
    from plotly.subplots import make_subplots

    colours = {**class_colours(history.classes), UNKNOWN: UNKNOWN_GREY}
    scored = history.knownness is not None and history.window_threshold is not None
    figure = make_subplots(rows=2 if scored else 1, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           row_heights=[0.72, 0.28] if scored else [1.0])  # fmt: skip
    times = history.times_s
    for index, name in enumerate(history.classes):
        figure.add_trace(
            go.Scatter(x=times, y=history.probabilities[:, index], name=name, mode="lines",
                       line={"color": colours[name], "width": 2},
                       hovertemplate=f"{name}: %{{y:.0%}}<extra></extra>"),
            row=1, col=1,
        )  # fmt: skip
    first = 0
    for index in range(1, len(times) + 1):  # the runs of one label, each as far as the next begins
        if index < len(times) and history.labels[index] == history.labels[first]:
            continue
        label, end = history.labels[first], times[min(index, len(times) - 1)]
        figure.add_shape(
            type="rect", x0=times[first], x1=end, y0=1.04, y1=1.16, xref="x", yref="y",
            fillcolor=colours[label], line={"width": 0},
        )  # fmt: skip
        figure.add_annotation(x=(times[first] + end) / 2, y=1.10, xref="x", yref="y", text=label,
                              showarrow=False, font={"size": 11})  # fmt: skip
        first = index
    if scored:
        figure.add_trace(
            go.Scatter(x=times, y=history.knownness, name="known-ness", mode="lines",
                       line={"color": "#555555", "width": 2},
                       hovertemplate="known-ness: %{y:.3f}<extra></extra>"),
            row=2, col=1,
        )  # fmt: skip
    end = max(horizon_s, float(times[-1])) if len(times) else horizon_s
    _probability_axes(
        figure,
        history.window_threshold if scored else None,
        [end - horizon_s, end],
        420 if scored else 320,
        uirevision="live",  # a redraw every second keeps what the user zoomed or hid
    )
    return figure


def top_k_figure(top: list[tuple[str, float]], classes) -> go.Figure:
    colours = class_colours(classes)
    labels = [name for name, _ in reversed(top)]
    values = [p for _, p in reversed(top)]
    figure = go.Figure(
        go.Bar(x=values, y=labels, orientation="h", marker_color=[colours[n] for n in labels],
               text=[f"{p:.0%}" for p in values], textposition="auto")
    )  # fmt: skip
    figure.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%"}, margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=220
    )
    return figure


def confusion_figure(classes: list[str], confusion: list[list[int]]) -> go.Figure:
    """Confusion matrix heatmap, rows = true class, columns = predicted class."""
    figure = go.Figure(
        go.Heatmap(
            z=confusion, x=classes, y=classes, colorscale="Blues", text=confusion, texttemplate="%{text}",
            hovertemplate="true %{y}<br>predicted %{x}: %{z} clips<extra></extra>", showscale=False,
        )
    )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "predicted"},
        yaxis={"title": "true", "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=380,
    )
    return figure


def per_class_figure(per_class: dict) -> go.Figure:
    names = list(per_class)
    figure = go.Figure(
        [
            go.Bar(name=metric, x=names, y=[per_class[n][metric] for n in names])
            for metric in ("precision", "recall")
        ]
    )
    figure.update_layout(
        barmode="group", yaxis={"range": [0, 1], "tickformat": ".0%"}, height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )  # fmt: skip
    return figure


def training_figure(history: list[dict]) -> go.Figure:
    """Training curves: loss and accuracy per epoch, training against validation."""
    epochs = [row["epoch"] for row in history]
    figure = go.Figure()
    for key, name in (
        ("accuracy", "train window accuracy"),
        ("val_window_accuracy", "validation window accuracy"),
        ("val_clip_accuracy", "validation clip accuracy"),
        ("loss", "train loss"),
        ("val_loss", "validation loss"),
    ):
        if history and key in history[0]:
            dash = "dot" if "loss" in key else "solid"
            figure.add_trace(
                go.Scatter(x=epochs, y=[r[key] for r in history], name=name, line={"dash": dash})
            )
    figure.update_layout(
        xaxis={"title": "epoch"},
        hovermode="x unified",
        height=340,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure


def estimate_figure(per_class: dict[str, dict]) -> go.Figure:
    """Each class's cross-validated recall: the mean over folds as a bar, the worst and best
    fold as the whisker (what a user may meet on new footage, and how much it varies)."""
    names = sorted(per_class, key=lambda name: per_class[name]["mean"])
    means = [per_class[n]["mean"] for n in names]
    figure = go.Figure(
        go.Bar(
            x=means,
            y=names,
            orientation="h",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [per_class[n]["max"] - per_class[n]["mean"] for n in names],
                "arrayminus": [per_class[n]["mean"] - per_class[n]["min"] for n in names],
            },
            text=[f"{m:.0%}" for m in means],
            textposition="inside",
            hovertemplate="%{y}: %{x:.1%} mean over folds<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": "right action (mean over folds; whiskers: worst and best fold)", "range": [0, 1.02]},
        height=40 + 28 * len(names),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure
