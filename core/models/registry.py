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
from dataclasses import dataclass, replace

import keras

from core.errors import ModelError
from core.models import (
    efficientnet_lite,
    feature_heads,
    fusion,
    movinet,
    pooled,
    pose,
    recurrent,
    temporal_conv,
    video_heads,
)
from core.models.backbone import EffnetFeatures, EffnetMaps
from core.models.contract import SCRATCH_INPUT, FrameEncoder, InputDefaults, InputShape

Builder = Callable[[InputShape, int], keras.Model]
# Chosen by measuring validation accuracy against backbone time (tools/effnet_tradeoff.py; the
# table is in the effnet-lstm bundle's model card): 3.25 s windows of 160x160 frames at 4 fps.
EFFNET_INPUT = InputDefaults(sequence_length=13, image_size=160, sampling_fps=4.0, hop_frames=2)
# Windows of one unit of the video network (1.6 s of 172x229 frames at its 5 fps): a "frame" of
# these heads is a unit (core.models.movinet), so sequence_length and hop count units. One unit,
# not the mean of two, because a timeline follows a change of action a unit sooner
# (docs/movinet-windows.md, one split of groups: 91.7% of 0.2 s steps named right against 88.7%).
MOVINET_INPUT = InputDefaults(
    sequence_length=1,
    image_size=movinet.DECODE_SIZE[0],
    image_width=movinet.DECODE_SIZE[1],
    sampling_fps=movinet.FPS,
    hop_frames=1,
)


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
    approach: str = ""  # the Learn page it belongs to, when it is one of the approaches

    @property
    def footing(self) -> str:
        """``pretrained`` (frozen ImageNet or pose eyes) or ``scratch`` (pixels up)."""
        return "pretrained" if self.backbone else "scratch"


def _on_pretrained_eyes(
    builder: Builder, approach: str, description: str, maps: bool = False
) -> Architecture:
    """An approach's head on the shared frozen EfficientNet-Lite0 (``core.models.feature_heads``)."""
    return Architecture(
        builder,
        description,
        EFFNET_INPUT,
        backbone=efficientnet_lite.PROVENANCE,
        frame_encoder=EffnetMaps if maps else EffnetFeatures,
        approach=approach,
    )


def _on_video_network(
    builder: Builder, description: str, defaults: InputDefaults = MOVINET_INPUT
) -> Architecture:
    """A head on the frozen MoViNet-A0 stream's units (``core.models.video_heads``)."""
    return Architecture(
        builder, description, defaults, backbone=movinet.PROVENANCE, frame_encoder=movinet.MovinetUnits
    )


_ARCHITECTURES: dict[str, Architecture] = {
    "lrcn": Architecture(
        recurrent.build_lrcn,
        "TimeDistributed Conv2D blocks on each frame, then an LSTM over the sequence",
        approach="lrcn",
    ),
    "convlstm": Architecture(
        recurrent.build_convlstm,
        "ConvLSTM2D blocks: convolutions inside the recurrent cell",
        approach="convlstm",
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
    "effnet_mean": Architecture(
        pooled.build_effnet_mean,
        "Frozen ImageNet EfficientNet-Lite0 on each frame, the window's mean feature, a linear softmax",
        EFFNET_INPUT,
        backbone=efficientnet_lite.PROVENANCE,
    ),
    "effnet_attention": Architecture(
        pooled.build_effnet_attention,
        "Frozen ImageNet EfficientNet-Lite0 on each frame, an attention-weighted mean, a linear softmax",
        EFFNET_INPUT,
        backbone=efficientnet_lite.PROVENANCE,
    ),
    "pose_lstm": Architecture(
        recurrent.build_pose_lstm,
        "BlazePose landmarks of each frame (frozen, TF Lite), then an LSTM over the sequence",
        InputDefaults(image_size=240, image_width=320),  # UCF101's own frame size, undistorted
        backbone=pose.PROVENANCE,
        frame_encoder=pose.PoseEncoder,
        approach="pose_lstm",
    ),
    "single_frame": Architecture(
        fusion.build_single_frame,
        "A 2D CNN on the middle frame of the window alone: no time at all",
        approach="single_frame",
    ),
    "late_fusion": Architecture(
        fusion.build_late_fusion,
        "A 2D CNN classifies every frame; the frames' class probabilities are averaged over the window",
        approach="late_fusion",
    ),
    "early_fusion": Architecture(
        fusion.build_early_fusion,
        "The window's frames stacked along the colour channels; the first 2D convolution sees them all",
        approach="early_fusion",
    ),
    "slow_fusion": Architecture(
        fusion.build_slow_fusion,
        "A 3D CNN: 3x3x3 convolutions over time and space, fusing a few more frames at every layer",
        approach="slow_fusion",
    ),
    "effnet_single_frame": _on_pretrained_eyes(
        feature_heads.build_single_frame,
        "single_frame",
        "The middle frame's ImageNet features alone, into a classifier: no time at all",
    ),
    "effnet_late_fusion": _on_pretrained_eyes(
        feature_heads.build_late_fusion,
        "late_fusion",
        "Every frame's ImageNet features classified alone; the probabilities averaged over the window",
    ),
    "effnet_early_fusion": _on_pretrained_eyes(
        feature_heads.build_early_fusion,
        "early_fusion",
        "All frames' ImageNet features side by side into the first dense layer",
    ),
    "effnet_slow_fusion": _on_pretrained_eyes(
        feature_heads.build_slow_fusion,
        "slow_fusion",
        "Temporal convolutions over the frames' ImageNet features, seeing 3, then 7 frames, pooled",
    ),
    "effnet_lrcn": _on_pretrained_eyes(
        feature_heads.build_lrcn, "lrcn", "An LSTM over the frames' ImageNet features"
    ),
    "effnet_convlstm": _on_pretrained_eyes(
        feature_heads.build_convlstm,
        "convlstm",
        "A ConvLSTM over the frames' 5x5 ImageNet feature maps: convolutions inside the recurrent cell",
        maps=True,
    ),
    "movinet_linear": _on_video_network(
        video_heads.build_linear,
        "Frozen Kinetics-600 MoViNet-A0 stream on 1.6 s units; standardised unit logits, a linear softmax",
    ),
    "movinet_mlp": _on_video_network(
        video_heads.build_mlp,
        "Frozen Kinetics-600 MoViNet-A0 stream on 1.6 s units; a unit's logits through one hidden layer",
    ),
    "movinet_lstm": _on_video_network(
        video_heads.build_lstm,
        "Frozen Kinetics-600 MoViNet-A0 stream on 1.6 s units; an LSTM over 3 units' logits (4.8 s)",
        replace(MOVINET_INPUT, sequence_length=3),
    ),
    "kinetics_600": _on_video_network(
        video_heads.build_kinetics,
        "The MoViNet-A0 stream's own Kinetics-600 classifier: 600 actions by name, nothing trained",
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


def on_cached_vectors() -> list[str]:
    """Heads on one feature vector per step from a frozen backbone that is cheap to cache for
    every clip (EfficientNet-Lite0's pooled features, the video network's units): the ones
    cross-validation can train fold after fold on the same cache."""
    cached = (EffnetFeatures, movinet.MovinetUnits)
    return [name for name, a in _ARCHITECTURES.items() if a.frame_encoder in cached]


def architectures() -> dict[str, str]:
    """Registered architecture names with a one-line description each."""
    return {name: architecture.description for name, architecture in _ARCHITECTURES.items()}


def input_defaults(name: str) -> InputDefaults:
    return _architecture(name).defaults


def approach_of(name: str) -> tuple[str, str]:
    """(approach, footing) of a registered architecture: which Learn page, on which eyes."""
    architecture = _architecture(name)
    return architecture.approach, architecture.footing


def footings_of(approach: str) -> dict[str, str]:
    """The architectures of one approach by footing (``{"pretrained": ..., "scratch": ...}``)."""
    return {a.footing: name for name, a in _ARCHITECTURES.items() if a.approach == approach}


def backbone_record(name: str) -> dict:
    """What a bundle records of the frozen backbone its head reads, when that backbone sits
    outside the model and names itself (the video network): checked when the bundle loads."""
    encoder = frame_encoder(name)
    if encoder is None or not getattr(encoder, "name", ""):
        return {}
    return {
        "backbone": encoder.name,
        "backbone_fingerprint": encoder.fingerprint(),
        "unit_frames": getattr(encoder, "unit_frames", 1),
    }


def on_video_network(name: str) -> bool:
    """Whether the architecture's head reads the video network's units."""
    return frame_encoder(name) is movinet.MovinetUnits


def backbone_provenance(name: str) -> str:
    """Origin and licence of the architecture's pretrained weights; empty when trained from scratch."""
    architecture = _ARCHITECTURES.get(name)
    return architecture.backbone if architecture else ""


def build(name: str, shape: InputShape, num_classes: int) -> keras.Model:
    return _architecture(name).builder(shape, num_classes)
