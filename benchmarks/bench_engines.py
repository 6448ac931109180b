"""The engines against each other: the same sweep as the whole `lrlab sweep` command, on
each engine this machine has (TensorFlow; JAX one trial at a time and stacked), in fresh
processes, in one run of this script. JAX runs twice: with an empty compilation cache
(cold) and again with the one the first run filled (warm).

Prints, per way: the whole command's seconds, the training seconds (the trials' epochs,
less compiling where the engine measures it: JAX), seconds per trial-epoch, the compile
seconds, and ratios against the first way (TensorFlow
where it is installed). Asserts nothing (speed is not a test).

    LRLAB_DATA_DIR=/abs/path/to/shared/data python benchmarks/bench_engines.py \\
        [--config configs/mnist.yaml] [--seeds 10] [--rates 256] [--stacks 1,auto,24]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(config: Path, runs: Path, extra: list[str], env: dict[str, str]) -> dict[str, float]:
    """One whole command; its wall time, and from its run directory the training and
    compile seconds and the number of trial-epochs."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lrlab", "sweep", str(config), "--runs-dir",
                           str(runs), "--quiet", *extra], capture_output=True, text=True,
                          env={**os.environ, **env})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    training = epochs = 0.0
    for result in (run_dir / "trials").glob("*/result.json"):
        data = json.loads(result.read_text())
        epochs += data["epochs"]
        history = (result.parent / "history.csv").read_text().splitlines()
        column = history[0].split(",").index("seconds")
        training += sum(float(row.split(",")[column]) for row in history[1:])
    session = json.loads((run_dir / "environment.json").read_text())["sessions"][-1]
    device = ", ".join(f"{e['name']} on {e['device']}" for e in session.get("engines", []))
    compiling = session.get("compile_seconds")
    # An epoch's seconds include compiling its program the first time: the jax engine
    # says how long that took (TensorFlow cannot; its figure keeps its compile time).
    return {"wall": wall, "training": training - (compiling or 0.0), "epochs": epochs,
            "compile": compiling, "device": device}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "mnist.yaml")
    parser.add_argument("--seeds", type=int, default=None,
                        help="Replace the config's seeds with 0..N-1.")
    parser.add_argument("--rates", type=int, default=None,
                        help="Replace each optimizer's rates with N log-spaced ones over "
                             "the same range (a stack of 256 needs 256 rates).")
    parser.add_argument("--stacks", default="1,auto,24",
                        help="JAX stack settings to run (comma-separated).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        config = args.config
        if args.seeds is not None or args.rates is not None:
            data = yaml.safe_load(config.read_text())
            if args.seeds is not None:
                data.setdefault("sweep", {})["seeds"] = list(range(args.seeds))
            for entry in data["sweep"]["optimizers"] if args.rates else []:
                rates = entry["learning_rates"]
                low, high = ((rates["start"], rates["stop"]) if isinstance(rates, dict)
                             else (min(rates), max(rates)))
                entry["learning_rates"] = {"start": low, "stop": high, "num": args.rates}
            config = scratch_dir / config.name
            config.write_text(yaml.safe_dump(data))
        ways: list[tuple[str, list[str], dict[str, str]]] = []
        if importlib.util.find_spec("tensorflow"):
            ways.append(("tensorflow", ["--engine", "tensorflow"], {}))
        if importlib.util.find_spec("jax"):
            for stack in args.stacks.split(","):
                cache = str(scratch_dir / f"cache-{stack}")
                for state in ("cold", "warm"):
                    ways.append((f"jax, stack {stack}, {state} cache",
                                 ["--engine", "jax", "--stack", stack],
                                 {"LRLAB_CACHE_DIR": cache}))
        results = {name: run(config, scratch_dir / "runs", extra, env)
                   for name, extra, env in ways}
    base_name = next(iter(results))
    base = results[base_name]
    print(f"{args.config.name}" + (f" with {args.seeds} seeds" if args.seeds else "")
          + (f" with {args.rates} rates per optimizer" if args.rates else "")
          + f": whole command, in fresh processes; ratios against {base_name}")
    print(f"  {'way':<30}{'command':>9}{'training':>10}{'per trial-epoch':>17}"
          f"{'compiling':>11}   ratio (command, training)")
    for name, r in results.items():
        compiling = "-" if r["compile"] is None else f"{r['compile']:.1f} s"
        print(f"  {name:<30}{r['wall']:>7.1f} s{r['training']:>8.1f} s"
              f"{1000 * r['training'] / r['epochs']:>14.1f} ms{compiling:>11}"
              f"   {base['wall'] / r['wall']:.2f}, {base['training'] / r['training']:.2f}"
              f"   [{r['device']}]")


if __name__ == "__main__":
    main()
