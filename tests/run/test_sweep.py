from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import ArithmeticBackend, Deadline

from lrlab.errors import StoreError
from lrlab.experiment.config import ExperimentConfig
from lrlab.experiment.trials import Trial, expand_trials
from lrlab.run.backends import LocalBackend
from lrlab.run.sweep import SweepObserver, run_sweep
from lrlab.rundir.loading import load_runs, scan_runs
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
                                                "results.csv", "plan.json", "trials",
                                                ".lock"}
    plan = json.loads((root / "plan.json").read_text())
    assert [t["trial_id"] for t in plan["trials"]] == [
        t.trial_id for t in expand_trials(tiny_config)] and plan["unasked"] == []
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


def test_resume_runs_only_unfinished_trials(tmp_path: Path,
                                            tiny_config: ExperimentConfig) -> None:
    """The runner's bookkeeping, whatever trains (real workers resume in
    test_run_safety.py and below): a finished trial is kept byte for byte, a missing or
    damaged result trains again, and a finished sweep resumes to nothing."""
    first = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend())
    ids = [t.trial_id for t in expand_trials(tiny_config)]
    kept = (first.run_dir / "trials" / ids[0] / "result.json").read_text()
    (first.run_dir / "trials" / ids[2] / "result.json").unlink()  # as if killed mid-trial
    (first.run_dir / "trials" / ids[1] / "result.json").write_text("{trunc")  # corrupted
    recorder = Recorder()
    again = run_sweep(tiny_config, runs_dir=tmp_path, resume=first.run_dir, observer=recorder,
                      backend=ArithmeticBackend())
    assert again.run_dir == first.run_dir
    assert sorted(recorder.started) == sorted([ids[1], ids[2]]) and recorder.pending == 2
    assert (first.run_dir / "trials" / ids[0] / "result.json").read_text() == kept
    assert pd.read_csv(first.run_dir / "results.csv")["trial_id"].tolist() == ids
    nothing = Recorder()
    run_sweep(tiny_config, runs_dir=tmp_path, resume=first.run_dir, observer=nothing,
              backend=ArithmeticBackend())
    assert nothing.started == [] and nothing.pending == 0


def test_resuming_a_directory_whose_own_config_is_damaged_is_one_line(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    """A truncated sweep.yaml shows several mistakes as a config; as a run directory's
    it is one damage (seed 7 of the fuzz test)."""
    first = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend())
    config_file = first.run_dir / "sweep.yaml"
    config_file.write_text(config_file.read_text()[:40])
    with pytest.raises(StoreError) as raised:
        run_sweep(tiny_config, resume=first.run_dir, backend=ArithmeticBackend())
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{config_file}:")
    assert message.endswith("(the run directory's own config: damaged, or from an lrlab that "
                            "took other keys; resume cannot read it)")


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

    # One worker: trials in order, so which had ended when Ctrl-C came is no race (two
    # workers under a loaded machine may have the diverging trial still running).
    report = run_sweep(tiny_config, runs_dir=tmp_path, observer=CtrlC(),
                       backend=LocalBackend(workers=1))
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

    def iter_stack(self, trials, **options):
        if trials[0].learning_rate == 0.1:
            raise RuntimeError("simulated out-of-memory")
        return super().iter_stack(trials, **options)


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


# --- run directories turned against their user (fast: the arithmetic backend trains) -------

class Notices(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.notices: list[str] = []

    def notice(self, text: str) -> None:
        self.notices.append(text)


@pytest.mark.parametrize("damage", ["history", "params", "other-rate"])
def test_a_damaged_finished_trial_is_set_aside_and_trained_again(
        tmp_path: Path, tiny_config: ExperimentConfig, damage: str) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend())
    ids = [t.trial_id for t in expand_trials(tiny_config)]
    best = ids[0]  # sgd at 0.1: the arithmetic backend's best rate
    folder = first.run_dir / "trials" / best
    if damage == "history":
        (folder / "history.csv").write_text("epoch,lr,loss\n1,0.1\n")
    elif damage == "params":
        (folder / "params.json").write_text('{"optimizer": "sgd", "learning_rate": "abc"}')
    else:
        params = json.loads((folder / "params.json").read_text())
        (folder / "params.json").write_text(json.dumps({**params, "learning_rate": 0.5}))
    damaged_bytes = {p.name: p.read_bytes() for p in folder.iterdir()}
    recorder, backend = Notices(), ArithmeticBackend()
    again = run_sweep(tiny_config, resume=first.run_dir, observer=recorder, backend=backend)
    assert backend.trained == [best] and recorder.pending == 1
    (moved,) = (first.run_dir / "damaged").iterdir()
    assert moved.name.startswith(best + "-")
    assert {p.name: p.read_bytes() for p in moved.iterdir()} == damaged_bytes  # kept aside
    assert f"damaged trial {best}" in recorder.notices[0] and str(moved) in recorder.notices[0]
    # The summary agrees with itself: every trial finished, the verdict final, and its
    # best rate the one that was damaged.
    assert [row["status"] for row in again.rows] == ["completed"] * 3
    assert again.comparison is not None and not again.comparison.provisional
    sgd = next(v for v in again.comparison.verdicts if v.optimizer == "sgd")
    assert sgd.best_learning_rate == 0.1


def test_a_huge_grid_is_refused_at_once_and_max_trials_lifts_the_limit(
        tmp_path: Path, tiny_yaml: str) -> None:
    from lrlab.errors import ConfigError
    from lrlab.experiment.config import parse_config

    huge = parse_config(tiny_yaml.replace("seeds: [0]", "seeds: [0]\n  # many").replace(
        "learning_rates: [1e-3]", "learning_rates: {start: 1e-6, stop: 1, num: 1000000}"))
    with pytest.raises(ConfigError, match=r"the sweep has 1,000,002 trials \(\(sgd 2 \+ "
                                          r"rmsprop 1,000,000\) x 1 seed\); lrlab runs at "
                                          r"most 10,000 unless told: .* `max_trials`"), \
            Deadline(30):
        run_sweep(huge, runs_dir=tmp_path / "runs", backend=ArithmeticBackend())
    assert not (tmp_path / "runs").exists()
    tiny = parse_config(tiny_yaml)
    with pytest.raises(ConfigError, match="the sweep has 3 trials"):
        run_sweep(tiny, runs_dir=tmp_path / "runs", max_trials=2, backend=ArithmeticBackend())
    run_sweep(tiny, runs_dir=tmp_path / "runs", max_trials=3, backend=ArithmeticBackend())


def test_a_lock_link_is_refused_on_resume_and_its_target_kept(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend())
    precious = tmp_path / "precious.txt"
    precious.write_text("years of notes")
    (first.run_dir / ".lock").unlink()
    (first.run_dir / ".lock").symlink_to(precious)
    with pytest.raises(StoreError, match=r"\.lock: a symbolic link"):
        run_sweep(tiny_config, resume=first.run_dir, backend=ArithmeticBackend())
    assert precious.read_text() == "years of notes"


def test_a_stale_lock_from_another_host_is_not_called_dead(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend())
    (first.run_dir / ".lock").write_text(json.dumps({
        "host": "node-7.cluster", "pid": 4242, "since": "2026-01-01T00:00:00+00:00",
        "command": "lrlab sweep tiny.yaml"}))
    recorder = Notices()
    run_sweep(tiny_config, resume=first.run_dir, observer=recorder, backend=ArithmeticBackend())
    (notice,) = recorder.notices
    assert "pid 4242 on node-7.cluster" in notice and "no longer running" not in notice
    assert "cannot tell whether it still runs" in notice


def test_a_full_disk_mid_sweep_records_its_end_and_says_how_to_resume(
        small_disk: Path, tiny_config: ExperimentConfig) -> None:
    from helpers import fill_disk

    from lrlab.analysis.status import read_status
    from lrlab.present.status_text import status_lines

    class FillsTheDisk(SweepObserver):
        def trial_finished(self, trial: Trial, row: dict) -> None:
            fill_disk(small_disk)  # after the first trial: the second cannot be written

    with pytest.raises(StoreError, match=r"No space left on device\); the trials finished so "
                                         r"far are kept: make room, then continue with "
                                         r"`resume` .*tiny-"):
        run_sweep(tiny_config, runs_dir=small_disk / "runs", observer=FillsTheDisk(),
                  backend=ArithmeticBackend())
    (run_dir,) = (small_disk / "runs").iterdir()
    (session,) = json.loads((run_dir / "environment.json").read_text())["sessions"]
    assert session["ended"].startswith("failed (StoreError: ") and session["ended_at"]
    assert "No space left on device" in session["ended"]
    assert "no end recorded" not in "\n".join(status_lines(read_status(run_dir)))
    (small_disk / "filler").unlink()
    recorder = Notices()
    final = run_sweep(tiny_config, resume=run_dir, observer=recorder, backend=ArithmeticBackend())
    assert [row["status"] for row in final.rows] == ["completed"] * 3
    assert final.comparison is not None and not final.comparison.provisional


def test_a_damaged_environment_is_named_and_resume_says_what_to_do(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend())
    (first.run_dir / "environment.json").write_text('{"sessions": [1, "x"]}')
    with pytest.raises(StoreError, match=r"environment.json: session 1: expected an object, got "
                                         r"1; a resume appends its session there: repair it, or "
                                         r"move it aside"):
        run_sweep(tiny_config, resume=first.run_dir, backend=ArithmeticBackend())
    assert (first.run_dir / "environment.json").read_text() == '{"sessions": [1, "x"]}'


def test_a_stop_between_trials_is_an_interrupted_sweep(tmp_path: Path,
                                                       tiny_config: ExperimentConfig) -> None:
    # Short trials: Ctrl-C lands between two of them, so no trial is interrupted; the
    # sweep still is (it printed "completed" and exited 0 with 9,042 of 10,000 not started).
    report = run_sweep(tiny_config, runs_dir=tmp_path, backend=ArithmeticBackend(stop_after=1))
    assert report.interrupted and len(report.rows) == 1
    (session,) = json.loads((report.run_dir / "environment.json").read_text())["sessions"]
    assert session["ended"] == "interrupted"
    final = run_sweep(tiny_config, resume=report.run_dir, backend=ArithmeticBackend())
    assert not final.interrupted and len(final.rows) == 3


def _as_written_before_contexts(run_dir: Path, config: ExperimentConfig) -> list[str]:
    """Rewrite a run directory as lrlab wrote it before trials recorded their experiment
    (data, model, batch size...): the legacy ids, params without those keys. Returns the
    legacy ids, in sweep order."""
    new, old = expand_trials(config), expand_trials(config, legacy=True)
    for trial, legacy in zip(new, old, strict=True):
        folder = run_dir / "trials" / trial.trial_id
        if not folder.exists():
            continue
        (folder / "params.json").write_text(json.dumps(legacy.params()))
        result = folder / "result.json"
        if result.exists():
            result.write_text(result.read_text().replace(trial.trial_id, legacy.trial_id))
        folder.rename(run_dir / "trials" / legacy.trial_id)
    return [t.trial_id for t in old]


def test_a_run_directory_written_before_resumes_and_reads_with_its_own_ids(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    first = run_sweep(tiny_config, runs_dir=tmp_path,
                      backend=ArithmeticBackend(stop_after=2))
    legacy_ids = _as_written_before_contexts(first.run_dir, tiny_config)
    backend = ArithmeticBackend()
    run_sweep(tiny_config, runs_dir=tmp_path, resume=first.run_dir, backend=backend)
    assert backend.trained == legacy_ids[2:]  # the two finished ones were found
    assert sorted(p.name for p in (first.run_dir / "trials").iterdir()) == sorted(legacy_ids)
    # Read back, its trials carry their sweep's context, as new ones do.
    frame = load_runs(first.run_dir)
    assert set(frame["batch_size"]) == {tiny_config.training.batch_size}
    assert set(frame["model"]) == {tiny_config.model.label()}
    scan = scan_runs([first.run_dir])
    assert len(scan.plans[first.run_dir.name]) == len(legacy_ids)
    assert set(scan.plans[first.run_dir.name]["trial_id"]) == set(legacy_ids)


def test_sweeps_at_two_batch_sizes_are_never_pooled(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    """Before, the same rate at batch 32 and 128 got the same trial id, and load_runs had
    no batch-size column: a notebook grouping by parameters pooled two experiments."""
    bigger = tiny_config.model_copy(update={
        "training": tiny_config.training.model_copy(update={"batch_size": 128})})
    for config in (tiny_config, bigger):
        run_sweep(config, runs_dir=tmp_path, backend=ArithmeticBackend())
    frame = load_runs(tmp_path)
    trials = frame.drop_duplicates(["sweep", "trial_id"])
    assert trials["trial_id"].is_unique
    by_params = trials.groupby(["optimizer", "learning_rate", "seed", "batch_size"])
    assert by_params.size().max() == 1
    assert sorted(set(trials["batch_size"])) == [tiny_config.training.batch_size, 128]
