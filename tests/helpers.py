"""Helpers that tests call directly (fixtures live in conftest.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def one_line_error(result, *fragments: str) -> None:
    """A CLI result that failed as a user error should: exit 2, one line naming
    ``fragments``, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output



# A hand-made sweep for the comparison tests: validation accuracy per epoch for each
# (optimizer, learning rate, seed); None marks a failed trial. A trial that diverged has
# fewer epochs; its status says so.
FIXTURE_TRIALS = {
    ("sgd", 0.01, 0): ([0.80, 0.85, 0.88], "completed"),
    ("sgd", 0.01, 1): ([0.82, 0.86, 0.90], "completed"),
    ("sgd", 0.1, 0): ([0.90, 0.95, 0.94], "completed"),
    ("sgd", 0.1, 1): ([0.91, 0.93, 0.96], "completed"),
    ("sgd", 1.0, 0): ([0.50, 0.60, 0.70], "completed"),
    ("sgd", 1.0, 1): ([0.40, 0.10], "diverged"),
    ("rmsprop", 0.001, 0): ([0.95, 0.96, 0.97], "completed"),
    ("rmsprop", 0.001, 1): ([0.94, 0.97, 0.96], "completed"),
    ("rmsprop", 1.0, 0): ([0.20], "diverged"),
    ("rmsprop", 1.0, 1): ([], "failed"),
}


def write_fixture_sweep(runs: Path, name: str = "fixture", *,
                        trials: dict | None = None, config: dict | None = None,
                        trial_ids: dict | None = None) -> Path:
    """Write ``trials`` (default FIXTURE_TRIALS: ``(optimizer, lr, seed) -> (validation
    accuracies per epoch, status)``) as a run directory through the real store; return its
    root. ``config`` is what sweep.yaml holds; ``trial_ids`` maps keys to the ids to use
    (a real sweep's); a status of "running" writes params.json and history only."""
    from datetime import datetime

    from lrlab.experiment.config import ExperimentConfig
    from lrlab.experiment.trials import expand_trials
    from lrlab.rundir.records import EpochRecord, TrialResult, TrialStatus
    from lrlab.rundir.store import RunStore

    store = RunStore.create(runs, name, now=datetime(2026, 1, 1))
    store.write_config(config or {"name": name})
    # A real sweep's trials record what its config says of them; the others, the bare
    # parameters of a run directory from before trials recorded their experiment.
    real = ({t.trial_id: t.params() for t in expand_trials(
        ExperimentConfig.model_validate(config))} if config and "sweep" in config else {})
    for key, (accuracies, status) in (trials or FIXTURE_TRIALS).items():
        optimizer, lr, seed = key
        trial_id = (trial_ids or {}).get(key, f"{optimizer}-lr{lr:.2e}-s{seed}-fixture")
        store.write_params(trial_id, real.get(trial_id, {
            "optimizer": optimizer, "learning_rate": lr, "seed": seed}))
        store.write_history(trial_id, [
            EpochRecord.of(epoch=e, lr=lr, loss=1 - a, accuracy=a + 0.01, val_loss=1.1 - a,
                        val_accuracy=a, seconds=0.5) for e, a in enumerate(accuracies, start=1)])
        if status == "running":
            continue
        last = accuracies[-1] if accuracies else math.nan
        store.write_result(TrialResult(
            trial_id=trial_id, status=TrialStatus(status), epochs=len(accuracies),
            diverged_epoch=len(accuracies) if status == "diverged" else None,
            initial_loss=2.3, test={"loss": 1 - last, "accuracy": last},
            seconds=1.5 * len(accuracies)))
    return store.root


def run_fresh(code: str, **env: str) -> object:
    """Run ``code`` in a fresh Python process (Keras picks its backend once per process, and
    this one may hold Keras on TensorFlow already) and return the JSON it prints last."""
    import json
    import os
    import subprocess
    import sys
    import textwrap

    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], text=True,
                            capture_output=True, env={**os.environ, **env}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# A fresh process's engine for a config (Keras picks its backend once a process): the
# names ``engine``, ``trials`` (the config's, in order), ``np`` and ``json`` are there for
# the body, which prints its JSON last.
ENGINE_PRELUDE = """
import json
import numpy as np
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.training import build_engine
from lrlab.training.data import load_dataset

config = parse_config({config!r})
dataset = load_dataset(config.data, objective=config.objective)
engine = build_engine(dataset, model=config.model, training=config.training)
trials = expand_trials(config)
"""


def on_fresh_engine(config_text: str, body: str) -> object:
    """Run ``body`` after :data:`ENGINE_PRELUDE` for ``config_text``, in a fresh process."""
    import textwrap

    return run_fresh(ENGINE_PRELUDE.format(config=config_text) + textwrap.dedent(body))


# A five-seed sweep written by hand, for the statistics: its numbers are known.
SEEDS = range(5)
BASE = np.array([0.960, 0.965, 0.958, 0.962, 0.963])
SQRT_TENTH = 0.31622776601683794  # how a log-spaced grid writes 0.316
# sgd: 0.316 is best by a hair over 0.1 (noise), 0.0316 and 0.01 clearly worse, 3.16 stays
# at chance, 10 diverges on one seed. rmsprop: 0.001 beats every sgd rate, 0.01 worse.
SGD = {
    0.01: BASE - 0.06,
    0.0316: BASE - np.array([0.020, 0.021, 0.019, 0.022, 0.020]),
    0.1: BASE,
    SQRT_TENTH: BASE + np.array([0.002, -0.001, 0.003, 0.0, 0.001]),
    3.16: np.array([0.11, 0.12, 0.10, 0.11, 0.115]),
    10.0: np.array([0.50, 0.45, 0.30, 0.52, 0.48]),
}
RMSPROP = {0.001: BASE + 0.01, 0.01: BASE - 0.03}


def five_seed_trials() -> dict:
    trials = {}
    for optimizer, rates in (("sgd", SGD), ("rmsprop", RMSPROP)):
        for lr, values in rates.items():
            for seed in SEEDS:
                status = "diverged" if (lr, seed) == (10.0, 2) else "completed"
                trials[(optimizer, lr, seed)] = ([float(values[seed])], status)
    return trials


class ArithmeticBackend:
    """A backend that trains nothing: each trial's epochs are arithmetic on its rate, in
    microseconds. For tests of the runner's bookkeeping (resume, damage, full disks), where
    real training would only add minutes. ``accuracy`` (of a trial) replaces the default
    peak at rate 0.1; ``sessions`` records each session's batch size."""

    def __init__(self, *, stop_after: int | None = None, accuracy=None) -> None:
        self.trained: list[str] = []
        self.epochs = 0  # epochs trained, over every trial
        self.stop_after = stop_after  # return after this many trials, as a Ctrl-C between
                                      # two trials does
        self.accuracy = accuracy or (
            lambda trial: 1 / (1 + abs(math.log10(trial.learning_rate) + 1)))
        self.sessions: list[int] = []

    def session(self, groups, *, dataset, model, training):
        import contextlib

        backend = self
        self.sessions.append(training.batch_size)

        class Session:
            description = {"name": "arithmetic"}
            trains_here = False  # so that no TensorFlow is imported to describe the devices

            def run(self, events, rounds=None) -> None:
                from lrlab.run.backends.base import as_work
                from lrlab.rundir.records import EpochRecord, TrialOutcome, TrialStatus

                work = as_work(rounds, groups)
                while (group := work.take()) is not None:
                    last = min(group.until or training.epochs, training.epochs)
                    for trial in group.recorded:
                        if len(backend.trained) == backend.stop_after:
                            return
                        backend.trained.append(trial.trial_id)
                        backend.epochs += last
                        events.trial_started(trial)
                        accuracy = backend.accuracy(trial)
                        for epoch in range(1, last + 1):
                            events.epoch_finished(trial, EpochRecord.of(
                                epoch=epoch, lr=trial.learning_rate, loss=1 - accuracy,
                                accuracy=accuracy, val_loss=1 - accuracy,
                                val_accuracy=accuracy * epoch / training.epochs, seconds=0.001))
                        events.trial_finished(trial, TrialOutcome(
                            status=TrialStatus.COMPLETED if last == training.epochs
                            else TrialStatus.PAUSED, initial_loss=2.3,
                            test={"loss": 0.5, "accuracy": accuracy}, seconds=0.002))

        return contextlib.nullcontext(Session())


def fill_disk(folder: Path, *, leave: int = 0) -> Path:
    """Fill ``folder``'s filesystem until ``leave`` bytes are free; return the filler."""
    import os

    filler = folder / "filler"
    with filler.open("wb") as handle:
        chunk = b"\0" * 4096
        try:
            while os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize > leave:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    return filler


def in_bounded_process(code: str, *, seconds: float = 60, memory_gb: float = 4) -> str:
    """Run ``code`` in a fresh Python with a time and memory bound, for what used to hang
    or exhaust memory: a test of it must fail, not hang. Returns its stdout."""
    import resource
    import subprocess
    import sys
    import textwrap

    def limit() -> None:
        size = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    try:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], text=True,
                                capture_output=True, timeout=seconds, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after {seconds} s") from None
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class Deadline:
    """``with Deadline(10):`` fails the test (instead of hanging it) when the block blocks
    longer: SIGALRM interrupts even a blocked ``open()`` of a FIFO. Main thread only."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        import signal

        def expire(signum, frame):
            raise AssertionError(f"blocked for more than {self.seconds} s")

        self._previous = signal.signal(signal.SIGALRM, expire)
        signal.alarm(self.seconds)

    def __exit__(self, *exc: object) -> None:
        import signal

        signal.alarm(0)
        signal.signal(signal.SIGALRM, self._previous)
