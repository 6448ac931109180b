"""Training speed: lrlab's compiled loop against the classic Keras `model.fit` loop.

One process run, same trials, real MNIST (all 60,000 training images, batch 32):
  1. the classic loop: per trial, build the model, compile, `model.fit(..., batch_size=32)`;
  2. lrlab: one Trainer for the sweep, `Trainer.train` per trial;
  3. the arithmetic floor: FLOPs of an epoch (forward and backward) at the float32
     matrix-multiply rate measured here and now;
  4. memory over a 50-trial sweep (on a 5,000-image slice, to keep it short).
Prints seconds and ratios; asserts nothing (speed is not a test).

    LRLAB_DATA_DIR=../shared/data python benchmarks/bench_train.py [--epochs 2]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time
from datetime import date
from pathlib import Path

from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import Trial
from lrlab.training import make_trainer
from lrlab.training._keras import import_keras, import_tensorflow
from lrlab.training.data import load_dataset
from lrlab.training.model import build_network, build_optimizer

TRIALS = [Trial("rmsprop", 1e-3, 0, {}), Trial("rmsprop", 1e-2, 0, {}), Trial("sgd", 0.1, 0, {})]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def classic(dataset, config, trial: Trial, epochs: int) -> list[float]:
    """Epoch seconds of the classic example's loop for one trial."""
    keras = import_keras()

    class Clock(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            self.seconds.append(time.perf_counter() - self.start)

    network = build_network(config.model, input_shape=dataset.input_shape,
                            classes=dataset.classes)
    model = network.model
    model.set_weights(network.initial.values(trial.seed, model.weights))
    model.compile(optimizer=build_optimizer(trial.optimizer, learning_rate=trial.learning_rate,
                                            hyperparameters=trial.hyperparameters),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = Clock()
    model.fit(dataset.x_train, dataset.y_train, batch_size=32, epochs=epochs, verbose=0,
              callbacks=[clock])
    model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    return clock.seconds


def matmul_gflops(tf, *, size: int = 2048, runs: int = 20) -> float:
    """The float32 matrix-multiply rate of this process, in GFLOP/s: the floor's yardstick."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    step = tf.function(lambda a, b: tf.matmul(a, b))
    step(a, b).numpy()
    start = time.perf_counter()
    for _ in range(runs):
        c = step(a, b)
    c.numpy()
    return 2 * size**3 * runs / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    tf = import_tensorflow()
    config = parse_config(f"""
data: {{dataset: mnist, validation: 0}}
training: {{epochs: {args.epochs}, batch_size: 32}}
sweep: {{optimizers: [{{name: rmsprop, learning_rates: [1e-3]}}]}}
""")
    dataset = load_dataset(config.data)
    n = len(dataset.y_train)

    classic_epochs = [s for t in TRIALS for s in classic(dataset, config, t, args.epochs)]

    trainer = make_trainer(dataset, model=config.model, training=config.training)
    ours_epochs, overheads, first = [], [], True
    for trial in TRIALS:
        start = time.perf_counter()
        outcome = trainer.train(trial)
        wall = time.perf_counter() - start
        epochs = [r.seconds for r in outcome.history]
        if not first:  # the first trial pays for compilation; report it separately
            ours_epochs += epochs
            overheads.append(wall - sum(epochs))
        else:
            first_wall = wall
            first = False

    flops = 6 * n * sum(a * b for a, b in zip([784, *config.model.hidden],
                                                [*config.model.hidden, 10], strict=True))
    rate = matmul_gflops(tf)
    floor = flops / 1e9 / rate

    # Memory: a 50-trial sweep on a slice; RSS after trial 5 and after trial 50.
    small = parse_config("""
data: {dataset: mnist, validation: 0, train_limit: 5000, test_limit: 1000}
training: {epochs: 1}
sweep: {optimizers: [{name: rmsprop, learning_rates: [1e-3]}]}
""")
    small_trainer = make_trainer(load_dataset(small.data), model=small.model,
                                 training=small.training)
    rss = {}
    for i in range(1, 51):
        optimizer = ("rmsprop", "sgd")[i % 2]
        small_trainer.train(Trial(optimizer, 10 ** (-4 + (i % 10) * 0.3), i % 3, {}))
        if i in (5, 50):
            rss[i] = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    classic_median = statistics.median(classic_epochs)
    ours_median = statistics.median(ours_epochs)
    print(f"lrlab training benchmark, {date.today()}, {platform.processor() or platform.machine()}"
          f", TensorFlow {tf.__version__}, Keras {import_keras().__version__}")
    print(f"{n} training images, batch 32, {len(TRIALS)} trials x {args.epochs} epochs, "
          f"network 784-{'-'.join(map(str, config.model.hidden))}-10")
    print(f"{'':<46}{'seconds':>10}{'ratio':>9}")
    print(f"{'classic model.fit, per trial-epoch (median)':<46}{classic_median:>10.3f}{1.0:>9.2f}")
    print(f"{'lrlab, per trial-epoch (median, steady state)':<46}{ours_median:>10.3f}"
          f"{classic_median / ours_median:>9.2f}")
    print(f"{'arithmetic floor per epoch':<46}{floor:>10.3f}{classic_median / floor:>9.2f}")
    print(f"lrlab / floor: {ours_median / floor:.2f}x  ({flops / 1e9:.0f} GFLOP per epoch at "
          f"{rate:.0f} GFLOP/s float32 matmul, measured now)")
    print(f"lrlab first trial (includes compiling): {first_wall:.2f} s; per-trial overhead "
          f"after that: {statistics.mean(overheads):.3f} s (max {max(overheads):.3f})")
    print(f"memory over a 50-trial sweep: RSS {rss[5]:.0f} MB after trial 5, {rss[50]:.0f} MB "
          f"after trial 50 (+{rss[50] - rss[5]:.0f} MB); peak RSS of this run {peak:.0f} MB")


if __name__ == "__main__":
    main()
