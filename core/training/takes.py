"""Calibrating a taught model on evidence that looks like its next take, not like its last one.

A user teaches from a few takes, often two or three per place. The takes held back to check the
result were filmed with the takes it learnt from, so their frames are near-duplicates of the kNN
reference: a threshold fitted on them sits at a distance no new recording meets, and a model
taught from four takes then says "unknown" to everything filmed the next day.

So a taught bundle's thresholds are put between two other kinds of evidence:

- **its takes, each scored with its own scene left out** of the kNN reference. Takes are grouped
  into scenes by how alike their frames are (``SAME_SCENE``, measured on UCF101's groups); an
  action filmed in one scene only can leave out only the take itself, and the page warns.
- **reference footage of other actions** (``core.training.reference``, outlier exposure), less any
  action the user also taught: by name, or by content, where its clips score as known as the
  user's own takes from another scene.

The rule (``equal_error``): the threshold where the share of left-out takes refused equals the
share of reference clips accepted. It was chosen over the midpoint of the two medians, Youden's
index and fixed quantiles of the left-out takes on two scenarios of other actions (Archery,
HorseRace, PlayingPiano; BasketballDunk, PlayingCello, CricketShot), before it was measured on the
scenario of docs/open-set.md (tools/teach_scenario.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.engine.knownness import normalised
from core.models import bundle as bundles
from core.models.calibration import Calibration
from core.training.calibrate import knn_arrays, thresholds
from core.training.crossval_worker import FeatureJudge
from core.training.dataset import Clip, FrameCache, chosen_clips, split_clips
from core.training.folds import Judged
from core.training.reference import ReferenceClip, load_reference, reference_for, words

# Cosine of two clips' mean frame features at or above which they are one scene. Measured on the
# 1,063 UCF101 clips (frozen EfficientNet-Lite0, 4 fps): two clips of one group (one person, one
# place) 0.94 median, 0.63 at the 5th percentile; one action in two groups 0.59 median, 0.79 at
# the 95th; two actions 0.42 median, 0.58 at the 95th. On the video network's units (the taught
# heads' features since its release) the same statistics are 0.90 median and 0.62 at the 5th
# percentile for one group, 0.63 median and 0.81 at the 95th for one action in two groups, 0.16
# median and 0.51 at the 95th for two actions: the same cut-off holds.
SAME_SCENE = 0.8
# The median cosine between an action's takes and a reference action's clips (means as above) at
# or above which the nearest reference action is taken for the user's own. Measured on 300 draws
# of 4 takes (2 clips of each of 2 groups) of a UCF101 action against the reference footage: the
# nearest reference action is the same action in 86% of draws, at 0.59 median (0.50 at the 5th
# percentile); the nearest of the other actions sits at 0.50 median (0.55 at the 95th), so half
# the time an action the reference lacks costs it its nearest action. That way round on purpose:
# a reference action left out costs a little of the reference; one kept that is the user's own
# teaches the model to refuse it.
SAME_ACTION = 0.5
RARELY_ACCEPTED = 0.99  # "say unknown: rarely" accepts this share of the left-out takes
READILY_REFUSES = 0.5  # "readily" refuses this share of the reference clips calibrated accepts
Log = Callable[[str], None]


def _means(features: list[np.ndarray]) -> np.ndarray:
    """Each clip's mean frame feature, all L2-normalised: what scenes and actions are told by."""
    return normalised(np.stack([normalised(f).mean(axis=0) for f in features]))


def scenes_of(features: list[np.ndarray]) -> list[int]:
    """A scene number for each clip: clips whose mean features are ``SAME_SCENE`` alike, directly
    or through others, share one (connected components)."""
    means = _means(features)
    alike = means @ means.T >= SAME_SCENE
    scene = list(range(len(features)))

    def root(i: int) -> int:
        while scene[i] != i:
            i = scene[i]
        return i

    for i in range(len(features)):
        for j in range(i):
            if alike[i, j]:
                scene[root(i)] = root(j)
    roots = [root(i) for i in range(len(features))]
    numbers = {r: n for n, r in enumerate(dict.fromkeys(roots))}
    return [numbers[r] for r in roots]


def equal_error(known: np.ndarray, other: np.ndarray) -> float:
    """The observed score at which the share of ``known`` below it comes closest to the share of
    ``other`` at or above it (fewest errors in all among equals)."""
    candidates = np.unique(np.concatenate([known, other]))
    refused = np.array([(known < t).mean() for t in candidates])
    accepted = np.array([(other >= t).mean() for t in candidates])
    gap, errors = np.abs(refused - accepted), refused + accepted
    best = np.lexsort((errors, gap))[0]
    return float(candidates[best])


@dataclass(frozen=True)
class TakesCalibration:
    """The thresholds and the evidence they were put on."""

    calibration: Calibration
    scenes: dict[str, int]  # per action, the scenes its takes came from
    left_out: dict[str, str]  # reference action -> why it was left out of the reference
    known: list[Judged]  # every take, scored with its own scene left out
    reference: list[Judged]  # the reference clips kept, scored against the bundle's reference
    held_back: list[Judged]  # the held-back takes, at the bundle's thresholds

    def one_scene(self) -> list[str]:
        """Actions all of whose takes look like one scene."""
        return [action for action, count in self.scenes.items() if count < 2]

    def refused(self, threshold: float) -> float:
        return float(np.mean([j.score < threshold for j in self.reference]))

    def point(self, setting: str, threshold: float, window_threshold: float, target: float) -> dict:
        known = np.array([j.score for j in self.known])
        return {
            "setting": setting,
            "accepted_target": round(target, 4),
            "threshold": round(threshold, 5),
            "window_threshold": round(window_threshold, 5),
            "known_accepted": round(float((known >= threshold).mean()), 4),
            "unknown_refused": round(self.refused(threshold), 4),
        }

    def curve(self) -> list[dict]:
        """The strictness settings (core.engine.strictness), each with what it costs: left-out
        takes accepted and reference clips refused. *Rarely* accepts nearly every left-out
        take; *readily* refuses half of the reference clips that the calibrated thresholds
        accept. A setting that would not move the threshold is not offered."""
        calibrated = self.calibration
        known = np.array([j.score for j in self.known])
        known_windows = np.concatenate([np.array(j.windows) for j in self.known])
        rarely = thresholds(known, known_windows, RARELY_ACCEPTED)
        refused = self.refused(calibrated.threshold)
        more = refused + (1 - refused) * READILY_REFUSES
        other = np.array([j.score for j in self.reference])
        other_windows = np.concatenate([np.array(j.windows) for j in self.reference])
        readily = (
            float(np.quantile(other, more, method="higher")),
            float(np.quantile(other_windows, more, method="higher")),
        )
        points = [
            self.point(
                "as calibrated", calibrated.threshold, calibrated.window_threshold, calibrated.accepted
            )
        ]
        if rarely[0] < calibrated.threshold:
            points.append(self.point("rarely", *rarely, RARELY_ACCEPTED))
        if readily[0] > calibrated.threshold:
            points.append(self.point("readily", *readily, float((known >= readily[0]).mean())))
        return points

    def figures(self) -> dict:
        """metrics.json's ``takes_calibration``: what the Teach page and the card show."""
        threshold = self.calibration.threshold
        held_back = [j for j in self.held_back if j.score is not None]
        accepted = [j for j in held_back if j.score >= threshold]
        return {
            "rule": self.calibration.rule,
            "scenes": self.scenes,
            "one_scene": self.one_scene(),
            "left_out_takes": len(self.known),
            "left_out_takes_accepted": round(float(np.mean([j.score >= threshold for j in self.known])), 4),
            "reference_clips": len(self.reference),
            "reference_actions": sorted({j.true for j in self.reference}),
            "reference_refused": round(self.refused(threshold), 4),
            "reference_left_out": self.left_out,
            "held_back_takes": len(held_back),
            "held_back_accepted": round(len(accepted) / len(held_back), 4) if held_back else None,
            "held_back_named_right": (
                round(float(np.mean([j.true == j.predicted for j in accepted])), 4) if accepted else None
            ),
        }


def _bank_without(features: dict[Path, np.ndarray], paths: list[Path]) -> dict:
    return knn_arrays(np.concatenate([features[p] for p in paths]))


def same_words(action: str, label: str) -> bool:
    """Whether one name's words are all in the other's: "surfing", "my Surfing" and "Surfing"
    name one action, "pizza" and "PizzaTossing" too."""
    mine, theirs = set(words(action).split()), set(words(label).split())
    return bool(mine and theirs) and (mine <= theirs or theirs <= mine)


def overlapping(actions: dict[str, list[np.ndarray]], reference: list[ReferenceClip]) -> dict[str, str]:
    """Reference actions that are one of the user's (name -> the takes' features): named alike,
    or the reference action nearest to an action's takes when it is as near as one action
    filmed elsewhere (``SAME_ACTION``). Such an action would teach the model to refuse the
    user's own."""
    labels = sorted({clip.label for clip in reference})
    clips = {label: _means([c.features for c in reference if c.label == label]) for label in labels}
    left_out: dict[str, str] = {}
    for action, features in actions.items():
        takes = _means(features)
        named = [label for label in labels if same_words(action, label)]
        for label in named:
            left_out.setdefault(label, f"you taught it ('{action}')")
        near = {label: float(np.median(takes @ clips[label].T)) for label in labels}
        nearest = max(near, key=near.get)
        if not named and near[nearest] >= SAME_ACTION:
            left_out.setdefault(
                nearest, f"its clips look like your '{action}' as much as one action filmed elsewhere"
            )
    return dict(sorted(left_out.items()))


def calibrate_takes(
    head,
    calibration: Calibration,
    classes: list[str],
    clips: list[Clip],
    trained: set[Path],
    features: dict[Path, np.ndarray],
    reference: list[ReferenceClip],
    sequence_length: int,
    hop: int,
) -> TakesCalibration:
    """New thresholds for ``calibration`` (whose kNN reference holds the ``trained`` takes'
    frames), from every take scored with its scene left out and the ``reference`` clips."""
    takes_scenes = dict(
        zip([c.path for c in clips], scenes_of([features[c.path] for c in clips]), strict=True)
    )
    scenes = {a: len({takes_scenes[c.path] for c in clips if c.label == a}) for a in classes}

    def judged(clip: Clip, bank: dict | None, feats: np.ndarray) -> Judged:
        scored = calibration if bank is None else replace(calibration, arrays=bank)
        return FeatureJudge(head, scored, sequence_length, hop).judge(clip, feats, classes)

    known = []
    for clip in clips:
        own_scene = scenes[clip.label] >= 2
        kept = [
            c.path
            for c in clips
            if c.path in trained
            and c.path != clip.path
            and not (own_scene and takes_scenes[c.path] == takes_scenes[clip.path])
        ]
        if not kept:  # every other take it learnt from shares this one's scene
            kept = [c.path for c in clips if c.path in trained and c.path != clip.path]
        known.append(judged(clip, _bank_without(features, kept), features[clip.path]))
    left_out = overlapping({a: [features[c.path] for c in clips if c.label == a] for a in classes}, reference)
    kept_reference = [
        judged(Clip(Path(f"{r.label}_g{r.group:02d}"), r.label, r.group), None, r.features)
        for r in reference
        if r.label not in left_out
    ]
    known_scores = np.array([j.score for j in known])
    if kept_reference:
        other = np.array([j.score for j in kept_reference])
        known_windows = np.concatenate([np.array(j.windows) for j in known])
        other_windows = np.concatenate([np.array(j.windows) for j in kept_reference])
        video, window = equal_error(known_scores, other), equal_error(known_windows, other_windows)
        rule = "equal_error"
    else:  # every reference action was taught: only the left-out takes can say where to stop
        video, window = thresholds(known_scores, np.concatenate([np.array(j.windows) for j in known]))
        rule = "quantile"
    accepted = float(max((known_scores >= video).mean(), 1 / len(known_scores)))
    final = replace(
        calibration,
        threshold=video,
        window_threshold=window,
        accepted=round(accepted, 4),
        rule=rule,
        groups=(),
    )
    held_back = [judged(c, None, features[c.path]) for c in clips if c.path not in trained]
    return TakesCalibration(final, scenes, left_out, known, kept_reference, held_back)


def both_sides(figures: dict) -> list[str]:
    """What the thresholds give on each side, in words (the Teach page and the model card)."""
    lines = []
    held = figures["held_back_accepted"]
    if held is not None:
        right = figures["held_back_named_right"] or 0.0
        lines.append(
            f"Held-back takes: {held:.0%} of {figures['held_back_takes']} accepted, "
            f"{right:.0%} of those named right."
        )
    lines.append(
        f"Your takes, each scored with its own scene left out (as a new recording would be): "
        f"{figures['left_out_takes_accepted']:.0%} of {figures['left_out_takes']} accepted."
    )
    lines.append(
        f"Clips of other actions ({', '.join(figures['reference_actions']) or 'none left'}): "
        f"{figures['reference_refused']:.0%} of {figures['reference_clips']} refused."
    )
    lines += [f"{action} left out of those: {why}." for action, why in figures["reference_left_out"].items()]
    return lines


def one_scene_warning(figures: dict) -> str | None:
    """The warning for actions whose takes all look like one scene, or None."""
    if not figures["one_scene"]:
        return None
    names = ", ".join(f"'{action}'" for action in figures["one_scene"])
    return (
        f"All takes of {names} look like one scene (their frames are as alike as clips cut from "
        "one video). A new place will probably be called unknown: film at least one take "
        "somewhere else (another room, light or person)."
    )


def card_section(figures: dict) -> str:
    """The model card's account of how the bundle says "unknown"."""
    scenes = ", ".join(f"{action} {count}" for action, count in figures["scenes"].items())
    warning = one_scene_warning(figures)
    return (
        "\n## How it says unknown\n\n"
        "Its thresholds sit where as many of its takes, each scored with its own scene left out of "
        "the reference (as a new recording would be), are refused as clips of other actions are "
        f"accepted (rule `{figures['rule']}`). Scenes found among the takes: {scenes}.\n\n"
        + "".join(f"- {line}\n" for line in both_sides(figures))
        + (f"\n**{warning}**\n" if warning else "")
    )


def calibrate_if_taught(
    out_dir: str | Path, clips_dir: str | Path, cache_dir: str | Path | None, log: Log = lambda _: None
) -> TakesCalibration | None:
    """After ``train`` on a folder split by clip (a user's own takes, whose held-back ones are
    near-duplicates of the rest) with a kNN calibration, put its thresholds for the next take.
    Any other bundle is left as trained (None). Not inside ``train``: this module judges clips
    with cross-validation's judge, which is built on the trainer."""
    folder = Path(out_dir)
    split = json.loads((folder / "metrics.json").read_text()).get("split", {})
    open_set = json.loads((folder / "config.json").read_text()).get("open_set") or {}
    if split.get("by") != "clip" or open_set.get("score") != "knn":
        return None
    return recalibrate(folder, Path(clips_dir), cache_dir, log)


def recalibrate(
    out_dir: Path, clips_dir: Path, cache_dir: str | Path | None, log: Log = lambda _: None
) -> TakesCalibration:
    """Put a freshly taught bundle's thresholds on its takes and the reference footage, and
    record the rule, its evidence and the strictness settings in the bundle."""
    from core.training.trainer import head_and_features

    saved = bundles.load(out_dir)
    spec = saved.spec
    cache = FrameCache(cache_dir, spec.sampling_fps, spec.frame_size)
    head, features_of = head_and_features(saved.model, spec.architecture, cache)
    classes, clips = chosen_clips(clips_dir, spec.classes)
    trained = {c.path for c in split_clips(clips).train}
    features = {c.path: features_of.features(c.path)[0] for c in clips}
    log("calibrating 'unknown' on your takes, each with its scene left out, and on footage of other actions")
    reference = load_reference(features_of.fingerprint, reference_for(spec.unit_frames)[0])
    result = calibrate_takes(
        head,
        spec.open_set,
        list(spec.classes),
        clips,
        trained,
        features,
        reference,
        spec.sequence_length,
        spec.hop_frames,
    )
    bundles.write_config(out_dir, replace(spec, open_set=result.calibration))
    log(
        f"unknown below {result.calibration.threshold:.4f} (rule {result.calibration.rule}): "
        + " ".join(both_sides(result.figures()))
    )
    metrics = json.loads((out_dir / "metrics.json").read_text())
    figures = result.figures()
    metrics["takes_calibration"] = figures
    metrics["open_set_curve"] = result.curve()
    metrics["validation"]["open_set"] = {
        "score": result.calibration.score,
        "threshold": round(result.calibration.threshold, 5),
        "known_accepted": figures["held_back_accepted"],
        "accepted_accuracy": figures["held_back_named_right"],
    }
    card = (out_dir / "README.md").read_text() + card_section(figures)
    bundles.write_documents(out_dir, metrics, card)
    return result
