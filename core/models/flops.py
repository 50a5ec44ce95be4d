"""FLOPs of one forward pass of a Keras model, counted from its layers' shapes, 2 per
multiply-accumulate, in the layers that do the arithmetic: convolutions (1D, 2D, 3D and
depthwise), dense layers and the matrix products inside LSTM and ConvLSTM cells, times every
frame or step they run on. Normalisation, activations, pooling and the cells' gate arithmetic are
left out (each a few percent at most). ``tf.profiler`` is not used because it counts a recurrent
layer's loop body once instead of once per time step."""

from __future__ import annotations

import math

from core.errors import ModelError


def count_flops(model) -> int:
    """Floating-point operations of one forward pass for one input (see the module docstring)."""
    return sum(_layer_flops(layer, 1) for layer in model.layers)


def _layer_flops(layer, repeat: int) -> int:
    """``repeat``: how many times the layer runs per input (frames, for a TimeDistributed one)."""
    from keras import Model, layers

    if isinstance(layer, Model):
        return sum(_layer_flops(inner, repeat) for inner in layer.layers)
    if isinstance(layer, layers.TimeDistributed):
        if isinstance(layer.layer, layers.Dense):  # has no output shape of its own: use the wrapper's
            return _dense_flops(layer.layer, layer.output.shape, repeat)
        if not isinstance(layer.layer, Model):
            raise ModelError(
                f"Cannot count the FLOPs of {layer.name}: it wraps a {type(layer.layer).__name__}."
            )
        return _layer_flops(layer.layer, repeat * layer.input.shape[1])
    if isinstance(layer, layers.ConvLSTM2D):
        steps, channels = layer.input.shape[1], layer.input.shape[-1]
        height, width = layer.output.shape[-3:-1]
        per_position = math.prod(layer.kernel_size) * (channels + layer.filters) * 4 * layer.filters
        return 2 * repeat * steps * height * width * per_position
    if isinstance(layer, layers.LSTM):
        steps, channels = layer.input.shape[1], layer.input.shape[-1]
        return 2 * repeat * steps * (channels + layer.units) * 4 * layer.units
    if isinstance(layer, layers.Conv1D | layers.Conv2D | layers.Conv3D):
        per_output = math.prod(layer.kernel_size) * layer.input.shape[-1] // layer.groups
        return 2 * repeat * math.prod(layer.output.shape[1:]) * per_output
    if isinstance(layer, layers.DepthwiseConv2D):  # each output sees one input channel
        return 2 * repeat * math.prod(layer.output.shape[1:]) * math.prod(layer.kernel_size)
    if isinstance(layer, layers.Dense):
        return _dense_flops(layer, layer.output.shape, repeat)
    return 0


def _dense_flops(layer, output_shape: tuple, repeat: int) -> int:
    return 2 * repeat * math.prod(output_shape[1:-1]) * math.prod(layer.kernel.shape)
