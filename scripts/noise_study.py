"""The gradient noise scale over training, as a sweep with ``training.noise`` measured it.

    python scripts/noise_study.py RUN_DIR

For each setting (optimizer and batch size, say) at its best rate: B_simple at the initial
weights and after each epoch, and the training loss, the seeds' medians; then how many
settings' noise scale grew as their loss fell (McCandlish et al. predict it does: the
gradient shrinks faster than its noise); and, where the batch size is an axis, compare's
fit of eps_max / (1 + B_noise / B) beside the measured scale. docs/physics.md shows it for
the batch-size study.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

import numpy as np

from lrlab.analysis.compare import compare_runs
from lrlab.present.render import noise_fit_text
from lrlab.rundir.loading import load_runs
from lrlab.rundir.store import RunStore


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    frame = load_runs(args.run_dir)
    comparison = compare_runs(frame)
    store = RunStore(args.run_dir)
    grew = total = 0
    print("B_simple at the best rate, seeds' median: initial weights, then each epoch "
          "(training loss below)")
    for verdict in comparison.verdicts:
        rows = frame[(frame["optimizer"] == verdict.optimizer)
                     & (frame["learning_rate"] == verdict.best_learning_rate)]
        for name, value in verdict.settings:
            rows = rows[rows[name].astype(str) == str(value)]
        by_epoch: dict[int, list[float]] = {}
        for trial_id in rows["trial_id"].unique():
            for row in store.read_curvature(trial_id):
                by_epoch.setdefault(int(row["epoch"]), []).append(row["noise_scale"])
        if not by_epoch:
            continue
        scales = [float(np.nanmedian(by_epoch[e])) for e in sorted(by_epoch)]
        losses = rows.groupby("epoch")["loss"].median()
        total += 1
        grew += scales[-1] > scales[0]
        print(f"  {verdict.label}, best rate {verdict.best_learning_rate:.3g}: "
              + " -> ".join(f"{s:,.0f}" for s in scales))
        print("      loss " + " -> ".join(f"{v:.3f}" for v in losses))
    print(f"The noise scale at the last epoch is above its initial value in {grew} of "
          f"{total} settings.")
    for scaling in comparison.scaling:  # compare's words, where the batch size is an axis
        text = noise_fit_text(scaling)
        if text is not None:
            print(textwrap.fill(text, width=92, subsequent_indent="  "))


if __name__ == "__main__":
    main()
