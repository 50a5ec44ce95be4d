"""What every model of the project agrees on: its input, and the names of its parts.

Every builder takes ``(sequence_length, height, width, 3)`` float32 in [0, 1] (``to_unit`` of the
decoded uint8 frames) and returns an uncompiled ``keras.Model`` ending in a softmax.

Models that apply one CNN to every frame and then a sequence head are built as two named
sub-models (``frame_encoder`` and ``sequence_head``). Analysis uses that split to encode each
sampled frame once and share it between the overlapping windows that contain it; training uses
it too: a frozen (non-trainable) frame encoder is run once per frame and only the head is fitted.

This module imports no Keras at import time, so that dataset and decoding code can share
``to_unit`` without paying for TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

FRAME_ENCODER = "frame_encoder"
SEQUENCE_HEAD = "sequence_head"


@dataclass(frozen=True)
class InputShape:
    sequence_length: int
    height: int
    width: int

    @property
    def frame(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)

    @property
    def clip(self) -> tuple[int, int, int, int]:
        return (self.sequence_length, self.height, self.width, 3)


@dataclass(frozen=True)
class InputDefaults:
    """The window an architecture is trained on unless told otherwise."""

    sequence_length: int = 20
    image_size: int = 64
    sampling_fps: float = 6.0
    hop_frames: int = 3
    image_width: int = 0  # 0: square frames; a pose estimator needs the people undistorted


SCRATCH_INPUT = InputDefaults()


class FrameEncoder(Protocol):
    """A frozen frame encoder outside Keras: uint8 frames (N, H, W, 3) -> features (N, features).
    Registered as its class: what it outputs, its name and its cost are read without making one."""

    features: int
    label: str  # what the Learn pages' data-flow diagram calls it

    def __call__(self, frames): ...

    @staticmethod
    def fingerprint() -> str: ...

    @staticmethod
    def flops_per_frame() -> int: ...


def to_unit(frames: np.ndarray) -> np.ndarray:
    """uint8 frames to the models' float32 [0, 1] input."""
    return frames.astype(np.float32) / 255.0


def split(model):
    """The (frame encoder, sequence head) pair of a model built that way, else None."""
    from keras import layers

    for layer in model.layers:
        if isinstance(layer, layers.TimeDistributed) and layer.layer.name == FRAME_ENCODER:
            return layer.layer, model.get_layer(SEQUENCE_HEAD)
    return None


def with_logits(head):
    """``(model, kernel, bias)``: ``head`` with the input of its final softmax layer as a second
    output, and that layer's weights, so that logits = hidden @ kernel + bias. The energy score
    needs logits, and a softmax output has lost their scale."""
    import keras

    from core.errors import ModelError

    last = head.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", "")
    if not isinstance(last, keras.layers.Dense) or activation != "softmax":
        raise ModelError(f"{head.name} does not end in a softmax layer: energy needs its logits.")
    kernel, bias = (np.asarray(w, np.float32) for w in last.weights)
    return keras.Model(head.input, [head.output, last.input]), kernel, bias
