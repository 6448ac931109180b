"""Halving, synchronous and asynchronous (ASHA), replayed on a full grid's own epochs by
lrlab's own schedulers.

    python scripts/asha_replay.py --full RUN_DIR [--workers 1 2 8]

A promoted trial retraces its epochs bit for bit, so a halving sweep of the grid's config
can run without training: a backend that streams each trial's recorded
epochs, as ``workers`` workers would (every epoch one unit of time; the worker whose
clock is earliest reports next), feeds lrlab's own runner and scheduler (the run
directories go to a temporary folder). The order in which results arrive, which is what
decides asynchronous halving, is that of equally fast workers. For each number of
workers and each form it prints the epochs trained as a share of the grid's, the wall
clock (a synchronous rung waits for its slowest trial), each setting's best rate
and whether the grid's best is in the tied set, and the rates dropped that the grid keeps
tied with its best.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from halving_study import epochs_trained
from studies import verdicts

from lrlab.experiment.config import parse_config
from lrlab.formatting import rate
from lrlab.run.backends.base import as_work
from lrlab.run.sweep import run_sweep
from lrlab.rundir.records import TrialOutcome, TrialStatus, epoch_record
from lrlab.rundir.store import RunStore


@dataclasses.dataclass
class _Running:
    group: Any
    epoch: int  # the last epoch reported
    until: int


class ReplayBackend:
    """A backend that streams the grid run's recorded epochs (see the module)."""

    def __init__(self, grid: Path, workers: int) -> None:
        self.store = RunStore.open(grid)
        self.workers = workers
        self.elapsed = 0  # in epochs of one worker: the sweep's wall clock

    @contextlib.contextmanager
    def session(self, groups: Any, *, dataset: Any, model: Any,
                training: Any) -> Iterator[Any]:
        yield _Session(self, training.epochs)


class _Session:
    description = {"name": "replay"}
    trains_here = False

    def __init__(self, backend: ReplayBackend, epochs: int) -> None:
        self.backend, self.epochs = backend, epochs

    def run(self, events: Any, groups: Any = None) -> None:
        work = as_work(groups, [])
        slots: list[_Running | None] = [None] * self.backend.workers
        # A round starts when the last one ended (a synchronous rung is a barrier).
        now = self.backend.elapsed  # the time of the last report
        clocks = [now] * len(slots)
        while len(work) or any(slots):
            for number, held in enumerate(slots):
                if held is None and (group := work.take()) is not None:
                    (trial,) = group.recorded
                    clocks[number] = now  # idle until now
                    slots[number] = _Running(group, group.start, group.until or self.epochs)
                    events.trial_started(trial)
            number = min((n for n, s in enumerate(slots) if s is not None),
                         key=lambda n: clocks[n])
            running = slots[number]
            assert running is not None
            now = clocks[number]
            (trial,) = running.group.recorded
            _, result, rows = self.backend.store.read_trial(trial.trial_id)
            assert result is not None
            if running.epoch < min(running.until, len(rows)):
                running.epoch += 1
                clocks[number] += 1
                events.epoch_finished(trial, epoch_record(rows[running.epoch - 1]))
                continue
            paused = running.epoch < len(rows)
            events.trial_finished(trial, TrialOutcome(
                status=TrialStatus.PAUSED if paused else result.status,
                initial_loss=result.initial_loss, diverged_epoch=result.diverged_epoch,
                test=dict(result.test), stopped_epoch=result.stopped_epoch,
                dead_units=result.dead_units, baseline=dict(result.baseline),
                checkpoint=[np.zeros(1)] if paused else None))
            slots[number] = None
        self.backend.elapsed = max(clocks)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, required=True)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--reduction", type=int, default=3)
    args = parser.parse_args(argv)
    grid = args.full
    stored = yaml.safe_load((grid / "sweep.yaml").read_text())
    full = epochs_trained(grid)
    before = verdicts(grid)
    print(f"halving (min_epochs 1, reduction {args.reduction}) replayed on the epochs of "
          f"{grid.name}\n({full} epochs; the wall clock in epochs of one worker)")
    with tempfile.TemporaryDirectory() as runs:
        for workers, asynchronous in itertools.product(args.workers, (False, True)):
            stored["sweep"]["halving"] = {"min_epochs": 1, "reduction": args.reduction,
                                          "asynchronous": asynchronous}
            backend = ReplayBackend(grid, workers)
            report = run_sweep(parse_config(yaml.safe_dump(stored)),
                               runs_dir=Path(runs) / f"{workers}-{asynchronous}",
                               backend=backend)
            after = verdicts(report.run_dir)
            spent = epochs_trained(report.run_dir)
            decisions = json.loads((report.run_dir / "halving.json").read_text())["decisions"]
            early = (f"\n  {sum(not d['complete'] for d in decisions)} of {len(decisions)} "
                     f"decisions made before their rung was complete" if asynchronous else "")
            print(f"{workers} worker{'s' if workers > 1 else ''}, "
                  f"{'asynchronous' if asynchronous else 'synchronous'}: {spent} epochs "
                  f"({spent / full:.0%} of the grid's), wall clock {backend.elapsed} "
                  f"(the grid's: {math.ceil(full / workers)}){early}")
            pruned = {(row["optimizer"], row["learning_rate"]) for row in report.rows
                      if row["status"] == "pruned"}
            for label, (best, tied) in before.items():
                best_after, tied_after = after[label]
                lost = sorted(r for r in tied if (label.split(" ")[0], r) in pruned)
                print(f"  {label}: best {rate(best_after)} (grid's {rate(best)}, "
                      f"{'in' if best in tied_after else 'NOT in'} the tied set); dropped "
                      f"though tied in the grid: {', '.join(map(rate, lost)) or 'none'}")


if __name__ == "__main__":
    main()
