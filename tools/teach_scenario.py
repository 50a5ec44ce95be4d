"""The Teach scenario of issue 24, measured over several draws of groups (docs/open-set.md):

    .venv/bin/python -m tools.teach_scenario ../shared/data [--draws 6] [--seed 0]
        [--actions CricketBowling,PizzaTossing,Surfing]

Each draw picks, among UCF101 groups g08-g25, two groups to teach from and three others to
film "again": every action is taught from 4 takes (2 clips of each teaching group) by the same
code as the Teach page, then 15 new clips (5 per action: 2, 2 and 1 from the other groups) and
the untaught clips of samples/ (the two UCF101 training clips left aside) are analysed with the
taught bundle, as ``python -m core evaluate NEW --model TAUGHT --unknown UNTAUGHT`` does, and read
at each *Say unknown* setting. Prints one row per draw and the means, and with ``--json FILE``
writes every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from core.engine import strictness
from core.engine.analysis import analyze
from core.models import bundle as bundles
from core.training.dataset import chosen_clips
from core.training.teach import TeachClip, teach

TAKES_PER_GROUP, NEW_PER_GROUP = (2, 2), (2, 2, 1)
UCF_TRAINING_SAMPLES = ("v_Archery_g08_c01", "v_Surfing_g10_c02")


def draw_groups(by_group: dict, actions: list[str], rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """Two teaching groups and three new ones, each with enough clips of every action."""
    groups = sorted({g for _, g in by_group})
    while True:
        order = [int(g) for g in rng.permutation(groups)]
        taught, new = order[:2], order[2:5]
        enough = all(
            len(by_group.get((a, g), [])) >= n
            for a in actions
            for g, n in [*zip(taught, TAKES_PER_GROUP, strict=True), *zip(new, NEW_PER_GROUP, strict=True)]
        )
        if enough:
            return taught, new


def run_draw(actions: list[str], taught_groups, new_groups, by_group, untaught: Path, work: Path) -> dict:
    """Teach ``actions`` from takes of ``taught_groups``; judge new clips and the untaught."""
    takes = {
        action: [
            TeachClip(f"take {n}.mp4", clip.path.read_bytes())
            for n, clip in enumerate(
                (
                    c
                    for g, k in zip(taught_groups, TAKES_PER_GROUP, strict=True)
                    for c in by_group[(action, g)][:k]
                ),
                start=1,
            )
        ]
        for action in actions
    }
    out = work / "taught"
    teach(takes, out)
    new_dir = work / "new"
    for action in actions:
        (new_dir / action).mkdir(parents=True)
        for g, k in zip(new_groups, NEW_PER_GROUP, strict=True):
            for clip in by_group[(action, g)][:k]:
                (new_dir / action / clip.path.name).symlink_to(clip.path.resolve())
    bundle = bundles.load(out)
    new = [
        (action, analyze(path, bundle)) for action in actions for path in sorted((new_dir / action).iterdir())
    ]
    refused = [analyze(path, bundle) for path in sorted(untaught.iterdir())]
    settings = {}
    for level in strictness.levels(bundle):
        judged = [(action, strictness.applied(timeline, level).verdict()) for action, timeline in new]
        others = [strictness.applied(timeline, level).verdict() for timeline in refused]
        settings[level.name] = {
            "named_right": sum(verdict.label == action for action, verdict in judged),
            "untaught_refused": round(float(np.mean([not verdict.known for verdict in others])), 4),
        }
    return {
        "taught_groups": taught_groups,
        "new_groups": new_groups,
        "new_clips": len(new),
        "closest_right": sum(timeline.verdict().closest == action for action, timeline in new),
        "n_untaught": len(refused),
        **settings[strictness.CALIBRATED],
        "settings": settings,
        "takes_calibration": bundle.metrics["takes_calibration"],
    }


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (ucf101/ and samples/)")
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--actions", default="CricketBowling,PizzaTossing,Surfing")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(arguments)
    actions = args.actions.split(",")
    _, clips = chosen_clips(args.data / "ucf101", actions)
    by_group: dict = {}
    for clip in sorted(clips, key=lambda c: c.path.name):
        by_group.setdefault((clip.label, clip.group), []).append(clip)
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="arl-scenario-") as scratch:
        untaught = Path(scratch) / "untaught"
        untaught.mkdir()
        for sample in sorted((args.data / "samples").iterdir()):
            if sample.stem not in UCF_TRAINING_SAMPLES:
                (untaught / sample.name).symlink_to(sample.resolve())
        for draw in range(args.draws):
            taught_groups, new_groups = draw_groups(by_group, actions, rng)
            work = Path(scratch) / f"draw-{draw}"
            row = run_draw(actions, taught_groups, new_groups, by_group, untaught, work)
            rows.append(row)
            others = "; ".join(
                f"{name}: {figures['named_right']}, {figures['untaught_refused']:.0%}"
                for name, figures in row["settings"].items()
                if name != strictness.CALIBRATED
            )
            print(
                f"draw {draw}: taught g{taught_groups}, new g{new_groups}: named right {row['named_right']}/"
                f"{row['new_clips']} (closest right {row['closest_right']}), untaught refused "
                f"{row['untaught_refused']:.0%} of {row['n_untaught']} ({others})",
                flush=True,
            )
    for name in strictness.ORDER:
        measured = [r["settings"][name] for r in rows if name in r["settings"]]
        if not measured:
            continue
        right = np.array([m["named_right"] for m in measured])
        refused = np.array([m["untaught_refused"] for m in measured])
        print(
            f"say unknown {name}, {len(measured)} draws: named right {right.mean():.1f}/15 "
            f"(worst {right.min()}, best {right.max()}), "
            f"untaught refused {refused.mean():.0%} (worst {refused.min():.0%}, best {refused.max():.0%})"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
