from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pytest

from lrlab.errors import StoreError
from lrlab.experiment.config import ExperimentConfig
from lrlab.experiment.trials import Trial, expand_trials
from lrlab.run.backends import LocalBackend
from lrlab.run.sweep import SweepObserver, run_sweep
from lrlab.rundir.records import EpochRecord
from lrlab.training import Trainer, make_trainer


class Recorder(SweepObserver):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.pending = -1

    def sweep_started(self, *, run_dir: Path, trials, pending: int) -> None:
        self.pending = pending

    def trial_started(self, trial: Trial) -> None:
        self.started.append(trial.trial_id)


def result(run_dir: Path, trial_id: str) -> dict:
    return json.loads((run_dir / "trials" / trial_id / "result.json").read_text())


@pytest.mark.slow
def test_sweep_writes_the_documented_run_directory(tmp_path: Path,
                                                   tiny_config: ExperimentConfig) -> None:
    report = run_sweep(tiny_config, runs_dir=tmp_path, argv=["lrlab", "sweep", "x"])
    root = report.run_dir
    assert root.parent == tmp_path and root.name.startswith("tiny-")
    assert {p.name for p in root.iterdir()} == {"sweep.yaml", "environment.json",
                                                "results.csv", "trials", ".lock"}
    assert (root / ".lock").read_text() == ""  # released
    environment = json.loads((root / "environment.json").read_text())
    assert environment["kind"] == "sweep"
    (env,) = environment["sessions"]
    assert env["command"] == ["lrlab", "sweep", "x"] and env["tensorflow"] and env["keras"]
    assert env["ended"] == "completed" and env["ended_at"] >= env["started_at"]
    assert env["data"]["source"] == "synthetic" and len(env["data"]["sha256"]) == 64
    assert (env["data"]["train"], env["data"]["validation"], env["data"]["test"]) == (
        500, 100, 200)
    ids = [t.trial_id for t in expand_trials(tiny_config)]
    table = pd.read_csv(root / "results.csv")
    assert table["trial_id"].tolist() == ids
    assert table["status"].tolist() == ["completed", "diverged", "completed"]
    for trial_id in ids:
        folder = root / "trials" / trial_id
        assert {p.name for p in folder.iterdir()} == {"params.json", "history.csv",
                                                      "result.json"}
        history = pd.read_csv(folder / "history.csv")
        assert list(history.columns) == ["epoch", "lr", "loss", "accuracy", "val_loss",
                                         "val_accuracy", "seconds"]
    diverged = result(root, ids[1])
    assert diverged["diverged_epoch"] == 1 and diverged["epochs"] == 1
    done = result(root, ids[0])
    assert done["epochs"] == 2 and done["test"]["accuracy"] > 0.5
    assert done["best"]["val_accuracy"] == max(pd.read_csv(
        root / "trials" / ids[0] / "history.csv")["val_accuracy"])
    assert not list(root.rglob(".*.tmp"))  # no temporary file left behind


@pytest.mark.slow
def test_resume_runs_only_unfinished_trials(tmp_path: Path,
                                            tiny_config: ExperimentConfig) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path)
    ids = [t.trial_id for t in expand_trials(tiny_config)]
    kept = (first.run_dir / "trials" / ids[0] / "result.json").read_text()
    (first.run_dir / "trials" / ids[2] / "result.json").unlink()  # as if killed mid-trial
    (first.run_dir / "trials" / ids[1] / "result.json").write_text("{trunc")  # corrupted
    recorder = Recorder()
    again = run_sweep(tiny_config, runs_dir=tmp_path, resume=first.run_dir, observer=recorder)
    assert again.run_dir == first.run_dir
    # Two workers: in either order.
    assert sorted(recorder.started) == sorted([ids[1], ids[2]]) and recorder.pending == 2
    assert (first.run_dir / "trials" / ids[0] / "result.json").read_text() == kept
    assert pd.read_csv(first.run_dir / "results.csv")["trial_id"].tolist() == ids
    nothing = Recorder()
    run_sweep(tiny_config, runs_dir=tmp_path, resume=first.run_dir, observer=nothing)
    assert nothing.started == [] and nothing.pending == 0


@pytest.mark.slow
def test_resume_refuses_another_config(tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path)
    other = tiny_config.model_copy(update={
        "training": tiny_config.training.model_copy(update={"epochs": 5})})
    with pytest.raises(StoreError, match=r"different config \(training differ\)"):
        run_sweep(other, runs_dir=tmp_path, resume=first.run_dir)
    renamed = tiny_config.model_copy(update={"name": "another-name"})
    run_sweep(renamed, runs_dir=tmp_path, resume=first.run_dir)  # the name is not the config


@pytest.mark.slow
def test_ctrl_c_marks_the_trial_interrupted_and_resume_finishes(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    class CtrlC(SweepObserver):
        def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
            if trial.optimizer == "rmsprop":
                raise KeyboardInterrupt

    report = run_sweep(tiny_config, runs_dir=tmp_path, observer=CtrlC())
    ids = [t.trial_id for t in expand_trials(tiny_config)]
    assert report.interrupted
    assert [r["status"] for r in report.rows] == ["completed", "diverged", "interrupted"]
    interrupted = result(report.run_dir, ids[2])
    assert interrupted["status"] == "interrupted" and interrupted["epochs"] == 1
    recorder = Recorder()
    final = run_sweep(tiny_config, resume=report.run_dir, observer=recorder)
    assert recorder.started == [ids[2]] and not final.interrupted
    assert result(report.run_dir, ids[2])["status"] == "completed"


class FailsAtRate(Trainer):
    """A trainer whose trials at one rate raise, as an out-of-memory error would."""

    def iter_stack(self, trials):
        if trials[0].learning_rate == 0.1:
            raise RuntimeError("simulated out-of-memory")
        return super().iter_stack(trials)


@pytest.mark.slow
def test_a_failing_trial_does_not_stop_the_sweep(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    report = run_sweep(tiny_config, runs_dir=tmp_path,
                       backend=LocalBackend(trainer_factory=functools.partial(
                           make_trainer, trainer_class=FailsAtRate)))
    assert [r["status"] for r in report.rows] == ["failed", "diverged", "completed"]
    assert report.rows[0]["error"] == "RuntimeError: simulated out-of-memory"


def test_missing_data_fails_before_creating_a_run_directory(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    from lrlab.errors import DataError

    config = tiny_config.model_copy(update={"data": tiny_config.data.model_copy(
        update={"dataset": "npz", "path": tmp_path / "absent.npz"})})
    with pytest.raises(DataError, match="data.path: .*absent.npz does not exist"):
        run_sweep(config, runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
