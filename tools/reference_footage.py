"""Make the reference footage a taught model is calibrated against (core.training.reference):

    .venv/bin/python -m tools.reference_footage ../shared/data/ucf101

For each action of the folder, one clip (the first by name) of every other UCF101 group
(g08, g10, ..., g24), encoded at the default model's sampling by the shared EfficientNet-Lite0;
the middle frames of each are kept. Writes models/reference/ucf101-11-frames.npz and lists the
clips it took.
"""

from __future__ import annotations

import sys

from core.models.backbone import EffnetFeatures
from core.models.registry import input_defaults
from core.training.dataset import FeatureCache, FrameCache, chosen_clips
from core.training.reference import REFERENCE_FOOTAGE, ReferenceClip, middle, write_reference


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print(__doc__)
        return 2
    defaults = input_defaults("effnet_lstm")
    encoder = EffnetFeatures()
    frames = FrameCache(None, defaults.sampling_fps, (defaults.image_size, defaults.image_size))
    features = FeatureCache(frames, encoder, encoder.fingerprint())
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
    reference = [ReferenceClip(c.label, c.group, middle(features.features(c.path)[0])) for c in chosen]
    write_reference(REFERENCE_FOOTAGE, reference, encoder.fingerprint())
    print(f"{len(reference)} clips, {sum(len(r.features) for r in reference)} frames -> {REFERENCE_FOOTAGE}")
    print(", ".join(c.path.stem for c in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
