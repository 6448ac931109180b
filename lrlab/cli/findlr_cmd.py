"""``lrlab find-lr``: the LR range test from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import yaml


def find_lr(
    config: Annotated[Path, typer.Argument(help="YAML experiment config (its rates are ignored).")],
    start: Annotated[float, typer.Option(help="First learning rate.")] = 1e-7,
    end: Annotated[float, typer.Option(help="Last learning rate.")] = 10.0,
    steps: Annotated[Optional[int], typer.Option(
        help="Batches (default: one epoch, at most 300).")] = None,
    smoothing: Annotated[float, typer.Option(help="Loss smoothing factor in [0, 1).")] = 0.98,
    diverge: Annotated[float, typer.Option(
        help="Stop once the smoothed loss exceeds this multiple of its minimum.")] = 4.0,
    seeds: Annotated[str, typer.Option(help="Seeds, e.g. 0,1,2.")] = "0,1,2",
    rule: Annotated[str, typer.Option(help="Rule for the grid: valley, steepest or min/10.")]
    = "valley",
    grid: Annotated[bool, typer.Option(help="Print a learning_rates grid to paste.")] = True,
    runs_dir: Annotated[Path, typer.Option(help="Folder that receives the result.")]
    = Path("runs"),
) -> None:
    """Run the LR range test for each optimizer of a config and suggest a learning rate.

    Example: lrlab find-lr configs/mnist.yaml --seeds 0,1,2
    """
    from lrlab.cli.app import stdout_console, user_errors
    from lrlab.config import load_config
    from lrlab.findlr import RangeTestError, RangeTestOptions, run_find_lr
    from lrlab.plots import draw_range_test
    from lrlab.suggest import RULES, grid_around

    console = stdout_console()
    with user_errors():
        if rule not in RULES:
            raise RangeTestError(f"--rule {rule!r}: expected one of: {', '.join(RULES)}")
        try:
            seed_list = tuple(int(s) for s in seeds.replace(",", " ").split())
        except ValueError:
            raise RangeTestError(f"--seeds {seeds!r}: expected integers, e.g. 0,1,2") from None
        options = RangeTestOptions(start=start, end=end, steps=steps, smoothing=smoothing,
                                   diverge=diverge, seeds=seed_list)
        experiment = load_config(config)
        try:
            report = run_find_lr(
                experiment, options=options, runs_dir=runs_dir, argv=sys.argv,
                on_curve=lambda c: console.print(
                    f"  {c.label} seed {c.seed}: {c.kept} of {len(c.rates)} steps before "
                    f"divergence, {rule} {c.suggestions[rule]:.2g}", markup=False))
        except KeyboardInterrupt:
            typer.echo("interrupted; the curves already written are kept", err=True)
            raise typer.Exit(130) from None
        plot = report.run_dir / "findlr.png"
        draw_range_test(report.curves, report.agreement, default_rule=rule, path=plot)
    for label, rules in report.agreement.items():
        chosen = rules[rule]
        note = (f"; seeds disagree: {chosen.low:.2g} to {chosen.high:.2g}"
                if chosen.seeds_disagree else f" (seeds {chosen.low:.2g} to {chosen.high:.2g})")
        others = ", ".join(f"{r} {a.median:.2g}" for r, a in rules.items() if r != rule)
        console.print(f"{label}: suggested learning rate {chosen.median:.2g} by {rule}{note};"
                      f" {others}", markup=False)
    if grid:
        console.print("\n# paste into sweep.optimizers (a decade and a half each side):",
                      markup=False)
        entries = [{"name": report.optimizers[label],
                    "learning_rates": grid_around(rules[rule].median)}
                   for label, rules in report.agreement.items()]
        console.print(yaml.safe_dump(entries, sort_keys=False, default_flow_style=None).rstrip(),
                      markup=False)
    console.print(f"\nrange test: {report.run_dir} (plot: {plot})", markup=False)
