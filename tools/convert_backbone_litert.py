"""Convert the frozen EfficientNet-Lite0 to the LiteRT model the app runs, into models/backbones/.

    .venv/bin/python tools/convert_backbone_litert.py [--size 160]

Writes ``efficientnet_lite0.fingerprints.json`` (the weights fingerprint of each view, by the
weights file's hash: what names cached features and this file) and
``efficientnet_lite0-<weights fingerprint>-<size>x<size>.tflite``: the backbone with two
outputs, the 1280 pooled features and the last block's map (``core.models.backbone``), float32,
for frames of that size. The app finds it there instead of converting at first use, which costs
about 400 MB and 2-3 s of a small host's first request. Any other size, or weights whose
fingerprint no shipped file names, is converted into the cache folder when first needed.
``tests/models/test_litert.py`` checks that the shipped file is current and that its features
equal the Keras model's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.models import backbone, litert  # noqa: E402
from core.models.efficientnet_lite import WEIGHTS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=backbone.MAP_SIZE, help="frame height and width")
    args = parser.parse_args()
    backbone.remember_fingerprints(backbone.FINGERPRINTS)
    print(f"wrote {backbone.FINGERPRINTS}")
    target = WEIGHTS.parent / backbone.litert_name(args.size, args.size)
    litert.write_atomically(target, litert.convert(backbone.litert_model(), args.size, args.size))
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
