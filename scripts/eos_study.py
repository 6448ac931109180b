"""The edge of stability, from a sweep that measured its sharpness (training.sharpness).

    python scripts/eos_study.py --run RUN_DIR [--plot docs/eos.svg]

For each trial: the sharpness the run measured (curvature.csv) against the edge its rate
sets, ``2 / lr`` for gradient descent and RMSprop, and, for Adam's preconditioned
sharpness, ``(2 + 2 beta_1) / ((1 - beta_1) lr)`` (38 / lr). It prints each trial's
sharpness at its start, its largest, and its mean over the last third of the
measurements (where it "settles") as a share of the edge, with the first step at which it
came within 15% of the edge; ``--plot`` draws sharpness against step, one panel per
optimizer, the edges dashed.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from lrlab.rundir.store import RunStore

SETTLED = 0.15  # within this share of the edge: "at the edge"


def shown(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def edge_of(optimizer: str, rate: float, params: dict) -> tuple[str, float]:
    """The column the edge applies to, and the edge."""
    if optimizer == "adam":
        beta_1 = float(params.get("beta_1", 0.9))
        return "preconditioned_sharpness", (2 + 2 * beta_1) / ((1 - beta_1) * rate)
    if optimizer == "rmsprop":
        return "preconditioned_sharpness", 2 / rate
    return "sharpness", 2 / rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    store = RunStore(args.run)
    found = []
    for trial_id in store.trial_ids():
        params, result, _ = store.read_trial(trial_id)
        rows = store.read_curvature(trial_id)
        if not rows or result is None:
            continue
        optimizer, rate = params["optimizer"], float(params["learning_rate"])
        column, edge = edge_of(optimizer, rate, params)
        steps = np.array([r["epoch"] for r in rows])
        values = np.array([r[column] for r in rows])
        measured = np.isfinite(values)
        steps, values = steps[measured], values[measured]
        if not len(values):
            print(f"{optimizer} lr {rate:g}: edge {edge:.4g} ({column}); no measurement "
                  f"of it ({result.status.value} at epoch {result.epochs})")
            continue
        last = values[len(values) * 2 // 3:]
        near = np.flatnonzero(np.abs(values / edge - 1) <= SETTLED)
        found.append((optimizer, rate, column, edge, steps, values, result.status.value))
        seconds = sum(r["seconds"] for r in rows)
        products = sum(int(r["products"]) for r in rows)
        edge_name = "38/lr" if optimizer == "adam" else "2/lr"
        start = int(steps[near[0]]) if near.size else None
        print(f"{optimizer} lr {rate:g}: {column.replace('_', ' ')} {shown(values[0])} first "
              f"measured (step {int(steps[0])}), {shown(values.max())} at most,\n  "
              f"{shown(last.mean())} over the last third = {last.mean() / edge:.2f} x the "
              f"edge ({edge_name} = {shown(edge)}); within "
              f"{SETTLED:.0%} of it from step {start if start is not None else 'never'}\n"
              f"  {result.status.value}; {len(rows)} measurements, {products} "
              f"Hessian-vector products, {seconds:.0f} s")
    if args.plot is not None:
        plot(found, args.plot)


def plot(found: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    optimizers = sorted({f[0] for f in found}, key=lambda o: o != "sgd")
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5.2 * len(optimizers), 3.6))
    axes = np.atleast_1d(axes)
    for ax, optimizer in zip(axes, optimizers, strict=True):
        mine = sorted((f for f in found if f[0] == optimizer), key=lambda f: f[1])
        colours = plt.cm.viridis(np.linspace(0.1, 0.8, len(mine)))
        for (_, rate, _, edge, steps, values, _), colour in zip(mine, colours,
                                                                strict=True):
            ax.plot(steps, values, color=colour, label=f"lr {rate:g}")
            ax.axhline(edge, color=colour, linestyle="--", linewidth=1)
        label = ("preconditioned sharpness (dashed: 38 / lr)" if optimizer == "adam"
                 else "sharpness (dashed: 2 / lr)")
        ax.set(title=f"{optimizer}, full batch", xlabel="step", ylabel=label)
        top = max(max(f[5].max() for f in mine), max(f[3] for f in mine))
        ax.set_ylim(0, 1.15 * top if math.isfinite(top) else None)
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
