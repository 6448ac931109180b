"""``lrlab find-lr``: the LR range test from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml

from lrlab.analysis.suggest import DEFAULT_RULE, DEFAULT_SMOOTHING, RULES
from lrlab.cli.common import EngineName, StopSignals, stdout_console, user_errors


def find_lr(
    config: Annotated[Path, typer.Argument(help="YAML experiment config (its rates are ignored).")],
    start: Annotated[float, typer.Option(metavar="RATE", help="First learning rate.")] = 1e-7,
    end: Annotated[float, typer.Option(metavar="RATE", help="Last learning rate.")] = 10.0,
    steps: Annotated[int, typer.Option(metavar="N",
        help="Batches, one rate each (small data is repeated, epoch after epoch).")] = 300,
    smoothing: Annotated[float, typer.Option(metavar="BETA",
        help="Loss smoothing factor in [0, 1), applied forwards and backwards (no lag).")]
    = DEFAULT_SMOOTHING,
    diverge: Annotated[float, typer.Option(metavar="FACTOR",
        help="Stop once the smoothed loss exceeds this multiple of its minimum.")] = 4.0,
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 0,1,2.")] = "0,1,2",
    rule: Annotated[str, typer.Option(help=f"Rule for the grid: {', '.join(RULES)}.")]
    = DEFAULT_RULE,
    grid: Annotated[bool, typer.Option(help="Print a learning_rates grid to paste.")] = True,
    engine: Annotated[Optional[EngineName], typer.Option(
        help="What trains: Keras on TensorFlow or on JAX (default: the config's "
             "training.engine).")] = None,
    runs_dir: Annotated[Path, typer.Option(metavar="DIR", help="Folder that receives the result.")]
    = Path("runs"),
) -> None:
    """Run the LR range test for each optimizer of a config and suggest a learning rate.

    Example: lrlab find-lr configs/mnist.yaml --seeds 0,1,2
    """
    from lrlab.experiment.config import load_config, with_training
    from lrlab.run.find_lr import RangeTestOptions, parse_seeds, run_find_lr

    console = stdout_console()
    with user_errors(), StopSignals() as stops:
        options = RangeTestOptions(start=start, end=end, steps=steps, smoothing=smoothing,
                                   diverge=diverge, seeds=parse_seeds(seeds), rule=rule)
        options.check()
        experiment = with_training(load_config(config), engine=engine and engine.value)
        try:
            report = run_find_lr(
                experiment, options=options, runs_dir=runs_dir, argv=sys.argv,
                on_curve=lambda c: console.print(
                    f"  {c.label} seed {c.seed}: {c.kept} of {len(c.rates)} steps before "
                    f"divergence, {rule} {c.suggestions[rule]:.2g}", markup=False))
        except KeyboardInterrupt:
            typer.echo("interrupted; the curves already written are kept", err=True)
            raise typer.Exit(stops.exit_code) from None
    widened = []
    for label, rules in report.agreement.items():
        chosen = report.suggested(label)
        note = (f"; seeds disagree: {chosen.low:.2g} to {chosen.high:.2g}"
                if chosen.seeds_disagree else f" (seeds {chosen.low:.2g} to {chosen.high:.2g})")
        others = ", ".join(f"{r} {a.median:.2g}" for r, a in rules.items() if r != rule)
        console.print(f"{label}: suggested learning rate {chosen.median:.2g} by {rule}{note};"
                      f" {others}", markup=False)
        if report.grid_widened(label):
            widened.append(label)
            console.print(f"  {label}: the seeds' suggestions span {chosen.decades:.1f} "
                          f"decades, more than a grid around {chosen.median:.2g} covers: this "
                          f"range test cannot place the rate well; its grid is widened to "
                          f"cover every seed", markup=False)
    if report.edge is not None:
        values = sorted(report.sharpness.values())
        console.print(f"stability edge: 2/λ₀ = {report.edge:.3g} at the initial weights "
                      f"(sharpness λ₀ {2 / report.edge:.3g}, seeds {values[0]:.3g} to "
                      f"{values[-1]:.3g}): plain gradient descent's, marked on the plot",
                      markup=False)
    if grid:
        console.print("\n# paste into sweep.optimizers (a decade and a half each side of the "
                      "suggestion" + (f"; widened for {', '.join(widened)}" if widened else "")
                      + "):", markup=False)
        entries = [{"name": report.optimizers[label], "learning_rates": report.grid(label)}
                   for label in report.agreement]
        console.print(yaml.safe_dump(entries, sort_keys=False, default_flow_style=None).rstrip(),
                      markup=False)
    console.print(f"\nrange test: {report.run_dir} (plot: {report.plot})", markup=False)
