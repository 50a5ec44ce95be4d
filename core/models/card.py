"""The bundle's README.md: a Hugging Face model card with metadata, written from real metrics."""

from __future__ import annotations

from core.models.bundle import BundleSpec


def _front_matter(spec: BundleSpec, accuracy: float, dataset: str, own_clips: bool) -> str:
    """Hub metadata. A model trained on a user's own clips names no Hub dataset: it has none."""
    tags = "\n".join(
        f"  - {t}" for t in ("video-classification", "action-recognition", "keras", spec.architecture)
    )
    described, kind = (
        ("own clips, clip-held-out validation", "own-clips")
        if own_clips
        else ("UCF101 subset, group-held-out validation", "ucf101")
    )
    datasets = "" if own_clips else "datasets:\n  - ucf101\n"
    return f"""---
library_name: keras
pipeline_tag: video-classification
license: apache-2.0
tags:
{tags}
{datasets}model-index:
  - name: {spec.name}
    results:
      - task:
          type: video-classification
        dataset:
          name: {dataset} ({described})
          type: {kind}
        metrics:
          - type: accuracy
            name: clip accuracy
            value: {accuracy:.4f}
---
"""


def _fed(spec: BundleSpec) -> str:
    """How frames reach ``model.keras``: scaled, or through a frame encoder outside the file."""
    from core.models.registry import frame_encoder

    encoder = frame_encoder(spec.architecture)
    if encoder is None:
        return "scaled to [0, 1]"
    if spec.unit_frames > 1:
        return (
            f"centre-cropped to a square and streamed through {encoder.label} "
            f"(`{encoder.__module__.replace('.', '/')}.py`, outside `model.keras`), its states zeroed "
            f"every {spec.unit_frames} frames: each unit of {spec.unit_frames} frames becomes its "
            f"{encoder.features} Kinetics-600 logits, what `model.keras` takes"
        )
    return (
        f"each turned into {encoder.features} numbers by {encoder.label} "
        f"(`{encoder.__module__.replace('.', '/')}.py`, outside `model.keras`, which takes those "
        "per-frame features)"
    )


def _chosen(config: dict) -> str:
    """Which class folders were learned, when --classes chose them."""
    classes = config.get("classes") or []
    return f"; classes chosen with `--classes`: {', '.join(classes)}" if classes else "; every class folder"


def _action_limits(spec: BundleSpec, validation: dict) -> str:
    calibration = spec.open_set
    if calibration is None:
        return f"""{len(spec.classes)} classes only: any other action is mapped to one of them, often
with high confidence, because the model knows no other answer. Footage unlike the training clips
(320x240 YouTube videos) will be less reliable."""
    figures = validation.get("open_set") or {}
    accepted = figures.get("known_accepted")
    return f"""{len(spec.classes)} classes only, but the model says so: every window gets a known-ness score
(`{calibration.score}`: {_SCORE_WORDS[calibration.score]}), and a video scoring below
{calibration.threshold:.4f} (a window: {calibration.window_threshold:.4f}, after smoothing) is
reported as **unknown**, with the closest known action beside it. The thresholds were chosen on
{_fitted_on(calibration.groups)} so that {calibration.accepted:.0%} of their clips are accepted
({"" if accepted is None else f"measured: {accepted:.1%}, "}accuracy among the accepted
{figures.get("accepted_accuracy", float("nan")):.1%}); the reference data comes from the training groups only.
Footage unlike the training clips (320x240 YouTube videos) will be less reliable."""


_SCORE_WORDS = {
    "knn": "the mean over the window's frames of each frame feature's distance to its nearest training frame",
    "knn_energy": "the mean over the window's frames of each frame feature's distance to its nearest "
    "training frame, and the head's energy (logsumexp of its logits), each standardised on the "
    "validation windows, added",
    "mahalanobis": "the mean over the window's frames of each frame's smallest class Mahalanobis distance",
    "msp": "the largest class probability",
}


def _split_words(split: dict) -> str:
    if split.get("by") == "clip":
        held_back = ", ".join(split["val_clip_names"])
        return f"""Split by clip, because the clips' names carry no UCF101 groups: {split["train_clips"]}
training clips, {split["val_clips"]} held back for validation ({held_back}). Pieces named
`<source>~<piece>` are held back with their source; other clips cut from one video may sit on
both sides, which flatters the figure below."""
    return f"""Split by UCF101 group, never by clip: training groups {split["train_groups"]}
({split["train_clips"]} clips), validation groups {split["val_groups"]} ({split["val_clips"]} clips)."""


def _fitted_on(groups) -> str:
    return f"validation groups {list(groups)}" if groups else "the held-back validation clips"


def training_card(spec: BundleSpec, metrics: dict, command: str, dataset: str, backbone: str = "") -> str:
    """The card; ``backbone`` describes a frozen pretrained frame encoder (origin, licence), if any."""
    validation = metrics["validation"]
    split = metrics["split"]
    training = metrics["training"]
    rows = "\n".join(
        f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        for name, s in validation["per_class"].items()
    )
    header = "| true \\ predicted | " + " | ".join(validation["classes"]) + " |"
    rule = "|---" * (len(validation["classes"]) + 1) + "|"
    confusion = "\n".join(
        f"| {name} | " + " | ".join(str(v) for v in row) + " |"
        for name, row in zip(validation["classes"], validation["confusion"], strict=False)
    )
    curve = ", ".join(f"{r['val_clip_accuracy']:.2f}" for r in metrics["history"])
    if backbone:
        origin = "built by Action Recognition Lab on a frozen pretrained frame encoder; its head was trained"
        augmentation = """windows per training clip of cached per-frame backbone features (computed once,
for the frames as they are and mirrored) with temporal jitter (speed 0.8-1.25x)"""
        backbone_section = f"\n## Backbone\n\n{backbone}\n"
    else:
        origin = "trained from scratch by Action Recognition Lab"
        augmentation = """random windows per training clip with temporal jitter
(speed 0.8-1.25x), horizontal flips, random resized crops and brightness/contrast changes"""
        backbone_section = ""
    if spec.task == "direction":
        what = f"""tells whether a clip of `{dataset}` plays forwards or backwards
(task `direction`: each clip is also reversed on the fly; classes: {", ".join(spec.classes)})."""
        limits = """Every validation clip is scored twice, as recorded and reversed, so an
order-blind model scores 50% by construction; motion that looks the same both ways
(a swaying violin bow) cannot be told apart by any model."""
    else:
        what = f"""recognises
{len(spec.classes)} actions of `{dataset}` (task `action`): {", ".join(spec.classes)}."""
        limits = _action_limits(spec, validation)
    return f"""{_front_matter(spec, validation["accuracy"], dataset, split.get("by") == "clip")}
# {spec.name}

A `{spec.architecture}` video classifier, {origin}, that {what}

- **Input**: {spec.window_frames} frames sampled at {spec.sampling_fps:g} fps
  ({spec.window_s:.2f} s windows), resized to {spec.image_size[1]}x{spec.image_size[0]} RGB, {_fed(spec)}.
- **Output**: softmax over the {len(spec.classes)} classes, per window. A clip's label is the
  argmax of its window probabilities averaged (windows every {spec.hop_frames * spec.unit_frames} frames).
- **Parameters**: {training["parameters"]:,}.
{backbone_section}
## Validation (clip accuracy {validation["accuracy"]:.4f} on {validation["n_clips"]} clips)

{_split_words(split)}
Early stopping watched this validation clip accuracy, so it is slightly optimistic.

| class | precision | recall | F1 | clips |
|---|---|---|---|---|
{rows}

Confusion matrix (rows: true class):

{header}
{rule}
{confusion}

## Training

Validation clip accuracy per epoch: {curve}.

Trained for {training["epochs_run"]} epochs (best: {training["best_epoch"]}) in
{training["seconds"] / 60:.1f} minutes on {training["machine"]}, with this command:

```
{command}
```

Data: `{dataset}` ({split["train_clips"] + split["val_clips"]} clips{_chosen(training["config"])}).
Each epoch draws {training["config"]["windows_per_clip"]} {augmentation};
AdamW with cosine decay from {training["config"]["learning_rate"]:g}; seed {training["config"]["seed"]}.

## Limits

{limits}
"""


def _range(figures: dict | None) -> str:
    if not figures:
        return "-"
    if "min" not in figures:
        return f"**{figures['mean']:.1%}** (pooled over folds)"
    return f"**{figures['mean']:.1%}** ({figures['min']:.1%}-{figures['max']:.1%})"


def shipped_point(metrics: dict, accepted: float) -> dict | None:
    """The point of the bundle's ``open_set_curve`` at its own thresholds (``accepted``)."""
    return next((p for p in metrics.get("open_set_curve", []) if p["accepted_target"] == accepted), None)


def expected_rows(estimate: dict, shipped: dict | None = None) -> list[tuple[str, dict | None]]:
    """The headline rows of a cross-validated estimate: what each measures, and its mean and range
    over folds (the Model page and the card show the same rows). The open set is read at the
    bundle's own thresholds where ``shipped`` (its ``open_set_curve`` point) is given: out-of-fold
    scores pooled over the folds, a single figure; else each fold at the thresholds it fitted on
    its inner groups."""
    open_set = estimate.get("open_set", {})
    rows = [
        ("Right action, clip by clip", estimate.get("accuracy")),
        ("Within the cricket pair (bowling vs shot)", estimate.get("cricket_pair")),
        ("Within the string instruments", estimate.get("strings")),
    ]
    untaught = f"Clips of untaught actions refused ({open_set.get('n_unknown', 0)} samples)"
    if shipped is not None:
        single = {key: ({"mean": shipped[key]} if shipped.get(key) is not None else None) for key in shipped}
        return rows + [
            (
                "Known clips accepted as known (fitted: the share its thresholds were set to)",
                single["known_accepted"],
            ),
            ("Right action among the accepted (at those fitted thresholds)", single["accepted_accuracy"]),
            (untaught, single.get("unknown_refused")),
            ("Clips of classes left out of training refused", single.get("other_classes_refused")),
        ]
    return rows + [
        ("Known clips accepted as known", open_set.get("known_accepted")),
        ("Right action among the accepted", open_set.get("accepted_accuracy")),
        (untaught, open_set.get("unknown_refused")),
        ("Clips of classes left out of training refused", open_set.get("other_classes_refused")),
    ]


def crossval_card(spec: BundleSpec, metrics: dict, command: str, dataset: str, backbone: str = "") -> str:
    """The card of a bundle trained on every group after cross-validation: it leads with the
    estimate expected on new footage (mean and range over folds)."""
    estimate = metrics["cross_validation"]
    training = metrics["training"]
    validation = metrics["validation"]
    settings = estimate["settings"]
    shipped = shipped_point(metrics, spec.open_set.accepted) if spec.open_set else None
    rows = "\n".join(
        f"| {what} | {_range(figures)} |" for what, figures in expected_rows(estimate, shipped) if figures
    )
    per_class = "\n".join(
        f"| {name} | {_range(figures)} |" for name, figures in estimate["per_class"].items()
    )
    folds = "\n".join(
        f"| {f['fold']} | {', '.join(map(str, f['test_groups']))} | {', '.join(map(str, f['inner_groups']))} "
        f"| {f['best_epoch']} | {f['accuracy']:.1%} | "
        + (f"{f['known_accepted']:.1%}" if "known_accepted" in f else "-")
        + " |"
        for f in estimate["per_fold"]
    )
    header = "| true \\ predicted | " + " | ".join(validation["classes"]) + " |"
    rule = "|---" * (len(validation["classes"]) + 1) + "|"
    confusion = "\n".join(
        f"| {name} | " + " | ".join(str(v) for v in row) + " |"
        for name, row in zip(validation["classes"], validation["confusion"], strict=False)
    )
    return f"""{_front_matter(spec, estimate["accuracy"]["mean"], dataset, False)}
# {spec.name}

A `{spec.architecture}` video classifier built by Action Recognition Lab on a frozen pretrained
backbone, that recognises {len(spec.classes)} actions of `{dataset}`: {", ".join(spec.classes)}.

- **Input**: {spec.window_frames} frames sampled at {spec.sampling_fps:g} fps
  ({spec.window_s:.2f} s windows), resized to {spec.image_size[1]}x{spec.image_size[0]} RGB, {_fed(spec)}.
- **Output**: softmax over the {len(spec.classes)} classes, per window. A clip's label is the
  argmax of its window probabilities averaged (windows every {spec.hop_frames * spec.unit_frames} frames).
- **Parameters**: {training["parameters"]:,}.

## Expected on new footage (group {estimate["folds"]}-fold cross-validation)

Mean over folds, and the range from the worst fold to the best. Each fold's groups (other people,
other scenes) were judged by a model that never saw them; that model chose its epoch and its
open-set thresholds on {settings["inner_groups"]} groups of its own training groups, never on the
groups that score it. This configuration was itself chosen among several by the same
cross-validation, which may flatter it by about a point.

| what | expected (range over folds) |
|---|---|
{rows}
{_open_set_protocol(estimate, shipped)}
Per class (recall):

| class | expected (range over folds) |
|---|---|
{per_class}

| fold | test groups | inner groups (choices) | best epoch | accuracy | known accepted |
|---|---|---|---|---|---|
{folds}

Out of fold, pooled over {validation["n_clips"]} clips (rows: true class):

{header}
{rule}
{confusion}

## Training

This bundle was trained on every group ({training["config"]["epochs"]} epochs: the median of the
folds' best epochs) in {training["seconds"] / 60:.1f} minutes on {training["machine"]}, after the
cross-validation (this command, which wrote both):

```
{command}
```

Each epoch draws {training["config"]["windows_per_clip"]} windows per clip of cached backbone
features, from the clip as it is, mirrored, and {settings["augmented_copies"]} augmented copies
(random resized crops, colour jitter, mirror, sampling rate 0.75-1.25x from a random offset),
with temporal jitter (speed 0.8-1.25x); AdamW with cosine decay from
{training["config"]["learning_rate"]:g}; seed {training["config"]["seed"]}.
{f"{chr(10)}## Backbone{chr(10)}{chr(10)}{backbone}{chr(10)}" if backbone else ""}
## Limits

{_action_limits_crossval(spec)}
"""


def open_set_protocol(estimate: dict, shipped: dict | None) -> str:
    """How the open-set figures were read, and what each fold's own thresholds gave."""
    open_set = estimate.get("open_set")
    if not open_set or shipped is None:
        return ""
    accepted, refused = open_set["known_accepted"], open_set.get("unknown_refused")
    folds = (
        f"Each fold at the thresholds it fitted on its own inner groups accepted {accepted['mean']:.1%} "
        f"({accepted['min']:.0%}-{accepted['max']:.0%}) of its known clips"
        + (
            f" and refused {refused['mean']:.1%} ({refused['min']:.0%}-{refused['max']:.0%}) of the "
            "untaught ones."
            if refused
            else "."
        )
    )
    return (
        f"The open-set rows are read at this bundle's own thresholds, fitted on the out-of-fold scores of "
        f"every group to accept {shipped['accepted_target']:.0%} of them, and pooled over the folds. {folds}"
    )


def _open_set_protocol(estimate: dict, shipped: dict | None) -> str:
    text = open_set_protocol(estimate, shipped)
    return f"\n{text}\n" if text else ""


def _action_limits_crossval(spec: BundleSpec) -> str:
    calibration = spec.open_set
    if calibration is None:
        return f"{len(spec.classes)} classes only: any other action is mapped to one of them."
    return f"""{len(spec.classes)} classes only, but the model says so: every window gets a known-ness score
(`{calibration.score}`: {_SCORE_WORDS[calibration.score]}), and a video scoring below
{calibration.threshold:.4f} (a window: {calibration.window_threshold:.4f}, after smoothing) is
reported as **unknown**, with the closest known action beside it. The thresholds were fitted on
out-of-fold scores, every clip scored by the fold model that did not train on its group, so that
{calibration.accepted:.0%} of them are accepted; the reference frames come from every group.
Footage unlike the training clips (320x240 YouTube videos) will be less reliable."""
