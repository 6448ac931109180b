"""µP's coordinate check: under the standard parametrization the output layer's mean
|output| grows with the width after a few steps; under µP it stays flat."""

from __future__ import annotations

from pathlib import Path

from helpers import one_line_error
from typer.testing import CliRunner

from lrlab.cli.app import app
from lrlab.experiment.config import parse_config
from lrlab.run.coord_check import coord_check

CONFIG = """\
data: {dataset: synthetic, train_limit: 2000, validation: 100, test_limit: 100}
model: {hidden: [64]}
training: {batch_size: 64}
sweep: {optimizers: [{name: adam, learning_rates: [0.01]}]}
"""


def test_the_output_grows_with_the_width_under_the_standard_parametrization_only() -> None:
    found = coord_check(parse_config(CONFIG), widths=[64, 256, 1024], steps=5)
    assert found.widths == (64, 256, 1024) and set(found.values) == {"standard", "mup"}
    assert set(found.values["mup"]) == {"hidden 1", "output"}
    # Widened 16 times, the standard output grows about 3 times; µP's stays within 15%.
    assert found.slope("standard", "output") > 0.3
    assert abs(found.slope("mup", "output")) < 0.1
    assert abs(found.slope("mup", "hidden 1")) < 0.1
    exported = found.to_dict()
    assert exported["slopes"]["mup"]["output"] == found.slope("mup", "output")


def test_the_command_prints_the_table_and_draws_the_plot(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    plot = tmp_path / "cc.svg"
    result = CliRunner().invoke(app, ["coord-check", str(config), "--widths", "32,256",
                                      "--steps", "3", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "mup: mean |output| after 3 steps of adam at 0.01" in result.output
    assert "slope" in result.output and plot.read_text().startswith("<svg")
    one_line_error(CliRunner().invoke(app, ["coord-check", str(config), "--widths", "64"]),
                   "--widths '64': expected two or more widths")
    config.write_text(CONFIG.replace("{hidden: [64]}", "{kind: conv}"))
    one_line_error(CliRunner().invoke(app, ["coord-check", str(config)]),
                   "model.kind: conv: the coordinate check is built for the dense network")
