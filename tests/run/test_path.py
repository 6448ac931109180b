"""lrlab path: a too-small, the best and a too-large rate retraced on both engines, the
same runs as the sweep's (their final losses match), their pictures' numbers where they
are known, and the plots and report that draw them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, run_fresh
from typer.testing import CliRunner

from lrlab.cli.app import app

PATH_YAML = """\
name: paths
data: {{dataset: synthetic, train_limit: 600, validation: 100, test_limit: 200}}
model: {{hidden: [32]}}
training: {{epochs: 2, batch_size: 32, engine: {engine}}}
sweep:
  seeds: [0]
  optimizers:
    - name: sgd
      learning_rates: [0.001, 0.1, 1000]
"""

# Sweep then trace, in a fresh process (Keras picks its backend once a process).
TRACE = """
import json
from pathlib import Path
from lrlab.experiment.config import parse_config
from lrlab.run.backends import LocalBackend
from lrlab.run.path import PathOptions, trace_paths
from lrlab.run.sweep import run_sweep

report = run_sweep(parse_config({config!r}), runs_dir=Path({runs!r}),
                   backend=LocalBackend(workers=1))
trace_paths(report.run_dir, options=PathOptions(per_epoch=3, grid=7, rows=256))
print(json.dumps(str(report.run_dir)))
"""


def traced(tmp_path: Path, engine: str) -> Path:
    return Path(run_fresh(TRACE.format(config=PATH_YAML.format(engine=engine),
                                       runs=str(tmp_path / "runs"))))


@pytest.mark.parametrize("engine", ["tensorflow", pytest.param("jax", marks=pytest.mark.jax)])
def test_the_three_rates_are_retraced_exactly_and_projected(tmp_path: Path,
                                                           engine: str) -> None:
    if engine == "jax":
        pytest.importorskip("jax", reason='the jax engine needs JAX: pip install -e ".[jax]"')
    run = traced(tmp_path, engine)
    record = json.loads((run / "path.json").read_text())
    (entry,) = record["paths"]
    trials = {t["role"]: t for t in entry["trials"]}
    assert {r: t["learning_rate"] for r, t in trials.items()} == {
        "too small": 0.001, "best": 0.1, "too large": 1000.0}
    assert trials["too large"]["status"] == "diverged"
    for trial in trials.values():
        # The retrace is the sweep's own run: the same final training loss.
        assert trial["retraced_loss"] == pytest.approx(trial["recorded_loss"], rel=1e-5)
        coordinates = np.array(trial["coordinates"])
        assert np.allclose(coordinates[-1], 0, atol=1e-6)  # the final weights at 0
        assert 0 < trial["captured"] <= 1 + 1e-9
        assert trial["line"]["alpha"][5] == pytest.approx(0.0, abs=1e-12)
        grid = trial["grid"]
        assert len(grid["loss"]) == 7 and all(len(row) == 7 for row in grid["loss"])
        # alpha 0 is the initial weights: every trial of a seed starts there.
        assert trial["line"]["loss"][5] == pytest.approx(trials["best"]["line"]["loss"][5],
                                                         rel=1e-5)
    # 500 training rows: 15 batches of 32 and one of 20 an epoch, cut in 3 pieces and the
    # last batch: a point after each, and the start.
    assert trials["too small"]["steps"][-1] == trials["best"]["steps"][-1] == 32
    assert len(trials["best"]["coordinates"]) == 1 + 2 * 4


def test_compare_plots_the_paths_and_the_report_shows_them(tmp_path: Path) -> None:
    run = traced(tmp_path, "tensorflow")
    result = CliRunner().invoke(app, ["compare", str(run), "--plots", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / "path-1-sgd.svg").is_file()
    result = CliRunner().invoke(app, ["report", str(run), "--output",
                                      str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "r.html").read_text()
    assert 'id="paths"' in page and 'aria-label="path of sgd"' in page
    # A damaged path.json is named and skipped; the verdicts still stand.
    (run / "path.json").write_text('{"format": 5, "paths": [{"label": 3}]}')
    result = CliRunner().invoke(app, ["compare", str(run), "--no-plots"])
    assert result.exit_code == 0
    assert f"skipped {run / 'path.json'}: paths[1].sweep: expected a string" in result.output
    assert re.search(r"^sgd: .*\b0\.1\b", result.output, re.M)  # the verdict


def test_a_folder_that_is_not_a_sweep_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["path", str(tmp_path)])
    one_line_error(result, str(tmp_path), "not a run directory")
