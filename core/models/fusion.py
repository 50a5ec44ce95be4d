"""The classic ways to fuse time in a video classifier, as small models trained from scratch.

They answer one question for the Learn pages and the results table: *where* in the network do
the frames of a window meet? Never (``single_frame``), after each frame has been classified
(``late_fusion``), at the very first layer (``early_fusion``), or a little at every layer
(``slow_fusion``, a 3D CNN). With ``lrcn`` and ``convlstm`` (in ``core.models.recurrent``) they span the
approaches of Karpathy et al. (2014) and Donahue et al. (2015).

Every builder takes the project's clip contract, ``(sequence_length, height, width, 3)`` float32
in [0, 1], so each trains with ``python -m core train`` and analyses videos like any bundle. The
per-frame CNN of ``single_frame`` and ``late_fusion`` is lrcn's (same blocks and widths), so that
comparing them with lrcn isolates how time is fused, not how frames are seen. Everything is built
from stock Keras layers: bundles load with ``safe_mode=True`` without this module.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from core.errors import ModelError
from core.models.blocks import conv_block, scratch_frame_encoder
from core.models.contract import SEQUENCE_HEAD, InputShape, split

FRAME_CLASSIFIER = "frame_classifier"
FRAME_PROBABILITIES = "frame_probabilities"
FUSION_CONV = "fusion_conv"
EARLY_FUSION_FILTERS = (32, 48, 64, 96)
SLOW_FUSION_FILTERS = (16, 24, 48, 64)


def _classifier(x, num_classes: int, name: str | None = None):
    return layers.Dense(num_classes, activation="softmax", name=name)(layers.Dropout(0.3)(x))


def build_single_frame(shape: InputShape, num_classes: int) -> keras.Model:
    """Takes a whole window (the common contract) but crops it to its middle frame first, so a
    window costs one frame of CNN. ``frame_classifier`` inside classifies any single frame: run
    over every frame of a clip it shows how single-frame predictions flicker."""
    frame = keras.Input(shape.frame, name="frame")
    frame_classifier = keras.Model(
        frame, _classifier(scratch_frame_encoder(shape)(frame), num_classes), name=FRAME_CLASSIFIER
    )
    clip = keras.Input(shape.clip, name="clip")
    middle = shape.sequence_length // 2
    cropped = layers.Cropping3D(((middle, shape.sequence_length - middle - 1), (0, 0), (0, 0)))(clip)
    return keras.Model(clip, frame_classifier(layers.Reshape(shape.frame)(cropped)), name="single_frame")


def build_late_fusion(shape: InputShape, num_classes: int) -> keras.Model:
    """Order-blind by construction: shuffling the frames of a window leaves the mean unchanged."""
    encoder = scratch_frame_encoder(shape)
    features = keras.Input((shape.sequence_length, encoder.output.shape[-1]), name="features")
    per_frame = layers.TimeDistributed(
        layers.Dense(num_classes, activation="softmax"), name=FRAME_PROBABILITIES
    )(layers.Dropout(0.3)(features))
    head = keras.Model(features, layers.GlobalAveragePooling1D()(per_frame), name=SEQUENCE_HEAD)
    clip = keras.Input(shape.clip, name="clip")
    return keras.Model(clip, head(layers.TimeDistributed(encoder)(clip)), name="late_fusion")


def build_early_fusion(shape: InputShape, num_classes: int) -> keras.Model:
    """Time is fused in one step: each kernel of ``fusion_conv`` has a weight for every frame
    (3x3 pixels x 3 colours x sequence_length frames), and after it the network is a plain 2D CNN."""
    clip = keras.Input(shape.clip, name="clip")
    # (T, H, W, 3) -> (H, W, T, 3) -> (H, W, T*3): channel 3t+c is colour c of frame t
    stacked = layers.Reshape((shape.height, shape.width, 3 * shape.sequence_length))(
        layers.Permute((2, 3, 1, 4))(clip)
    )
    x = layers.Conv2D(EARLY_FUSION_FILTERS[0], 3, padding="same", use_bias=False, name=FUSION_CONV)(stacked)
    x = layers.MaxPooling2D(2)(layers.ReLU()(layers.BatchNormalization()(x)))
    for filters in EARLY_FUSION_FILTERS[1:]:
        x = conv_block(x, filters, 2)
    probabilities = _classifier(layers.GlobalAveragePooling2D()(x), num_classes)
    return keras.Model(clip, probabilities, name="early_fusion")


def build_slow_fusion(shape: InputShape, num_classes: int) -> keras.Model:
    """Each block sees 3 neighbouring time steps and then halves time and space, so the temporal
    reach grows from 3 frames in the first layer to the whole window in the last."""
    clip = keras.Input(shape.clip, name="clip")
    x = clip
    for filters in SLOW_FUSION_FILTERS:
        x = layers.Conv3D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.MaxPooling3D(2, padding="same")(x)
    probabilities = _classifier(layers.GlobalAveragePooling3D()(x), num_classes)
    return keras.Model(clip, probabilities, name="slow_fusion")


def per_frame_probabilities(model: keras.Model, frames: np.ndarray) -> np.ndarray:
    """Class probabilities of each frame on its own, ``(N, classes)`` from float frames
    ``(N, H, W, 3)`` in [0, 1], for the models that classify frames (single_frame, late_fusion):
    the flicker that late fusion averages away."""
    if model.name == "single_frame":
        return np.asarray(model.get_layer(FRAME_CLASSIFIER)(frames, training=False))
    parts = split(model)
    if model.name != "late_fusion" or parts is None:
        raise ModelError(f"{model.name} does not classify single frames.")
    encoder, head = parts
    features = encoder(frames, training=False)
    return np.asarray(head.get_layer(FRAME_PROBABILITIES).layer(features, training=False))
