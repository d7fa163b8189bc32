"""Start-up figures: the whole `bot.py --demo chat /status` process beside the interpreter floor.

The floor is `python -c "import numpy, sqlite3, asyncio"`, measured in the same run, interleaved with the
bot's runs so a busy neighbour on the machine slows both alike. Also reports which heavy libraries the text
command imported (from `python -X importtime`) and their cumulative import time. Prints a table and, last,
one JSON line.

The bot is timed as `make install` installs it, pandas hidden (see installed.py); the figure with the bench
extra's pandas imported is printed beside.

    python benchmarks/bench_startup.py [--runs 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.installed import BOT  # noqa: E402
FLOOR = [sys.executable, "-c", "import numpy, sqlite3, asyncio"]
HEAVY = ("matplotlib", "binance", "telegram", "aiohttp", "apscheduler", "pydantic_settings")


def status_command(db: Path, pandas: bool = False) -> list[str]:
    args = ["--demo", "--db", str(db), "chat", "/status"]
    return [sys.executable, "bot.py", *args] if pandas else [*BOT, *args]


def wall(command: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def heavy_imports(command: list[str]) -> dict[str, float]:
    """Import time (ms, the modules' own time summed) of each heavy library the command imported."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    found = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        if package in HEAVY:
            found[package] = found.get(package, 0) + int(own) / 1000
    return {package: round(ms, 1) for package, ms in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        command = status_command(Path(tmp) / "demo.sqlite")
        with_pandas = status_command(Path(tmp) / "demo.sqlite", pandas=True)
        wall(command)  # creates the database, warms the file cache
        floor, status, status_pandas = [], [], []
        for _ in range(args.runs):
            floor.append(wall(FLOOR))
            status.append(wall(command))
            status_pandas.append(wall(with_pandas))
        imported = heavy_imports(command)
    floor_s, status_s = statistics.median(floor), statistics.median(status)
    figures = {"status_process_s_median": round(status_s, 3), "baseline_floor_s_median": round(floor_s, 3),
               "status_over_floor": round(status_s / floor_s, 2), "runs": args.runs,
               "heavy_imports_ms": imported,
               "status_with_pandas_s_median": round(statistics.median(status_pandas), 3)}
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    figures["targets"] = {"status_over_floor": 4, "heavy_imports_ms": {}}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
