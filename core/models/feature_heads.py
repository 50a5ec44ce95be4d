"""The approaches on pretrained eyes: each a head on the per-frame features of the frozen
EfficientNet-Lite0 (``core.models.backbone``), so that they differ only in how they fuse time.

- ``single_frame``: the middle frame's features alone; no time at all.
- ``late_fusion``: one classifier per frame, the frames' probabilities averaged.
- ``early_fusion``: every frame's features, scaled per frame (layer normalisation), side by
  side into the first dense layer, which therefore sees each frame in its place (order
  included). With 16,640 inputs it is the touchiest head: trained from 2e-3, with or without
  the scaling, it stopped learning the direction task (loss at ln 2 from the second epoch),
  which is why every head here trains from 5e-4.
- ``slow_fusion``: temporal convolutions that see 3, then 7 neighbouring frames (the same head as
  ``effnet_tcn``), pooled over time.
- ``lrcn``: an LSTM over the sequence (the same head as ``effnet_lstm``).
- ``convlstm``: a ConvLSTM over the last block's 5x5 spatial maps, reduced from 320 to 64
  channels by a 1x1 convolution first (a ConvLSTM on 320 channels costs 3x as much to train).

Every head starts with dropout on its input: about 800 training clips of ImageNet features are
easy to memorise.
"""

from __future__ import annotations

import keras
from keras import layers

from core.models.backbone import MAP_CHANNELS, MAP_GRID, EffnetFeatures, EffnetMaps
from core.models.blocks import lstm_classifier
from core.models.contract import InputShape
from core.models.temporal_conv import temporal_conv_head

INPUT_DROPOUT = 0.5


def _features(shape: InputShape, width: int = EffnetFeatures.features):
    return keras.Input((shape.sequence_length, width), name="features")


def _classify(x, num_classes: int):
    return layers.Dense(num_classes, activation="softmax")(layers.Dropout(0.3)(x))


def build_single_frame(shape: InputShape, num_classes: int) -> keras.Model:
    features = _features(shape)
    middle = shape.sequence_length // 2
    x = layers.Cropping1D((middle, shape.sequence_length - middle - 1), name="middle_frame")(features)
    x = layers.Dropout(INPUT_DROPOUT)(layers.Flatten()(x))
    return keras.Model(features, _classify(x, num_classes), name="effnet_single_frame")


def build_late_fusion(shape: InputShape, num_classes: int) -> keras.Model:
    features = _features(shape)
    x = layers.Dropout(INPUT_DROPOUT)(features)
    per_frame = layers.TimeDistributed(layers.Dense(num_classes, activation="softmax"), name="per_frame")(x)
    averaged = layers.GlobalAveragePooling1D(name="average_over_frames")(per_frame)
    return keras.Model(features, averaged, name="effnet_late_fusion")


def build_early_fusion(shape: InputShape, num_classes: int) -> keras.Model:
    features = _features(shape)
    x = layers.LayerNormalization(name="per_frame_scale")(features)
    x = layers.Flatten(name="frames_side_by_side")(layers.Dropout(INPUT_DROPOUT)(x))
    x = layers.Dense(64, activation="relu", name="fuses_all_frames")(x)
    return keras.Model(features, _classify(x, num_classes), name="effnet_early_fusion")


def build_slow_fusion(shape: InputShape, num_classes: int) -> keras.Model:
    features = _features(shape)
    return keras.Model(features, temporal_conv_head(features, num_classes), name="effnet_slow_fusion")


def build_lrcn(shape: InputShape, num_classes: int) -> keras.Model:
    features = _features(shape)
    return keras.Model(
        features, lstm_classifier(features, num_classes, input_dropout=INPUT_DROPOUT), name="effnet_lrcn"
    )


def build_convlstm(shape: InputShape, num_classes: int) -> keras.Model:
    maps = _features(shape, EffnetMaps.features)
    x = layers.Reshape((shape.sequence_length, MAP_GRID, MAP_GRID, MAP_CHANNELS), name="maps")(maps)
    x = layers.Dropout(0.3)(x)
    x = layers.Conv3D(64, 1, activation="relu", name="fewer_channels")(x)
    x = layers.ConvLSTM2D(32, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(maps, _classify(x, num_classes), name="effnet_convlstm")
