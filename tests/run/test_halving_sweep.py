"""The halving sweep over an ordinary run directory, on arithmetic trials with seed noise:
its rungs, what halving.json records, what compare makes of the pruned, and kills and
resumes at every moment giving the uninterrupted run's files."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import ArithmeticBackend

from lrlab.experiment.config import parse_config
from lrlab.present.render import verdict_text
from lrlab.run.backends import LocalBackend
from lrlab.run.settle import run_settle
from lrlab.run.sweep import SweepObserver, run_sweep
from lrlab.rundir.store import HALVING_FILE


def noisy(trial) -> float:
    """Accuracy peaking at rate 0.1, falling by 0.05 a decade; every seed shifts every
    rate alike (by 0.004) and each trial by its own 0.001."""
    distance = abs(math.log10(trial.learning_rate / 0.1))
    shared = np.random.default_rng([trial.seed, 7]).normal(0, 0.004)
    own = np.random.default_rng([trial.seed, round(1e6 * trial.learning_rate)]
                                ).normal(0, 0.001)
    return float(0.95 - 0.05 * distance + shared + own)


RATES = [0.0001, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0]


def config(seeds=(0, 1, 2), halving: str = "{min_epochs: 1, reduction: 3}"):
    return parse_config(f"""
name: halving
data: {{dataset: synthetic, train_limit: 200, validation: 100, test_limit: 100}}
training: {{epochs: 9}}
sweep:
  seeds: {list(seeds)}
  optimizers: [{{name: sgd, learning_rates: {RATES}}}]
  halving: {halving}
""")


def files(run_dir: Path) -> dict[str, object]:
    """What a run leaves, but for times: each trial's status and history, and the
    rungs' decisions."""
    found: dict[str, object] = {}
    for trial in sorted((run_dir / "trials").iterdir()):
        result = json.loads((trial / "result.json").read_text())
        history = (trial / "history.csv").read_text().splitlines()
        found[trial.name] = (result["status"], result["epochs"],
                             [",".join(line.split(",")[:-1]) for line in history])
    record = json.loads((run_dir / HALVING_FILE).read_text())
    found["decisions"] = [{k: v for k, v in d.items() if k != "at"}
                          for d in record["decisions"]]
    return found


def test_halving_trains_a_fraction_of_the_grid_and_compare_never_ranks_a_dropped_rate(
        tmp_path: Path) -> None:
    backend = ArithmeticBackend(accuracy=noisy)
    report = run_sweep(config(), runs_dir=tmp_path, backend=backend)
    grid = len(RATES) * 3 * 9
    assert backend.epochs < 0.5 * grid
    statuses = {row["trial_id"]: row["status"] for row in report.rows}
    assert set(statuses.values()) == {"completed", "pruned"}
    record = json.loads((report.run_dir / HALVING_FILE).read_text())
    assert record["rule"] == {"min_epochs": 1, "reduction": 3, "alpha": 0.05,
                              "asynchronous": False, "rungs": [1, 3]}
    first = record["decisions"][0]
    assert (first["rung"], first["epoch"], first["by"], first["seeds"]) == (1, 1, "paired", 3)
    dropped = {d["learning_rate"] for d in first["dropped"]}
    assert 0.0001 in dropped and 10.0 in dropped and 0.1 not in dropped
    # A pruned trial keeps the epochs it trained: its rung's.
    for row in report.rows:
        if row["status"] == "pruned":
            assert row["epochs"] in (1, 3)
    verdict = report.comparison.verdicts[0]
    assert verdict.best_learning_rate == 0.1
    pruned = {rate for rate, _ in verdict.pruned}
    assert not pruned & set(verdict.tied) and 0.1 not in pruned
    assert {rate for rate, epoch in verdict.pruned if epoch == 1} == dropped
    assert "Dropped by halving: " in verdict_text(verdict)
    assert not report.comparison.provisional  # pruned trials are settled


def test_with_one_seed_rungs_drop_by_rank(tmp_path: Path) -> None:
    report = run_sweep(config(seeds=(0,)), runs_dir=tmp_path,
                       backend=ArithmeticBackend(accuracy=noisy))
    record = json.loads((report.run_dir / HALVING_FILE).read_text())
    assert [d["by"] for d in record["decisions"]] == ["rank", "rank"]
    # 8 rates, a third kept (3), then a third of those (1).
    assert [len(d["dropped"]) for d in record["decisions"]] == [5, 2]
    assert sum(row["status"] == "completed" for row in report.rows) == 1


@pytest.mark.parametrize("stop_after", [3, 24, 25, 27, 29])
def test_a_stop_at_any_trial_resumes_to_the_uninterrupted_run(tmp_path: Path,
                                                             stop_after: int) -> None:
    whole = run_sweep(config(), runs_dir=tmp_path / "whole",
                      backend=ArithmeticBackend(accuracy=noisy))
    stopped = run_sweep(config(), runs_dir=tmp_path / "stopped",
                        backend=ArithmeticBackend(accuracy=noisy, stop_after=stop_after))
    assert stopped.interrupted
    again = ArithmeticBackend(accuracy=noisy)
    resumed = run_sweep(config(), resume=stopped.run_dir, backend=again)
    assert not resumed.interrupted
    assert files(resumed.run_dir) == files(whole.run_dir)
    assert (resumed.comparison.verdicts[0].pruned == whole.comparison.verdicts[0].pruned)


def test_a_decision_recorded_before_a_kill_is_applied_not_made_again(tmp_path: Path) -> None:
    # A kill between halving.json and the pruned results: the trials still read paused.
    whole = run_sweep(config(), runs_dir=tmp_path, backend=ArithmeticBackend(accuracy=noisy))
    record = json.loads((whole.run_dir / HALVING_FILE).read_text())
    pruned = [t for t in (whole.run_dir / "trials").iterdir()
              if json.loads((t / "result.json").read_text())["status"] == "pruned"]
    for trial in pruned:
        result = json.loads((trial / "result.json").read_text())
        (trial / "result.json").write_text(json.dumps({**result, "status": "paused"}))
    again = ArithmeticBackend(accuracy=noisy)
    resumed = run_sweep(config(), resume=whole.run_dir, backend=again)
    assert again.trained == []  # nothing trains: every decision was on record
    assert json.loads((whole.run_dir / HALVING_FILE).read_text()) == record
    assert {row["status"] for row in resumed.rows} == {"completed", "pruned"}


@pytest.mark.parametrize("form", ["", ", asynchronous: true"])
def test_with_until_settled_rounds_add_seeds_only_to_the_rates_halving_kept(
        tmp_path: Path, form: str) -> None:
    backend = ArithmeticBackend(accuracy=noisy)
    report = run_settle(config(seeds=(0, 1), halving=f"{{min_epochs: 1, reduction: 3{form}}}"),
                        runs_dir=tmp_path, backend=backend)
    assert report.state == "done"
    rows = report.last.rows
    pruned = {row["learning_rate"] for row in rows if row["status"] == "pruned"}
    seeds = {row["learning_rate"]: set() for row in rows}
    for row in rows:
        seeds[row["learning_rate"]].add(row["seed"])
    assert all(seeds[rate] == {0, 1} for rate in pruned)  # no seed added to a dropped rate
    verdict = report.last.comparison.verdicts[0]
    assert verdict.best_learning_rate == 0.1 and not pruned & set(verdict.tied)


def test_a_sweep_stopped_between_rungs_reads_as_unfinished(tmp_path: Path) -> None:
    # 24 trials to epoch 1, 3 kept to epoch 3, and stopped after the first of the last
    # rung: one trial completed, two paused at epoch 3, the rest dropped at epoch 1.
    stopped = run_sweep(config(), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=noisy, stop_after=28))
    statuses = [row["status"] for row in stopped.rows]
    assert (statuses.count("completed"), statuses.count("paused"),
            statuses.count("pruned")) == (1, 2, 21)
    (progress,) = stopped.comparison.progress
    assert (progress.finished, progress.paused, progress.pruned, progress.not_started) == (
        1, 2, 21, 0)
    assert progress.unfinished and stopped.comparison.provisional


REAL = """
name: real-halving
data: {dataset: synthetic, train_limit: 300, validation: 100, test_limit: 100}
model: {hidden: [16]}
training: {epochs: 4, batch_size: 32}
sweep:
  seeds: [0, 1, 2]
  optimizers: [{name: sgd, learning_rates: [0.001, 0.1, 1.0]}]
"""


class CountingBackend(LocalBackend):
    """The local backend, counting the sessions (worker pools) it opens."""

    sessions = 0

    def session(self, groups, **kwargs):
        CountingBackend.sessions += 1
        return super().session(groups, **kwargs)


def histories(run_dir: Path) -> dict[str, list[list[str]]]:
    """Each trial's history.csv rows, but for their seconds."""
    return {t.name: [line.split(",")[:-1] for line in
                     (t / "history.csv").read_text().splitlines()]
            for t in (run_dir / "trials").iterdir()}


def check_retraced(grid: Path, halving: Path) -> None:
    """Every trial halving trained is the grid's, epoch for epoch, as far as it went."""
    full = histories(grid)
    for trial_id, rows in histories(halving).items():
        assert rows == full[trial_id][:len(rows)], trial_id


class FirstRoundOnly(LocalBackend):
    """The local backend, stopping as a second round begins (as a Ctrl-C there would)."""

    @contextlib.contextmanager
    def session(self, groups, **kwargs):
        with super().session(groups, **kwargs) as session:
            rounds = []

            class Once:
                description, trains_here = session.description, session.trains_here

                def run(self, events, groups=None) -> None:
                    rounds.append(groups)
                    if len(rounds) == 1:
                        session.run(events, groups)

            yield Once()


class Epochs(SweepObserver):
    """Counts the epochs trained."""

    def __init__(self) -> None:
        self.trained = 0

    def epoch_finished(self, trial, record) -> None:
        self.trained += 1


@pytest.mark.parametrize("form", ["", ", asynchronous: true"])
def test_a_promoted_trial_goes_on_from_its_checkpoint_as_if_never_paused(
        tmp_path: Path, form: str) -> None:
    grid = run_sweep(parse_config(REAL), runs_dir=tmp_path, backend=LocalBackend(workers=1))
    epochs = Epochs()
    halving = run_sweep(parse_config(REAL + f"  halving: {{min_epochs: 1, reduction: 2{form}}}\n"),
                        runs_dir=tmp_path, backend=LocalBackend(workers=1), observer=epochs)
    check_retraced(grid.run_dir, halving.run_dir)
    assert any(row["status"] == "pruned" for row in halving.rows)
    # Every epoch trained once: none retraced. No checkpoint is left behind.
    assert epochs.trained == sum(len(rows) - 1 for rows in histories(halving.run_dir).values())
    assert not list(halving.run_dir.glob("trials/*/checkpoint.npz"))


def test_without_its_checkpoint_a_paused_trial_retraces_its_epochs(tmp_path: Path) -> None:
    grid = run_sweep(parse_config(REAL), runs_dir=tmp_path, backend=LocalBackend(workers=1))
    halving = parse_config(REAL + "  halving: {min_epochs: 1, reduction: 2}\n")
    # The first rung, then a stop: paused trials with their checkpoints; two are lost.
    first = run_sweep(halving, runs_dir=tmp_path, backend=FirstRoundOnly(workers=1))
    assert first.interrupted
    checkpoints = sorted(first.run_dir.glob("trials/*/checkpoint.npz"))
    assert checkpoints
    checkpoints[0].unlink()
    checkpoints[1].write_bytes(b"damaged")
    resumed = run_sweep(halving, resume=first.run_dir, backend=LocalBackend(workers=1))
    assert not resumed.interrupted
    check_retraced(grid.run_dir, resumed.run_dir)


@pytest.mark.slow
def test_worker_processes_start_once_for_every_rung(tmp_path: Path) -> None:
    # Both in worker processes, each with one pinned thread (this process may have started
    # TensorFlow on more threads, and would sum in another order).
    grid = run_sweep(parse_config(REAL), runs_dir=tmp_path, backend=LocalBackend(workers=2))
    for form in ("", ", asynchronous: true"):
        CountingBackend.sessions = 0
        halving = run_sweep(parse_config(
            REAL + f"  halving: {{min_epochs: 1, reduction: 2{form}}}\n"),
            runs_dir=tmp_path, backend=CountingBackend(workers=2))
        record = json.loads((halving.run_dir / HALVING_FILE).read_text())
        assert CountingBackend.sessions == 1
        # Synchronous: one decision a rung; asynchronous: one a rate and rung, the
        # promotions handed to whichever worker is free while the others train.
        rung_1 = [d.get("learning_rate") for d in record["decisions"] if d["rung"] == 1]
        assert (sorted(rung_1) == [0.001, 0.1, 1.0]) if form else (len(record["decisions"]) == 2)
        assert {row["status"] for row in halving.rows} <= {"completed", "pruned"}
        check_retraced(grid.run_dir, halving.run_dir)


KILLED = """
name: killed
data: {dataset: synthetic, train_limit: 3000, validation: 200, test_limit: 200}
model: {hidden: [64]}
training: {epochs: 6, batch_size: 32}
sweep:
  seeds: [0, 1, 2]
  optimizers: [{name: sgd, learning_rates: [0.001, 0.01, 0.1, 1.0]}]
  halving: {min_epochs: 1, reduction: 2}
"""


def lrlab(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrlab", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def killed_at(command: list[str], runs: Path, moment) -> None:
    """Run ``lrlab COMMAND`` and SIGKILL it once ``moment(run_dir)`` holds (or it ends)."""
    process = lrlab(*command)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        found = list(runs.glob("*/trials"))
        if found and moment(found[0].parent):
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_kill_9_at_any_moment_resumes_to_the_uninterrupted_run(tmp_path: Path) -> None:
    # Killed in the first rung, between a decision and its pruned trials, and while a
    # promoted trial goes on; resumed after each.
    # One worker in each process: starting worker processes would be most of the time
    # (a kill -9 of a driver with workers is tests/run/test_run_safety.py's). Each run in
    # a fresh lrlab process, whose one trial thread is pinned as the others' (this test
    # process may have started TensorFlow on more threads, and sum in another order).
    config = tmp_path / "killed.yaml"
    config.write_text(KILLED)
    whole = lrlab("sweep", str(config), "--runs-dir", str(tmp_path / "whole"), "--workers", "1")
    assert whole.wait() == 0, whole.stderr.read()
    (whole_dir,) = (tmp_path / "whole").iterdir()
    runs = tmp_path / "killed"
    killed_at(["sweep", str(config), "--runs-dir", str(runs), "--workers", "1"], runs,
              lambda run: len(list(run.glob("trials/*/checkpoint.npz"))) >= 4)
    (run_dir,) = runs.iterdir()
    for moment in (lambda run: (run / HALVING_FILE).exists(),
                   lambda run: any("pruned" in p.read_text()
                                   for p in run.glob("trials/*/result.json"))):
        killed_at(["sweep", str(config), "--resume", str(run_dir), "--workers", "1"], runs,
                  moment)
    completed = [p for p in run_dir.glob("trials/*/result.json")
                 if json.loads(p.read_text())["status"] == "completed"]
    assert len(completed) < 3, "killed too late to test anything"
    resumed = lrlab("sweep", str(config), "--resume", str(run_dir), "--workers", "1")
    assert resumed.wait() == 0, resumed.stderr.read()
    assert files(run_dir) == files(whole_dir)
    assert not list(run_dir.glob("trials/*/checkpoint.npz"))


def asynchronous(seeds=(0, 1, 2)):
    return config(seeds, halving="{min_epochs: 1, reduction: 3, asynchronous: true}")


def test_asynchronous_halving_judges_each_rate_as_it_comes(tmp_path: Path) -> None:
    backend = ArithmeticBackend(accuracy=noisy)
    report = run_sweep(asynchronous(), runs_dir=tmp_path, backend=backend)
    record = json.loads((report.run_dir / HALVING_FILE).read_text())
    assert record["rule"]["asynchronous"] is True
    decisions = record["decisions"]
    # One decision per rate and rung, each against the rates that came before it.
    assert all(len(d["dropped"]) <= 1 for d in decisions)
    first = [d for d in decisions if d["rung"] == 1]
    assert sorted(d["learning_rate"] for d in first) == RATES
    # Nothing is promoted before `reduction` rates reached the rung (ASHA); a rate is
    # dropped on paired evidence as soon as it meets a better one.
    promoted = [d for d in first if not d["dropped"]]
    assert len(promoted[0]["racing"]) >= 3
    assert len(first[0]["racing"]) == 2 and first[0]["dropped"]
    dropped = {d["learning_rate"] for d in decisions if d["dropped"]}
    assert {0.0001, 10.0} <= dropped and 0.1 not in dropped
    assert all(d["dropped"][0]["by"] == "paired" for d in decisions if d["dropped"])
    grid = len(RATES) * 3 * 9
    assert backend.epochs < 0.6 * grid
    verdict = report.comparison.verdicts[0]
    assert verdict.best_learning_rate == 0.1
    assert not {rate for rate, _ in verdict.pruned} & set(verdict.tied)
    assert {row["status"] for row in report.rows} == {"completed", "pruned"}


def test_asynchronous_halving_with_one_seed_drops_by_rank_only_once_a_rung_is_complete(
        tmp_path: Path) -> None:
    report = run_sweep(asynchronous(seeds=(0,)), runs_dir=tmp_path,
                       backend=ArithmeticBackend(accuracy=noisy))
    record = json.loads((report.run_dir / HALVING_FILE).read_text())
    for decision in record["decisions"]:
        if decision["dropped"] and decision["dropped"][0]["by"] == "rank":
            assert decision["complete"]
    assert sum(row["status"] == "completed" for row in report.rows) >= 1
    assert report.comparison.verdicts[0].best_learning_rate == 0.1


@pytest.mark.parametrize("share", [0.05, 0.2, 0.4, 0.6, 0.8, 0.95])
def test_asynchronous_halving_stopped_anywhere_resumes_to_the_uninterrupted_run(
        tmp_path: Path, share: float) -> None:
    trained = ArithmeticBackend(accuracy=noisy)
    whole = run_sweep(asynchronous(), runs_dir=tmp_path / "whole", backend=trained)
    stop_after = round(share * len(trained.trained))  # trainings (to a rung, or on)
    stopped = run_sweep(asynchronous(), runs_dir=tmp_path / "stopped",
                        backend=ArithmeticBackend(accuracy=noisy, stop_after=stop_after))
    assert stopped.interrupted
    resumed = run_sweep(asynchronous(), resume=stopped.run_dir,
                        backend=ArithmeticBackend(accuracy=noisy))
    assert not resumed.interrupted
    assert files(resumed.run_dir) == files(whole.run_dir)


def test_an_asynchronous_rung_meets_each_settings_rates_by_halves() -> None:
    from lrlab.experiment.trials import expand_trials
    from lrlab.run.halving import spread

    trials = expand_trials(asynchronous(seeds=(0, 1)))
    order = spread(list(reversed(trials)), among=trials)
    # 8 rates: the 5th, then the 3rd and 7th, then 2nd, 4th, 6th, 8th, then the 1st; each
    # rate's seeds together.
    assert [t.learning_rate for t in order[::2]] == [RATES[i] for i in (4, 2, 6, 1, 3, 5, 7, 0)]
    pairs = zip(order[::2], order[1::2], strict=True)
    assert all(a.learning_rate == b.learning_rate for a, b in pairs)
