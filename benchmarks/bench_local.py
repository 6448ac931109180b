"""The local backend against the way it trained before: the same sweep as the whole
`lrlab sweep` command, in fresh processes, run alternately in one run of this script.

  before: one process, one trial at a time on every core (--workers 1, --threads-per-trial =
          CPUs): fast per trial, but its numbers depend on the thread count;
  now:    the default, one thread per trial (the numbers Ray gives too) and as many trials at
          once as there are CPUs, in worker processes.

Prints seconds and the ratio; asserts nothing (speed is not a test).

    LRLAB_DATA_DIR=/abs/path/to/shared/data python benchmarks/bench_local.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sweep_seconds(config: Path, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as runs:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "lrlab", "sweep", str(config), "--runs-dir",
                               runs, "--quiet", *extra], capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "mnist.yaml")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    ways = {"before: 1 process, all threads": ["--workers", "1", "--threads-per-trial", str(cpus)],
            "now: default (1 thread a trial)": []}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, extra in ways.items():  # alternating, so that drift hits both alike
            times[name].append(sweep_seconds(args.config, extra))
    print(f"{args.config.name} on {cpus} CPUs, whole command, best of {args.repeats}:")
    base = min(times["before: 1 process, all threads"])
    for name, seconds in times.items():
        print(f"  {name:<36}{min(seconds):>8.1f} s   ratio {base / min(seconds):.2f}  "
              f"(runs: {', '.join(f'{s:.1f}' for s in seconds)})")


if __name__ == "__main__":
    main()
