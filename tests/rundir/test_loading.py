from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURE_TRIALS, write_fixture_sweep

from lrlab.errors import StoreError
from lrlab.rundir.loading import load_runs, scan_runs


def test_tidy_frame_one_row_per_trial_and_epoch(fixture_sweep: Path) -> None:
    frame = load_runs(fixture_sweep.parent)
    epochs = sum(max(len(acc), 1) for acc, _ in FIXTURE_TRIALS.values())
    assert len(frame) == epochs
    assert frame["trial_id"].nunique() == len(FIXTURE_TRIALS)
    for column in ("sweep", "optimizer", "learning_rate", "seed", "status", "test_accuracy",
                   "trial_seconds", "epoch", "lr", "loss", "val_accuracy", "seconds"):
        assert column in frame.columns, column
    row = frame[(frame["optimizer"] == "sgd") & (frame["learning_rate"] == 0.1)
                & (frame["seed"] == 1) & (frame["epoch"] == 3)].iloc[0]
    assert row["val_accuracy"] == 0.96 and row["status"] == "completed"
    assert row["sweep"] == fixture_sweep.name
    failed = frame[frame["status"] == "failed"]
    assert len(failed) == 1 and failed["epoch"].isna().all()


@pytest.mark.parametrize("level", ["runs", "sweep", "trial"])
def test_any_level_of_path(fixture_sweep: Path, level: str) -> None:
    path = {"runs": fixture_sweep.parent, "sweep": fixture_sweep,
            "trial": next((fixture_sweep / "trials").iterdir())}[level]
    scan = scan_runs([path])
    assert scan.sweep_dirs == [fixture_sweep]
    expected = len(FIXTURE_TRIALS) if level != "trial" else 1
    assert scan.frame["trial_id"].nunique() == expected


def test_the_same_trial_given_twice_is_loaded_once(fixture_sweep: Path) -> None:
    scan = scan_runs([fixture_sweep, fixture_sweep.parent])
    assert scan.frame["trial_id"].nunique() == len(FIXTURE_TRIALS)


def test_damaged_trials_are_listed_and_skipped(fixture_sweep: Path) -> None:
    trials = sorted((fixture_sweep / "trials").iterdir())
    (trials[0] / "history.csv").write_text("epoch,lr,loss,accuracy,val_loss,val_acc")
    (trials[1] / "result.json").write_text('{"status": "compl')
    (trials[2] / "params.json").unlink()
    history = trials[3] / "history.csv"
    history.write_text(history.read_text()[:-20])  # cut inside the last row
    (trials[4] / "result.json").write_text('{"status": "exploded"}')
    scan = scan_runs([fixture_sweep])
    reasons = {bad.path.name: bad.reason for bad in scan.unreadable}
    assert set(reasons) == {t.name for t in trials[:5]}
    assert "unexpected header" in reasons[trials[0].name]
    assert "malformed JSON" in reasons[trials[1].name]
    assert reasons[trials[2].name].endswith("params.json: missing")
    assert "expected 7 fields" in reasons[trials[3].name]
    assert "unknown status 'exploded'" in reasons[trials[4].name]
    assert scan.frame["trial_id"].nunique() == len(FIXTURE_TRIALS) - 5


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such file or directory"):
        scan_runs([tmp_path / "absent"])
    with pytest.raises(StoreError, match="no trials found"):
        scan_runs([tmp_path])
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(StoreError, match="not a folder"):
        scan_runs([tmp_path / "file.txt"])


def test_several_sweeps_side_by_side(tmp_path: Path) -> None:
    write_fixture_sweep(tmp_path, name="first")
    write_fixture_sweep(tmp_path, name="second")
    frame = load_runs(tmp_path)
    assert sorted(frame["sweep"].unique()) == ["first-20260101-000000", "second-20260101-000000"]


def test_loading_does_not_import_tensorflow(fixture_sweep: Path) -> None:
    code = (f"import sys, lrlab; lrlab.load_runs({str(fixture_sweep)!r}); "
            f"print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


PLANS = {
    "grid": "sweep: {seeds: [0, 1], optimizers: [{name: sgd, learning_rates: [0.01, 0.1]}]}",
    "sobol": ("sweep: {seeds: [0], sampler: sobol, points: 4, optimizers: [{name: sgd, "
              "learning_rates: {low: 0.001, high: 1}}]}"),
    "tpe": ("sweep: {seeds: [0, 1], sampler: tpe, points: 8, optimizers: [{name: sgd, "
            "learning_rates: {low: 0.001, high: 1}, momentum: {low: 0, high: 0.9}}]}"),
}


@pytest.mark.parametrize("kind", sorted(PLANS))
def test_the_plan_recorded_as_it_grows_is_the_one_the_config_gives(
        tmp_path: Path, kind: str) -> None:
    from helpers import ArithmeticBackend

    from lrlab.experiment.config import parse_config
    from lrlab.run.sweep import run_sweep
    from lrlab.rundir.loading import _derived_plan, planned_trials
    from lrlab.rundir.records import parse_plan

    config = parse_config(f"""
name: {kind}
data: {{dataset: synthetic, train_limit: 100, validation: 50, test_limit: 50}}
training: {{epochs: 1}}
{PLANS[kind]}
""")
    # Stopped part-way: a TPE sweep has points still to ask for.
    report = run_sweep(config, runs_dir=tmp_path, backend=ArithmeticBackend(stop_after=5))
    recorded = parse_plan(json.loads((report.run_dir / "plan.json").read_text()))
    assert recorded.pop("format") == 5  # the run directory's format, as every file's
    assert recorded == _derived_plan(report.run_dir)
    assert bool(recorded["unasked"]) == (kind == "tpe")
    planned = planned_trials(report.run_dir)
    assert len(planned) == len(recorded["trials"]) + len(recorded["unasked"])
    # A damaged plan.json: readers plan from the config, as for a run from before it.
    (report.run_dir / "plan.json").write_text("{not json")
    again = planned_trials(report.run_dir)
    assert again is not None and list(again["trial_id"]) == list(planned["trial_id"])


def test_an_adaptive_sweeps_plan_grows_with_its_rounds(tmp_path: Path) -> None:
    from helpers import ArithmeticBackend

    from lrlab.experiment.config import parse_config
    from lrlab.run.settle import run_settle
    from lrlab.rundir.loading import _derived_plan

    config = parse_config("""
name: settled
data: {dataset: synthetic, train_limit: 100, validation: 50, test_limit: 50}
training: {epochs: 1}
sweep: {seeds: [0, 1], optimizers: [{name: sgd, learning_rates: [0.01, 0.1, 1.0]}]}
""")
    report = run_settle(config, runs_dir=tmp_path, backend=ArithmeticBackend())
    recorded = json.loads((report.run_dir / "plan.json").read_text())
    recorded.pop("format")
    assert len(recorded["trials"]) == report.trainings > 6  # the grid, and what rounds added
    assert recorded == _derived_plan(report.run_dir)
