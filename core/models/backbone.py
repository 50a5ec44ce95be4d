"""The frozen EfficientNet-Lite0 as a frame encoder outside the heads' Keras models.

The approaches on pretrained eyes differ only in how they fuse time, so their bundles hold only
their heads (kilobytes to a few megabytes, not the backbone's 14 MB each), and every head in a
process is fed by one backbone instance: loading all the Learn pages' models loads it once.
Two views of a frame are offered: the 1280 pooled features (``EffnetFeatures``) and the last
block's spatial map, 5x5x320 at 160x160 (``EffnetMaps``), for the approach that needs space
(ConvLSTM). Both are computed in batches, on any number of frames, by one traced function.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable

import numpy as np

from core.errors import ModelError
from core.models import efficientnet_lite
from core.models.contract import to_unit

BATCH = 32  # as fast as 128 on 2 cores, with a quarter of the activations in memory
MAP_LAYER = "block15_project_bn"  # the last block's output, before the 1x1 head convolution
MAP_SIZE = 160  # EffnetMaps is defined at this frame size: a 5x5 grid
MAP_GRID, MAP_CHANNELS = MAP_SIZE // 32, efficientnet_lite.STAGES[-1].filters_out


def encoder_function(model, batch: int = BATCH) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 frames -> the model's output, in batches. Traced once for any batch size: clips
    have any number of frames, and padding them to a fixed batch would waste backbone time."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    run = tf.function(lambda x: model(x, training=False), input_signature=[spec], autograph=False)

    def encode(frames: np.ndarray) -> np.ndarray:
        chunks = [frames[start : start + batch] for start in range(0, len(frames), batch)]
        return np.concatenate([np.asarray(run(to_unit(chunk))) for chunk in chunks])

    return encode


def weights_fingerprint(model) -> str:
    """A short hash of a model's weights (names which frozen encoder cached features came from)."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()[:16]


RUNTIMES = ("litert", "keras")


def runtime() -> str:
    """How the backbone runs: LiteRT (the default: 1.7x the frames per second, see
    ``core.models.litert``) or Keras/TensorFlow (``ARL_BACKBONE_RUNTIME=keras``, the reference)."""
    chosen = os.environ.get("ARL_BACKBONE_RUNTIME", "litert").strip().lower() or "litert"
    if chosen not in RUNTIMES:
        raise ModelError(f"ARL_BACKBONE_RUNTIME={chosen!r}: choose one of {', '.join(RUNTIMES)}.")
    return chosen


@functools.cache
def _pooled():
    model = efficientnet_lite.efficientnet_lite0()
    return model, weights_fingerprint(model)


@functools.cache
def _maps():
    import keras

    backbone = efficientnet_lite.efficientnet_lite0((MAP_SIZE, MAP_SIZE, 3))
    model = keras.Model(backbone.input, backbone.get_layer(MAP_LAYER).output, name="efficientnet_lite0_maps")
    return model, weights_fingerprint(model) + f"-{MAP_LAYER}"


@functools.cache
def _runner(view: str, how: str, height: int, width: int) -> Callable[[np.ndarray], np.ndarray]:
    """One runner per view, runtime and frame size in the process: every head shares it."""
    model, fingerprint = (_pooled if view == "pooled" else _maps)()
    if how == "litert":
        from core.models import litert

        return litert.frame_runner(model, fingerprint, height, width)
    return encoder_function(model)


def _run(view: str, frames: np.ndarray, how: str | None) -> np.ndarray:
    return _runner(view, how or runtime(), *frames.shape[1:3])(frames)


def shared_encoder(encoder) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 frames -> ``encoder``'s features: by the shared backbone when ``encoder`` is that
    backbone (the default model's own frame encoder is), else by ``encoder`` itself. This is
    what keeps one backbone in the process however many bundles embed a copy of it."""
    if weights_fingerprint(encoder) == EffnetFeatures.fingerprint():
        return EffnetFeatures()
    return encoder_function(encoder)


@functools.cache
def backbone_flops_per_frame(size: int, maps: bool) -> int:
    """FLOPs of the backbone on one ``size`` x ``size`` frame, counted like the heads' (up to
    the spatial map when ``maps``)."""
    import keras

    from core.models.flops import count_flops

    backbone = efficientnet_lite.efficientnet_lite0((size, size, 3), weights=None)
    if maps:
        backbone = keras.Model(backbone.input, backbone.get_layer(MAP_LAYER).output)
    return count_flops(backbone)


class EffnetFeatures:
    """uint8 frames (N, H, W, 3) -> the 1280 pooled ImageNet features of each (N, 1280)."""

    features = efficientnet_lite.FEATURES
    label = "EfficientNet-Lite0 (frozen, ImageNet)"

    def __init__(self, runtime: str | None = None):
        self.runtime = runtime  # None: ``runtime()`` at each call

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return _run("pooled", frames, self.runtime)

    @staticmethod
    def fingerprint() -> str:
        """The same as the full ``effnet_lstm`` model's frame encoder: their cached features are shared."""
        return _pooled()[1]

    @staticmethod
    def flops_per_frame() -> int:
        return backbone_flops_per_frame(MAP_SIZE, maps=False)


class EffnetMaps:
    """uint8 160x160 frames (N, 160, 160, 3) -> the last block's 5x5x320 map of each, flattened
    (N, 8000), as float16: a map is 6x the pooled vector, and the cache holds every frame twice."""

    features = MAP_GRID * MAP_GRID * MAP_CHANNELS
    label = "EfficientNet-Lite0 to its last 5x5 map (frozen, ImageNet)"

    def __init__(self, runtime: str | None = None):
        self.runtime = runtime

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return _run("maps", frames, self.runtime).reshape(len(frames), -1).astype(np.float16)

    @staticmethod
    def fingerprint() -> str:
        return _maps()[1]

    @staticmethod
    def flops_per_frame() -> int:
        return backbone_flops_per_frame(MAP_SIZE, maps=True)
