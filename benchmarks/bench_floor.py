"""How near the arithmetic floor lrlab trains, per model and batch size, on one thread (as
each local worker trains by default): per trial-epoch against the time the epoch's
multiply-adds would take at the float32 matrix-multiply rate measured in the same process.

The floor counts 6 FLOPs per weight use and image (2 for the forward multiply-add, 4 for
the two backward products), for dense and convolution layers alike; a convolution rarely
runs at the rate of a large square matmul, so for the convolutional network the floor is a
bound, not a target. Real MNIST, a slice of it (``--images``) to keep the run short.
Prints seconds and ratios; asserts nothing (speed is not a test).

    LRLAB_DATA_DIR=/abs/path/to/shared/data python benchmarks/bench_floor.py [--images 12000]
"""

from __future__ import annotations

import os

os.environ["TF_NUM_INTRAOP_THREADS"] = "1"  # before TensorFlow starts: one-thread trials
os.environ["TF_NUM_INTEROP_THREADS"] = "1"

import argparse  # noqa: E402 - after the thread settings
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

from lrlab.experiment.config import parse_config  # noqa: E402
from lrlab.experiment.trials import expand_trials  # noqa: E402
from lrlab.training import make_trainer  # noqa: E402
from lrlab.training._keras import import_tensorflow  # noqa: E402
from lrlab.training.data import load_dataset  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import matmul_gflops  # noqa: E402 - the same yardstick

CASES = (("dense 784-512-10", "{hidden: [512]}", 32),
         ("dense 784-512-10", "{hidden: [512]}", 256),
         ("conv (Keras's MNIST convnet)", "{kind: conv}", 128))


def multiply_adds(model) -> int:
    """Per image: a Dense layer's inputs x units, a Conv2D's output positions x kernel x
    input channels x filters; other layers are not counted (they are cheap)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            total += int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        elif kind == "Conv2D":
            height, width = layer.output.shape[1:3]
            kh, kw, channels, filters = layer.kernel.shape
            total += int(height * width * kh * kw * channels * filters)
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    tf = import_tensorflow()
    rate = matmul_gflops(tf, size=1024, runs=10)
    print(f"lrlab floor benchmark, {date.today()}, {platform.machine()}, one thread a trial, "
          f"TensorFlow {tf.__version__}; float32 matmul {rate:.1f} GFLOP/s measured now")
    print(f"{args.images:,} MNIST training images; per trial-epoch, the median of epochs 2 "
          f"to {args.epochs} (the first compiles)")
    print(f"  {'model':<30}{'batch':>6}{'lrlab':>9}{'floor':>9}{'ratio':>8}   "
          f"(ratio = floor / lrlab: 1 is the floor)")
    for label, model, batch in CASES:
        config = parse_config(f"""
data: {{dataset: mnist, validation: 0, train_limit: {args.images}, test_limit: 1000}}
model: {model}
training: {{epochs: {args.epochs}, batch_size: {batch}}}
sweep: {{optimizers: [{{name: rmsprop, learning_rates: [1e-3]}}]}}
""")
        dataset = load_dataset(config.data)
        trainer = make_trainer(dataset, model=config.model, training=config.training)
        outcome = trainer.train(expand_trials(config)[0])
        seconds = statistics.median(r.seconds for r in outcome.history[1:])
        network = trainer.engine.network.model
        floor = 6 * multiply_adds(network) * len(dataset.y_train) / 1e9 / rate
        print(f"  {label:<30}{batch:>6}{seconds:>8.2f}s{floor:>8.2f}s{floor / seconds:>8.2f}")


if __name__ == "__main__":
    main()
