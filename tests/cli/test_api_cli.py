"""The library does what the CLI does: for the same inputs, `lrlab sweep` and `run_sweep`,
`lrlab find-lr` and `run_find_lr`, write the same run directories, byte for byte except
the times."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lrlab.cli import app
from lrlab.experiment.config import load_config
from lrlab.run.find_lr import RangeTestOptions, run_find_lr
from lrlab.run.sweep import run_sweep

# Fields that hold a time (and environment.json's command line, which names the caller).
TIMES = {"seconds", "started_at", "finished_at", "ended_at", "command"}


def without_times(path: Path) -> object:
    if path.suffix == ".json":
        def strip(value: object) -> object:
            if isinstance(value, dict):
                return {k: strip(v) for k, v in value.items() if k not in TIMES}
            return [strip(v) for v in value] if isinstance(value, list) else value
        return strip(json.loads(path.read_text()))
    if path.suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        return [{k: v for k, v in row.items() if k not in TIMES} for row in rows]
    return path.read_bytes()


def assert_same_run_directory(api: Path, cli: Path) -> None:
    files = sorted(p.relative_to(api) for p in api.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(cli) for p in cli.rglob("*") if p.is_file())
    for name in files:
        assert without_times(api / name) == without_times(cli / name), name


@pytest.mark.slow
def test_sweep_api_and_cli_write_the_same_files(tmp_path: Path, tiny_config_file: Path) -> None:
    api = run_sweep(load_config(tiny_config_file), runs_dir=tmp_path / "api").run_dir
    result = CliRunner().invoke(app, ["sweep", str(tiny_config_file), "--runs-dir",
                                      str(tmp_path / "cli"), "--quiet"])
    assert result.exit_code == 0, result.output
    (cli,) = (tmp_path / "cli").iterdir()
    assert_same_run_directory(api, cli)


@pytest.mark.slow
def test_find_lr_api_and_cli_write_the_same_files(tmp_path: Path,
                                                  tiny_config_file: Path) -> None:
    options = RangeTestOptions(start=1e-3, end=10.0, steps=40, seeds=(0, 1), rule="min/10")
    api = run_find_lr(load_config(tiny_config_file), options=options,
                      runs_dir=tmp_path / "api").run_dir
    result = CliRunner().invoke(app, [
        "find-lr", str(tiny_config_file), "--runs-dir", str(tmp_path / "cli"), "--start",
        "1e-3", "--end", "10", "--steps", "40", "--seeds", "0,1", "--rule", "min/10"])
    assert result.exit_code == 0, result.output
    (cli,) = (tmp_path / "cli").iterdir()
    assert (api / "findlr.png").is_file()
    assert_same_run_directory(api, cli)
