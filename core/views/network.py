"""The video network's anatomy, read from its LiteRT file (``models/backbones``), for the Learn
page on streaming 3D CNNs: the stages in order with their output shapes, each block's spatial
and causal temporal kernels and how many past frames its stream buffer keeps, and where the
cumulative pools sit. Read from the graph's own operators and tensor names, so the picture can
never disagree with the network that runs.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from core.models.litert import interpreter
from core.models.movinet import NETWORK_FILE, SIZE, check_network
from core.views.flow import FlowStep

STAGE = re.compile(r"movinet(?:_classifier)?/(?:movinet/)?(stem|block\d+_layer\d+|head|classifier_head)/")


@dataclass(frozen=True)
class NetworkStage:
    """One stage of the network: the stem, a (2+1)D bottleneck block, the head or the classifier."""

    name: str
    output: tuple[int, ...]  # (height, width, channels) of one frame's activations after it
    spatial_kernel: int = 0  # k of its k x k depthwise convolution (0: none)
    temporal_kernel: int = 0  # frames its causal temporal convolution sees (0: none)
    expansion: int = 0  # channels inside the bottleneck
    cumulative_pool: bool = False  # a running sum over every frame since the states were zeroed

    @property
    def buffered_frames(self) -> int:
        """Past frames its stream buffer carries from one call to the next."""
        return max(0, self.temporal_kernel - 1)

    def describe(self) -> str:
        if self.name == "stem":
            return "stem: 3x3 convolution, stride 2"
        if self.name == "head":
            return "head: 1x1 convolution, then the cumulative average over time and space"
        if self.name == "classifier_head":
            return "classifier: 2048 hidden, 600 Kinetics logits"
        parts = [f"expand to {self.expansion}", f"{self.spatial_kernel}x{self.spatial_kernel} in space"]
        if self.temporal_kernel:
            parts.append(f"{self.temporal_kernel} frames in time ({self.buffered_frames} buffered)")
        return f"{self.name.replace('_', ' ')}: " + ", ".join(parts)


@functools.cache
def stages(path: Path = NETWORK_FILE) -> tuple[NetworkStage, ...]:
    """The network's stages in order, read from its operators."""
    check_network(path)
    graph = interpreter(path, delegates=False)
    tensors = {t["index"]: t for t in graph.get_tensor_details()}
    found: dict[str, dict] = {}
    for op in graph._get_ops_details():
        output = tensors[op["outputs"][0]]
        match = STAGE.search(output["name"])
        if not match:
            continue
        stage = found.setdefault(match.group(1), {})
        shape = tuple(int(d) for d in output["shape"])
        name, kind = output["name"].split(";")[0], op["op_name"]  # fused ops list every name
        weights = tuple(int(d) for d in tensors[op["inputs"][1]]["shape"]) if len(op["inputs"]) > 1 else ()
        if kind == "CONV_2D":
            stage["output"] = shape[1:]
            if "/expansion/" in name:
                stage["expansion"] = shape[-1]
        elif kind == "DEPTHWISE_CONV_2D" and "conv2d_temporal" in name:
            stage["temporal_kernel"] = weights[1]
        elif kind == "DEPTHWISE_CONV_2D":
            stage["spatial_kernel"] = weights[1]
            stage.setdefault("output", shape[1:])
    # a cumulative pool is state the network hands back: a running sum and a frame count
    pooled = {
        t["name"].removeprefix("serving_default_state_").removesuffix("_pool_buffer:0")
        for t in graph.get_input_details()
        if t["name"].endswith("_pool_buffer:0")
    }
    ordered = []
    for name, values in found.items():
        values.setdefault("output", ())
        ordered.append(NetworkStage(name, cumulative_pool=name in pooled, **values))
    return tuple(ordered)


def network_flow(path: Path = NETWORK_FILE) -> list[FlowStep]:
    """The network as the Learn pages' flow diagram draws a model: one box per stage."""
    steps = [FlowStep("Input frame (one at a time)", "input", (SIZE, SIZE, 3), 0)]
    for stage in stages(path):
        kind = "dense" if stage.name == "classifier_head" else "pool" if stage.name == "head" else "conv"
        steps.append(FlowStep(stage.describe(), kind, stage.output, 0))
    return steps
