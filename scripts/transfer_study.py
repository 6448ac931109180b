"""Does the best rate transfer as the network widens? The standard parametrization against
µP, from two sweeps whose hidden width is an axis (configs/mnist-transfer-sp.yaml and
configs/mnist-transfer-mup.yaml).

    python scripts/transfer_study.py SP_RUN_DIR MUP_RUN_DIR

For each parametrization and optimizer: the best rate at each width and the slope of
log(best rate) against log(width) with its interval (lrlab compare's own analysis); then
mup's "wider is better": at the rate that is best on the narrowest network, each wider
network's validation accuracy minus the narrowest's, paired by seed, with a 95% interval.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lrlab.analysis.axes import axis_number
from lrlab.analysis.compare import compare_runs, trial_values
from lrlab.analysis.stats import mean_interval
from lrlab.present.render import slope_text
from lrlab.rundir.loading import load_runs

AXIS = "model.hidden"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs=2, metavar="RUN_DIR")
    args = parser.parse_args(argv)
    for name, run in zip(("standard", "mup"), args.runs, strict=True):
        frame = load_runs(run)
        comparison = compare_runs(frame)
        values = trial_values(frame, metric=comparison.metric, at=comparison.at)
        print(f"{name} ({run.name}):")
        for slope in comparison.slopes:
            if slope.along.axis != AXIS:
                continue
            points = [p for p in slope.along.points if p.best_rate is not None]
            print("  " + "; ".join(f"{int(axis_number(p.value))}: {p.best_rate:.3g} "
                                   f"({p.mean:.4f})" for p in points))
            print("  " + slope_text(slope))
            _wider(values, slope.along.optimizer, points)


def _wider(values, optimizer: str, points) -> None:
    """At the narrowest width's best rate: each wider width minus the narrowest, paired
    by seed."""
    rate = points[0].best_rate
    mine = values[(values["optimizer"] == optimizer)
                  & np.isclose(values["learning_rate"], rate, rtol=1e-6)]
    widths = sorted({axis_number(v) for v in mine[AXIS]})
    by_width = {w: mine[mine[AXIS].map(axis_number) == w].set_index("seed")["value"]
                for w in widths}
    narrow = by_width[widths[0]]
    parts = []
    for width in widths[1:]:
        paired = (by_width[width] - narrow).dropna()
        low, high = mean_interval(paired.to_list())
        word = "better" if low > 0 else "worse" if high < 0 else "tied"
        parts.append(f"{int(width)}: {paired.mean():+.4f} ({low:+.4f} to {high:+.4f}, {word})")
    print(f"    at {rate:.3g} (best at {int(widths[0])}), wider minus narrowest: "
          + "; ".join(parts))


if __name__ == "__main__":
    main()
