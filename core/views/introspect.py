"""Looking inside trained models for the Learn pages: what the CNN's feature maps show for one
frame, how an LSTM's prediction forms frame by frame, what a ConvLSTM's hidden state holds over
time, and whether a model can tell a clip played forwards from the same clip reversed.

Every view runs the bundle's own weights; nothing here is trained or approximated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.engine.analysis import predictor
from core.engine.windows import cut_windows, window_starts
from core.errors import ModelError
from core.models.bundle import ModelBundle
from core.models.contract import split, to_unit


@dataclass(frozen=True)
class LayerMaps:
    label: str  # e.g. "Conv2D 24, 3x3"
    maps: np.ndarray  # float32, (..., H, W, C): per frame, or per time step


def _encoder(bundle: ModelBundle):
    parts = split(bundle.model)
    if parts is None:
        raise ModelError(f"{bundle.name} has no separate per-frame CNN to look into.")
    return parts


def frame_feature_maps(bundle: ModelBundle, frame: np.ndarray) -> list[LayerMaps]:
    """The activations after each convolution block of the per-frame CNN, for one uint8 frame."""
    import keras

    encoder, _ = _encoder(bundle)
    convs = [layer for layer in encoder.layers if type(layer).__name__ == "Conv2D"]
    # the block's output is the activation after the convolution's normalisation
    outputs = []
    for conv in convs:
        following = encoder.layers[encoder.layers.index(conv) + 1 :]
        activations = (layer for layer in following if type(layer).__name__ in ("ReLU", "Activation"))
        block_end = next(activations, conv)
        outputs.append(block_end.output)
    probe = keras.Model(encoder.input, outputs)
    activations = probe(to_unit(frame[np.newaxis]), training=False)
    activations = activations if isinstance(activations, list | tuple) else [activations]
    return [
        LayerMaps(f"Conv2D {conv.filters}, {conv.kernel_size[0]}x{conv.kernel_size[1]}", np.asarray(a)[0])
        for conv, a in zip(convs, activations, strict=True)
    ]


def prediction_after_each_frame(bundle: ModelBundle, window: np.ndarray) -> np.ndarray:
    """Class probabilities after the LSTM has seen 1, 2, ... T frames of one uint8 window: the
    head's own LSTM and Dense weights, run with ``return_sequences``. The last row is exactly
    the model's prediction for the window."""
    import keras

    encoder, head = _encoder(bundle)
    recurrent = [layer for layer in head.layers if type(layer).__name__ in ("LSTM", "GRU")]
    dense = [layer for layer in head.layers if type(layer).__name__ == "Dense"]
    if len(recurrent) != 1 or len(dense) != 1:
        raise ModelError(f"{bundle.name}'s sequence head is not one recurrent layer and one classifier.")
    config = {**recurrent[0].get_config(), "return_sequences": True}
    stepwise = type(recurrent[0]).from_config(config)
    classifier = keras.layers.Dense.from_config(dense[0].get_config())
    features = keras.Input(head.input_shape[1:])
    unrolled = keras.Model(features, keras.layers.TimeDistributed(classifier)(stepwise(features)))
    stepwise.set_weights(recurrent[0].get_weights())
    classifier.set_weights(dense[0].get_weights())
    per_frame = encoder(to_unit(window), training=False)
    return np.asarray(unrolled(np.asarray(per_frame)[np.newaxis], training=False))[0]


def recurrent_state_maps(bundle: ModelBundle, window: np.ndarray) -> list[LayerMaps]:
    """The hidden state of every ConvLSTM layer that returns its sequence, at each time step,
    for one uint8 window: (T, H, W, C) each."""
    import keras

    layers = [
        layer
        for layer in bundle.model.layers
        if type(layer).__name__ == "ConvLSTM2D" and layer.get_config()["return_sequences"]
    ]
    if not layers:
        raise ModelError(f"{bundle.name} has no ConvLSTM layer that keeps its states over time.")
    probe = keras.Model(bundle.model.input, [layer.output for layer in layers])
    states = probe(to_unit(window[np.newaxis]), training=False)
    states = states if isinstance(states, list | tuple) else [states]
    return [
        LayerMaps(f"ConvLSTM2D {layer.filters}", np.asarray(state)[0])
        for layer, state in zip(layers, states, strict=True)
    ]


@dataclass(frozen=True)
class DirectionCheck:
    """Mean probability of 'forward' over the windows of a clip, played as it is and reversed."""

    forward_played: float
    reversed_played: float

    @property
    def tells_apart(self) -> float:
        """0 when the model cannot see the difference at all (order-blind), up to 1."""
        return abs(self.forward_played - self.reversed_played)


def direction_check(bundle: ModelBundle, frames: np.ndarray) -> DirectionCheck:
    """``frames``: a clip's uint8 frames (N, H, W, 3), sampled and sized for ``bundle``, which must
    be trained on the time-direction task (classes forward and backward). Every analysis window
    is judged as it is and reversed. A model with a frame encoder encodes each frame once and
    reverses feature windows: reversing pixel windows would stack every window twice at full
    frame size (200 MB for the pose model's 320x240 frames of a 15 s clip)."""
    spec = bundle.spec
    if "forward" not in spec.classes:
        raise ModelError(f"{bundle.name} was not trained to tell forward from backward.")
    run = predictor(bundle)
    starts = window_starts(len(frames), spec.sequence_length, spec.hop_frames)
    if run.split:
        windows = cut_windows(run.encode_frames(frames), starts, spec.sequence_length)
        judge = run.classify_features
    else:
        windows = cut_windows(frames, starts, spec.sequence_length)
        judge = run.classify_windows
    forward = spec.classes.index("forward")
    both = judge(np.concatenate([windows, windows[:, ::-1]]))[:, forward]
    return DirectionCheck(float(both[: len(windows)].mean()), float(both[len(windows) :].mean()))


def frame_probabilities(bundle: ModelBundle, frames: np.ndarray) -> np.ndarray:
    """Class probabilities of each uint8 frame on its own, ``(N, classes)``, for the models that
    classify frames (single frame, late fusion): the flicker that late fusion averages away. A
    head on pretrained features is given a window of that one frame repeated, which is exactly
    the frame alone for both (one frame in the middle; the mean of identical frames)."""
    from core.models.fusion import per_frame_probabilities
    from core.models.registry import approach_of, frame_encoder

    if frame_encoder(bundle.spec.architecture) is None:
        return per_frame_probabilities(bundle.model, to_unit(frames))
    if approach_of(bundle.spec.architecture)[0] not in ("single_frame", "late_fusion"):
        raise ModelError(f"{bundle.name} does not classify single frames.")
    run = predictor(bundle)
    features = run.encode_frames(frames)
    return run.classify_features(np.repeat(features[:, None], bundle.spec.sequence_length, axis=1))


def shuffled_prediction(bundle: ModelBundle, window: np.ndarray, seed: int = 0) -> tuple[np.ndarray, ...]:
    """The model's probabilities for a uint8 window as it is and with its frames shuffled:
    equal for a model that cannot see frame order."""
    order = np.random.default_rng(seed).permutation(len(window))
    both = np.stack([window, window[order]])
    predictions = predictor(bundle).classify_windows(both)
    return predictions[0], predictions[1]


def fusion_weights(bundle: ModelBundle, layer_name: str) -> np.ndarray:
    """Each first-layer filter's squared weight per frame of the stacked input, as a share of
    that filter's total: (frames, filters). Channel 3t+c of the stack is colour c of frame t."""
    kernel = np.asarray(bundle.model.get_layer(layer_name).kernel)  # (kh, kw, 3T, filters)
    frames = kernel.shape[2] // 3
    energy = (kernel.reshape(*kernel.shape[:2], frames, 3, kernel.shape[3]) ** 2).sum(axis=(0, 1, 3))
    return energy / energy.sum(axis=0, keepdims=True)


def temporal_reach(model) -> list[tuple[str, int]]:
    """How many input frames one unit after each Conv3D/MaxPooling3D layer depends on (its
    receptive field in time), from the layers' kernel, pool and stride sizes."""
    reach, jump, steps = 1, 1, []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv3D":
            reach += (layer.kernel_size[0] - 1) * jump
            jump *= layer.strides[0]
        elif kind == "MaxPooling3D":
            reach += (layer.pool_size[0] - 1) * jump
            jump *= layer.strides[0]
        else:
            continue
        steps.append((f"{kind} {len(steps) + 1}", reach))
    return steps


def space_time_slice(frames: np.ndarray) -> np.ndarray:
    """The middle row of pixels of every uint8 frame, in grey, stacked in time: (T, W)."""
    row = frames[:, frames.shape[1] // 2].astype(np.float32)
    return row.mean(axis=-1)
