"""The data flow of a real Keras model, step by step with tensor shapes, for the Learn pages'
diagrams: read from the loaded model itself, so a diagram can never disagree with the network.

Nested models (a frame encoder inside TimeDistributed, a sequence head) are opened up; layers
that only rescale or regularise (batch norm, activations, dropout) are folded into the step
before them, since they change no shape. A frame encoder outside Keras (the pose estimator) is
one step in front of the model, with the shape it hands over.
"""

from __future__ import annotations

from dataclasses import dataclass

FOLDED = ("BatchNormalization", "ReLU", "Activation", "Dropout", "SpatialDropout", "Rescaling", "Normaliz")
KINDS = {  # layer class -> the colour family of its box
    "InputLayer": "input",
    "Conv2D": "conv",
    "DepthwiseConv2D": "conv",
    "Conv3D": "conv",
    "ConvLSTM2D": "recurrent",
    "LSTM": "recurrent",
    "GRU": "recurrent",
    "Dense": "dense",
}


@dataclass(frozen=True)
class FlowStep:
    label: str
    kind: str  # input, conv, pool, recurrent, dense, reshape
    shape: tuple[int, ...]  # without the batch axis
    params: int

    @property
    def shape_text(self) -> str:
        return "(" + ", ".join(str(d) for d in self.shape) + ")"


def _describe(layer) -> str:
    name = type(layer).__name__
    config = layer.get_config()
    if "filters" in config:
        kernel = "x".join(str(k) for k in config.get("kernel_size", ()))
        return f"{name} {config['filters']}, {kernel}"
    if "units" in config:
        return f"{name} {config['units']}"
    if "pool_size" in config:
        return f"{name} {'x'.join(str(p) for p in config['pool_size'])}"
    return name


def _kind(layer) -> str:
    name = type(layer).__name__
    if name in KINDS:
        return KINDS[name]
    return "pool" if "Pooling" in name else "reshape"


def model_flow(model) -> list[FlowStep]:
    """The model's steps in order: its input, then every layer that changes the tensor's shape
    or holds weights, with the shape it outputs (a TimeDistributed frame encoder's steps carry
    the time axis in front)."""
    steps = [FlowStep("Input", "input", tuple(model.input_shape[1:]), 0)]

    def walk(layer, time_axis: tuple[int, ...]) -> None:
        name = type(layer).__name__
        if name == "TimeDistributed" and hasattr(layer.layer, "layers"):  # a per-frame model
            walk(layer.layer, time_axis + (int(layer.output.shape[1]),))
        elif name == "TimeDistributed":  # one layer applied to every frame: its own output shape
            shape = time_axis + tuple(int(d) for d in layer.output.shape[1:])
            inner = layer.layer
            steps.append(FlowStep(f"{_describe(inner)} per frame", _kind(inner), shape, layer.count_params()))
        elif hasattr(layer, "layers"):  # a nested model: its own input is the step before
            for inner in layer.layers:
                if type(inner).__name__ != "InputLayer":
                    walk(inner, time_axis)
        elif name.startswith(FOLDED) or name == "InputLayer":
            if steps and layer.count_params():
                last = steps[-1]
                steps[-1] = FlowStep(last.label, last.kind, last.shape, last.params + layer.count_params())
        else:
            shape = time_axis + tuple(int(d) for d in layer.output.shape[1:])
            steps.append(FlowStep(_describe(layer), _kind(layer), shape, layer.count_params()))

    for layer in model.layers:
        walk(layer, ())
    return steps


def bundle_flow(bundle) -> list[FlowStep]:
    """``model_flow`` of a bundle's model, with the frames and the frame encoder in front where
    the model takes per-frame features instead of frames (``models.frame_encoder``)."""
    from core.models.registry import frame_encoder

    steps = model_flow(bundle.model)
    encoder = frame_encoder(bundle.spec.architecture)
    if encoder is None:
        return steps
    spec = bundle.spec
    frames = FlowStep("Input frames", "input", (spec.sequence_length, *spec.image_size, 3), 0)
    encoded = FlowStep(f"{encoder.label} per frame", "conv", steps[0].shape, 0)
    return [frames, encoded, *steps[1:]]
