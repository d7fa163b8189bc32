"""Today's benchmark figures against the last committed baseline, as ratios, so a slowdown shows in review.

`make bench` runs every benchmark script, keeping each one's output in benchmarks/results/<script>.log (each
ends in one JSON line), then runs this. The baseline is benchmarks/baseline.json as last committed (git show
HEAD:...), so an uncommitted edit to it cannot hide a change; `--save` writes today's figures there, to be
committed with the change that moved them. Not a test: figures on a shared machine move by ±20 %, so it
marks a ratio beyond --flag either way and leaves the judgement to the reader.

    python benchmarks/compare.py [--save] [--flag 1.25]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BASELINE = HERE / "baseline.json"
SKIPPED = {"targets"}  # what a script aims at, not what it measured


def last_json_line(log: Path) -> dict:
    for line in reversed(log.read_text().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"{log}: no JSON line (did the benchmark finish?)")


def today() -> dict[str, dict]:
    return {log.stem: last_json_line(log) for log in sorted(RESULTS.glob("*.log"))}


def committed_baseline() -> dict[str, dict]:
    shown = subprocess.run(["git", "show", f"HEAD:{BASELINE.relative_to(HERE.parent)}"], cwd=HERE.parent,
                           capture_output=True, text=True)
    if shown.returncode == 0:
        return json.loads(shown.stdout)
    return json.loads(BASELINE.read_text()) if BASELINE.exists() else {}


def numbers(figures: dict, prefix: str = "") -> dict[str, float]:
    """Every numeric figure, nested ones by a dotted name; flags (booleans) and targets left out."""
    flat: dict[str, float] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if key in SKIPPED or isinstance(value, bool):
            continue
        if isinstance(value, dict):
            flat.update(numbers(value, name + "."))
        elif isinstance(value, (int, float)):
            flat[name] = value
    return flat


def rows(baseline: dict[str, dict], now: dict[str, dict], flag: float) -> list[str]:
    out = [f"{'figure':<58} {'baseline':>12} {'today':>12} {'ratio':>7}"]
    for script in sorted(set(baseline) | set(now)):
        before, after = numbers(baseline.get(script, {})), numbers(now.get(script, {}))
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            ratio = new / old if old and new is not None else None
            mark = " !" if ratio is not None and not 1 / flag <= ratio <= flag else ""
            out.append(f"{script + ': ' + name:<58} {_cell(old):>12} {_cell(new):>12} "
                       f"{'—' if ratio is None else f'{ratio:.2f}':>7}{mark}")
    return out


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="write today's figures to benchmarks/baseline.json")
    parser.add_argument("--flag", type=float, default=1.25, help="mark ratios beyond this factor either way")
    args = parser.parse_args()
    now = today()
    if not now:
        print(f"no results in {RESULTS}: run `make bench` first", file=sys.stderr)
        return 2
    print("\n".join(rows(committed_baseline(), now, args.flag)))
    if args.save:
        BASELINE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"saved {BASELINE.relative_to(HERE.parent)}: commit it with the change that moved these figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
