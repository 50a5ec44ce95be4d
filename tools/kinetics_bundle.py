"""Write the ``kinetics-600`` bundle: the video network's own classifier, nothing trained.

    .venv/bin/python -m tools.kinetics_bundle [OUT_DIR]     # default: models/kinetics-600

Its model is a softmax over the last unit's 600 logits (``core.models.video_heads``), so the
bundle goes through analysis, exports and the pages like any other; its classes are the
Kinetics-600 names in the network's order. It says no "unknown": 600 actions cover most footage.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.config import MODELS_DIR
from core.models import bundle, movinet, registry
from core.models.contract import InputShape

NAME = "kinetics-600"
ARCHITECTURE = "kinetics_600"


def card(spec: bundle.BundleSpec) -> str:
    return f"""---
license: apache-2.0
tags: [video-classification, action-recognition, kinetics-600, movinet]
---
# {NAME}: 600 actions by name

The MoViNet-A0 stream network's own Kinetics-600 classifier, run on {spec.window_s:.1f} s units of
{spec.image_size[0]} px centre crops at {spec.sampling_fps:g} fps, states zeroed at each unit.
Nothing here was trained by this project: each window's probabilities are the softmax of the
network's logits after that unit.

- Backbone: {movinet.PROVENANCE}
- Classes: the 600 Kinetics-600 actions (label names CC BY 4.0, DeepMind).
- It never says "unknown": it names the closest of its 600 actions.
- Made by `python -m tools.kinetics_bundle`.
"""


def write(out_dir: Path) -> Path:
    defaults = registry.input_defaults(ARCHITECTURE)
    labels = movinet.kinetics_labels()
    shape = InputShape(defaults.sequence_length, defaults.image_size, defaults.image_width)
    model = registry.build(ARCHITECTURE, shape, len(labels))
    spec = bundle.BundleSpec(
        name=NAME,
        architecture=ARCHITECTURE,
        classes=labels,
        sequence_length=defaults.sequence_length,
        image_size=(defaults.image_size, defaults.image_width),
        sampling_fps=defaults.sampling_fps,
        hop_frames=defaults.hop_frames,
        **registry.backbone_record(ARCHITECTURE),
    )
    metrics = {
        "task": "action",
        "training": {"trained_parameters": 0, "what": "no training: the network's own classifier"},
    }
    return bundle.save(out_dir, model, spec, metrics, card(spec))


def main(arguments: list[str]) -> int:
    out_dir = Path(arguments[0]) if arguments else MODELS_DIR / NAME
    print(f"wrote {write(out_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
