"""One registry of the video classifiers: name -> builder, description, default input, pretrained
provenance and (for models fed features instead of frames) the frame encoder.

The builders live in their own modules (``recurrent``, ``fusion``) and know nothing of this
table; the registry imports them, so no module imports the registry back.

Each architecture states the input it was designed for (``InputDefaults``): a scratch CNN learns
from 64x64 frames, an ImageNet backbone needs larger ones.

One architecture breaks the input contract: ``pose_lstm``'s frame encoder is a pose estimator
that is no Keras model (``core.models.pose``: TF Lite graphs with a crop that depends on a
detection), so its Keras model is only the sequence head, taking per-frame pose features. It is
registered with that encoder (``frame_encoder``), and training and analysis run the encoder
before the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras

from core.errors import ModelError
from core.models import efficientnet_lite, fusion, pose, recurrent, temporal_conv
from core.models.contract import SCRATCH_INPUT, FrameEncoder, InputDefaults, InputShape

Builder = Callable[[InputShape, int], keras.Model]
# Chosen by measuring validation accuracy against backbone time (tools/effnet_tradeoff.py; the
# table is in the effnet-lstm bundle's model card): 3.25 s windows of 160x160 frames at 4 fps.
EFFNET_INPUT = InputDefaults(sequence_length=13, image_size=160, sampling_fps=4.0, hop_frames=2)


@dataclass(frozen=True)
class Architecture:
    """``backbone``: where a pretrained part's weights come from and their licence (model cards).
    ``frame_encoder``: the class of the encoder that turns frames into the model's input, for
    models whose input is per-frame features instead of frames."""

    builder: Builder
    description: str
    defaults: InputDefaults = SCRATCH_INPUT
    backbone: str = ""
    frame_encoder: type[FrameEncoder] | None = None


_ARCHITECTURES: dict[str, Architecture] = {
    "lrcn": Architecture(
        recurrent.build_lrcn, "TimeDistributed Conv2D blocks on each frame, then an LSTM over the sequence"
    ),
    "convlstm": Architecture(
        recurrent.build_convlstm, "ConvLSTM2D blocks: convolutions inside the recurrent cell"
    ),
    "effnet_lstm": Architecture(
        recurrent.build_effnet_lstm,
        "Frozen ImageNet EfficientNet-Lite0 on each frame, then an LSTM over the sequence",
        EFFNET_INPUT,
        backbone=efficientnet_lite.PROVENANCE,
    ),
    "effnet_tcn": Architecture(
        temporal_conv.build_effnet_tcn,
        "Frozen ImageNet EfficientNet-Lite0 on each frame, then dilated temporal convolutions, pooled",
        EFFNET_INPUT,
        backbone=efficientnet_lite.PROVENANCE,
    ),
    "pose_lstm": Architecture(
        recurrent.build_pose_lstm,
        "BlazePose landmarks of each frame (frozen, TF Lite), then an LSTM over the sequence",
        InputDefaults(image_size=240, image_width=320),  # UCF101's own frame size, undistorted
        backbone=pose.PROVENANCE,
        frame_encoder=pose.PoseEncoder,
    ),
    "single_frame": Architecture(
        fusion.build_single_frame, "A 2D CNN on the middle frame of the window alone: no time at all"
    ),
    "late_fusion": Architecture(
        fusion.build_late_fusion,
        "A 2D CNN classifies every frame; the frames' class probabilities are averaged over the window",
    ),
    "early_fusion": Architecture(
        fusion.build_early_fusion,
        "The window's frames stacked along the colour channels; the first 2D convolution sees them all",
    ),
    "slow_fusion": Architecture(
        fusion.build_slow_fusion,
        "A 3D CNN: 3x3x3 convolutions over time and space, fusing a few more frames at every layer",
    ),
}


def _architecture(name: str) -> Architecture:
    if name not in _ARCHITECTURES:
        known = ", ".join(sorted(_ARCHITECTURES))
        raise ModelError(f"Unknown architecture '{name}'. Known: {known}.")
    return _ARCHITECTURES[name]


def frame_encoder(name: str) -> type[FrameEncoder] | None:
    """The class of the architecture's non-Keras frame encoder; None for models that take frames."""
    architecture = _ARCHITECTURES.get(name)
    return architecture.frame_encoder if architecture else None


def architectures() -> dict[str, str]:
    """Registered architecture names with a one-line description each."""
    return {name: architecture.description for name, architecture in _ARCHITECTURES.items()}


def input_defaults(name: str) -> InputDefaults:
    return _architecture(name).defaults


def backbone_provenance(name: str) -> str:
    """Origin and licence of the architecture's pretrained weights; empty when trained from scratch."""
    architecture = _ARCHITECTURES.get(name)
    return architecture.backbone if architecture else ""


def build(name: str, shape: InputShape, num_classes: int) -> keras.Model:
    return _architecture(name).builder(shape, num_classes)
