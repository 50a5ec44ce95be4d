"""A markdown table of cross-validation summaries (``python -m core crossval ... --json``), one
row per file, for docs/:

    .venv/bin/python tools/crossval_table.py NAME=FILE.json [NAME=FILE.json ...]

Each cell is the mean over folds with the worst and best fold; the last column is the wall time
of the whole cross-validation on the machine that ran it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COLUMNS = (
    ("accuracy", "which action"),
    ("cricket_pair", "cricket pair"),
    ("strings", "string instruments"),
    ("known_accepted", "known accepted"),
    ("accepted_accuracy", "right among accepted"),
    ("unknown_refused", "untaught refused"),
    ("other_classes_refused", "left-out classes refused"),
)


def cell(figures: dict | None) -> str:
    if not figures:
        return "-"
    return f"{figures['mean']:.1%} ({figures['min']:.0%}-{figures['max']:.0%})"


def row(name: str, summary: dict) -> str:
    both = {**summary, **summary.get("open_set", {})}
    cells = [cell(both.get(key)) for key, _ in COLUMNS]
    return f"| {name} | " + " | ".join(cells) + f" | {summary['seconds'] / 60:.0f} min |"


def main(arguments: list[str]) -> int:
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    print("| configuration | " + " | ".join(title for _, title in COLUMNS) + " | time |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for argument in arguments:
        name, _, path = argument.partition("=")
        print(row(name, json.loads(Path(path).read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
