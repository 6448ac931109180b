"""Run files say their format; one upgrade reads every older one into today's form, and
a resumed older directory keeps its trials' format (their ids follow it)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import ArithmeticBackend

from lrlab.errors import StoreError
from lrlab.experiment.config import ExperimentConfig
from lrlab.experiment.trials import CONTEXT_KEYS, expand_trials
from lrlab.run.sweep import run_sweep
from lrlab.rundir.formats import FORMAT, format_of, upgrade
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.store import RunStore, read_trial


def _sweep(tmp_path: Path, config: ExperimentConfig) -> Path:
    return run_sweep(config, runs_dir=tmp_path / "runs", backend=ArithmeticBackend()).run_dir


def _json_files(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.rglob("*.json"))


def _rewrite(path: Path, change) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps(change(data)))


def _as_format_2(run_dir: Path) -> None:
    """What lrlab wrote before files said their format."""
    for path in _json_files(run_dir):
        _rewrite(path, lambda d: {k: v for k, v in d.items() if k != "format"})


def _as_format_1(run_dir: Path, config: ExperimentConfig) -> None:
    """Format 1: a flat environment.json with no kind; params and ids without context."""
    _as_format_2(run_dir)
    _rewrite(run_dir / "environment.json", lambda d: d["sessions"][0])
    legacy = {(t.optimizer, t.learning_rate, t.seed): t.trial_id
              for t in expand_trials(config, legacy=True)}
    for trial in expand_trials(config):
        old = run_dir / "trials" / trial.trial_id
        _rewrite(old / "params.json",
                 lambda d: {k: v for k, v in d.items() if k not in CONTEXT_KEYS})
        old.rename(run_dir / "trials" / legacy[trial.optimizer, trial.learning_rate,
                                              trial.seed])


def test_every_json_file_lrlab_writes_says_its_format_first(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    files = _json_files(_sweep(tmp_path, tiny_config))
    assert {p.name for p in files} >= {"environment.json", "params.json", "result.json"}
    for path in files:
        assert next(iter(json.loads(path.read_text()))) == "format", path
        assert json.loads(path.read_text())["format"] == FORMAT


@pytest.mark.parametrize("older", [1, 2])
def test_an_older_directory_reads_as_today_s_and_resumes_in_its_own_format(
        tmp_path: Path, tiny_config: ExperimentConfig, older: int) -> None:
    run_dir = _sweep(tmp_path, tiny_config)
    today = scan_runs([run_dir]).frame
    (_as_format_1(run_dir, tiny_config) if older == 1 else _as_format_2(run_dir))
    store = RunStore(run_dir)
    assert store.kind() == "sweep" and store.trials_format() == older
    read = scan_runs([run_dir]).frame
    # The same trials, their context filled in from sweep.yaml where they lacked it.
    assert read.attrs["lrlab_params"] == today.attrs["lrlab_params"]
    columns = [c for c in today.columns if c not in ("trial_id", "trial_seconds", "seconds")]
    pd.testing.assert_frame_equal(read[columns].reset_index(drop=True),
                                  today[columns].reset_index(drop=True))
    # A resume finds every trial done under the ids of its format, and trains none.
    backend = ArithmeticBackend()
    run_sweep(tiny_config, runs_dir=tmp_path / "runs", resume=run_dir, backend=backend)
    assert backend.trained == []
    assert RunStore(run_dir).trials_format() == older


def test_a_trial_resumed_in_a_format_1_directory_keeps_its_format(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    run_dir = _sweep(tmp_path, tiny_config)
    _as_format_1(run_dir, tiny_config)
    first = sorted((run_dir / "trials").iterdir())[-1]
    for name in ("result.json", "history.csv"):
        (first / name).unlink()
    backend = ArithmeticBackend()
    run_sweep(tiny_config, runs_dir=tmp_path / "runs", resume=run_dir, backend=backend)
    assert backend.trained == [first.name]
    written = json.loads((first / "params.json").read_text())
    assert written["format"] == 1 and "batch_size" not in written
    assert read_trial(first)[0]["batch_size"] == tiny_config.training.batch_size
    assert RunStore(run_dir).trials_format() == 1


@pytest.mark.parametrize(("value", "words"), [
    (FORMAT + 1, f"written in run format {FORMAT + 1} by a newer lrlab; this one reads "
                 f"formats 1 to {FORMAT}: upgrade lrlab to read it"),
    ("3", f"format: expected a whole number from 1 to {FORMAT}, got '3'"),
    (True, f"format: expected a whole number from 1 to {FORMAT}, got True"),
    (0, f"format: expected a whole number from 1 to {FORMAT}, got 0"),
])
def test_a_format_it_cannot_read_is_one_line_naming_the_file(
        tmp_path: Path, tiny_config: ExperimentConfig, value: object, words: str) -> None:
    run_dir = _sweep(tmp_path, tiny_config)
    trial = sorted((run_dir / "trials").iterdir())[0]
    _rewrite(trial / "result.json", lambda d: {**d, "format": value})
    with pytest.raises(StoreError) as raised:
        read_trial(trial)
    assert str(raised.value) == f"{trial / 'result.json'}: {words}"
    _rewrite(run_dir / "environment.json", lambda d: {**d, "format": value})
    with pytest.raises(StoreError, match="environment.json: "):
        RunStore(run_dir).read_environment()


def test_older_files_are_told_apart_in_one_place() -> None:
    assert format_of("environment.json", {"host": "h"}) == 1
    assert format_of("environment.json", {"sessions": []}) == 2
    assert format_of("params.json", {"optimizer": "sgd"}) == 1
    assert format_of("params.json", {"optimizer": "sgd", "batch_size": 32}) == 2
    assert format_of("result.json", {"format": 3}) == 3
    # A range test from before kinds were recorded has its result.json at the top.
    assert upgrade("environment.json", {"sessions": []}, run_dir=Path("/nowhere"))["kind"] \
        == "sweep"


def test_a_today_s_environment_without_sessions_is_one_line(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    run_dir = _sweep(tmp_path, tiny_config)
    (run_dir / "environment.json").write_text('{"format": 3, "kind": "sweep"}')
    with pytest.raises(StoreError, match=r"environment.json: malformed; 'sessions' should be "
                                         r"a list"):
        RunStore(run_dir).read_environment()
