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


def row(what: str, seconds: float, baseline: float, goal: str, met: bool | None) -> None:
    verdict = "" if met is None else ("met" if met else "not met")
    print(f"  {what:<44}{seconds:8.2f} s{baseline:8.2f} s{seconds / baseline:8.2f}  "
          f"{goal:<14}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=2, help="best of this many")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    lrlab = [sys.executable, "-m", "lrlab"]
    print(f"lrlab waits benchmark, {date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"  {'what':<44}{'seconds':>10}{'baseline':>10}{'ratio':>8}  {'goal':<14}")
    with tempfile.TemporaryDirectory() as scratch:
        per_trial: dict[int, float] = {}
        for size in sizes:
            runs = Path(scratch) / f"runs{size}"
            runs.mkdir()
            build_tree(runs, trials=size, epochs=20)
            by_hand = best_of(args.runs, [sys.executable, "-c", BY_HAND, str(runs)])
            compare = best_of(args.runs, [*lrlab, "compare", str(runs), "--plots",
                                          str(Path(scratch) / f"plots{size}")])
            page = Path(scratch) / f"report{size}.html"
            report = best_of(args.runs, [*lrlab, "report", str(runs), "--output", str(page)])
            per_trial[size] = compare / size
            print(f"{size:,} trials x 20 epochs (baseline: pandas by hand, "
                  f"{by_hand:.2f} s):")
            goal = {1000: "< 1 s", 10000: "< 10 s"}.get(size, "")
            limit = {1000: 1.0, 10000: 10.0}.get(size)
            row("lrlab compare (table, verdicts, SVG plots)", compare, by_hand, goal,
                None if limit is None else compare < limit)
            size_mb = page.stat().st_size / 1e6
            row(f"lrlab report (page of {size_mb:.2f} MB)", report, by_hand,
                "< 2 s, < 2 MB" if size == 1000 else "",
                (report < 2 and size_mb < 2) if size == 1000 else None)
        for low, high in zip(sizes, sizes[1:], strict=False):
            added = (per_trial[high] * high - per_trial[low] * low) / (high - low) * 1000
            print(f"growth: compare costs {added:.2f} s per 1,000 trials added from {low:,} "
                  f"to {high:,} (linear: the same figure for every step)")
        version = best_of(args.runs, [*lrlab, "--version"])
        first, whole, line = first_line([*lrlab, "sweep", "configs/smoke.yaml", "--runs-dir",
                                         str(Path(scratch) / "smoke")])
        print(f"lrlab sweep configs/smoke.yaml (baseline: lrlab --version, {version:.2f} s):")
        row(f"first line ({line[:30]})", first, version, "< 1 s", first < 1)
        print(f"  ...and the whole command: {whole:.1f} s (the first line at "
              f"{first / whole:.1%} of it)")


if __name__ == "__main__":
    main()
