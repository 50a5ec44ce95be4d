"""Make the reference footage a taught model is calibrated against (core.training.reference):

    .venv/bin/python -m tools.reference_footage ../shared/data/ucf101 [ARCH]

For each action of the folder, one clip (the first by name) of every other UCF101 group
(g08, g10, ..., g24), encoded at ARCH's sampling by its frozen backbone (default: movinet_linear,
the video network's units; effnet_lstm: EfficientNet-Lite0's frames); the middle of each is
kept. Writes the backbone's file in models/reference/ and lists the clips it took.
"""

from __future__ import annotations

import sys

from core.models import registry
from core.training.crossval_worker import frozen_encoder
from core.training.dataset import FeatureCache, FrameCache, chosen_clips
from core.training.reference import ReferenceClip, middle, reference_for, write_reference


def main(arguments: list[str]) -> int:
    if len(arguments) not in (1, 2):
        print(__doc__)
        return 2
    architecture = arguments[1] if len(arguments) == 2 else "movinet_linear"
    defaults = registry.input_defaults(architecture)
    encoder = frozen_encoder(architecture)
    width = defaults.image_width or defaults.image_size
    frames = FrameCache(None, defaults.sampling_fps, (width, defaults.image_size))
    features = FeatureCache(frames, encoder, encoder.fingerprint())
    target, rows = reference_for(getattr(encoder, "unit_frames", 1))
    _, clips = chosen_clips(arguments[0], ())
    groups = sorted({c.group for c in clips})[::2]
    chosen = []
    for label in sorted({c.label for c in clips}):
        for group in groups:
            named = sorted(
                (c for c in clips if c.label == label and c.group == group), key=lambda c: c.path.name
            )
            if named:
                chosen.append(named[0])
    reference = [ReferenceClip(c.label, c.group, middle(features.features(c.path)[0], rows)) for c in chosen]
    write_reference(target, reference, encoder.fingerprint())
    print(f"{len(reference)} clips, {sum(len(r.features) for r in reference)} rows -> {target}")
    print(", ".join(c.path.stem for c in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
