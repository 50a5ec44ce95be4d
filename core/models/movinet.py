"""MoViNet-A0 stream (Kinetics-600, int8) as a frozen video backbone, run by LiteRT.

Why a video network: a frame encoder sees one frame at a time, so it cannot tell bowling from
batting on one broadcast camera; MoViNet's causal (2+1)D convolutions see motion, and its
pretraining on 600 Kinetics actions names most of what a user films.

How it runs: the network takes one frame at a time and returns its memory as 43 state tensors,
fed back with the next frame (``Stream``). Two kinds of memory live in them: the causal
convolutions' stream buffers (the last two frames' activations) and, in every squeeze-excitation
block and in the head, a cumulative pool (a running sum and a frame count). Left alone, the
logits after frame t describe everything since the start, so a timeline would never follow a
change of action. This module therefore cuts the stream into *units* of ``UNIT_FRAMES``
frames: at each unit's first frame the states go back to zeros, and the logits after the unit's
last frame are that unit's 600 features. Other designs (pools alone reset, overlapping staggered
streams, never reset) were measured on a video joined from clips of different actions:
``docs/movinet.md``.

A head then reads a few consecutive units (``core.models.feature_heads``), so a "frame" of the
heads' per-frame world is a unit here: caches, windows, kNN scores and calibration stay as they
are for the EfficientNet heads. The network file and the label names are checked by SHA-256
before any interpreter is made, so a wrong file is refused and nothing half-loaded is kept.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import ModelError
from core.models.contract import to_unit

BACKBONES_DIR = Path(__file__).resolve().parents[2] / "models" / "backbones"
NETWORK_FILE = BACKBONES_DIR / "movinet_a0_stream_int8_k600.tflite"
LABELS_FILE = BACKBONES_DIR / "kinetics600_labels.txt"
NETWORK_SHA256 = "6125b36e2485eeb5cc1fd6206cf5e5d70235593fbc84610d1dce97fe3aa9c2ac"
LABELS_SHA256 = "8dfca4202520ea8291ce0242ef33b006d0a0772b409663c090a2876bc1978dcf"
SIZE = 172  # its native frame size (square)
FPS = 5.0  # the rate it was trained on
CLASSES = 600
UNIT_FRAMES = 8  # 1.6 s at 5 fps; chosen on the joined video (docs/movinet.md)
# Analysis starts a unit every half unit (two staggered streams, twice the network's work): on
# videos joined from clips of different actions a timeline then places each change twice as
# finely (docs/movinet.md). Training reads units side by side: a unit is the same whatever its start.
ANALYSIS_HOP = UNIT_FRAMES // 2
# Frames are decoded at the video's 4:3 shape (UCF101's) and the centre square is kept, as the
# network was trained on centre crops; wider videos lose their sides, never their shape.
DECODE_SIZE = (SIZE, round(SIZE * 4 / 3))  # (height, width)
SIGNATURE = "serving_default"
NAME = "movinet_a0_stream_k600"
PROVENANCE = (
    "MoViNet-A0 stream (Kondratyuk et al., CVPR 2021), Kinetics-600, int8 TFLite from the "
    "TensorFlow Model Garden (`movinet/a0/stream/kinetics-600/classification/tflite/int8`, "
    "Apache-2.0), run by LiteRT (`core/models/movinet.py`); frozen. Kinetics-600 label names: "
    "DeepMind, CC BY 4.0."
)


def _sha256(path: Path) -> str:
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as error:
        raise ModelError(f"The video network's file {path.name} cannot be read ({error}).") from error


def check_network(path: Path = NETWORK_FILE) -> None:
    """Refuse any file but the MoViNet-A0 stream network this project was measured with."""
    if not path.is_file():
        raise ModelError(f"The video network {path.name} is missing from {path.parent}.")
    found = _sha256(path)
    if found != NETWORK_SHA256:
        raise ModelError(
            f"{path.name} is not the MoViNet-A0 stream network (SHA-256 {found[:12]}..., expected "
            f"{NETWORK_SHA256[:12]}...): restore it from models/backbones/."
        )


@functools.cache
def kinetics_labels() -> tuple[str, ...]:
    """The 600 Kinetics action names in the network's output order."""
    if _sha256(LABELS_FILE) != LABELS_SHA256:
        raise ModelError(
            f"{LABELS_FILE.name} is not the Kinetics-600 label list the network was trained with."
        )
    labels = tuple(
        line.strip() for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    if len(labels) != CLASSES:
        raise ModelError(f"{LABELS_FILE.name} names {len(labels)} actions, not {CLASSES}.")
    return labels


class Network:
    """One LiteRT signature runner, shared by every stream in the process. The states travel
    in and out with each call, so a stream is only its state dict; calls take a lock (a LiteRT
    interpreter is not thread-safe)."""

    def __init__(self, path: Path = NETWORK_FILE):
        from core.models import litert

        check_network(path)
        self._interpreter = litert.interpreter(path)
        try:
            self._runner = self._interpreter.get_signature_runner(SIGNATURE)
        except ValueError as error:
            raise ModelError(
                f"{path.name} has no '{SIGNATURE}' signature: it is not a MoViNet stream."
            ) from error
        inputs = self._runner.get_input_details()
        self.state_specs = {
            name: (tuple(int(d) for d in spec["shape"]), spec["dtype"])
            for name, spec in inputs.items()
            if name != "image"
        }
        self._lock = threading.Lock()

    def zero_states(self) -> dict[str, np.ndarray]:
        return {name: np.zeros(shape, dtype) for name, (shape, dtype) in self.state_specs.items()}

    def step(
        self, frame: np.ndarray, states: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One float32 (172, 172, 3) frame in [0, 1] -> (600 logits, the next states)."""
        with self._lock:
            outputs = self._runner(image=frame[None, None], **states)
        logits = outputs.pop("logits")[0].copy()
        return logits, outputs


@functools.cache
def network() -> Network:
    """The process's one network (a failed load raises and is not cached)."""
    return Network()


@functools.cache
def flops_per_frame() -> int:
    """Counted from the graph like the pose models' (``core.models.pose.estimator_flops``): two
    per multiply-accumulate of its convolutions and dense layers, int8 or not. Once a process:
    reading the graph builds an interpreter of its own."""
    from core.models.litert import graph_flops

    check_network()
    return graph_flops(NETWORK_FILE)


def centre_square(frame: np.ndarray) -> np.ndarray:
    """The centre SIZE x SIZE of a frame decoded at ``DECODE_SIZE`` (or already square)."""
    height, width = frame.shape[:2]
    if (height, width) == (SIZE, SIZE):
        return frame
    if height != SIZE or width < SIZE:
        raise ModelError(
            f"The video network takes frames {SIZE} px high and at least as wide, not {height}x{width}."
        )
    left = (width - SIZE) // 2
    return frame[:, left : left + SIZE]


def unit_bounds(n_frames: int, unit: int = UNIT_FRAMES, hop: int = UNIT_FRAMES) -> list[tuple[int, int]]:
    """[start, end) frames of each unit of a clip of ``n_frames``: a unit of ``unit`` frames every
    ``hop`` frames and, when they leave a remainder, one more unit flush with the end (the rule
    the windows follow, ``core.engine.windows``); a clip shorter than a unit is one unit."""
    if n_frames <= unit:
        return [(0, n_frames)] if n_frames > 0 else []
    bounds = [(start, start + unit) for start in range(0, n_frames - unit + 1, hop)]
    if bounds[-1][1] < n_frames:
        bounds.append((n_frames - unit, n_frames))
    return bounds


@dataclass
class UnitStream:
    """Frames pushed in order, in any chunks -> one 600-logit feature per unit (``unit_bounds``),
    each unit's states zeroed at its first frame: the same features as each unit's frames run
    alone from zero states (a test holds them equal). With ``hop`` under ``unit``, units overlap:
    ``unit / hop`` streams run staggered (analysis and the live view use 2, a unit every 0.8 s,
    so that a change of action is placed twice as finely; training reads units side by side)."""

    unit: int = UNIT_FRAMES
    hop: int = UNIT_FRAMES
    frames_seen: int = 0
    # a running unit's first frame -> (its states, its logits so far)
    _running: dict = field(default_factory=dict)
    _recent: deque = field(default_factory=deque)  # the last ``unit`` frames, for the end unit
    _last_start: int = -1  # the first frame of the last unit given out

    def push(self, frames: np.ndarray) -> list[np.ndarray]:
        """uint8 frames (N, 172, >=172, 3) -> the units they complete (0 or more), in order."""
        net = network()
        finished = []
        for frame in frames:
            square = centre_square(frame)
            self._recent.append(square)
            if len(self._recent) > self.unit:
                self._recent.popleft()
            if self.frames_seen % self.hop == 0:
                self._running[self.frames_seen] = (net.zero_states(), None)
            unit_frame = to_unit(square)
            for start, (states, _) in sorted(self._running.items(), key=lambda item: item[0]):
                logits, states = net.step(unit_frame, states)
                if self.frames_seen + 1 - start == self.unit:
                    del self._running[start]
                    finished.append(logits)
                    self._last_start = start
                else:
                    self._running[start] = (states, logits)
            self.frames_seen += 1
        return finished

    def growing(self, least: int) -> np.ndarray | None:
        """The logits so far of the most recently started unit still running that has seen at
        least ``least`` frames (what a camera shows between whole units), or None."""
        grown = [start for start in self._running if self.frames_seen - start >= least]
        return self._running[max(grown)][1] if grown else None

    def bounds(self, n_frames: int) -> list[tuple[int, int]]:
        return unit_bounds(n_frames, self.unit, self.hop)

    def close(self) -> list[np.ndarray]:
        """The unit flush with the end, when the pushed frames leave a remainder: for a clip
        shorter than a unit, its running unit; else the last ``unit`` frames from zero states."""
        if self.frames_seen == 0 or self._last_start + self.unit == self.frames_seen:
            return []
        if self.frames_seen < self.unit:
            return [self._running[0][1]]
        return [run_fresh(np.stack(self._recent))]


def run_fresh(frames: np.ndarray) -> np.ndarray:
    """The logits after ``frames`` (uint8, any number) run from zero states: the reference."""
    net = network()
    states, logits = net.zero_states(), np.zeros(CLASSES, np.float32)
    for frame in frames:
        logits, states = net.step(to_unit(centre_square(frame)), states)
    return logits


class MovinetUnits:
    """uint8 frames (N, 172, 229, 3) -> one 600-logit feature per unit of ``UNIT_FRAMES`` frames
    (``unit_bounds(N)``): the frozen video backbone as the heads see it. Registered like the
    frame encoders; ``unit_frames`` tells the engine that a feature spans several frames."""

    features = CLASSES
    unit_frames = UNIT_FRAMES
    label = "MoViNet-A0 stream (frozen, Kinetics-600)"
    name = NAME

    @staticmethod
    def steps(n_frames: int) -> int:
        """Units a clip of ``n_frames`` gives, as training reads it."""
        return len(unit_bounds(n_frames))

    @staticmethod
    def stream(hop: int = UNIT_FRAMES) -> UnitStream:
        return UnitStream(hop=hop)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        stream = UnitStream()
        units = stream.push(frames) + stream.close()
        return np.stack(units) if units else np.zeros((0, CLASSES), np.float32)

    @staticmethod
    def fingerprint() -> str:
        """The network's hash and the unit rule: features cached under it are these."""
        settings = f"{NETWORK_SHA256}|{UNIT_FRAMES}|{DECODE_SIZE}|zero-per-unit"
        return hashlib.sha256(settings.encode()).hexdigest()[:16]

    @staticmethod
    def flops_per_frame() -> int:
        return flops_per_frame()


class LiveUnits:
    """The video network for a camera: units started every half unit (two staggered streams),
    so that at every frame one of them is between half and fully grown. The window a head reads
    is that unit's logits so far, repeated to the head's length: a unit that began after a change
    of action shows only the new action, and one begins every half unit (0.8 s), where waiting
    for a whole unit and its predecessor would lag two to three units."""

    def __init__(self, window_units: int, unit: int = UNIT_FRAMES):
        self.window_units = window_units
        self._stream = UnitStream(unit, hop=unit // 2)

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """One uint8 frame -> the window (window_units, 600) to read now, or None while no unit
        has reached half its length yet."""
        self._stream.push(frame[None])
        logits = self._stream.growing(self._stream.unit // 2)
        return None if logits is None else np.repeat(logits[None], self.window_units, axis=0)

    def frames_to_first(self) -> int:
        """Frames still needed before the first window."""
        return max(0, self._stream.unit // 2 - self._stream.frames_seen)
