"""Heads on the frozen MoViNet-A0 stream (``core.models.movinet``): each reads a window of
*units* (1.6 s each, the network's 600 Kinetics logits after the unit from zero states), so the
window sees motion through the backbone; one unit for the pooled heads, so that a timeline
follows a change of action within a unit.

- ``movinet_linear``: the logits (the units' mean, for a longer window), standardised (batch
  normalisation), a linear softmax with an L2 penalty: the probe's logistic regression as a
  Keras head.
- ``movinet_mlp``: the same through one hidden layer of 128.
- ``movinet_lstm``: an LSTM over the units' logits in order (a CNN + LSTM in the seed's sense,
  with a video network as the CNN).
- ``kinetics_600``: no head at all: the network's own 600 classes, its logits through a softmax
  (the last unit of the window). Nothing is trained; it names what the 11 actions do not cover.

The logits are standardised first because their scale differs by action and by clip length; a
head without it trained slower and overfit the loud actions.
"""

from __future__ import annotations

import keras
from keras import layers

from core.models.contract import InputShape
from core.models.movinet import CLASSES

INPUT_DROPOUT = 0.2  # 600 logits carry less to memorise than 1280 ImageNet features
# The weight penalty of the softmax layers, as a logistic regression's: on the folds' training
# groups a numpy logistic regression on standardised unit logits kept its accuracy from 0.01 to
# 0.05 (equivalent), where the unpenalised head stopped at its first or second epoch.
L2 = 0.01


def _softmax(x, num_classes: int):
    return layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L2(L2))(x)


def _units(shape: InputShape):
    return keras.Input((shape.sequence_length, CLASSES), name="unit_logits")


def _standardised_mean(units):
    pooled = layers.GlobalAveragePooling1D(name="mean_over_units")(units)
    return layers.BatchNormalization(name="standardise")(pooled)


def build_linear(shape: InputShape, num_classes: int) -> keras.Model:
    units = _units(shape)
    x = layers.Dropout(INPUT_DROPOUT)(_standardised_mean(units))
    return keras.Model(units, _softmax(x, num_classes), name="movinet_linear")


def build_mlp(shape: InputShape, num_classes: int) -> keras.Model:
    units = _units(shape)
    x = layers.Dropout(INPUT_DROPOUT)(_standardised_mean(units))
    x = layers.Dropout(0.3)(layers.Dense(128, activation="relu", name="hidden")(x))
    return keras.Model(units, _softmax(x, num_classes), name="movinet_mlp")


def build_lstm(shape: InputShape, num_classes: int) -> keras.Model:
    units = _units(shape)
    x = layers.Dropout(INPUT_DROPOUT)(layers.BatchNormalization(name="standardise")(units))
    x = layers.Dropout(0.3)(layers.LSTM(64)(x))
    return keras.Model(units, _softmax(x, num_classes), name="movinet_lstm")


def build_kinetics(shape: InputShape, num_classes: int) -> keras.Model:
    """The network's own classifier: the window's last unit's logits, through a softmax."""
    if num_classes != CLASSES:
        raise ValueError(f"kinetics_600 predicts the network's {CLASSES} actions, not {num_classes}.")
    units = _units(shape)
    last = layers.Cropping1D((shape.sequence_length - 1, 0), name="last_unit")(units)
    probabilities = layers.Softmax(name="kinetics_probabilities")(layers.Flatten()(last))
    return keras.Model(units, probabilities, name="kinetics_600")
