"""Heads on the frozen EfficientNet-Lite0 that pool a window's frames instead of running a
sequence model over them: ``effnet_mean`` (the frames' mean feature, a linear softmax) and
``effnet_attention`` (a learnt weight per frame, then the weighted mean).

Why they are here: on groups a model never saw, the LSTM head scored below a single-frame head
on the same features (the model issue's probe: 0.78 against 0.83). A head with fewer ways to
fit a training scene may carry better to other people's footage; cross-validation by group
(``core.training.crossval``) decides, not one split.
"""

from __future__ import annotations

import keras

from core.models import efficientnet_lite
from core.models.blocks import attention_pool_classifier, encoder_then_head, mean_pool_classifier
from core.models.contract import FRAME_ENCODER, InputShape


def frozen_effnet(shape: InputShape) -> keras.Model:
    """The ImageNet EfficientNet-Lite0 as a frozen frame encoder: training fits only the head,
    on cached features."""
    encoder = efficientnet_lite.efficientnet_lite0(shape.frame, name=FRAME_ENCODER)
    encoder.trainable = False
    return encoder


def build_effnet_mean(shape: InputShape, num_classes: int) -> keras.Model:
    return encoder_then_head(
        frozen_effnet(shape), shape, lambda f: mean_pool_classifier(f, num_classes), name="effnet_mean"
    )


def build_effnet_attention(shape: InputShape, num_classes: int) -> keras.Model:
    return encoder_then_head(
        frozen_effnet(shape),
        shape,
        lambda f: attention_pool_classifier(f, num_classes),
        name="effnet_attention",
    )
