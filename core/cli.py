"""``python -m core``: the app's operations for the terminal and for scripts.

Exit codes are a contract: 0 success, 2 a user-facing error (one ``error: ...`` line on
stderr, no traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from core.config import Settings  # noqa: E402
from core.errors import ActionLabError, VideoError  # noqa: E402


def _names(text: str) -> list[str]:
    """'A,B, C' -> ['A', 'B', 'C']; '' -> []."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"'{text}' names a class twice")
    return names


def _groups(text: str) -> list[int]:
    """'8-11' or '8,9,10,11' or 'g08-g11' -> [8, 9, 10, 11]."""
    groups: list[int] = []
    try:
        for part in text.lower().replace("g", "").split(","):
            if "-" in part:
                lo, hi = (int(bound) for bound in part.split("-"))
                if lo > hi:
                    raise ValueError
                groups.extend(range(lo, hi + 1))
            elif part.strip():
                groups.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of groups such as 8-11 or 8,9,10") from None
    if not groups:
        raise argparse.ArgumentTypeError("no groups given")
    return groups


def _positive(kind, zero_ok: bool = False):
    """An argparse type for finite numbers above zero (or zero too, when ``zero_ok``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            bound = "zero or more" if zero_ok else "above zero"
            raise argparse.ArgumentTypeError(f"'{text}' must be a number {bound}")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    """Usage mistakes follow the CLI contract too: one ``error:`` line, exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _load_bundle(ref: str | None):
    """The named bundle, or the default: the configured Hub bundle, else the bundled model
    (saying why on stderr, so that ``--json`` output stays clean)."""
    from core.models import bundle, hub

    load = functools.cache(lambda candidate: bundle.load(candidate, progress=_stderr_progress()))
    if ref:
        return load(ref)
    choice = hub.choose_default(Settings.from_env(), load)  # a Hub bundle is loaded only once
    if not choice.from_hub:
        print(f"note: {choice.reason}", file=sys.stderr)
    return load(choice.ref)


def _is_link(source: str) -> bool:
    return "://" in source


@contextmanager
def _video_source(source: str) -> Iterator[str]:
    """A local path as it is; a link downloaded (checked against ARL_ALLOWED_HOSTS) for the block."""
    if not _is_link(source):
        yield source
        return
    from core.media.youtube import fetched

    settings = Settings.from_env()
    with fetched(
        source,
        settings.allowed_hosts,
        settings.max_duration_s,
        int(settings.max_download_mb * 1e6),
        progress=_stderr_progress(),
    ) as video:
        yield str(video.path)


def _local_video(source: str) -> str:
    if _is_link(source):
        raise VideoError("bench takes a local file: download the video and pass its path.")
    return source


def _stderr_progress():
    """A progress printer for a terminal; None when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        return None

    def report(fraction: float, stage: str) -> None:
        print(f"\r{stage}: {fraction:4.0%}", end="", file=sys.stderr, flush=True)
        if fraction >= 1.0:
            print(file=sys.stderr)

    return report


def cmd_analyze(args) -> int:
    from core.engine.analysis import analyze
    from core.media.video import probe

    settings = Settings.from_env()
    with _video_source(args.source) as source:
        probe(source)  # a bad file fails before the model is loaded
        bundle = _load_bundle(args.model)
        hop_s = args.hop if args.hop is not None else settings.hop_s
        # a link is held to the public limit; a local file is the user's own business
        limit = settings.max_duration_s if _is_link(args.source) else None
        timeline = analyze(source, bundle, hop_s=hop_s, progress=_stderr_progress(), max_duration_s=limit)
    if _is_link(args.source):
        timeline = replace(timeline, video=replace(timeline.video, path=args.source))
    result = timeline.to_dict(smoothing=args.smoothing)
    if args.json:
        print(json.dumps(result))
        return 0
    video = result["video"]
    print(
        f"{video['path']}: {video['duration_s']:.1f} s, {video['width']}x{video['height']}, "
        f"{video['fps']:g} fps; model {bundle.name}"
    )
    for segment in result["segments"]:
        print(
            f"  {segment['start_s']:7.2f} - {segment['end_s']:7.2f} s  {segment['label']:<16} "
            f"{segment['confidence']:.0%}"
        )
    top = result["top"]
    if top["known"]:
        print(f"overall: {top['label']} ({top['confidence']:.0%})")
    else:
        closest = top["closest"]
        print(
            f"overall: unknown, none of the model's {len(bundle.spec.classes)} actions "
            f"(closest: {closest['label']}, {closest['confidence']:.0%})"
        )
    for warning in result["warnings"]:
        print(f"warning: {warning}")
    return 0


def cmd_evaluate(args) -> int:
    from core.training.evaluation import evaluate

    bundle = _load_bundle(args.model)

    def report(done: int, total: int) -> None:
        print(f"\r{done}/{total} clips", end="" if done < total else "\n", file=sys.stderr, flush=True)

    progress = report if sys.stderr.isatty() else None
    result = evaluate(args.data_dir, bundle, args.groups, progress=progress, unknown_dir=args.unknown)
    if args.json:
        print(json.dumps(result.to_dict() | {"warnings": result.warnings()}))
        return 0
    for warning in result.warnings():
        print(f"note: {warning}", file=sys.stderr)
    estimate = result.cross_validation
    if estimate:
        accuracy = estimate["accuracy"]
        print(
            f"expected on new footage ({estimate['folds']}-fold cross-validation by group): accuracy "
            f"{accuracy['mean']:.4f} (folds {accuracy['min']:.4f}-{accuracy['max']:.4f})"
        )
    skipped = f"; {result.skipped} clips of other classes not scored as known" if result.skipped else ""
    print(f"accuracy {result.accuracy:.4f} on {result.n_clips} clips ({bundle.name}){skipped}")
    if result.open_set:
        print("open set: " + ", ".join(f"{key} {value}" for key, value in result.open_set.items()))
    for name, score in result.per_class.items():
        figures = f"precision {score.precision:.3f}  recall {score.recall:.3f}  ({score.support} clips)"
        print(f"  {name:<16} {figures}")
    return 0


def _training_config(args, **specific):
    """The training settings ``train`` and ``crossval`` share, from their options."""
    from core.training.trainer import TrainingConfig

    return TrainingConfig(
        architecture=args.arch,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        windows_per_clip=args.windows_per_clip,
        learning_rate=args.learning_rate,
        seed=args.seed,
        classes=tuple(args.classes),
        open_set="" if args.open_set == "none" else args.open_set,
        augmented_copies=args.augment,
        **specific,
    )


def cmd_train(args) -> int:
    from core.training.takes import calibrate_if_taught
    from core.training.trainer import train

    config = _training_config(
        args,
        task=args.task,
        val_groups=tuple(args.val_groups),
        strategy=args.strategy,
        cpu_devices=args.cpu_devices,
        limit_clips=args.limit_clips,
        stop_on=args.stop_on,
    )
    train(args.data_dir, config, args.out, args.command_line, cache_dir=args.cache_dir)
    calibrate_if_taught(args.out, args.data_dir, args.cache_dir, print)
    return 0


def cmd_crossval(args) -> int:
    from core.training.crossval import cross_validate, train_final
    from core.training.folds import CrossValConfig

    training = _training_config(args)
    config = CrossValConfig(
        training,
        folds=args.folds,
        inner_groups=args.inner_groups,
        leave_out=args.leave_out,
        workers=args.workers,
        unknown_dir=args.unknown or "",
    )
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    estimate = cross_validate(args.data_dir, config, args.cache_dir, args.command_line, log=log)
    if args.oof:
        lines = (
            json.dumps({"fold": f.fold.index + 1, **j.to_dict()}) for f in estimate.folds for j in f.judged
        )
        Path(args.oof).write_text("\n".join(lines) + "\n")
    if args.out:
        train_final(args.data_dir, estimate, args.out, args.cache_dir, log=log)
        log(f"bundle written to {args.out}")
    summary = estimate.to_dict()
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['protocol']}: {summary['clips']} clips")
    for name in ("accuracy", "cricket_pair", "strings"):
        if name in summary:
            figures = summary[name]
            print(f"  {name:<28} {figures['mean']:.3f} (folds {figures['min']:.3f}-{figures['max']:.3f})")
    for name, figures in summary.get("open_set", {}).items():
        if isinstance(figures, dict):
            print(f"  {name:<28} {figures['mean']:.3f} (folds {figures['min']:.3f}-{figures['max']:.3f})")
    for name, figures in summary["per_class"].items():
        print(f"    {name:<26} {figures['mean']:.3f} (folds {figures['min']:.3f}-{figures['max']:.3f})")
    return 0


def cmd_compare(args) -> int:
    from core.training.compare import APPROACHES_DIR, RESULTS_FILE, compare, write

    root = Path(args.bundles) if args.bundles else APPROACHES_DIR
    table = compare(
        args.data_dir,
        root,
        args.command_line,
        tuple(args.val_groups),
        args.batch_size,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    written = write(table, args.out or root / RESULTS_FILE)
    if args.json:
        print(json.dumps(table.to_dict()))
        return 0
    print(
        f"{'architecture':<14} {'action':>7} {'direction':>9} {'params':>9} {'GFLOPs':>7} "
        f"{'ms/clip':>8} {'ms/clip@' + str(args.batch_size):>10} {'train s':>9}"
    )
    for row in table.rows:
        accuracy = [f"{a:.3f}" if a is not None else "-" for a in row.accuracy.values()]
        trained = sum(s for s in row.train_s.values() if s)
        print(
            f"{row.architecture:<14} {accuracy[0]:>7} {accuracy[1]:>9} {row.params:>9,} "
            f"{row.flops_per_clip / 1e9:>7.2f} {row.latency_ms_batch1:>8.2f} {row.latency_ms_batched:>10.2f} "
            f"{trained:>9.0f}"
        )
    print(f"written to {written}")
    return 0


def cmd_publish(args) -> int:
    from core.models.hub import publish

    published = publish(Path(args.folder), args.repo, private=args.private, tag=args.tag)
    print(f"published {args.folder} to {published.url} (commit {published.commit})")
    pin = args.tag or published.commit
    print(f"load it with --model {published.ref}")
    print(f"or make it the default: ARL_MODEL_REPO={args.repo} ARL_MODEL_REVISION={pin}")
    return 0


def cmd_bench(args) -> int:
    from core.engine.bench import run_bench, run_live_bench

    bundle = _load_bundle(args.model)
    if args.live_then:
        figures = run_live_bench(_local_video(args.video), _local_video(args.live_then), bundle, args.busy)
    else:
        figures = run_bench(
            _local_video(args.video), bundle, repeat_to_s=args.repeat_to, baseline=not args.no_baseline
        )
    if args.json:
        print(json.dumps(figures.to_dict()))
    else:
        for key, value in figures.to_dict().items():
            print(f"{key:>22}: {value}")
    return 0


def _training_options(command: argparse.ArgumentParser, defaults) -> None:
    """The options of how a head is fitted, which ``train`` and ``crossval`` share."""
    command.add_argument("--epochs", type=_positive(int), default=defaults.epochs)
    command.add_argument("--patience", type=_positive(int), default=defaults.patience)
    command.add_argument("--batch-size", type=_positive(int), default=defaults.batch_size)
    command.add_argument("--windows-per-clip", type=_positive(int), default=defaults.windows_per_clip)
    command.add_argument("--learning-rate", type=_positive(float), default=defaults.learning_rate)
    command.add_argument("--seed", type=int, default=defaults.seed)
    command.add_argument(
        "--augment",
        type=_positive(int, zero_ok=True),
        default=defaults.augmented_copies,
        help="augmented copies of each training clip, for heads on the frozen backbone (cached)",
    )


def parser() -> argparse.ArgumentParser:
    from core.models.calibration import SCORES as OPEN_SET_SCORES
    from core.models.registry import architectures
    from core.training.crossval_worker import architectures as crossval_architectures
    from core.training.dataset import TASKS
    from core.training.trainer import STOPPING, STRATEGIES, TrainingConfig

    root = _Parser(prog="python -m core", description="Action Recognition Lab")
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)

    analyze = commands.add_parser("analyze", help="timeline of actions in a video")
    analyze.add_argument("source", help="video file, or a link on an allowed host (ARL_ALLOWED_HOSTS)")
    analyze.add_argument(
        "--model", help="bundle folder or hf://owner/name@revision (default: the Hub bundle, else bundled)"
    )
    analyze.add_argument("--hop", type=_positive(float), default=None, help="seconds between windows")
    analyze.add_argument("--smoothing", type=_positive(int), default=3, help="windows averaged for segments")
    analyze.add_argument("--json", action="store_true")
    analyze.set_defaults(run=cmd_analyze)

    evaluate = commands.add_parser("evaluate", help="clip accuracy on a <Class>/<clip> folder")
    evaluate.add_argument("data_dir")
    evaluate.add_argument("--model")
    evaluate.add_argument("--groups", type=_groups, help="only these UCF groups, e.g. 8-11")
    evaluate.add_argument("--unknown", help="a folder of clips of actions the model was not taught")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=cmd_evaluate)

    train = commands.add_parser("train", help="train a model bundle")
    train.add_argument("data_dir")
    train.add_argument("--arch", required=True, choices=sorted(architectures()))
    train.add_argument("--out", required=True, help="bundle folder to write")
    train.add_argument(
        "--task",
        default="action",
        choices=TASKS,
        help="action: the class folders; direction: was the clip played forwards or backwards",
    )
    defaults = TrainingConfig(architecture="")
    _training_options(train, defaults)
    train.add_argument("--val-groups", type=_groups, default="8-11")
    train.add_argument(
        "--classes", type=_names, default="", help="comma-separated class folders to learn (default: all)"
    )
    train.add_argument(
        "--open-set",
        default=defaults.open_set,
        choices=[*OPEN_SET_SCORES, "none"],
        help="known-ness score calibrated on the validation groups (frozen-backbone models)",
    )
    train.add_argument("--strategy", default="default", choices=STRATEGIES)
    train.add_argument(
        "--cpu-devices",
        type=_positive(int, zero_ok=True),
        default=0,
        help="split the CPU into N logical devices (to try distribution without GPUs)",
    )
    train.add_argument(
        "--limit-clips",
        type=_positive(int, zero_ok=True),
        default=0,
        help="at most N clips per class (smoke runs)",
    )
    train.add_argument(
        "--stop-on",
        default="val_clip_accuracy",
        choices=sorted(STOPPING),
        help="what early stopping watches on the held-back clips (val_loss where they are near-duplicates)",
    )
    train.add_argument("--cache-dir", help="where decoded frames are cached")
    train.set_defaults(run=cmd_train)

    crossval = commands.add_parser(
        "crossval", help="cross-validate a head by group; with --out, train the bundle on every group"
    )
    crossval.add_argument("data_dir", help="a <Class>/<clip> folder of UCF-style clips (names carry _gNN_)")
    crossval.add_argument("--arch", default="effnet_mean", choices=crossval_architectures())
    crossval.add_argument("--folds", type=_positive(int), default=6, help="folds of consecutive groups")
    crossval.add_argument(
        "--inner-groups",
        type=_positive(int),
        default=3,
        help="groups of each fold's training groups held back to choose the epoch and the thresholds",
    )
    crossval.add_argument(
        "--leave-out",
        type=_positive(int, zero_ok=True),
        default=2,
        help="classes left out of a second head per fold, whose clips it must refuse (0: no such check)",
    )
    crossval.add_argument("--unknown", help="a folder of clips of actions the model is not taught")
    crossval.add_argument("--workers", type=_positive(int, zero_ok=True), default=0, help="0: one per core")
    _training_options(crossval, defaults)
    crossval.add_argument(
        "--classes", type=_names, default="", help="comma-separated class folders (default: all)"
    )
    crossval.add_argument("--open-set", default="knn_energy", choices=[*OPEN_SET_SCORES, "none"])
    crossval.add_argument("--out", help="also train the bundle on every group with the folds' choices")
    crossval.add_argument("--oof", help="write every clip's out-of-fold judgement here (JSON lines)")
    crossval.add_argument("--cache-dir", help="where decoded frames and features are cached")
    crossval.add_argument("--json", action="store_true")
    crossval.set_defaults(run=cmd_crossval)

    compare = commands.add_parser(
        "compare", help="results table of the approaches' bundles (accuracy on both tasks, cost, speed)"
    )
    compare.add_argument("data_dir", help="the <Class>/<clip> folder the bundles were trained on")
    compare.add_argument(
        "--bundles", help="folder of <task>/<architecture> bundles (default: models/approaches)"
    )
    compare.add_argument("--out", help="where to write the table (default: BUNDLES/results.json)")
    compare.add_argument("--val-groups", type=_groups, default="8-11")
    compare.add_argument(
        "--batch-size", type=_positive(int), default=16, help="batch for the batched latency"
    )
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(run=cmd_compare)

    publish = commands.add_parser("publish", help="upload a bundle to the Hugging Face Hub")
    publish.add_argument("folder", help="bundle folder")
    publish.add_argument("--repo", required=True, help="OWNER/NAME on the Hub")
    publish.add_argument("--private", action="store_true", help="create the repo private")
    publish.add_argument("--tag", help="also tag the upload (e.g. v1) so that it can be pinned by name")
    publish.set_defaults(run=cmd_publish)

    bench = commands.add_parser("bench", help="throughput figures")
    bench.add_argument("video")
    bench.add_argument("--model")
    bench.add_argument(
        "--repeat-to",
        type=_positive(float, zero_ok=True),
        default=0.0,
        help="loop the video into a clip this many seconds long first",
    )
    bench.add_argument(
        "--no-baseline",
        action="store_true",
        help="time only the app's analysis: skip the classic per-frame loop and the whole-model-per-window "
        "run (both slow on long videos)",
    )
    bench.add_argument(
        "--live-then",
        metavar="OTHER",
        help="bench the live view instead: play VIDEO then OTHER into it in real time, and report how "
        "long after the cut the label changes, CPU use and dropped frames",
    )
    bench.add_argument(
        "--busy",
        type=_positive(int, zero_ok=True),
        default=0,
        help="with --live-then: keep this many cores busy with other processes meanwhile",
    )
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(run=cmd_bench)
    return root


def _import_tensorflow_quietly() -> None:
    """TensorFlow prints oneDNN notices straight to fd 2 on import, before any log setting
    applies; hide them so that a failing command prints exactly one ``error:`` line."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    _import_tensorflow_quietly()  # first: building the parser imports Keras for the model registry
    args = parser().parse_args(argv)
    # recorded in what a command writes (model cards, results tables): how to make it again
    args.command_line = shlex.join(["python", "-m", "core", *(sys.argv[1:] if argv is None else argv)])
    try:
        return args.run(args)
    except ActionLabError as error:
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr)  # clear a progress line
        print(f"error: {error}", file=sys.stderr)
        return 2
