"""Frozen Keras models run by LiteRT (TensorFlow Lite) with its XNNPACK CPU kernels.

Why: the frozen EfficientNet-Lite0 is nearly all of an analysis's compute, and on two cores the
same graph runs about 1.7x faster under LiteRT's XNNPACK kernels than under TensorFlow (240 vs
141 frames per second at 160x160, features equal to 2e-5; ``python -m core bench`` measures
both). Float16 weights were no faster on these CPUs (XNNPACK computes in float32 either way) and
int8 dynamic-range weights slower and further off, so the float32 graph is the one kept.

A model is converted once per weights fingerprint and frame size, then kept as a ``.tflite`` file
under the cache folder: a bundle or backbone update can never run stale weights, and a restarted
app loads the file in milliseconds instead of converting again (about 2 s). One interpreter is
shared by every caller in the process; LiteRT interpreters are not thread-safe, so calls take a
lock (two sessions analysing at once take turns at the backbone; the cores are busy anyway).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.models.contract import to_unit

BATCH = 8  # fastest on 2 cores (32: 10% slower); the last batch is padded to it


def cache_dir() -> Path:
    root = os.environ.get("ARL_CACHE_DIR", Path.home() / ".cache" / "action-lab")
    return Path(root) / "litert"


def available_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup CPU quota. A container (such
    as Community Cloud's) often shows the host's many cores while its quota allows two; one
    thread per visible core would then oversubscribe and slow every call down."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = Path("/sys/fs/cgroup/cpu.max")
    try:
        limit, period = quota.read_text().split()[:2]
        if limit != "max":
            count = min(count, max(1, round(int(limit) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def _interpreter_module():
    """The ``ai-edge-litert`` package; where it has no wheel (Windows), the same interpreter as
    TensorFlow still ships it (deprecated there, equally fast here)."""
    try:
        from ai_edge_litert import interpreter as module
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    return module.Interpreter, module.OpResolverType


def interpreter(path: Path, delegates: bool = True):
    """A LiteRT interpreter for ``path``, with one thread per available CPU. ``delegates=False``
    leaves out the XNNPACK delegate, so that the graph's own ops can be read (FLOP counting)."""
    interpreter_class, resolvers = _interpreter_module()
    options = {}
    if not delegates:
        options["experimental_op_resolver_type"] = resolvers.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with warnings.catch_warnings():  # TensorFlow's notice that its copy is deprecated
        warnings.simplefilter("ignore", UserWarning)
        runner = interpreter_class(model_path=str(path), num_threads=available_cpus(), **options)
    runner.allocate_tensors()
    return runner


def convert(model, height: int, width: int) -> bytes:
    """The Keras ``model`` at ``height`` x ``width`` (any batch) as a float32 LiteRT flatbuffer."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec((None, height, width, model.input_shape[-1]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False), input_signature=[spec], autograph=False)
    frozen = convert_variables_to_constants_v2(graph.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return converter.convert()


def model_file(model, fingerprint: str, height: int, width: int) -> Path:
    """The converted model on disk, converting it the first time (written atomically, so two
    processes converting at once never read half a file)."""
    target = cache_dir() / f"{model.name}-{fingerprint}-{height}x{width}.tflite"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        try:
            partial.write_bytes(convert(model, height, width))
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


class FrameRunner:
    """uint8 frames (N, H, W, 3) -> the model's output per frame, by one shared interpreter."""

    def __init__(self, path: Path):
        self._runner = interpreter(path)
        self._input = self._runner.get_input_details()[0]
        self._output = self._runner.get_output_details()[0]["index"]
        self._lock = threading.Lock()
        with self._lock:
            self._runner.resize_tensor_input(self._input["index"], [BATCH, *self._input["shape"][1:]])
            self._runner.allocate_tensors()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        if not len(frames):
            return np.zeros((0, *self._runner.get_output_details()[0]["shape"][1:]), np.float32)
        outputs = []
        for start in range(0, len(frames), BATCH):
            chunk = to_unit(frames[start : start + BATCH])
            count = len(chunk)
            if count < BATCH:
                chunk = np.concatenate([chunk, np.zeros((BATCH - count, *chunk.shape[1:]), chunk.dtype)])
            with self._lock:
                self._runner.set_tensor(self._input["index"], chunk)
                self._runner.invoke()
                outputs.append(self._runner.get_tensor(self._output)[:count].copy())
        return np.concatenate(outputs)


def frame_runner(model, fingerprint: str, height: int, width: int) -> Callable[[np.ndarray], np.ndarray]:
    return FrameRunner(model_file(model, fingerprint, height, width))
