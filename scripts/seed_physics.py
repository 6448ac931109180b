"""Each trial's loss surface as a sweep with ``training.sharpness`` and ``training.noise``
measured it (configs/mnist-physics.yaml: the seed network).

    python scripts/seed_physics.py RUN_DIR

Per trial, at the initial weights and after each epoch: the sharpness against the rate's
own edge 2/lr (the preconditioned sharpness for RMSprop and Adam, whose edge it is: 2/lr
for RMSprop without momentum, 38/lr for Adam), the gradient noise scale B_simple, and how
far the weights had moved; then how the trial ended. docs/physics.md reads it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from lrlab.rundir.loading import load_runs
from lrlab.rundir.store import RunStore

ADAPTIVE_EDGE = {"rmsprop": 2.0, "adam": 38.0}  # the edge times lr, at Keras's defaults


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    frame = load_runs(args.run_dir)
    store = RunStore(args.run_dir)
    trials = frame.drop_duplicates("trial_id").sort_values(["optimizer", "learning_rate"])
    for _, trial in trials.iterrows():
        rows = store.read_curvature(trial["trial_id"])
        rate, optimizer = float(trial["learning_rate"]), str(trial["optimizer"])
        adaptive = optimizer in ADAPTIVE_EDGE
        key = "preconditioned_sharpness" if adaptive else "sharpness"
        edge = (ADAPTIVE_EDGE[optimizer] if adaptive else 2.0) / rate
        initial = rows[0]["sharpness"] if rows else math.nan
        factor = ADAPTIVE_EDGE.get(optimizer, 2.0)
        if adaptive:  # its edge is met by the preconditioned sharpness, measured as it trains
            where = f"its edge {factor:g}/lr = {edge:,.4g}"
        else:
            multiple = rate * initial / 2
            where = (f"{multiple:.3g}x the initial edge 2/λ₀ = {2 / initial:.3g}"
                     if math.isfinite(multiple) else "no initial sharpness")
        print(f"{optimizer} {rate:.3g}: {trial['status']}; {where}")
        print(f"    {'preconditioned ' if adaptive else ''}sharpness against {factor:g}/lr: "
              + " -> ".join(_shown(r[key] / edge, 2) if math.isfinite(r[key]) else "-"
                            for r in rows)
              + f"  ({' -> '.join(_shown(r[key]) for r in rows)})")
        if adaptive:
            print("    sharpness: " + " -> ".join(_shown(r["sharpness"]) for r in rows))
        print("    B_simple: " + " -> ".join(_shown(r["noise_scale"], 0) for r in rows)
              + "; moved: " + " -> ".join(_shown(r["distance"]) for r in rows))


def _shown(value: float, digits: int = 3) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}" if digits == 0 or abs(value) >= 1000 else f"{value:.{digits}g}"


if __name__ == "__main__":
    main()
