"""Keras builders for the video classifiers, behind one registry.

Every builder takes the same input contract, ``(sequence_length, height, width, 3)`` float32 in
[0, 1], and returns an uncompiled ``keras.Model`` ending in a softmax over ``num_classes``.

Models that apply one CNN to every frame and then a sequence head are built as two named
sub-models (``frame_encoder`` and ``sequence_head``). Analysis uses that split to encode each
sampled frame once and share it between the overlapping windows that contain it; training uses
it too: a frozen (non-trainable) frame encoder is run once per frame and only the head is fitted.

Each architecture also states the input it was designed for (``InputDefaults``): a scratch CNN
learns from 64x64 frames, an ImageNet backbone needs larger ones.

One architecture breaks the input contract: ``pose_lstm``'s frame encoder is a pose estimator
that is no Keras model (``core.pose``: TF Lite graphs with a crop that depends on a detection),
so its Keras model is only the sequence head, taking per-frame pose features. It is registered
with that encoder (``frame_encoder``), and training and analysis run the encoder before the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import keras
from keras import layers

from core import efficientnet_lite, pose
from core.errors import ModelError

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


SCRATCH_INPUT = InputDefaults()
Builder = Callable[[InputShape, int], keras.Model]
_REGISTRY: dict[str, Builder] = {}
_DESCRIPTIONS: dict[str, str] = {}
_DEFAULTS: dict[str, InputDefaults] = {}
_BACKBONES: dict[str, str] = {}
_FRAME_ENCODERS: dict[str, type[FrameEncoder]] = {}


def register(
    name: str,
    description: str,
    defaults: InputDefaults = SCRATCH_INPUT,
    backbone: str = "",
    frame_encoder: type[FrameEncoder] | None = None,
) -> Callable[[Builder], Builder]:
    """``backbone``: where a pretrained part's weights come from and their licence (model cards).
    ``frame_encoder``: the class of the encoder that turns frames into the model's input, for
    models whose input is per-frame features instead of frames."""

    def decorate(builder: Builder) -> Builder:
        _REGISTRY[name] = builder
        _DESCRIPTIONS[name] = description
        _DEFAULTS[name] = defaults
        _BACKBONES[name] = backbone
        if frame_encoder is not None:
            _FRAME_ENCODERS[name] = frame_encoder
        return builder

    return decorate


def frame_encoder(name: str) -> type[FrameEncoder] | None:
    """The class of the architecture's non-Keras frame encoder; None for models that take frames."""
    return _FRAME_ENCODERS.get(name)


def architectures() -> dict[str, str]:
    """Registered architecture names with a one-line description each."""
    return dict(_DESCRIPTIONS)


def input_defaults(name: str) -> InputDefaults:
    if name not in _DEFAULTS:
        raise ModelError(f"Unknown architecture '{name}'. Known: {', '.join(sorted(_DEFAULTS))}.")
    return _DEFAULTS[name]


def backbone_provenance(name: str) -> str:
    """Origin and licence of the architecture's pretrained weights; empty when trained from scratch."""
    return _BACKBONES.get(name, "")


def build(name: str, shape: InputShape, num_classes: int) -> keras.Model:
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ModelError(f"Unknown architecture '{name}'. Known: {known}.")
    return _REGISTRY[name](shape, num_classes)


def _conv_block(x, filters: int, pool: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.MaxPooling2D(pool)(x)


def _lstm_classifier(features, num_classes: int, input_dropout: float):
    """The sequence head every CNN + LSTM shares: per-frame features -> LSTM(64) -> softmax."""
    h = layers.Dropout(input_dropout)(features)
    h = layers.LSTM(64)(h)
    h = layers.Dropout(0.3)(h)
    return layers.Dense(num_classes, activation="softmax")(h)


def _encoder_then_lstm(
    encoder: keras.Model, shape: InputShape, num_classes: int, input_dropout: float, name: str
) -> keras.Model:
    """A per-frame encoder inside TimeDistributed, then an LSTM(64) head: built as two named
    models, so that analysis can run the encoder once per frame and the head per window."""
    features = keras.Input((shape.sequence_length, encoder.output.shape[-1]), name="features")
    head = keras.Model(features, _lstm_classifier(features, num_classes, input_dropout), name=SEQUENCE_HEAD)

    clip = keras.Input(shape.clip, name="clip")
    return keras.Model(clip, head(layers.TimeDistributed(encoder)(clip)), name=name)


@register("lrcn", "TimeDistributed Conv2D blocks on each frame, then an LSTM over the sequence")
def build_lrcn(shape: InputShape, num_classes: int) -> keras.Model:
    frame = keras.Input(shape.frame, name="frame")
    x = frame
    for filters, pool in ((24, 2), (48, 2), (64, 2), (96, 2)):
        x = _conv_block(x, filters, pool)
    x = layers.GlobalAveragePooling2D()(x)
    encoder = keras.Model(frame, x, name=FRAME_ENCODER)
    return _encoder_then_lstm(encoder, shape, num_classes, input_dropout=0.3, name="lrcn")


@register("convlstm", "ConvLSTM2D blocks: convolutions inside the recurrent cell")
def build_convlstm(shape: InputShape, num_classes: int) -> keras.Model:
    clip = keras.Input(shape.clip, name="clip")
    x = clip
    for filters in (8, 16):
        x = layers.ConvLSTM2D(filters, 3, padding="same", return_sequences=True)(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling3D((1, 2, 2))(x)
    x = layers.ConvLSTM2D(24, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    probabilities = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(clip, probabilities, name="convlstm")


# Chosen by measuring validation accuracy against backbone time (tools/effnet_tradeoff.py; the
# table is in the effnet-lstm bundle's model card): 3.25 s windows of 160x160 frames at 4 fps.
@register(
    "effnet_lstm",
    "Frozen ImageNet EfficientNet-Lite0 on each frame, then an LSTM over the sequence",
    InputDefaults(sequence_length=13, image_size=160, sampling_fps=4.0, hop_frames=2),
    backbone=efficientnet_lite.PROVENANCE,
)
def build_effnet_lstm(shape: InputShape, num_classes: int) -> keras.Model:
    encoder = efficientnet_lite.efficientnet_lite0(shape.frame, name=FRAME_ENCODER)
    encoder.trainable = False  # frozen: training fits the head on cached features
    return _encoder_then_lstm(encoder, shape, num_classes, input_dropout=0.5, name="effnet_lstm")


@register(
    "pose_lstm",
    "BlazePose landmarks of each frame (frozen, TF Lite), then an LSTM over the sequence",
    InputDefaults(image_size=240, image_width=320),  # UCF101's own frame size, undistorted
    backbone=pose.PROVENANCE,
    frame_encoder=pose.PoseEncoder,
)
def build_pose_lstm(shape: InputShape, num_classes: int) -> keras.Model:
    """The LRCN's sequence head on pose features instead of CNN features: the comparison
    isolates what the frame encoder keeps."""
    features = keras.Input((shape.sequence_length, pose.FEATURES), name="pose")
    return keras.Model(features, _lstm_classifier(features, num_classes, input_dropout=0.1), name="pose_lstm")


def split(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """The (frame encoder, sequence head) pair of a model built that way, else None."""
    for layer in model.layers:
        if isinstance(layer, layers.TimeDistributed) and layer.layer.name == FRAME_ENCODER:
            return layer.layer, model.get_layer(SEQUENCE_HEAD)
    return None


# Last, so that core.approaches finds this module complete when it registers its builders.
import core.approaches  # noqa: E402, F401
