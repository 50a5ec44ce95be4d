"""Figures for the Learn pages, built from plain data (no Streamlit), so tests can inspect them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.views.anatomy import VideoAnatomy
from core.views.charts import class_colours
from core.views.flow import FlowStep

if TYPE_CHECKING:  # importing it would load Keras, which drawing charts does not need
    from core.views.introspect import DirectionCheck


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


KIND_COLOURS = {
    "input": "#e5e5e5",
    "conv": "#8da0cb",
    "pool": "#a6d854",
    "recurrent": "#fc8d62",
    "dense": "#e78ac3",
    "reshape": "#ffd92f",
}


FLOW_BOX = (1.0, 0.9)  # a step's box, width and height (axis units)
FLOW_GAP = (0.45, 0.6)  # between boxes in a row, and between rows
FLOW_CHARACTERS = 18  # a line of a box's text, in characters (11 px font in a 1.0-wide box)


def flow_positions(count: int, per_row: int) -> list[tuple[float, float]]:
    """Lower-left corners of ``count`` boxes in rows of ``per_row``, snaking: every other row
    runs right to left, so the arrow into a new row drops straight down and crosses no box."""
    (width, height), (gap_x, gap_y) = FLOW_BOX, FLOW_GAP
    positions = []
    for index in range(count):
        row, column = divmod(index, per_row)
        column = per_row - 1 - column if row % 2 else column
        positions.append((column * (width + gap_x), -row * (height + gap_y)))
    return positions


def flow_text(step: FlowStep) -> str:
    """A box's text, its label wrapped to the box's width (long encoder names would spill over
    the arrows and the next box)."""
    import textwrap

    label = "<br>".join(
        f"<b>{line}</b>" for line in textwrap.wrap(step.label, FLOW_CHARACTERS, break_on_hyphens=False)
    )
    params = f"<br>{step.params:,} weights" if step.params else ""
    return f"{label}<br>{step.shape_text}{params}"


def flow_figure(steps: list[FlowStep], per_row: int = 5) -> go.Figure:
    """The model's steps as boxes in rows, each with its output shape; colour by kind of layer
    (convolution, pooling, recurrent, dense); arrows run between boxes, never over them."""
    figure = go.Figure()
    (width, height), (gap_x, gap_y) = FLOW_BOX, FLOW_GAP
    rows = (len(steps) + per_row - 1) // per_row
    positions = flow_positions(len(steps), per_row)
    for step, (x0, y0) in zip(steps, positions, strict=True):
        figure.add_shape(
            type="rect", x0=x0, y0=y0, x1=x0 + width, y1=y0 + height, fillcolor=KIND_COLOURS[step.kind],
            line={"color": "#555", "width": 1},
        )  # fmt: skip
        figure.add_annotation(
            x=x0 + width / 2, y=y0 + height / 2, showarrow=False, font={"size": 11, "color": "#111"},
            text=flow_text(step),
        )  # fmt: skip
    for (x0, y0), (x1, y1) in zip(positions, positions[1:], strict=False):
        if y0 == y1:  # along the row, either way: edge to facing edge
            leftwards = x1 < x0
            start = (x0 if leftwards else x0 + width, y0 + height / 2)
            end = (x1 + width if leftwards else x1, y1 + height / 2)
        else:  # down into the next row, straight
            start, end = (x0 + width / 2, y0), (x1 + width / 2, y1 + height)
        figure.add_annotation(
            x=end[0], y=end[1], ax=start[0], ay=start[1], xref="x", yref="y", axref="x", ayref="y",
            showarrow=True, arrowhead=2, arrowwidth=1.5, arrowcolor="#555", text="",
        )  # fmt: skip
    columns = min(per_row, len(steps))
    figure.update_xaxes(visible=False, range=[-0.1, columns * (width + gap_x) - gap_x + 0.1])
    figure.update_yaxes(visible=False, range=[-(rows - 1) * (height + gap_y) - 0.1, height + 0.1])
    margin = {"l": 0, "r": 0, "t": 0, "b": 0}
    figure.update_layout(height=40 + rows * 140, margin=margin, plot_bgcolor="white")
    return figure


def direction_figure(check: DirectionCheck) -> go.Figure:
    """The model's belief that the clip runs forwards, for the clip as it is and reversed. A model
    blind to frame order gives the same bar twice."""
    figure = go.Figure(
        go.Bar(
            x=[check.forward_played, check.reversed_played],
            y=["played forwards", "played backwards"],
            orientation="h",
            marker_color=["#66c2a5", "#fc8d62"],
            text=[f"{check.forward_played:.0%}", f"{check.reversed_played:.0%}"],
            textposition="auto",
            hovertemplate="%{y}: P(forward) = %{x:.1%}<extra></extra>",
        )
    )
    figure.add_vline(x=0.5, line_dash="dot", annotation_text="chance", annotation_position="top")
    figure.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability that time runs forwards"},
        height=200,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
    )
    return figure


def maps_figure(maps: np.ndarray, titles: list[str], columns: int = 8) -> go.Figure:
    """A grid of 2D activation maps (N, H, W), each scaled on its own, as greyscale heatmaps."""
    rows = (len(maps) + columns - 1) // columns
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.01,
                           vertical_spacing=0.08)  # fmt: skip
    for index, activation in enumerate(maps):
        row, column = divmod(index, columns)
        figure.add_trace(
            go.Heatmap(z=activation[::-1], colorscale="Viridis", showscale=False, hoverinfo="skip"),
            row=row + 1,
            col=column + 1,
        )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x")
    figure.update_annotations(font_size=10)
    figure.update_layout(height=40 + rows * 130, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return figure


def class_lines_figure(x: np.ndarray, probabilities: np.ndarray, classes, x_title: str) -> go.Figure:
    """One line per class: its probability at each point of ``x`` (frames seen, or seconds)."""
    colours = class_colours(classes)
    figure = go.Figure()
    for index, name in enumerate(classes):
        figure.add_trace(
            go.Scatter(
                x=x, y=probabilities[:, index], name=name, mode="lines+markers", marker={"size": 4},
                line={"color": colours[name]}, hovertemplate=f"{name}: %{{y:.0%}}<extra></extra>",
            )
        )  # fmt: skip
    figure.update_layout(
        xaxis={"title": x_title},
        yaxis={"title": "probability", "range": [0, 1.02], "tickformat": ".0%"},
        hovermode="x unified",
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def fusion_figure(per_frame: np.ndarray, label: str, fps: float) -> go.Figure:
    """One class's probability frame by frame, and what mean and max fusion make of the frames
    so far: the fused lines stop flickering."""
    seen = np.arange(1, len(per_frame) + 1)
    lines = {
        "single frame": per_frame,
        "mean of the frames so far (late fusion)": np.cumsum(per_frame) / seen,
        "max of the frames so far": np.maximum.accumulate(per_frame),
    }
    figure = go.Figure(
        [
            go.Scatter(x=(seen - 1) / fps, y=values, name=name, mode="lines",
                       line={"width": 1 if name == "single frame" else 3})
            for name, values in lines.items()
        ]
    )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "time (s)"},
        yaxis={"title": f"probability of {label}", "range": [0, 1.02], "tickformat": ".0%"},
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def frame_weights_figure(energy: np.ndarray, fps: float) -> go.Figure:
    """How strongly each first-layer filter weighs each frame of the stack: (frames, filters)."""
    figure = go.Figure(
        go.Heatmap(
            z=energy.T, x=[f"{t / fps:.2f} s" for t in range(energy.shape[0])], colorscale="Viridis",
            colorbar={"title": "share"}, hovertemplate="filter %{y}, frame at %{x}: %{z:.1%}<extra></extra>",
        )
    )  # fmt: skip
    figure.update_layout(
        xaxis={"title": "frame in the stack"},
        yaxis={"title": "first-layer filter"},
        height=360,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return figure


def reach_figure(labels: list[str], frames: list[int], window: int) -> go.Figure:
    """How many frames one unit of each layer depends on: a 3D CNN widens it layer by layer."""
    figure = go.Figure(go.Bar(x=labels, y=frames, text=frames, textposition="auto", marker_color="#8da0cb"))
    figure.add_hline(y=window, line_dash="dot", annotation_text=f"the whole window ({window} frames)")
    figure.update_layout(
        yaxis={"title": "frames one unit sees"}, height=300, margin={"l": 10, "r": 10, "t": 10, "b": 40}
    )
    return figure


def space_time_figure(slice_: np.ndarray, fps: float, kernel: int = 3) -> go.Figure:
    """A space-time slice of the clip (one row of pixels from every frame, stacked in time):
    motion shows as slanted stripes. A 3-frame kernel slides along it, as a 3D convolution's does."""
    times = np.arange(slice_.shape[0]) / fps
    figure = go.Figure(go.Heatmap(z=slice_, y=times, colorscale="Greys_r", showscale=False, hoverinfo="skip"))
    left, right, half_frame = slice_.shape[1] * 0.45, slice_.shape[1] * 0.55, 0.5 / fps
    boxes = [
        {"type": "rect", "x0": left, "x1": right, "y0": times[t] - half_frame,
         "y1": times[t + kernel - 1] + half_frame, "line": {"color": "#fc8d62", "width": 3}}
        for t in range(slice_.shape[0] - kernel + 1)
    ]  # fmt: skip
    figure.update_layout(
        shapes=[boxes[0]],
        xaxis={"title": "position along the middle row of pixels", "showticklabels": False},
        yaxis={"title": "time (s)", "autorange": "reversed"},
        height=420,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        updatemenus=[{
            "type": "buttons", "showactive": False, "x": 1.0, "y": 1.12,
            "buttons": [{"label": "slide the kernel", "method": "animate",
                         "args": [None, {"frame": {"duration": 250}, "transition": {"duration": 0}}]}],
        }],
    )  # fmt: skip
    figure.frames = [go.Frame(layout={"shapes": [box]}) for box in boxes]
    return figure


SCATTER_PX = (700, 330)  # the plot area a label is placed in, roughly (pixels)
LABEL_PX = (7, 16)  # one character of a point's label, and a line
# directions a label may move from its point, tried in turn at growing distances
LABEL_DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (-1, 1), (1, -1))
LABEL_STEPS = 8  # distances tried: 1 to 8 lines (up, down) or 1 to 8 half-labels (sideways)


def _label_offsets(width: float):
    """Candidate centres of a ``width``-pixel label relative to its point, nearest first."""
    for step in range(1, LABEL_STEPS + 1):
        for dx, dy in LABEL_DIRECTIONS:
            yield dx * (width / 2 + 6) * (1 + (step - 1) * 0.5), dy * LABEL_PX[1] * (step + 0.25)


def label_offsets(
    xs: list[float], ys: list[float], texts: list[str], radii: list[float] | None = None
) -> list[tuple[float, float]]:
    """Where each point's label goes, as a pixel offset of its centre from the point (x right,
    y up), such that no two labels overlap nor cover a point, where the plot's room allows (x on
    a log axis, y a share; ``radii``: each marker's, in pixels): each label, highest point first,
    takes the nearest free place; a label away from its point gets a leader line
    (``results_scatter``)."""
    if not len(xs):
        return []
    logs = np.log10(np.maximum(np.asarray(xs, float), 1e-9))
    span = max(float(logs.max() - logs.min()), 1e-9)
    px = (logs - logs.min()) / span * SCATTER_PX[0]
    py = np.asarray(ys, float) / 1.05 * SCATTER_PX[1]
    reach = np.asarray(radii if radii is not None else [4.0] * len(texts), float)
    placed: list[tuple[float, float, float, float]] = []
    offsets = [(0.0, 0.0)] * len(texts)

    def crowding(rect: tuple[float, float, float, float]) -> tuple[float, int]:
        """(area shared with labels placed before, other points under it): lower is better."""
        x0, y0, x1, y1 = rect
        shared = sum(
            max(0.0, min(x1, a1) - max(x0, a0)) * max(0.0, min(y1, b1) - max(y0, b0))
            for a0, b0, a1, b1 in placed
        )
        points = sum(
            1
            for j in range(len(texts))
            if x0 - reach[j] < px[j] < x1 + reach[j] and y0 - reach[j] < py[j] < y1 + reach[j]
        )
        return shared, points

    for index in np.argsort(-py, kind="stable"):
        width, height = len(texts[index]) * LABEL_PX[0], LABEL_PX[1]
        best = None
        for dx, dy in _label_offsets(width):
            cx, cy = px[index] + dx, py[index] + dy
            rect = (cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)
            score = crowding(rect)
            if best is None or score < best[0]:
                best = (score, (dx, dy), rect)
            if score == (0.0, 0):
                break
        offsets[index] = best[1]
        placed.append(best[2])
    return offsets


def _marker_size(row: dict) -> float:
    """A point's diameter in pixels: larger for more parameters."""
    return 8 + 4 * np.log10(max(row["params"], 1))


def shown_accuracy(
    row: dict, task: str, estimates: dict[str, dict] | None
) -> tuple[float | None, dict | None]:
    """The accuracy a page shows for ``row`` on ``task``: the cross-validated mean where the
    approach has an estimate (action task), with its range over folds; else its one split."""
    estimate = (estimates or {}).get(row["architecture"]) if task == "action" else None
    if estimate is not None:
        return estimate["accuracy"]["mean"], estimate["accuracy"]
    return row["accuracy"].get(task), None


def results_scatter(rows: list[dict], task: str, estimates: dict[str, dict] | None = None) -> go.Figure:
    """Accuracy against CPU latency per clip, one point per approach (latency on a log axis),
    one colour per footing (on pretrained eyes, from scratch). An approach with a
    cross-validated estimate is placed at its mean, with a bar from its worst to its best fold;
    one without, at its single split's figure (hollow)."""
    figure = go.Figure()
    footings = {"pretrained": ("On pretrained eyes", "#66c2a5"), "scratch": ("From scratch", "#8da0cb")}
    shown = {row["architecture"]: shown_accuracy(row, task, estimates) for row in rows}
    plotted = [row for row in rows if shown[row["architecture"]][0] is not None]
    offsets = label_offsets(
        [row["latency_ms_batch1"] for row in plotted],
        [shown[row["architecture"]][0] for row in plotted],
        [row["architecture"] for row in plotted],
        [_marker_size(row) / 2 for row in plotted],
    )
    for row, (dx, dy) in zip(plotted, offsets, strict=True):
        near = abs(dy) < LABEL_PX[1] * 1.5 and abs(dx) < len(row["architecture"]) * LABEL_PX[0]
        figure.add_annotation(
            x=np.log10(row["latency_ms_batch1"]), y=shown[row["architecture"]][0], text=row["architecture"],
            ax=dx, ay=-dy, showarrow=True, arrowwidth=1, arrowcolor="#999" if not near else "rgba(0,0,0,0)",
            font={"size": 11}, standoff=5,
        )  # fmt: skip
    for footing, (name, colour) in footings.items():
        for crossval in (True, False):
            own = [
                row
                for row in plotted
                if row.get("footing", "scratch") == footing
                and (shown[row["architecture"]][1] is not None) == crossval
            ]
            if not own:
                continue
            ranges = [shown[row["architecture"]][1] for row in own]
            means = [shown[row["architecture"]][0] for row in own]
            figure.add_trace(
                go.Scatter(
                    x=[row["latency_ms_batch1"] for row in own],
                    y=means,
                    mode="markers",
                    name=f"{name}, {'cross-validated' if crossval else 'one split'}",
                    text=[row["architecture"] for row in own],
                    marker={
                        "size": [_marker_size(row) for row in own],
                        "color": colour,
                        "symbol": "circle" if crossval else "circle-open",
                        "line": {"width": 2, "color": colour},
                    },
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": [r["max"] - m for r, m in zip(ranges, means, strict=True)],
                        "arrayminus": [m - r["min"] for r, m in zip(ranges, means, strict=True)],
                        "color": colour,
                    }
                    if crossval
                    else None,
                    hovertemplate="%{text}: %{y:.1%} at %{x:.1f} ms per clip<extra></extra>",
                )
            )
    classes = max((row.get("classes") or 6 for row in rows), default=6)
    chance = 0.5 if task == "direction" else 1 / classes
    label = "chance" if task == "direction" else f"chance ({classes} classes)"
    figure.add_hline(y=chance, line_dash="dot", annotation_text=label)
    figure.update_layout(
        xaxis={"type": "log", "title": "CPU latency per clip, batch 1 (ms)"},
        yaxis={"title": "clip accuracy", "tickformat": ".0%", "range": [0, 1.05]},
        height=400,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _paired(a: dict, b: dict) -> list[tuple[float, float]] | None:
    """The two estimates' accuracies fold by fold, when they were made on the same folds with the
    same protocol (else None: such estimates cannot be set side by side fold by fold)."""
    same = ("inner_groups", "augmented_copies")
    if any(a.get("settings", {}).get(k) != b.get("settings", {}).get(k) for k in same):
        return None
    folds_a, folds_b = a.get("per_fold") or [], b.get("per_fold") or []
    if not folds_a or [f["test_groups"] for f in folds_a] != [f["test_groups"] for f in folds_b]:
        return None
    return [(x["accuracy"], y["accuracy"]) for x, y in zip(folds_a, folds_b, strict=True)]


def too_close_to_call(estimates: dict[str, dict]) -> list[tuple[str, str, float, int, int]]:
    """Pairs of approaches that this data does not rank: (higher mean, lower mean, difference
    of means, folds the first wins, folds), closest first. Both were judged on the same folds,
    and fold difficulty moves every approach together, so the comparison is fold by fold: a pair
    is ranked only when the higher mean wins every fold."""
    names = sorted(estimates, key=lambda n: -estimates[n]["accuracy"]["mean"])
    pairs = []
    for i, better in enumerate(names):
        for worse in names[i + 1 :]:
            folds = _paired(estimates[better], estimates[worse])
            if folds is None:
                continue
            wins = sum(x > y for x, y in folds)
            if wins < len(folds):
                difference = estimates[better]["accuracy"]["mean"] - estimates[worse]["accuracy"]["mean"]
                pairs.append((better, worse, difference, wins, len(folds)))
    return sorted(pairs, key=lambda pair: pair[2])


def spread_lesson(estimates: dict[str, dict]) -> str:
    """What the folds say about the ranking, in a sentence or two."""
    names = list(estimates)
    comparable = [
        (a, b) for i, a in enumerate(names) for b in names[i + 1 :] if _paired(estimates[a], estimates[b])
    ]
    if not comparable:
        return ""
    pairs = too_close_to_call(estimates)
    if not pairs:
        return "In every pair of cross-validated approaches one wins every fold: the ranking holds."
    widest = max(e["accuracy"]["max"] - e["accuracy"]["min"] for e in estimates.values())
    better, worse, difference, wins, folds = pairs[0]
    return (
        f"{len(pairs)} of the {len(comparable)} pairs of cross-validated approaches are not ranked by "
        "this data: in each, the approach with the higher mean loses at least one fold to the other. "
        f"The folds differ more than the approaches do (up to {widest:.0%} between an approach's "
        f"worst and best fold). Closest: `{better}` and `{worse}`, {difference:.1%} apart, the first "
        f"better in {wins} of {folds} folds."
    )


def actions_by_direction(rows: list[dict]) -> list[tuple[str, float]]:
    """Every action with the best share of its clips whose direction one of the rows' models
    judged right (``direction_by_action`` of the results table), easiest first: the best, not the
    mean, because the order-blind approaches sit at chance on every action by construction; what
    the best model finds is what the footage carries of an arrow of time."""
    shares: dict[str, list[float]] = {}
    for row in rows:
        for action, share in (row.get("direction_by_action") or {}).items():
            shares.setdefault(action, []).append(share)
    best = [(action, max(values)) for action, values in shares.items()]
    return sorted(best, key=lambda item: (-item[1], item[0]))


def direction_lesson(rows: list[dict], easy: float = 0.75, near_chance: float = 0.6) -> str:
    """What the per-action direction scores teach, in words, from the measured shares ('' when
    the rows have none): which actions give their direction away, which stay near chance. A best
    share under ``near_chance`` is within a few clips of a coin toss on 16-28 clips per action."""
    ranked = actions_by_direction(rows)
    if not ranked:
        return ""
    given_away = [f"{action} ({share:.0%})" for action, share in ranked if share >= easy]
    symmetric = [f"{action} ({share:.0%})" for action, share in ranked if share < near_chance]
    text = (
        "The share of each action's validation clips, played forwards and backwards, whose direction "
        "each approach judged right (blue: better than chance), easiest first."
    )
    if given_away:
        text += f" For the best approach on each, **{', '.join(given_away)}** give their direction away."
    if symmetric:
        text += (
            f" **{', '.join(symmetric)}** stay near chance even so: in their frames little says which "
            "way they run (a bow moving up looks much like a bow moving down), and actions like these "
            "cap the score on a mix of actions."
        )
    return text


def direction_note(rows: list[dict], architecture: str, action: str | None) -> str:
    """What the comparison measured of one architecture's direction model on ``action``, beside
    the best approach on pretrained eyes ('' when the table has no such share): one clip's
    verdict is close to a coin toss on an action whose frames carry little arrow of time."""
    row = next((r for r in rows if r["architecture"] == architecture), None)
    shares = (row or {}).get("direction_by_action") or {}
    if action not in shares:
        return ""
    best = dict(actions_by_direction([r for r in rows if r.get("footing") == "pretrained"]))
    return (
        f"On the validation clips of {action}, each played both ways, this approach judged the direction "
        f"right {shares[action]:.0%} of the time (chance: 50%"
        + (f"; the best approach on pretrained eyes: {best[action]:.0%}" if action in best else "")
        + "; every action on the Compare page)."
    )


def direction_by_action_figure(rows: list[dict]) -> go.Figure:
    """Approach by action: the share of the action's clips (played both ways) whose direction
    was judged right, on a scale centred on chance; actions ordered easiest first."""
    rows = [row for row in rows if row.get("direction_by_action")]
    actions = [action for action, _ in actions_by_direction(rows)]
    shares = [[row["direction_by_action"].get(action) for action in actions] for row in rows]
    # rounded by Python, as the lesson and the README round them (d3 rounds some halves the other way)
    text = [["" if share is None else f"{share:.0%}" for share in row] for row in shares]
    figure = go.Figure(
        go.Heatmap(
            z=shares, x=actions, y=[row.get("approach") or row["architecture"] for row in rows],
            zmin=0, zmax=1, colorscale="RdBu", text=text, texttemplate="%{text}",
            hovertemplate="%{y} on %{x}: %{text} judged right<extra></extra>", showscale=False,
        )
    )  # fmt: skip
    figure.update_layout(
        yaxis={"autorange": "reversed"},
        height=60 + 34 * len(rows),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure


def stacked_timelines(timelines: list[tuple[str, object]]) -> go.Figure:
    """One timeline per approach, one above the other, sharing the time axis: the probability of
    each class over time (colours as on the Analyze page)."""
    figure = make_subplots(rows=len(timelines), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                           subplot_titles=[name for name, _ in timelines])  # fmt: skip
    colours = class_colours(timelines[0][1].classes)
    for row, (_, timeline) in enumerate(timelines, start=1):
        centres = (timeline.starts_s + timeline.ends_s) / 2
        for index, name in enumerate(timeline.classes):
            figure.add_trace(
                go.Scatter(
                    x=centres, y=timeline.probabilities[:, index], name=name, legendgroup=name,
                    showlegend=row == 1, mode="lines", line={"color": colours[name]},
                    hovertemplate=f"{name}: %{{y:.0%}}<extra></extra>",
                ),
                row=row, col=1,
            )  # fmt: skip
        figure.update_yaxes(range=[0, 1.02], tickformat=".0%", row=row, col=1)
    figure.update_xaxes(title="time (s)", row=len(timelines), col=1)
    figure.update_layout(height=60 + 150 * len(timelines), margin={"l": 10, "r": 10, "t": 30, "b": 40},
                         hovermode="x unified")  # fmt: skip
    return figure


def presence_figure(found: np.ndarray, fps: float) -> go.Figure:
    """One bar per sampled frame: green where the pose estimator found a person."""
    times = np.arange(len(found)) / fps
    figure = go.Figure(
        go.Bar(
            x=times, y=np.ones(len(found)), marker_color=np.where(found, "#66c2a5", "#d9d9d9"), width=1 / fps
        )
    )
    figure.update_layout(
        height=120, margin={"l": 0, "r": 0, "t": 10, "b": 30}, xaxis_title="seconds",
        yaxis={"visible": False}, bargap=0, showlegend=False,
    )  # fmt: skip
    return figure


def sequence_against_frame(estimates: dict[str, dict]) -> str:
    """Why the sequence model can lose to a single frame on new scenes, from the approaches'
    cross-validated estimates (empty until both are measured)."""
    lstm, frame = estimates.get("effnet_lrcn"), estimates.get("effnet_single_frame")
    if lstm is None or frame is None:
        return ""
    a, b = lstm["accuracy"], frame["accuracy"]
    gap = a["mean"] - b["mean"]
    verdict = "loses to" if gap < -0.005 else "ties with" if abs(gap) <= 0.005 else "beats"
    folds = _paired(lstm, frame)
    by_fold = (
        f", and it is the better of the two in {sum(x > y for x, y in folds)} of the {len(folds)} folds"
        if folds
        else ""
    )
    groups = sorted({g for f in lstm.get("per_fold", []) for g in f["test_groups"]})
    first = (lstm.get("per_fold") or [{}])[0]
    trained = (
        len(groups) - len(first.get("test_groups", [])) - lstm.get("settings", {}).get("inner_groups", 0)
    )
    text = (
        f"**On new scenes, the sequence model {verdict} a single frame.** Cross-validated on groups "
        f"neither model saw, the LSTM over the frames' features (`effnet_lrcn`) names the right "
        f"action for {a['mean']:.1%} of clips (folds {a['min']:.0%}-{a['max']:.0%}), the middle "
        f"frame alone (`effnet_single_frame`) for {b['mean']:.1%} ({b['min']:.0%}-{b['max']:.0%}){by_fold}."
    )
    pair_a, pair_b = lstm.get("cricket_pair"), frame.get("cricket_pair")
    cricket = (
        f" On the cricket pair, where the motion is the difference, it scores {pair_a['mean']:.0%} "
        f"against {pair_b['mean']:.0%}."
        if pair_a and pair_b
        else ""
    )
    if verdict == "beats":
        return text + cricket
    epochs = lstm["settings"]["best_epochs"]
    return (
        text + " Why order buys no more here: most of these actions are told by what is in the picture "
        f"(a piano, a surfboard), and each class comes from only {len(groups)} groups (one person or "
        f"scene each; {trained} train a fold's model), so the LSTM's extra freedom mostly learns how "
        "those scenes were filmed and cut, which does not carry over to other people's footage; its "
        f"folds stopped improving after {min(epochs)}-{max(epochs)} epochs on their own held-back groups."
        + cricket
    )
