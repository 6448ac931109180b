"""lrlab tensorboard: event files read back with TensorBoard's own reader."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers import FIXTURE_TRIALS, one_line_error, write_fixture_sweep
from typer.testing import CliRunner

from lrlab.cli import app
from lrlab.present.tensorboard_export import EVENTS_FILE, export

pytest.importorskip("tensorboard")
runner = CliRunner()


def read(path: Path):
    from tensorboard.backend.event_processing.event_accumulator import (
        TENSORS,
        EventAccumulator,
    )

    accumulator = EventAccumulator(str(path), size_guidance={TENSORS: 0})
    accumulator.Reload()
    return accumulator


def scalars(accumulator, tag: str) -> list[tuple[int, float]]:
    from tensorboard.util import tensor_util

    return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
            for e in accumulator.Tensors(tag)]


def hparams_of(accumulator):
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = accumulator.PluginTagToContent("hparams")
    return {tag: plugin_data_pb2.HParamsPluginData.FromString(data)
            for tag, data in content.items()}


def test_each_trial_is_a_run_with_its_scalars_and_hparams(tmp_path: Path) -> None:
    sweep = write_fixture_sweep(tmp_path / "runs")
    logdir = tmp_path / "tb"
    written = export([sweep], logdir)
    runs = sorted(p.parent for p in logdir.glob(f"*/*/{EVENTS_FILE}"))
    assert len(runs) == len(FIXTURE_TRIALS) == len(written) - 1
    good = next(r for r in runs if r.name.startswith("rmsprop-lr1.00e-03-s1"))
    trial = read(good)
    # Validation accuracy per epoch, as the fixture recorded it: 0.94, 0.97, 0.96.
    assert scalars(trial, "epoch/val_accuracy") == [
        (1, pytest.approx(0.94)), (2, pytest.approx(0.97)), (3, pytest.approx(0.96))]
    assert [step for step, _ in scalars(trial, "epoch/loss")] == [1, 2, 3]
    assert scalars(trial, "final/best_val_accuracy") == [(3, pytest.approx(0.97))]
    start = hparams_of(trial)["_hparams_/session_start_info"].session_start_info
    assert start.hparams["optimizer"].string_value == "rmsprop"
    assert start.hparams["learning_rate"].number_value == pytest.approx(1e-3)
    assert start.hparams["seed"].number_value == 1
    assert start.hparams["status"].string_value == "completed"
    experiment = hparams_of(read(logdir))["_hparams_/experiment"].experiment
    names = {info.name for info in experiment.hparam_infos}
    assert {"optimizer", "learning_rate", "seed", "status", "sweep"} <= names
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert {"final/test_accuracy", "epoch/val_accuracy"} <= metrics


def test_exporting_again_gives_the_same_files(tmp_path: Path) -> None:
    sweep = write_fixture_sweep(tmp_path / "runs")
    logdir = tmp_path / "tb"

    def snapshot() -> dict[str, str]:
        return {str(p.relative_to(logdir)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(logdir.rglob("*")) if p.is_file()}

    result = runner.invoke(app, ["tensorboard", str(sweep), "--logdir", str(logdir)])
    assert result.exit_code == 0, result.output
    first = snapshot()
    assert runner.invoke(app, ["tensorboard", str(sweep), "--logdir", str(logdir)]).exit_code == 0
    assert snapshot() == first and len(first) == len(FIXTURE_TRIALS) + 1


def test_where_and_bad_paths(tmp_path: Path) -> None:
    sweep = write_fixture_sweep(tmp_path / "runs")
    written = export([sweep], tmp_path / "tb", where=["optimizer=sgd"])
    assert len(written) - 1 == sum(1 for key in FIXTURE_TRIALS if key[0] == "sgd")
    one_line_error(runner.invoke(app, ["tensorboard", str(tmp_path / "absent"), "--logdir",
                                       str(tmp_path / "tb")]), "absent")
    one_line_error(runner.invoke(app, ["tensorboard", str(sweep), "--where", "nope=1"]),
                   "nope")
