"""Building blocks that several architectures share, so that comparing two approaches isolates
how they fuse time, not how their frames are seen."""

from __future__ import annotations

import keras
from keras import layers

from core.models.contract import FRAME_ENCODER, SEQUENCE_HEAD, InputShape

SCRATCH_FRAME_BLOCKS = ((24, 2), (48, 2), (64, 2), (96, 2))  # the scratch per-frame CNN: (filters, pooling)


def conv_block(x, filters: int, pool: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.MaxPooling2D(pool)(x)


def scratch_frame_encoder(shape: InputShape) -> keras.Model:
    """The LRCN's per-frame CNN (4 Conv-BN-ReLU blocks, global average pooling), also the frame
    CNN of single_frame and late_fusion."""
    frame = keras.Input(shape.frame, name="frame")
    x = frame
    for filters, pool in SCRATCH_FRAME_BLOCKS:
        x = conv_block(x, filters, pool)
    return keras.Model(frame, layers.GlobalAveragePooling2D()(x), name=FRAME_ENCODER)


def lstm_classifier(features, num_classes: int, input_dropout: float):
    """The sequence head every CNN + LSTM shares: per-frame features -> LSTM(64) -> softmax."""
    h = layers.Dropout(input_dropout)(features)
    h = layers.LSTM(64)(h)
    h = layers.Dropout(0.3)(h)
    return layers.Dense(num_classes, activation="softmax")(h)


def mean_pool_classifier(features, num_classes: int, input_dropout: float = 0.5):
    """The window's frames' features averaged, then a linear softmax: no order, no sequence
    model, the least a head can fit to a training scene (cross-validation's baseline)."""
    h = layers.GlobalAveragePooling1D(name="mean_over_frames")(layers.Dropout(input_dropout)(features))
    return layers.Dense(num_classes, activation="softmax")(h)


def attention_pool_classifier(features, num_classes: int, input_dropout: float = 0.5):
    """A learnt weight per frame (softmax over the window), the weighted mean of the frames'
    features, then a linear softmax: pooling that may look at the frames that show the action."""
    h = layers.Dropout(input_dropout)(features)
    weights = layers.Softmax(axis=1, name="frame_weights")(layers.Dense(1, name="frame_relevance")(h))
    pooled = layers.Dot(axes=1, name="weighted_mean")([weights, h])
    return layers.Dense(num_classes, activation="softmax")(layers.Flatten()(pooled))


def encoder_then_head(encoder: keras.Model, shape: InputShape, head_output, name: str) -> keras.Model:
    """A per-frame encoder inside TimeDistributed, then a sequence head (``head_output``: features
    tensor -> softmax tensor): built as two named models, so that analysis can run the encoder
    once per frame and the head per window."""
    features = keras.Input((shape.sequence_length, encoder.output.shape[-1]), name="features")
    head = keras.Model(features, head_output(features), name=SEQUENCE_HEAD)

    clip = keras.Input(shape.clip, name="clip")
    return keras.Model(clip, head(layers.TimeDistributed(encoder)(clip)), name=name)


def encoder_then_lstm(
    encoder: keras.Model, shape: InputShape, num_classes: int, input_dropout: float, name: str
) -> keras.Model:
    """``encoder_then_head`` with the LSTM(64) head."""
    return encoder_then_head(
        encoder, shape, lambda features: lstm_classifier(features, num_classes, input_dropout), name
    )
