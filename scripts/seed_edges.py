"""The seed network's stability edge at its initial weights, per seed.

    python scripts/seed_edges.py [--config configs/mnist.yaml] [--seeds 0 1 2] [--rows 2048]

For each seed: the sharpness λ₀ of the training loss at the seed's initial weights (the
first ``rows`` training rows, inference mode, as ``training.sharpness`` measures it), its
edge ``2 / λ₀`` (the largest rate plain gradient descent is stable at on that curvature),
and the products and seconds the measurement took. docs/physics.md sets it beside the
rates at which the seed sweep failed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lrlab.experiment.config import load_config
from lrlab.experiment.trials import expand_trials
from lrlab.training import build_engine
from lrlab.training.curvature import MAX_PRODUCTS, sharpness_of
from lrlab.training.data import load_dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("configs/mnist.yaml"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", type=int, default=2048)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    dataset = load_dataset(config.data, objective=config.objective)
    engine = build_engine(dataset, model=config.model, training=config.training)
    trial = expand_trials(config)[0]
    size = engine.parameter_count()
    print(f"{args.config}: {size:,} parameters, the Hessian on the first {args.rows:,} "
          f"training rows")
    found = []
    for seed in args.seeds:
        engine.start_stack(trial.setting, seed=seed, learning_rates=[trial.learning_rate])
        started = time.perf_counter()
        sharpness = sharpness_of(engine, 0, rows=args.rows, seed=seed,
                                 max_products=MAX_PRODUCTS)
        found.append(sharpness.value)
        print(f"  seed {seed}: λ₀ {sharpness.value:.4g}, edge 2/λ₀ = {sharpness.edge:.4g} "
              f"({sharpness.products} products, {time.perf_counter() - started:.1f} s)")
    values = np.array(found)
    print(f"  median λ₀ {np.median(values):.4g}: edge {2 / np.median(values):.4g}")


if __name__ == "__main__":
    main()
