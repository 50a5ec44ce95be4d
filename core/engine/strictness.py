"""How readily a calibrated bundle says "unknown", as a setting of the display: a stricter or a
looser pair of thresholds from the bundle's own measurements, applied to a finished timeline.

A cross-validated bundle records, on out-of-fold scores, the thresholds that would accept
80-99% of known clips and what each costs (``metrics.json``'s ``open_set_curve``, written by
``core.training.crossval``); a taught bundle, on its takes scored with their scene left out and
on reference footage of other actions, the thresholds of each setting by name
(``core.training.takes``). The three settings read that table; none runs the model again, since
the known-ness of every window is already in the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.engine.timeline import OpenSetRule, Timeline
from core.models.bundle import ModelBundle

CALIBRATED = "as calibrated"
# the share of known clips each other setting accepts
LOOSER_AND_STRICTER = {"rarely": 0.99, "readily": 0.85}
ORDER = ("rarely", CALIBRATED, "readily")


@dataclass(frozen=True)
class Strictness:
    """One setting: its thresholds and what they cost on the bundle's own figures (None where
    the bundle has not measured it)."""

    name: str
    threshold: float
    window_threshold: float
    known_accepted: float | None = None
    unknown_refused: float | None = None
    other_classes_refused: float | None = None

    def cost(self) -> str:
        """In words, for a caption."""
        parts = []
        if self.known_accepted is not None:
            parts.append(f"{self.known_accepted:.0%} of clips of its actions accepted")
        if self.unknown_refused is not None:
            parts.append(f"{self.unknown_refused:.0%} of clips of untaught actions refused")
        if self.other_classes_refused is not None:
            parts.append(f"{self.other_classes_refused:.0%} of clips of classes left out of training refused")
        return "; ".join(parts)


def levels(bundle: ModelBundle) -> list[Strictness]:
    """The settings a bundle offers, the one that says unknown least first: "as calibrated" for
    any calibrated bundle, and "rarely" and "readily" where its metrics measured them (a taught
    bundle's curve names its settings; a cross-validated one's gives the share of known clips
    each accepts). None for an uncalibrated one."""
    calibration = bundle.spec.open_set
    if calibration is None:
        return []
    curve = bundle.metrics.get("open_set_curve", [])
    named = {point["setting"]: point for point in curve if "setting" in point}
    by_share = {point["accepted_target"]: point for point in curve}
    found = []
    for name in ORDER:
        share = calibration.accepted if name == CALIBRATED else LOOSER_AND_STRICTER[name]
        point = named.get(name) or by_share.get(share)
        if point is None and name != CALIBRATED:
            continue
        point = point or {}
        found.append(
            Strictness(
                name,
                calibration.threshold if name == CALIBRATED else point["threshold"],
                calibration.window_threshold if name == CALIBRATED else point["window_threshold"],
                point.get("known_accepted"),
                point.get("unknown_refused"),
                point.get("other_classes_refused"),
            )
        )
    return found


def applied(timeline: Timeline, level: Strictness) -> Timeline:
    """``timeline`` judged at ``level``'s thresholds (the exports name the setting)."""
    if timeline.open_set is None:
        return timeline
    rule = OpenSetRule(timeline.open_set.score, level.threshold, level.window_threshold, level.name)
    return replace(timeline, open_set=rule)
