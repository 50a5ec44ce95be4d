"""Frozen Keras models run by LiteRT (TensorFlow Lite) with its XNNPACK CPU kernels.

Why: the frozen EfficientNet-Lite0 is nearly all of an analysis's compute, and on two cores the
same graph runs about 1.7x faster under LiteRT's XNNPACK kernels than under TensorFlow (240 vs
141 frames per second at 160x160, features equal to 2e-5; ``python -m core bench`` measures
both). Float16 weights were no faster on these CPUs (XNNPACK computes in float32 either way) and
int8 dynamic-range weights slower and further off, so the float32 graph is the one kept.

A converted model's file is named by its weights fingerprint and frame size, so stale weights are
never run. The one the app needs is shipped with the repository (converting takes about 400 MB
and 2-3 s, too much for a small host's first request); any other is converted once into the
cache folder. One interpreter is shared by every caller in the process; LiteRT interpreters are
not thread-safe, so calls take a lock (two sessions analysing at once take turns at the
backbone; the cores are busy anyway).
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.config import cache_root
from core.models.contract import to_unit

BATCH = 8  # fastest on 2 cores (32: 10% slower); a shorter last batch runs at its own size


def cache_dir() -> Path:
    return cache_root() / "litert"


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
    """The Keras ``model`` at ``height`` x ``width`` (any batch) as a float32 LiteRT flatbuffer,
    with one output per output of ``model``."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    spec = tf.TensorSpec((None, height, width, model.input_shape[-1]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False), input_signature=[spec], autograph=False)
    frozen = convert_variables_to_constants_v2(graph.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return converter.convert()


def write_atomically(target: Path, data: bytes) -> None:
    """Via a temporary file and a rename: two processes writing at once never leave half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def model_file(
    build: Callable[[], object], name: str, height: int, width: int, shipped_in: Path | None = None
) -> Path:
    """The model ``build()`` returns, converted at ``height`` x ``width``: the file ``name`` in
    ``shipped_in`` when the repository has it (converting takes about 400 MB and 2-3 s, too much
    for a small host's first request), else a copy in the cache folder, converted the first
    time. ``name`` must say which model, weights and frame size the file holds."""
    if shipped_in is not None and (shipped_in / name).is_file():
        return shipped_in / name
    target = cache_dir() / name
    if not target.is_file():
        write_atomically(target, convert(build(), height, width))
    return target


class FrameRunner:
    """uint8 frames (N, H, W, 3) -> each of the model's outputs per frame, by one interpreter
    shared by every caller (a list, in the order of the model's outputs)."""

    def __init__(self, path: Path):
        self._runner = interpreter(path)
        self._input = self._runner.get_input_details()[0]
        # the converter keeps the outputs' order in their names (Identity, Identity_1, ...)
        details = sorted(self._runner.get_output_details(), key=lambda d: (len(d["name"]), d["name"]))
        self._outputs = [d["index"] for d in details]
        self._shapes = [tuple(d["shape"][1:]) for d in details]
        self._lock = threading.Lock()
        self._batch = 0  # the batch size the interpreter's tensors are allocated for

    def _allocate(self, batch: int) -> None:
        """Size the input for ``batch`` frames (called with the lock held). Resizing costs tens
        of microseconds, while padding one frame to a batch of 8 cost 7x that frame's time (the
        live view encodes one frame at a time: 6 ms instead of 43 on 2 cores)."""
        if batch != self._batch:
            self._runner.resize_tensor_input(self._input["index"], [batch, *self._input["shape"][1:]])
            self._runner.allocate_tensors()
            self._batch = batch

    def __call__(self, frames: np.ndarray) -> list[np.ndarray]:
        if not len(frames):
            return [np.zeros((0, *shape), np.float32) for shape in self._shapes]
        outputs: list[list[np.ndarray]] = [[] for _ in self._outputs]
        for start in range(0, len(frames), BATCH):
            chunk = to_unit(frames[start : start + BATCH])
            with self._lock:
                self._allocate(len(chunk))
                self._runner.set_tensor(self._input["index"], chunk)
                self._runner.invoke()
                for output, index in zip(outputs, self._outputs, strict=True):
                    output.append(self._runner.get_tensor(index).copy())
        return [np.concatenate(output) for output in outputs]


def graph_flops(path: Path) -> int:
    """Floating-point operations of one run of a LiteRT graph: two per multiply-accumulate of
    every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED op (output elements x the filter's
    receptive field), the ops that hold nearly all of the arithmetic; additions, activations,
    resizes and crops are left out. Read from the graph without the XNNPACK delegate, which
    would otherwise replace the ops by DELEGATE nodes whose work cannot be read off."""
    graph = interpreter(path, delegates=False)
    shapes = {t["index"]: tuple(int(d) for d in t["shape"]) for t in graph.get_tensor_details()}
    total = 0
    for op in graph._get_ops_details():
        name = op["op_name"]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        outputs = math.prod(shapes[op["outputs"][0]])
        weights = shapes[op["inputs"][1]]
        if name == "CONV_2D":  # filter (out, kh, kw, in)
            per_output = math.prod(weights[1:])
        elif name == "DEPTHWISE_CONV_2D":  # filter (1, kh, kw, channels)
            per_output = weights[1] * weights[2]
        else:  # weights (out, in)
            per_output = weights[1]
        total += 2 * outputs * per_output
    return total
