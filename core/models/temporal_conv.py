"""A temporal-convolution head on the frozen EfficientNet-Lite0 frame encoder: the same cached
per-frame features as ``effnet_lstm``, fused over time by 1D convolutions instead of an LSTM.

Two dilated convolutions see 3, then 7 neighbouring frames (of 13 in a window); their output is
pooled over time both ways (mean and max), so a brief motion (the bowler's arm coming over) is
not averaged away. A window is classified from those pooled features; no state runs through
time, so every frame of the window is treated alike and training parallelises over time.
"""

from __future__ import annotations

import keras
from keras import layers

from core.models.blocks import encoder_then_head
from core.models.contract import InputShape
from core.models.pooled import frozen_effnet

CHANNELS = 128


def temporal_conv_head(features, num_classes: int):
    h = layers.Dropout(0.5)(features)
    h = layers.Conv1D(CHANNELS, 3, padding="same", activation="relu")(h)
    h = layers.Dropout(0.3)(h)
    h = layers.Conv1D(CHANNELS, 3, padding="same", dilation_rate=2, activation="relu")(h)
    pooled = layers.Concatenate()([layers.GlobalAveragePooling1D()(h), layers.GlobalMaxPooling1D()(h)])
    return layers.Dense(num_classes, activation="softmax")(layers.Dropout(0.3)(pooled))


def build_effnet_tcn(shape: InputShape, num_classes: int) -> keras.Model:
    return encoder_then_head(
        frozen_effnet(shape), shape, lambda f: temporal_conv_head(f, num_classes), name="effnet_tcn"
    )
