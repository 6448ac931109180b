"""An adaptive sweep's rounds in one backend session against a session a round (as lrlab
did before), in one run of this script, alternately.

  before: every round a new backend session: its worker processes start (each importing
          TensorFlow), the data loads and the network is checked again;
  now:    the rounds share the session, its workers and compiled steps, and the data.

The sweep is small on purpose (a slice of MNIST, short trials), so that what a round
costs beyond its training shows. Prints seconds per round and the ratio; asserts nothing
(speed is not a test).

    LRLAB_DATA_DIR=/abs/path/to/shared/data python benchmarks/bench_rounds.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time
from unittest import mock

import lrlab.run.settle as settle
from lrlab.experiment.config import parse_config
from lrlab.run.backends import LocalBackend

CONFIG = """
name: rounds
data: {dataset: mnist, train_limit: 2000, validation: 1000, test_limit: 1000}
training: {epochs: 2, batch_size: 64}
sweep:
  seeds: [0, 1]
  optimizers:
    - {name: sgd, learning_rates: [0.01, 0.1, 1.0]}
"""


class Counting(LocalBackend):
    """The local backend, counting the sessions it starts (each starts its workers)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = 0

    def session(self, groups, **kwargs):  # type: ignore[no-untyped-def]
        self.started += 1
        return super().session(groups, **kwargs)


def settle_seconds(kept: bool) -> tuple[float, int, int]:
    """Seconds, rounds and backend sessions of one adaptive sweep. Before: every round's
    sweep without the run's sessions, so that it starts its own, as lrlab did."""
    real = settle.run_sweep

    def alone(*args, sessions=None, **kwargs):  # type: ignore[no-untyped-def]
        return real(*args, **kwargs)

    backend = Counting()
    with tempfile.TemporaryDirectory() as runs:
        started = time.perf_counter()
        with contextlib.ExitStack() as patched:
            if not kept:
                patched.enter_context(mock.patch.object(settle, "run_sweep", alone))
            report = settle.run_settle(parse_config(CONFIG), runs_dir=runs, backend=backend,
                                       argv=["bench"])
        elapsed = time.perf_counter() - started
        record = json.loads((report.run_dir / "settle.json").read_text())
        rounds = sum(1 for r in record["rounds"] if r["added"])  # each one more sweep
    return elapsed, rounds, backend.started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    ways = {"before: a session a round": False, "now: one session": True}
    found: dict[str, list[tuple[float, int, int]]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, kept in ways.items():  # alternating, so that drift hits both alike
            found[name].append(settle_seconds(kept))
    print(f"an adaptive sweep on {os.cpu_count()} CPUs (MNIST slice, 3 rates x 2 seeds to "
          f"start), best of {args.repeats}:")
    best = {name: min(runs) for name, runs in found.items()}
    for name, (seconds, rounds, sessions) in best.items():
        print(f"  {name:28s} {seconds:7.1f} s  the grid and {rounds} rounds, "
              f"{sessions} backend sessions")
    (before, rounds, _), (now, _, _) = best[next(iter(ways))], best[list(ways)[1]]
    print(f"  saved: {before - now:.1f} s, {(before - now) / max(1, rounds):.1f} s a round; "
          f"ratio {before / now:.2f}x")


if __name__ == "__main__":
    main()
