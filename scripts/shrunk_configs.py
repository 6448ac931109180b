"""Sweep every config of ``configs/`` shrunk to seconds: for changes that must leave what
each config trains bit-identical (compare two such folders with scripts/same_runs.py).

    python scripts/shrunk_configs.py OUT_DIR [--engine tensorflow|jax] [--only NAME ...]

Each config keeps its model, optimizers, schedules, axes, early stopping and seeds; only
the data (1,200 training rows, 200 of them validating where the config validates; 400
test rows), the epochs (at most 2; 3 with early stopping, so that it can stop) and the
rates (at most 3 per optimizer: the first, middle and last) are cut, so that every
config's code path runs on a 2-core machine in about a minute.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def shrunk(config: dict) -> dict:
    data = config.setdefault("data", {})
    data["train_limit"] = 1200
    data["validation"] = 0 if data.get("validation") == 0 else 200
    data["test_limit"] = 400
    training = config.setdefault("training", {})
    training["epochs"] = min(training.get("epochs", 3), 3 if "early_stopping" in training
                             else 2)
    sweep = config.get("sweep", {})
    if sweep.get("points"):
        sweep["points"] = min(sweep["points"], 4)
    for optimizer in sweep.get("optimizers", []):
        rates = optimizer.get("learning_rates")
        if isinstance(rates, list) and len(rates) > 3:
            optimizer["learning_rates"] = [rates[0], rates[len(rates) // 2], rates[-1]]
        elif isinstance(rates, dict) and "num" in rates:
            rates["num"] = min(rates["num"], 3)
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--engine", default="tensorflow")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        if args.only and path.stem not in args.only:
            continue
        config = shrunk(yaml.safe_load(path.read_text()))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            yaml.safe_dump(config, handle)
        done = subprocess.run(
            [sys.executable, "-m", "lrlab", "sweep", handle.name, "--runs-dir", str(args.out),
             "--name", path.stem, "--engine", args.engine, "--workers", "1", "-q"],
            capture_output=True, text=True, cwd=ROOT)
        print(f"{path.stem}: exit {done.returncode} {done.stdout.strip()[-80:]}"
              f"{done.stderr.strip()[-300:]}", flush=True)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
