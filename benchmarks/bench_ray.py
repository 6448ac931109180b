"""The Ray backend's cost on one machine: the same sweep on `--backend local` and `--backend ray`.

Each run is the whole command a user types (`lrlab sweep CONFIG --backend B --quiet`), in a
fresh process, so it counts everything either backend costs: TensorFlow's import, Ray's
start-up and shutdown (a private instance on this machine, as without --address), its
workers' start-up, the compilations in each worker, and the trials. The backends alternate,
`--repeats` times each; the medians are compared. It also checks that both runs found the
same statuses and metrics. Prints seconds and ratios; asserts nothing about speed.

    LRLAB_DATA_DIR=../shared/data python benchmarks/bench_ray.py [--config configs/smoke.yaml]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def timed_sweep(config: Path, backend: str, runs: Path, extra: list[str]) -> tuple[float, Path]:
    before = set(runs.iterdir()) if runs.exists() else set()
    command = [sys.executable, "-m", "lrlab", "sweep", str(config), "--quiet",
               "--runs-dir", str(runs), "--backend", backend, *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    (run_dir,) = set(runs.iterdir()) - before
    return seconds, run_dir


def ray_start_and_stop() -> tuple[float, float]:
    """Seconds to start a private Ray instance as lrlab does, and to shut it down: the part
    of the overhead no number of trials changes."""
    from lrlab.run.backends.ray_cluster import import_ray

    ray = import_ray(private_instance=True)
    start = time.perf_counter()
    ray.init(address="local", include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    started = time.perf_counter()
    ray.shutdown()
    return started - start, time.perf_counter() - started


def agreement(local: Path, ray: Path) -> str:
    a, b = pd.read_csv(local / "results.csv"), pd.read_csv(ray / "results.csv")
    if a["trial_id"].tolist() != b["trial_id"].tolist() or not a["status"].equals(b["status"]):
        return "DIFFERENT trials or statuses"
    done = a["status"] == "completed"
    diff = (a.loc[done, "test_accuracy"] - b.loc[done, "test_accuracy"]).abs().max()
    return f"same statuses; completed trials' test accuracy differs by at most {diff:.1e}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "smoke.yaml")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ray-args", default="", help="extra sweep options for the Ray run")
    args = parser.parse_args()
    extra = args.ray_args.split()

    times: dict[str, list[float]] = {"local": [], "ray": []}
    last: dict[str, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        for _ in range(args.repeats):
            for backend in ("local", "ray"):
                seconds, run_dir = timed_sweep(args.config, backend, runs / backend,
                                               extra if backend == "ray" else [])
                times[backend].append(seconds)
                last[backend] = run_dir
        trials = len(pd.read_csv(last["local"] / "results.csv"))
        same = agreement(last["local"], last["ray"])

    local, ray = statistics.median(times["local"]), statistics.median(times["ray"])
    init, shutdown = ray_start_and_stop()
    print(f"lrlab Ray backend benchmark, {date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(f"{args.config.name}: {trials} trials; whole `lrlab sweep` command, median of "
          f"{args.repeats} (runs: local {', '.join(f'{t:.1f}' for t in times['local'])}; "
          f"ray {', '.join(f'{t:.1f}' for t in times['ray'])})")
    print(f"{'':44}{'seconds':>9}{'ratio':>8}")
    print(f"{'baseline: --backend local':44}{local:9.2f}{1:8.2f}")
    print(f"{'--backend ray ' + ' '.join(extra):44}{ray:9.2f}{ray / local:8.2f}")
    print(f"Ray overhead: {ray - local:+.2f} s in all, {(ray - local) / trials:+.2f} s per trial;"
          f" of it, starting and stopping Ray alone take {init:.2f} + {shutdown:.2f} s")
    print(f"results: {same}")


if __name__ == "__main__":
    main()
