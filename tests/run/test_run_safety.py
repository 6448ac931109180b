"""The run directory under stress, with real processes and real signals: one writer, every
way a sweep can end recorded, provenance, partial and foreign files, file modes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import one_line_error
from typer.testing import CliRunner

from lrlab.cli import app
from lrlab.errors import StoreError
from lrlab.experiment.config import ExperimentConfig
from lrlab.run.find_lr import RangeTestOptions, run_find_lr
from lrlab.run.sweep import run_sweep
from lrlab.rundir.loading import scan_runs

runner = CliRunner()
# Four trials of 2 to 4 s each here (two at once): long enough to signal one in the middle
# even on a loaded machine.
SLOW_YAML = """\
name: slow
data: {dataset: synthetic, train_limit: 12000, validation: 200, test_limit: 200}
model: {hidden: [256]}
training: {epochs: 12, batch_size: 16}
sweep:
  seeds: [0]
  optimizers:
    - {name: sgd, learning_rates: [0.01, 0.02, 0.03, 0.05]}
"""

# Real lrlab processes, real signals, real waits: the whole module is slow.
pytestmark = pytest.mark.slow


@pytest.fixture
def slow_config(tmp_path: Path) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW_YAML)
    return path


def lrlab(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrlab", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(condition, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def run_dir_of(runs: Path) -> Path:
    wait_for(lambda: runs.exists() and any(runs.iterdir()))
    (run_dir,) = runs.iterdir()
    return run_dir


def results(run_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())
            for p in (run_dir / "trials").glob("*/result.json")}


def trial_files(run_dir: Path, trial_id: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (run_dir / "trials" / trial_id).iterdir()}


def test_a_second_writer_is_refused_and_a_killed_ones_lock_taken_over(
        tmp_path: Path, slow_config: Path) -> None:
    first = lrlab("sweep", str(slow_config), "--runs-dir", str(tmp_path / "runs"))
    run_dir = run_dir_of(tmp_path / "runs")
    wait_for(lambda: len(results(run_dir)) >= 1)
    second = subprocess.run([sys.executable, "-m", "lrlab", "sweep", str(slow_config),
                             "--resume", str(run_dir)], capture_output=True, text=True)
    assert second.returncode == 2, second.stderr
    assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    assert f"another lrlab is writing this run directory (pid {first.pid} on " in second.stderr
    first.send_signal(signal.SIGKILL)  # a lost node, the OOM killer
    first.communicate(timeout=30)  # its workers notice and end too, releasing the pipes
    finished = {t: trial_files(run_dir, t) for t, r in results(run_dir).items()}
    third = subprocess.run([sys.executable, "-m", "lrlab", "sweep", str(slow_config),
                            "--resume", str(run_dir)], capture_output=True, text=True)
    assert third.returncode == 0, third.stderr
    assert f"took over the lock of {run_dir} left by pid {first.pid}" in third.stdout
    done = results(run_dir)
    assert len(done) == 4 and {r["status"] for r in done.values()} == {"completed"}
    for trial_id, files in finished.items():  # each trial trained once: untouched
        assert trial_files(run_dir, trial_id) == files
    sessions = json.loads((run_dir / "environment.json").read_text())["sessions"]
    assert [s["ended"] for s in sessions] == [None, "completed"]  # killed: no end recorded


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_mid_trial_is_recorded_and_resume_completes(
        tmp_path: Path, slow_config: Path, stop: signal.Signals, code: int) -> None:
    sweep = lrlab("sweep", str(slow_config), "--runs-dir", str(tmp_path / "runs"))
    run_dir = run_dir_of(tmp_path / "runs")
    wait_for(lambda: len(results(run_dir)) >= 1 and len(list(
        (run_dir / "trials").glob("*/history.csv"))) >= 2)  # the second trial is training
    finished = {t: trial_files(run_dir, t) for t in results(run_dir)}
    sweep.send_signal(stop)
    _, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == code, stderr
    assert "interrupted; finished trials are kept. Resume with:" in stderr
    assert "Traceback" not in stderr
    interrupted = [r for r in results(run_dir).values() if r["status"] == "interrupted"]
    assert 1 <= len(interrupted) <= 2  # what the two workers were training
    for trial in interrupted:
        assert trial["error"] == f"interrupted ({stop.name})" and trial["seconds"] > 0
        if trial["epochs"]:  # it reached an epoch: its initial loss was measured
            assert trial["initial_loss"] is not None
    (session,) = json.loads((run_dir / "environment.json").read_text())["sessions"]
    assert session["ended"] == f"interrupted ({stop.name})" and session["ended_at"]
    assert (run_dir / ".lock").read_text() == ""  # released
    if stop is not signal.SIGTERM:
        return
    resumed = runner.invoke(app, ["sweep", str(slow_config), "--resume", str(run_dir)])
    assert resumed.exit_code == 0, resumed.output
    assert {r["status"] for r in results(run_dir).values()} == {"completed"}
    for trial_id, files in finished.items():
        assert trial_files(run_dir, trial_id) == files  # byte for byte
    sessions = json.loads((run_dir / "environment.json").read_text())["sessions"]
    assert [s["ended"] for s in sessions] == ["interrupted (SIGTERM)", "completed"]


def test_a_closed_stdout_never_stops_training(tmp_path: Path, tiny_config_file: Path) -> None:
    sweep = lrlab("sweep", str(tiny_config_file), "--runs-dir", str(tmp_path / "runs"))
    sweep.stdout.readline()  # like `| head -1`: read one line, then close the pipe
    sweep.stdout.close()
    stderr = sweep.stderr.read()
    assert sweep.wait(timeout=120) == 0, stderr
    assert "standard output was closed; lrlab goes on" in stderr and "Traceback" not in stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert len(pd.read_csv(run_dir / "results.csv")) == 3


def test_quiet_prints_only_the_run_directory(tmp_path: Path, tiny_config_file: Path) -> None:
    result = runner.invoke(app, ["sweep", str(tiny_config_file), "--runs-dir",
                                 str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert result.stdout == f"{run_dir}\n"


def test_files_follow_the_umask(tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    previous = os.umask(0o022)
    try:
        run_dir = run_sweep(tiny_config, runs_dir=tmp_path).run_dir
    finally:
        os.umask(previous)
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert len(files) > 10
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}


def test_sessions_are_appended_and_the_data_checked(tmp_path: Path,
                                                    tiny_config: ExperimentConfig) -> None:
    run_dir = run_sweep(tiny_config, runs_dir=tmp_path).run_dir
    for _ in range(2):
        run_sweep(tiny_config, resume=run_dir, argv=["lrlab", "again"])
    environment = json.loads((run_dir / "environment.json").read_text())
    sessions = environment["sessions"]
    assert len(sessions) == 3 and environment["kind"] == "sweep"
    assert [s["command"] for s in sessions[1:]] == [["lrlab", "again"]] * 2
    assert all(s["ended"] == "completed" for s in sessions)
    assert len({s["data"]["sha256"] for s in sessions}) == 1
    other = tiny_config.model_copy(update={"data": tiny_config.data.model_copy(
        update={"test_limit": 150})})
    # The same sweep on other data (an extra key of the config would say so first): the
    # data check is what catches a file that changed under the same config.
    (run_dir / "sweep.yaml").write_text((run_dir / "sweep.yaml").read_text().replace(
        "test_limit: 200", "test_limit: 150"))
    with pytest.raises(StoreError, match="first session trained on other data .*"
                                         "`allow_data_change`") as caught:
        run_sweep(other, resume=run_dir)
    assert caught.value.as_options().endswith("or set --allow-data-change to mix them "
                                              "knowingly")
    run_sweep(other, resume=run_dir, allow_data_change=True)
    assert len(json.loads((run_dir / "environment.json").read_text())["sessions"]) == 4


def test_resume_refuses_a_range_test_directory(tmp_path: Path, tiny_config: ExperimentConfig,
                                               tiny_config_file: Path) -> None:
    report = run_find_lr(tiny_config, options=RangeTestOptions(steps=20, seeds=(0,)),
                         runs_dir=tmp_path)
    before = {p: p.read_bytes() for p in report.run_dir.rglob("*") if p.is_file()}
    one_line_error(runner.invoke(app, ["sweep", str(tiny_config_file), "--resume",
                                       str(report.run_dir)]),
                   "a range-test run directory; only a sweep can be resumed")
    assert {p: p.read_bytes() for p in report.run_dir.rglob("*") if p.is_file()} == before


def test_a_missing_data_path_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("data: {dataset: mnist, path: nowhere/mnist.npz}\n"
                      "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\n")
    one_line_error(runner.invoke(app, ["sweep", str(config), "--runs-dir",
                                       str(tmp_path / "runs")]),
                   "data.path:", "nowhere/mnist.npz does not exist")
    assert not (tmp_path / "runs").exists()


def test_a_truncated_history_is_named_and_left_out(fixture_sweep: Path) -> None:
    trial = fixture_sweep / "trials" / "sgd-lr1.00e-01-s0-fixture"
    lines = (trial / "history.csv").read_text().splitlines()
    (trial / "history.csv").write_text("\n".join(lines[:-1]) + "\n")  # the last epoch is cut
    scan = scan_runs([fixture_sweep])
    (bad,) = scan.unreadable
    assert bad.path == trial and "holds 2 epochs, but result.json says 3" in bad.reason
    assert "sgd-lr1.00e-01-s0-fixture" not in set(scan.frame["trial_id"])


def test_surprising_settings_warn_in_one_line(tmp_path: Path, tiny_yaml: str) -> None:
    config = tmp_path / "odd.yaml"
    config.write_text(tiny_yaml.replace("batch_size: 32", "batch_size: 100000")
                      .replace("validation: 100", "validation: 50"))
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert ("warning: training.batch_size: 100000 is more than the 550 training images; "
            "every step uses all of them") in result.stdout
    assert "warning: data.validation: 50 images;" in result.stdout

