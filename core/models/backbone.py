"""The frozen EfficientNet-Lite0 as a frame encoder outside the heads' Keras models.

The approaches on pretrained eyes differ only in how they fuse time, so their bundles hold only
their heads (kilobytes to a few megabytes, not the backbone's 14 MB each), and every head in a
process is fed by one backbone instance: loading all the Learn pages' models loads it once.
Two views of a frame are offered: the 1280 pooled features (``EffnetFeatures``) and the last
block's spatial map, 5x5x320 at 160x160 (``EffnetMaps``), for the approach that needs space
(ConvLSTM). Both come out of one LiteRT interpreter (``core.models.litert``) running a model
with the two outputs, shipped converted in ``models/backbones/``, in batches on any number of
frames; with ``ARL_BACKBONE_RUNTIME=keras``, out of one traced Keras function per view.
"""

from __future__ import annotations

import functools
import hashlib
import json
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
VIEWS = ("pooled", "maps")
FINGERPRINTS = efficientnet_lite.WEIGHTS.parent / "efficientnet_lite0.fingerprints.json"


def runtime() -> str:
    """How the backbone runs: LiteRT (the default: 1.7x the frames per second, see
    ``core.models.litert``) or Keras/TensorFlow (``ARL_BACKBONE_RUNTIME=keras``, the reference)."""
    chosen = os.environ.get("ARL_BACKBONE_RUNTIME", "litert").strip().lower() or "litert"
    if chosen not in RUNTIMES:
        raise ModelError(f"ARL_BACKBONE_RUNTIME={chosen!r}: choose one of {', '.join(RUNTIMES)}.")
    return chosen


@functools.cache
def _keras_model(view: str):
    """The Keras backbone for a view; the maps view shares the pooled one's layers and weights.
    Built only when something needs Keras: that runtime, a first conversion for LiteRT, or
    fingerprints not yet remembered (it costs 50-70 MB and a second or two)."""
    import keras

    if view == "pooled":
        return efficientnet_lite.efficientnet_lite0()
    backbone = _keras_model("pooled")
    return keras.Model(backbone.input, backbone.get_layer(MAP_LAYER).output, name="efficientnet_lite0_maps")


@functools.cache
def fingerprints() -> dict[str, str]:
    """The weights fingerprint of each view (``pooled``, ``maps``): names which features caches
    and converted models hold, and tells a bundle that embeds this backbone. Looked up by the
    weights file's hash in the repository's record (``FINGERPRINTS``, written with the shipped
    LiteRT model) or the cache folder's, so that a process never builds the Keras backbone just
    to name it; computed (and remembered in the cache folder) for weights neither knows."""
    from core.models import litert

    weights = hashlib.sha256(efficientnet_lite.WEIGHTS.read_bytes()).hexdigest()
    for record in (FINGERPRINTS, litert.cache_dir() / FINGERPRINTS.name):
        found = _read_record(record).get(weights)
        if isinstance(found, dict) and set(found) == set(VIEWS):
            return found
    return remember_fingerprints(litert.cache_dir() / FINGERPRINTS.name)


def _read_record(path) -> dict:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def remember_fingerprints(record) -> dict[str, str]:
    """Compute the views' fingerprints from the Keras backbone and add them to ``record``."""
    from core.models import litert

    weights = hashlib.sha256(efficientnet_lite.WEIGHTS.read_bytes()).hexdigest()
    known = _read_record(record)
    known[weights] = {
        "pooled": weights_fingerprint(_keras_model("pooled")),
        "maps": weights_fingerprint(_keras_model("maps")) + f"-{MAP_LAYER}",
    }
    litert.write_atomically(record, json.dumps(known, indent=1).encode())
    return known[weights]


def litert_name(height: int, width: int) -> str:
    """The converted backbone's file name: its weights and frame size, so a stale file is never used."""
    return f"efficientnet_lite0-{fingerprints()['pooled']}-{height}x{width}.tflite"


def litert_model():
    """Both views as one Keras model (outputs: pooled, maps), converted to one LiteRT model, so
    that one interpreter serves every head (the maps cost nothing more: they are on the way)."""
    import keras

    backbone = _keras_model("pooled")
    outputs = [backbone.output, backbone.get_layer(MAP_LAYER).output]
    return keras.Model(backbone.input, outputs, name="efficientnet_lite0_both")


@functools.cache
def _litert_runner(height: int, width: int):
    from core.models import litert

    path = litert.model_file(
        litert_model, litert_name(height, width), height, width, shipped_in=efficientnet_lite.WEIGHTS.parent
    )
    return litert.FrameRunner(path)


@functools.cache
def _runner(view: str, how: str, height: int, width: int) -> Callable[[np.ndarray], np.ndarray]:
    """One runner per view, runtime and frame size in the process: every head shares it."""
    if how == "litert":
        both = _litert_runner(height, width)
        return lambda frames: both(frames)[VIEWS.index(view)]
    return encoder_function(_keras_model(view))


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


class _BackboneView:
    """One view of the shared backbone as a frame encoder; ``runtime`` None follows ``runtime()``."""

    view = "pooled"

    def __init__(self, runtime: str | None = None):
        self.runtime = runtime

    def _run(self, frames: np.ndarray) -> np.ndarray:
        return _runner(self.view, self.runtime or runtime(), *frames.shape[1:3])(frames)

    @classmethod
    def fingerprint(cls) -> str:
        return fingerprints()[cls.view]

    @classmethod
    def flops_per_frame(cls) -> int:
        return backbone_flops_per_frame(MAP_SIZE, maps=cls.view == "maps")


class EffnetFeatures(_BackboneView):
    """uint8 frames (N, H, W, 3) -> the 1280 pooled ImageNet features of each (N, 1280). Its
    fingerprint is the full ``effnet_lstm`` model's frame encoder's: their cached features are shared."""

    features = efficientnet_lite.FEATURES
    label = "EfficientNet-Lite0 (frozen, ImageNet)"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self._run(frames)


class EffnetMaps(_BackboneView):
    """uint8 160x160 frames (N, 160, 160, 3) -> the last block's 5x5x320 map of each, flattened
    (N, 8000), as float16: a map is 6x the pooled vector, and the cache holds every frame twice."""

    view = "maps"
    features = MAP_GRID * MAP_GRID * MAP_CHANNELS
    label = "EfficientNet-Lite0 to its last 5x5 map (frozen, ImageNet)"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return self._run(frames).reshape(len(frames), -1).astype(np.float16)
