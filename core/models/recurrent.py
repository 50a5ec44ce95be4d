"""The models that carry time in a recurrent cell: CNN + LSTM (``lrcn``, from scratch, and
``effnet_lstm``, on a frozen ImageNet backbone), ``convlstm`` (convolutions inside the cell) and
``pose_lstm`` (an LSTM over BlazePose landmarks)."""

from __future__ import annotations

import keras
from keras import layers

from core.models import pose
from core.models.blocks import encoder_then_lstm, lstm_classifier, scratch_frame_encoder
from core.models.contract import InputShape
from core.models.pooled import frozen_effnet


def build_lrcn(shape: InputShape, num_classes: int) -> keras.Model:
    encoder = scratch_frame_encoder(shape)
    return encoder_then_lstm(encoder, shape, num_classes, input_dropout=0.3, name="lrcn")


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


def build_effnet_lstm(shape: InputShape, num_classes: int) -> keras.Model:
    return encoder_then_lstm(frozen_effnet(shape), shape, num_classes, input_dropout=0.5, name="effnet_lstm")


def build_pose_lstm(shape: InputShape, num_classes: int) -> keras.Model:
    """The LRCN's sequence head on pose features instead of CNN features: the comparison
    isolates what the frame encoder keeps."""
    features = keras.Input((shape.sequence_length, pose.FEATURES), name="pose")
    return keras.Model(features, lstm_classifier(features, num_classes, input_dropout=0.1), name="pose_lstm")
