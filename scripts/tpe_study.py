"""TPE against a Sobol sweep of the same space: the best value found after each point.

    python scripts/tpe_study.py --sobol RUN_DIR --tpe RUN_DIR

Both sweeps train every point on the same seeds, so their points are paired by seed: it
prints each one's best-so-far curve (the seed mean of the verdict's column at each
trial's best epoch, point by point), Sobol's best point and its tied set (as ``lrlab
compare`` gives them), whether TPE's best point reaches that tied set (its value at least
the lowest of the set's), and TPE's best against Sobol's best, paired by seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from studies import run_dirs

from lrlab.analysis import stats
from lrlab.analysis.compare import compare_runs, default_metric
from lrlab.experiment.config import parse_config
from lrlab.formatting import rate
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.store import RunStore


def points(run_dir: Path) -> tuple[pd.DataFrame, str]:
    """One row per point, in the order drawn: its settings, each seed's value (the
    verdict's column at the trial's best epoch) and their mean."""
    frame = scan_runs([run_dir]).frame
    metric = default_metric(frame)
    store = RunStore(run_dir)
    config = parse_config(store.read_config_text())
    design = store.read_design() or {"units": [], "dimensions": []}
    (entry,) = config.sweep.optimizers
    specs = entry.sampled()
    best = frame.dropna(subset=["epoch"]).groupby(
        ["learning_rate", "momentum", "seed"])[metric].max().unstack("seed")
    rows = []
    for units in design["units"]:
        drawn = {key: spec.at(units[design["dimensions"].index(f"sweep.optimizers[0].{key}")])
                 for key, spec in specs.items()}
        values = best.loc[(drawn["learning_rate"], drawn["momentum"])]
        rows.append({**drawn, **values.to_dict(), "mean": float(values.mean())})
    return pd.DataFrame(rows), metric


def curve(table: pd.DataFrame, marks: list[int]) -> str:
    best = table["mean"].cummax()
    return "  ".join(f"{n}: {best.iloc[n - 1]:.4f}" for n in marks if n <= len(best))


def main(argv: list[str]) -> None:
    sobol_dir, tpe_dir = run_dirs(argv, __doc__, "sobol", "tpe")
    sobol, metric = points(sobol_dir)
    tpe, _ = points(tpe_dir)
    marks = [1, 4, 8, 16, 24, 32, 64]
    print(f"best {metric} so far (seed mean), after n points:")
    print(f"  sobol {curve(sobol, marks)}")
    print(f"  tpe   {curve(tpe, marks)}")
    scan = scan_runs([sobol_dir])
    (verdict,) = compare_runs(scan.frame, plans=scan.plans).verdicts
    tied = sobol[sobol["learning_rate"].isin(verdict.tied)]
    floor = float(tied["mean"].min())
    top = tpe.loc[tpe["mean"].idxmax()]
    first = int(tpe["mean"].cummax().searchsorted(floor) + 1) if (
        tpe["mean"].max() >= floor) else None
    print(f"sobol ({len(sobol)} points): best rate {rate(verdict.best_learning_rate)}, "
          f"{metric} {verdict.best_mean:.4f}\n  its tied set has {len(tied)} points, the "
          f"lowest at {floor:.4f}")
    print(f"tpe ({len(tpe)} points): best rate {rate(top['learning_rate'])} momentum "
          f"{top['momentum']:.3f}, {metric} {top['mean']:.4f}\n  "
          + (f"within Sobol's tied set from point {first}" if first else
             "NOT within Sobol's tied set"))
    # Where each sampler spends its points: TPE's first 10 are random, as Optuna's are.
    print(f"mean of the points: sobol's {len(sobol)} {sobol['mean'].mean():.4f}; "
          f"tpe's random 1-10 {tpe['mean'][:10].mean():.4f}, modelled 11-{len(tpe)} "
          f"{tpe['mean'][10:].mean():.4f}")
    best_sobol = sobol.loc[sobol["mean"].idxmax()]
    seeds = [c for c in sobol.columns if isinstance(c, (int, np.integer))]
    difference = stats.paired_difference([top[s] for s in seeds],
                                         [best_sobol[s] for s in seeds])
    print(f"tpe's best minus sobol's, paired by seed: {difference.mean:+.4f} (95% CI "
          f"{difference.low:+.4f} to {difference.high:+.4f}, {difference.n} seeds)")


if __name__ == "__main__":
    main(sys.argv[1:])
