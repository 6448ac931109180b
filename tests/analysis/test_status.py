from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import one_line_error, write_fixture_sweep
from typer.testing import CliRunner

from lrlab.analysis.status import read_status, status_lines
from lrlab.cli import app
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.rundir.lock import LOCK_FILE, writer_lock

runner = CliRunner()


def half_done_sweep(tmp_path: Path, tiny_yaml: str) -> Path:
    """tiny's three trials: one completed, one in progress (two epochs done), one not
    started; a real session record."""
    config = parse_config(tiny_yaml)
    ids = {(t.optimizer, t.learning_rate, t.seed): t.trial_id for t in expand_trials(config)}
    root = write_fixture_sweep(tmp_path, "tiny", config=config.to_dict(), trial_ids=ids,
                               trials={("sgd", 0.1, 0): ([0.8, 0.9], "completed"),
                                       ("sgd", 1000.0, 0): ([0.1, 0.1], "running")})
    (root / "environment.json").write_text(json.dumps({"kind": "sweep", "sessions": [
        {"started_at": "2026-01-01T00:00:00+00:00", "ended_at": None, "ended": None,
         "command": ["lrlab", "sweep", "tiny.yaml"]}]}))
    return root


def test_a_sweep_being_written(tmp_path: Path, tiny_yaml: str) -> None:
    root = half_done_sweep(tmp_path, tiny_yaml)
    with writer_lock(root, command="lrlab sweep tiny.yaml"):  # this process writes it
        status = read_status(root)
        assert status.writing and status.holder.pid == os.getpid()
        assert (status.planned, status.finished, status.pending) == (3, 1, 1)
        lines = status_lines(status)
        assert lines[1].startswith(f"writer: pid {os.getpid()} on ")
        assert lines[2] == "trials: 1 of 3 finished (1 completed, 1 running, 1 pending)"
        assert lines[3].startswith("  running: sgd-lr1.00e+03-s0-") and "epoch 2/2 done" in \
            lines[3]
        assert any(line.startswith("elapsed: ") and "ETA about" in line for line in lines)
        assert "1. 2026-01-01T00:00:00+00:00 to ...: running (lrlab sweep tiny.yaml)" in \
            lines[-1]
    assert not read_status(root).writing  # released


def test_a_writer_that_died(tmp_path: Path, tiny_yaml: str) -> None:
    root = half_done_sweep(tmp_path, tiny_yaml)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (root / LOCK_FILE).write_text(json.dumps({"host": os.uname().nodename, "pid": int(dead),
                                              "since": "2026-01-01", "command": "lrlab"}))
    status = read_status(root)
    assert status.holder_alive is False and not status.writing
    lines = status_lines(status)
    assert "stopped without a word (killed?); resume it to finish" in lines[1]
    assert lines[2] == "trials: 1 of 3 finished (1 completed, 1 left unfinished, 1 pending)"
    assert lines[-1].endswith(": no end recorded (killed, or its last write failed) "
                              "(lrlab sweep tiny.yaml)")


def test_the_command(tmp_path: Path, tiny_yaml: str) -> None:
    root = half_done_sweep(tmp_path, tiny_yaml)
    result = runner.invoke(app, ["status", str(root), "--watch"])  # nobody writes: at once
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{root} (sweep)\nwriter: none")
    one_line_error(runner.invoke(app, ["status", str(tmp_path / "nope")]),
                   "nope: not a run directory")


def test_a_folder_of_runs_shows_its_latest_and_names_the_others(
        tmp_path: Path, tiny_yaml: str) -> None:
    older = half_done_sweep(tmp_path / "a", tiny_yaml)
    newer = half_done_sweep(tmp_path / "b", tiny_yaml)
    runs = tmp_path / "runs"
    runs.mkdir()
    older.rename(runs / "tiny-older")
    newer.rename(runs / "tiny-newer")
    (runs / "tiny-newer" / "environment.json").write_text(json.dumps({
        "kind": "sweep", "sessions": [{"started_at": "2026-02-01T00:00:00+00:00",
                                       "ended_at": None, "ended": None}]}))
    result = runner.invoke(app, ["status", str(runs)])
    assert result.exit_code == 0, result.output
    assert f"the latest of 2 run directories in {runs}: tiny-newer (the others: " \
        "tiny-older)" in result.stdout
    assert f"{runs / 'tiny-newer'} (sweep)" in result.stdout
    (tmp_path / "empty").mkdir()
    one_line_error(runner.invoke(app, ["status", str(tmp_path / "empty")]),
                   "not a run directory (no sweep.yaml) and none inside")
