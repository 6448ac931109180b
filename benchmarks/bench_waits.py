"""Where a user waits outside training, each against a baseline measured in the same run:

- ``lrlab compare`` (plots drawn, as by default) and ``lrlab report`` on synthetic trees of
  100, 1,000 and 10,000 trials of 20 epochs (50 rates x 20 seeds at 1,000), whole commands
  in fresh processes, against the least any reader pays: a fresh Python that reads the same
  files the obvious pandas way (a ``read_csv`` and two ``json.loads`` per trial, one
  groupby), no checks, no statistics, no plots;
- the first line on the terminal after ``lrlab sweep configs/smoke.yaml``, against the
  whole command and against ``lrlab --version`` (a Python and the CLI starting, nothing else).

Prints seconds, ratios and each goal of issue 24; asserts nothing (speed is not a test).

    LRLAB_DATA_DIR=/abs/path/to/data python benchmarks/bench_waits.py [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compare import build_tree  # noqa: E402 - the same synthetic tree

ROOT = Path(__file__).resolve().parents[1]
BY_HAND = """
import json, sys
from pathlib import Path
import pandas as pd
frames = []
for trial in sorted(Path(sys.argv[1]).glob("*/trials/*")):
    history = pd.read_csv(trial / "history.csv")
    params = json.loads((trial / "params.json").read_text())
    json.loads((trial / "result.json").read_text())
    frames.append(history.assign(**params))
frame = pd.concat(frames, ignore_index=True)
best = frame.groupby(["optimizer", "learning_rate", "seed"])["val_accuracy"].max()
print(best.groupby(["optimizer", "learning_rate"]).agg(["mean", "std", "count"]).shape)
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)}: {done.stderr}")
    return time.perf_counter() - started


def best_of(runs: int, command: list[str]) -> float:
    return min(timed(command) for _ in range(runs))


def first_line(command: list[str]) -> tuple[float, float, str]:
    """Seconds to the first line on stdout, to the end, and that line."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=ROOT)
    assert process.stdout is not None
    line = process.stdout.readline()
    first = time.perf_counter() - started
    process.stdout.read()
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return first, time.perf_counter() - started, line.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=2, help="best of this many")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lrlab = [sys.executable, "-m", "lrlab"]
    print(f"lrlab waits benchmark, {date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; whole commands, best "
          f"of {args.runs}")
    print(f"{'trials':>7}{'by hand':>10}{'compare (ratio)':>19}"
          f"{'report (ratio, page)':>27}   goals")
    goals = {1000: (1.0, 2.0), 10000: (10.0, None)}
    with tempfile.TemporaryDirectory() as scratch:
        took: dict[int, float] = {}
        for size in sizes:
            runs = Path(scratch) / f"runs{size}"
            runs.mkdir()
            build_tree(runs, trials=size, epochs=20)
            by_hand = best_of(args.runs, [sys.executable, "-c", BY_HAND, str(runs)])
            compare = best_of(args.runs, [*lrlab, "compare", str(runs), "--plots",
                                          str(Path(scratch) / f"plots{size}")])
            page = Path(scratch) / f"report{size}.html"
            report = best_of(args.runs, [*lrlab, "report", str(runs), "--output", str(page)])
            took[size] = compare
            megabytes = page.stat().st_size / 1e6
            met = []
            if size in goals:
                compare_goal, report_goal = goals[size]
                met.append(f"compare < {compare_goal:g} s {_met(compare < compare_goal)}")
                if report_goal is not None:
                    met.append(f"report < {report_goal:g} s {_met(report < report_goal)}, "
                               f"< 2 MB {_met(megabytes < 2)}")
            print(f"{size:>7,}{by_hand:>8.2f} s{compare:>9.2f} s ({compare / by_hand:.2f})"
                  f"{report:>9.2f} s ({report / by_hand:.2f}, {megabytes:.2f} MB)   "
                  f"{'; '.join(met)}".rstrip())
        steps = [f"{(took[b] - took[a]) / (b - a) * 1000:.2f} s from {a:,} to {b:,}"
                 for a, b in zip(sizes, sizes[1:], strict=False)]
        if steps:
            print(f"compare per 1,000 trials added: {'; '.join(steps)} (linear: alike)")
        version = best_of(args.runs, [*lrlab, "--version"])
        first, whole, line = first_line([*lrlab, "sweep", "configs/smoke.yaml", "--runs-dir",
                                         str(Path(scratch) / "smoke")])
        print(f"lrlab sweep configs/smoke.yaml: first line after {first:.2f} s (\"{line[:24]}"
              f"...\"), against lrlab --version {version:.2f} s ({first / version:.2f}); goal < 1 "
              f"s {_met(first < 1)}; the whole command {whole:.1f} s")


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    main()
