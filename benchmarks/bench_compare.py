"""How fast `lrlab compare` answers on a large tree: 1,000 trials of 20 epochs.

Builds the tree with lrlab's own store (synthetic numbers, no training), then times in one
process run: lrlab's loader and summary, against a baseline that reads each trial the
obvious pandas way (pd.read_csv per history file, json per result), and the whole
`lrlab compare --no-plots` command as a user runs it. Prints seconds and ratios; it asserts
nothing (speed is not a test).

    python benchmarks/bench_compare.py [--trials 1000] [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from lrlab.analysis.compare import compare_runs
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.records import EpochRecord, TrialResult, TrialStatus
from lrlab.rundir.store import RunStore


def build_tree(root: Path, *, trials: int, epochs: int, seeds: int = 20) -> Path:
    """`trials` trials: two optimizers, each with trials / 2 / seeds rates over six decades
    (50 rates x 20 seeds for 1,000 trials), synthetic learning curves."""
    store = RunStore.create(root, "bench", now=datetime(2026, 1, 1))
    store.write_config({"name": "bench"})
    rng = np.random.default_rng(0)
    rates = max(1, trials // 2 // seeds)
    for i in range(trials):
        optimizer = ("sgd", "rmsprop")[i % 2]
        lr = 10 ** (-5 + (i // 2 // seeds) % rates * 6 / rates)
        seed = i // 2 % seeds
        trial_id = f"{optimizer}-lr{lr:.2e}-s{seed}-{i:06x}"
        acc = 1 - 0.9 * np.exp(-np.arange(1, epochs + 1) * rng.uniform(0.1, 1))
        store.write_params(trial_id, {"optimizer": optimizer, "learning_rate": lr, "seed": seed})
        store.write_history(trial_id, [
            EpochRecord.of(epoch=e + 1, lr=lr, loss=-math.log(a), accuracy=a,
                           val_loss=-math.log(a) + 0.01, val_accuracy=a - 0.01, seconds=0.8)
            for e, a in enumerate(acc)])
        store.write_result(TrialResult(trial_id, TrialStatus.COMPLETED, epochs=epochs,
                                       test={"loss": 0.1, "accuracy": 0.97},
                                       seconds=0.8 * epochs))
    return store.root


def lrlab_compare(root: Path) -> int:
    scan = scan_runs([root])
    return len(compare_runs(scan.frame, plans=scan.plans).summary)


def baseline_compare(root: Path) -> int:
    """What one writes by hand with pandas: a read_csv per trial, then a groupby."""
    frames = []
    for trial in sorted((root / "trials").iterdir()):
        history = pd.read_csv(trial / "history.csv")
        params = json.loads((trial / "params.json").read_text())
        json.loads((trial / "result.json").read_text())
        frames.append(history.assign(**params))
    frame = pd.concat(frames, ignore_index=True)
    best = frame.groupby(["optimizer", "learning_rate", "seed"])["val_accuracy"].max()
    return len(best.groupby(["optimizer", "learning_rate"]).agg(["mean", "std", "count"]))


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        root = build_tree(Path(tmp), trials=args.trials, epochs=args.epochs)
        print(f"tree: {args.trials} trials x {args.epochs} epochs, written in "
              f"{time.perf_counter() - started:.1f} s")
        assert lrlab_compare(root) == baseline_compare(root)  # same groups, warm caches
        assert "tensorflow" not in sys.modules, "compare must not import TensorFlow"
        ours = min(timed(lrlab_compare, root) for _ in range(3))
        base = min(timed(baseline_compare, root) for _ in range(3))
        command = [sys.executable, "-m", "lrlab", "compare", str(root), "--no-plots"]
        cli = min(_run_cli(command) for _ in range(3))
    print(f"{'what':<44}{'seconds':>9}{'ratio':>8}")
    print(f"{'baseline: pandas read_csv per trial':<44}{base:>9.3f}{1.0:>8.2f}")
    print(f"{'lrlab: scan_runs + compare_runs':<44}{ours:>9.3f}{base / ours:>8.2f}")
    print(f"{'lrlab compare --no-plots (whole command)':<44}{cli:>9.3f}{base / cli:>8.2f}")


def _run_cli(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return elapsed


if __name__ == "__main__":
    main()
