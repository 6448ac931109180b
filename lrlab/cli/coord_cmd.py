"""``lrlab coord-check``: µP's coordinate check on a config's dense network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lrlab.cli.common import stdout_console, user_errors


def coord_check(
    config: Annotated[Path, typer.Argument(help="A sweep config with a dense model.")],
    widths: Annotated[str, typer.Option(
        metavar="W,W,...", help="The hidden widths to compare.")] = "64,128,256,512,1024",
    steps: Annotated[int, typer.Option(min=1, max=1000, metavar="N",
                                       help="Training steps before the reading.")] = 5,
    plot: Annotated[Path, typer.Option(metavar="FILE", help="Where the plot goes (SVG).")]
    = Path("coord-check.svg"),
) -> None:
    """Train the config's dense network a few steps at several widths, under the standard
    parametrization and under µP (its first optimizer, at its first rate), and show each
    layer's mean |output| against the width: flat under µP, the output layer's growing
    under the standard parametrization.

    Example: lrlab coord-check configs/mnist-mup.yaml --widths 64,256,1024
    """
    from lrlab.errors import ConfigError
    from lrlab.experiment.config import load_config
    from lrlab.present.charts import coord_chart
    from lrlab.present.svg import to_svg
    from lrlab.run.coord_check import coord_check as run_check
    from lrlab.rundir.files import atomic_write_text

    console = stdout_console()
    with user_errors():
        try:
            chosen = sorted({int(w) for w in widths.split(",")})
        except ValueError:
            raise ConfigError(f"--widths {widths!r}: expected whole numbers, e.g. "
                              f"64,128,256") from None
        if len(chosen) < 2 or chosen[0] < 1:
            raise ConfigError(f"--widths {widths!r}: expected two or more widths >= 1")
        found = run_check(load_config(config), widths=chosen, steps=steps)
        head = f"{'layer':<10} " + " ".join(f"{w:>8}" for w in found.widths) + "    slope"
        for parametrization, layers in found.values.items():
            console.print(f"{parametrization}: mean |output| after {steps} steps of "
                          f"{found.optimizer} at {found.learning_rate:g}", markup=False)
            console.print("  " + head, markup=False)
            for layer, series in layers.items():
                console.print(f"  {layer:<10} " + " ".join(f"{v:8.3g}" for v in series)
                              + f" {found.slope(parametrization, layer):+8.2f}", markup=False)
        atomic_write_text(plot, to_svg(coord_chart(found)))
        console.print(f"plot: {plot}", markup=False)
