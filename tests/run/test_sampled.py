"""The model-based sampler's sweep: points drawn as it goes, each from the results before
it, recorded before they train, and a stop anywhere resuming to the same points."""

from __future__ import annotations

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

from lrlab.errors import ConfigError
from lrlab.experiment.config import parse_config
from lrlab.run.sweep import run_sweep
from lrlab.rundir.loading import scan_runs


def peaked(trial) -> float:
    """Accuracy peaking at rate 0.1, whatever the momentum; seeds shift it a little."""
    distance = abs(math.log10(trial.learning_rate / 0.1))
    return float(0.95 - 0.05 * distance
                 + np.random.default_rng([trial.seed, 7]).normal(0, 0.002))


TPE = """
name: tpe
data: {dataset: synthetic, train_limit: 200, validation: 100, test_limit: 100}
training: {epochs: 2}
sweep:
  seeds: [0, 1]
  sampler: tpe
  points: 20
  optimizers:
    - {name: sgd, learning_rates: {low: 1.0e-4, high: 10}, momentum: {low: 0.0, high: 0.9}}
"""


def design(run_dir: Path) -> dict:
    return json.loads((run_dir / "design.json").read_text())


def test_tpe_draws_each_point_from_the_results_before_it(tmp_path: Path) -> None:
    report = run_sweep(parse_config(TPE), runs_dir=tmp_path,
                       backend=ArithmeticBackend(accuracy=peaked))
    drawn = design(report.run_dir)
    assert drawn["sampler"] == "tpe" and len(drawn["units"]) == 20
    assert len(report.rows) == 40  # every point on both seeds
    # Where TPE goes is tests/analysis/test_sampling.py's; here, that the sweep finds the
    # peak's decade (0.1) among its 20 points.
    verdict = report.comparison.verdicts[0]
    assert abs(math.log10(verdict.best_learning_rate / 0.1)) < 0.5
    # The drawn settings are columns of the tidy frame, as a Sobol sweep's.
    frame = scan_runs([report.run_dir]).frame
    assert frame["momentum"].nunique() == 20


@pytest.mark.parametrize("stop_after", [1, 11, 27])
def test_a_stop_anywhere_resumes_to_the_same_points(tmp_path: Path, stop_after: int) -> None:
    whole = run_sweep(parse_config(TPE), runs_dir=tmp_path / "whole",
                      backend=ArithmeticBackend(accuracy=peaked))
    stopped = run_sweep(parse_config(TPE), runs_dir=tmp_path / "stopped",
                        backend=ArithmeticBackend(accuracy=peaked, stop_after=stop_after))
    assert stopped.interrupted
    resumed = run_sweep(parse_config(TPE), resume=stopped.run_dir,
                        backend=ArithmeticBackend(accuracy=peaked))
    assert design(resumed.run_dir) == design(whole.run_dir)
    assert sorted(r["trial_id"] for r in resumed.rows) == sorted(
        r["trial_id"] for r in whole.rows)


@pytest.mark.parametrize(("extra", "message"), [
    ("training: {batch_size: [32, 64]}", "tpe samples the optimizers' settings in one "
                                        "experiment; training.batch_size takes several"),
    ("  halving: {min_epochs: 1}", "sweep.halving: not with sampler tpe"),
])
def test_what_tpe_cannot_sample_is_one_line(extra: str, message: str) -> None:
    text = TPE.replace("training: {epochs: 2}\n", "") + extra + "\n"
    if extra.startswith("training"):
        text = TPE.replace("training: {epochs: 2}", "training: {epochs: 2, batch_size: [32, 64]}")
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_compare_says_which_sampled_setting_matters(tmp_path: Path) -> None:
    from lrlab.present.render import verdict_lines

    report = run_sweep(parse_config(TPE), runs_dir=tmp_path,
                       backend=ArithmeticBackend(accuracy=peaked))
    (found,) = report.comparison.importance
    assert found.points == 20 and found.shares[0][0] == "learning_rate"
    assert found.share("momentum") < 0.2  # the accuracy ignores it
    assert any(line.startswith("Importance (sgd, PED-ANOVA over 20 points")
               for line in verdict_lines(report.comparison))


KILLED = """
name: killed-tpe
data: {dataset: synthetic, train_limit: 1000, validation: 200, test_limit: 200}
model: {hidden: [32]}
training: {epochs: 2, batch_size: 32}
sweep:
  seeds: [0, 1]
  sampler: tpe
  points: 13
  optimizers:
    - {name: sgd, learning_rates: {low: 1.0e-3, high: 3}, momentum: {low: 0.0, high: 0.9}}
"""


def lrlab(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrlab", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def run_files(run_dir: Path) -> dict[str, object]:
    """Each trial's status and history but for times, and the points drawn."""
    found: dict[str, object] = {"design": design(run_dir)}
    for trial in sorted((run_dir / "trials").iterdir()):
        result = json.loads((trial / "result.json").read_text())
        history = (trial / "history.csv").read_text().splitlines()
        found[trial.name] = (result["status"],
                             [",".join(line.split(",")[:-1]) for line in history])
    return found


@pytest.mark.slow
def test_kill_9_during_a_tpe_sweep_resumes_to_the_same_points_and_numbers(
        tmp_path: Path) -> None:
    # Killed in the random start (after point 3) and among the modelled points (after
    # point 11), resumed after each.
    # One worker, in each process: starting worker processes would be most of the time.
    # Each run in a fresh lrlab process, whose one trial thread is pinned as the others'
    # (this test process may have started TensorFlow on more threads).
    config = tmp_path / "killed.yaml"
    config.write_text(KILLED)
    whole = lrlab("sweep", str(config), "--runs-dir", str(tmp_path / "whole"), "--workers", "1")
    assert whole.wait() == 0, whole.stderr.read()
    (whole_dir,) = (tmp_path / "whole").iterdir()
    runs = tmp_path / "killed"
    command = ["sweep", str(config), "--runs-dir", str(runs), "--workers", "1"]
    for points_done in (3, 11):
        killed = lrlab(*command)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and killed.poll() is None:
            found = list(runs.glob("*/design.json"))
            if found and len(design(found[0].parent)["units"]) > points_done:
                break
            time.sleep(0.005)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        (run_dir,) = runs.iterdir()
        command = ["sweep", str(config), "--resume", str(run_dir), "--workers", "1"]
    assert len(design(run_dir)["units"]) < 13, "killed too late to test anything"
    resumed = lrlab(*command)
    assert resumed.wait() == 0, resumed.stderr.read()
    assert run_files(run_dir) == run_files(whole_dir)


def test_a_tpe_sweep_part_way_reads_as_unfinished(tmp_path: Path) -> None:
    stopped = run_sweep(parse_config(TPE), runs_dir=tmp_path,
                        backend=ArithmeticBackend(accuracy=peaked, stop_after=12))
    (progress,) = stopped.comparison.progress
    assert progress.planned == 40 and progress.finished == 12
    assert progress.unfinished and stopped.comparison.provisional
