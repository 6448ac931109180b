from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import one_line_error
from typer.testing import CliRunner

from lrlab.cli import app
from lrlab.training.data import synthetic_arrays

runner = CliRunner()


def test_version_and_help_do_not_import_tensorflow() -> None:
    code = ("import sys; from typer.testing import CliRunner; from lrlab.cli import app; "
            "r = CliRunner().invoke(app, ['--version']); "
            "h = CliRunner().invoke(app, ['sweep', '--help']); "
            "print(r.stdout.strip(), h.exit_code, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["lrlab", "0.1.0", "0", "False"]


@pytest.mark.slow
def test_sweep_end_to_end(tmp_path: Path, tiny_config_file: Path) -> None:
    result = runner.invoke(app, ["sweep", str(tiny_config_file), "--runs-dir",
                                 str(tmp_path / "runs"), "--name", "e2e"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    # What it does before the first trial, first of all: the blank seconds are named.
    assert out.splitlines()[:3] == [
        f"sweep: reading {tiny_config_file}",
        "sweep: loading the data and checking the model (3 trials, tensorflow engine)...",
        "sweep: starting the workers (each imports tensorflow)..."]
    assert "sweep: 3 trials to run" in out
    # Two workers finish trials in either order: the diverged one is reported, wherever.
    assert re.search(r"\[\d/3\] sgd-lr1\.00e\+03-s0-\w+ diverged ", out), out
    assert "val_accuracy at each trial's best epoch" in out
    assert "rmsprop: best observed learning rate 0.001 (val_accuracy" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("e2e-") and f"run directory: {run_dir}" in out
    assert len(pd.read_csv(run_dir / "results.csv")) == 3
    resumed = runner.invoke(app, ["sweep", str(tiny_config_file), "--resume", str(run_dir)])
    assert resumed.exit_code == 0 and "0 trials to run (3 already finished)" in resumed.stdout


def test_config_errors(tmp_path: Path, tiny_yaml: str) -> None:
    one_line_error(runner.invoke(app, ["sweep", str(tmp_path / "nope.yaml")]),
                   "nope.yaml: config file not found")
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_yaml.replace("epochs: 2", "epochs: 2\n  epoch: 3"))
    one_line_error(runner.invoke(app, ["sweep", str(bad)]),
                   "bad.yaml:11: training.epoch: unknown key; did you mean epochs? Expected "
                   "one of: epochs,")
    bad.write_text(tiny_yaml.replace("name: rmsprop", "name: rmsprob"))
    one_line_error(runner.invoke(app, ["sweep", str(bad)]), "unknown optimizer 'rmsprob'",
                   "sgd, rmsprop")
    bad.write_text("sweep: {optimizers: [}\n")
    one_line_error(runner.invoke(app, ["sweep", str(bad)]), "bad.yaml:1:", "YAML syntax error")


@pytest.mark.slow
def test_environment_errors_leave_nothing_behind(tmp_path: Path, tiny_yaml: str) -> None:
    config = tmp_path / "npz.yaml"
    config.write_text(tiny_yaml.replace("dataset: synthetic", "dataset: npz\n  path: gone.npz"))
    one_line_error(runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "r")]),
                   "data.path: ", "gone.npz does not exist")
    assert not (tmp_path / "r").exists()
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    good = tmp_path / "good.yaml"
    good.write_text(tiny_yaml)
    one_line_error(runner.invoke(app, ["sweep", str(good), "--runs-dir", str(blocker / "runs")]),
                   "cannot create a run directory", "--runs-dir")
    one_line_error(runner.invoke(app, ["sweep", str(good), "--resume", str(tmp_path)]),
                   "not a run directory")


@pytest.mark.slow
def test_resume_with_another_config(tmp_path: Path, tiny_yaml: str) -> None:
    first = tmp_path / "first.yaml"
    first.write_text(tiny_yaml)
    assert runner.invoke(app, ["sweep", str(first), "--runs-dir", str(tmp_path / "r"),
                               "-q"]).exit_code == 0
    (run_dir,) = (tmp_path / "r").iterdir()
    before = sorted(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    second = tmp_path / "second.yaml"
    second.write_text(tiny_yaml.replace("epochs: 2", "epochs: 3"))
    one_line_error(runner.invoke(app, ["sweep", str(second), "--resume", str(run_dir)]),
                   "was run with a different config (training differ)")
    after = sorted(p.read_bytes() for p in run_dir.rglob("*") if p.is_file())
    assert before == after
    # The run directory's own sweep.yaml always resumes it.
    again = runner.invoke(app, ["sweep", str(run_dir / "sweep.yaml"), "--resume", str(run_dir)])
    assert again.exit_code == 0, again.output


def test_data_import(tmp_path: Path, monkeypatch) -> None:
    from lrlab.training import data

    source = tmp_path / "copy.npz"
    arrays = synthetic_arrays(n_train=30, n_test=10)
    np.savez(source, **arrays)
    monkeypatch.setitem(data.PUBLISHED, "mnist", data.Published(
        30, 10, float(arrays["x_train"].mean()) / 255))
    result = runner.invoke(app, ["data", "import", str(source), "--to", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "mnist.npz").is_file()
    one_line_error(runner.invoke(app, ["data", "import", str(source), "--dataset", "cifar"]),
                   "--dataset 'cifar': unknown data set")
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"garbage")
    one_line_error(runner.invoke(app, ["data", "import", str(broken), "--to", str(tmp_path)]),
                   "broken.npz: not a readable .npz file")


# A progress line of one epoch: "  sgd-lr1.00e-01-s0-0ecf23 epoch 1/2 loss ..." (the verdicts
# speak of epochs too).
EPOCH_LINE = re.compile(r"^\s+\S+ epoch \d+/\d+ ")


@pytest.mark.slow
def test_progress_lines_when_not_a_terminal(tmp_path: Path, tiny_config_file: Path) -> None:
    result = runner.invoke(app, ["sweep", str(tiny_config_file), "--runs-dir",
                                 str(tmp_path / "runs")])
    epoch_lines = [line for line in result.stdout.splitlines() if EPOCH_LINE.match(line)]
    assert len(epoch_lines) == 2 + 1 + 2  # the diverged trial stops after its first epoch
    assert "loss" in epoch_lines[0] and "val_acc" in epoch_lines[0]
    (run_dir,) = (tmp_path / "runs").iterdir()
    environment = json.loads((run_dir / "environment.json").read_text())
    assert isinstance(environment["sessions"][0]["gpus"], list)


def test_ray_options_need_the_ray_backend(tiny_config_file: Path) -> None:
    one_line_error(runner.invoke(app, ["sweep", str(tiny_config_file), "--address", "auto"]),
                   "--address: only for --backend ray")
    one_line_error(runner.invoke(app, ["sweep", str(tiny_config_file), "--backend", "ray",
                                       "--cpus-per-trial", "0"]),
                   "--cpus-per-trial 0: expected a number > 0")


def test_ray_backend_without_ray(tmp_path: Path, tiny_config_file: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed
    one_line_error(runner.invoke(app, ["sweep", str(tiny_config_file), "--backend", "ray",
                                       "--runs-dir", str(tmp_path / "runs")]),
                   '--backend ray: Ray is not installed', 'pip install "lrlab[ray]"')
    assert not (tmp_path / "runs").exists()


@pytest.mark.ray
def test_sweep_on_ray_end_to_end(tmp_path: Path, tiny_config_file: Path, ray_instance) -> None:
    result = runner.invoke(app, ["sweep", str(tiny_config_file), "--runs-dir",
                                 str(tmp_path / "runs"), "--backend", "ray"])
    assert result.exit_code == 0, result.output
    assert "sweep: 3 trials to run" in result.stdout
    assert "rmsprop: best observed learning rate 0.001 (val_accuracy" in result.stdout
    assert sum(bool(EPOCH_LINE.match(line)) for line in result.stdout.splitlines()) == 2 + 1 + 2
    (run_dir,) = (tmp_path / "runs").iterdir()
    resumed = runner.invoke(app, ["sweep", str(tiny_config_file), "--resume", str(run_dir),
                                  "--backend", "ray"])
    assert resumed.exit_code == 0 and "0 trials to run (3 already finished)" in resumed.stdout


def test_help_says_what_the_local_backend_does_and_shows_no_python_types() -> None:
    """The local backend trains in worker processes side by side, not one after another;
    options that repeat show what they take, not a Python type."""
    for command in ("sweep", "compare", "report", "tensorboard"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert "one after another" not in result.stdout
        assert "--where <list[str]>" not in result.stdout
    assert "side by side" in runner.invoke(app, ["sweep", "--help"],
                                           env={"COLUMNS": "200"}).stdout


def test_an_unfinished_sweeps_summary_wraps_between_words(tmp_path: Path,
                                                           tiny_yaml: str) -> None:
    """On a terminal, the summary's title once wrapped inside a word
    ('PROVISIONAL: a sweep is unf' / 'inished')."""
    import io

    from helpers import write_fixture_sweep
    from rich.console import Console

    from lrlab.analysis.compare import compare_runs
    from lrlab.cli.sweep_cmd import _print_summary
    from lrlab.experiment.config import parse_config
    from lrlab.experiment.trials import expand_trials
    from lrlab.rundir.loading import scan_runs

    config = parse_config(tiny_yaml)
    ids = {(t.optimizer, t.learning_rate, t.seed): t.trial_id for t in expand_trials(config)}
    root = write_fixture_sweep(tmp_path, "tiny", config=config.to_dict(), trial_ids=ids,
                               trials={("sgd", 0.1, 0): ([0.8, 0.9], "completed")})
    scan = scan_runs([root])
    comparison = compare_runs(scan.frame, plans=scan.plans)
    assert comparison.provisional
    buffer = io.StringIO()
    console = Console(file=buffer, width=45, force_terminal=True, color_system=None,
                      soft_wrap=True)
    _print_summary(console, [{"trial_id": "sgd-x", "status": "completed"}], comparison)
    words = " ".join(buffer.getvalue().split())
    assert "(PROVISIONAL: a sweep is unfinished):" in words
    assert max(len(line) for line in buffer.getvalue().splitlines()) <= 45


def test_the_data_command_names_the_data_sets_the_config_accepts() -> None:
    from lrlab.cli import data_cmd
    from lrlab.experiment import config

    assert data_cmd.NAMED_DATASETS == config.NAMED_DATASETS


def test_the_engine_line_says_each_engine_once_with_stacks_and_compile_time() -> None:
    from types import SimpleNamespace

    from lrlab.present.sweep_summary import engine_line

    engines = [{"name": "jax", "device": "cuda:0", "precision": "tf32"}] * 2
    report = SimpleNamespace(engines=engines, largest_stack=16, compile_seconds=3.14)
    assert engine_line(report) == ("trained by jax on cuda:0 (tf32), in stacks of up to 16 "
                                   "trials; compiling took 3.1 s")
    nothing = SimpleNamespace(engines=[], largest_stack=1, compile_seconds=None)
    assert engine_line(nothing) == "trained by no engine (nothing to train)"
