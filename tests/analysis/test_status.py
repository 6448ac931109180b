from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import one_line_error, write_fixture_sweep
from typer.testing import CliRunner

from lrlab.analysis.status import read_status
from lrlab.cli import app
from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import expand_trials
from lrlab.present.status_text import status_lines
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


def test_damaged_and_strange_files_are_named_and_the_rest_still_read(
        tmp_path: Path, tiny_yaml: str) -> None:
    from helpers import Deadline

    root = half_done_sweep(tmp_path, tiny_yaml)
    running = next(p for p in (root / "trials").iterdir()
                   if not (p / "result.json").exists())
    finished = next(p for p in (root / "trials").iterdir() if p != running)
    (running / "history.csv").write_bytes(os.urandom(4096))  # binary
    status = read_status(root)
    assert [d.trial_id for d in status.damaged] == [running.name]
    (running / "history.csv").write_text("epoch,lr,loss,accuracy,val_loss,val_accuracy,"
                                         "seconds\n" + "1" * 50_000_000 + "\n")  # one line
    assert read_status(root).damaged[0].trial_id == running.name
    (running / "history.csv").unlink()
    os.mkfifo(running / "history.csv")  # a reader that opened it would wait forever
    with Deadline(10):
        status = read_status(root)
    assert "history.csv: a FIFO, not a regular file" in status.damaged[0].reason
    (finished / "result.json").write_text('{"status": "completed", "epochs": 1e999}')
    (root / "environment.json").write_text('{"sessions": [1, "x"]}')
    status = read_status(root)
    assert sorted(d.trial_id for d in status.damaged) == sorted([running.name, finished.name])
    lines = status_lines(status)
    assert any("result.json: epochs: expected a whole number >= 0, got inf (resume trains "
               "it again)" in line for line in lines)
    assert any(line.startswith("unreadable: ") and "environment.json: session 1" in line
               for line in lines)
    assert "trials: 0 of 3 finished (2 damaged, 1 pending)" in lines


def test_a_writer_on_another_host_is_shown_as_what_is_known(tmp_path: Path,
                                                             tiny_yaml: str) -> None:
    from datetime import datetime, timedelta, timezone

    root = half_done_sweep(tmp_path, tiny_yaml)
    (root / LOCK_FILE).write_text(json.dumps({
        "host": "node-7.cluster", "pid": 4242, "since": "2026-01-01T00:00:00+00:00",
        "command": "lrlab sweep tiny.yaml"}))
    status = read_status(root)
    assert status.holder_alive is None and status.last_written is not None
    lines = status_lines(status, now=status.last_written + timedelta(hours=3))
    assert lines[1] == ("writer: pid 4242 on node-7.cluster since 2026-01-01T00:00:00+00:00 "
                        "(lrlab sweep tiny.yaml), on another host: this host cannot tell "
                        "whether it still runs; the last write here was 3 h 00 min ago")
    assert lines[2] == ("trials: 1 of 3 finished (1 completed, 1 running or left unfinished, "
                        "1 pending)")
    assert datetime.now(timezone.utc) >= status.last_written


def test_a_halving_sweeps_pruned_trials_count_as_finished(tmp_path: Path) -> None:
    from helpers import ArithmeticBackend

    from lrlab.run.sweep import run_sweep

    config = parse_config("""
name: halved
data: {dataset: synthetic, train_limit: 200, validation: 100, test_limit: 100}
training: {epochs: 4}
sweep:
  seeds: [0, 1, 2]
  optimizers: [{name: sgd, learning_rates: [0.0001, 0.1, 10.0]}]
  halving: {min_epochs: 1, reduction: 2}
""")
    report = run_sweep(config, runs_dir=tmp_path, backend=ArithmeticBackend())
    status = read_status(report.run_dir)
    assert status.finished == 9 and status.counts["pruned"] > 0
    assert "trials: 9 of 9 finished (" in "\n".join(status_lines(status))
