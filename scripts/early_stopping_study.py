"""What early stopping saves, and whether it changes the verdict.

    python scripts/early_stopping_study.py --full RUN_DIR --stopped RUN_DIR

``--full`` trains every epoch; ``--stopped`` is the same config with
``training.early_stopping``. It prints the epochs each trained, the trials stopped and at
which epoch, and each optimizer's best rate and tied set in both. The documentation's study
ran configs/mnist-early-stopping.yaml, and the same config without its early_stopping line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lrlab.analysis.compare import compare_runs
from lrlab.formatting import rate
from lrlab.rundir.loading import scan_runs


def results(run_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((run_dir / "trials").glob("*/result.json"))}


def verdicts(run_dir: Path) -> dict[str, tuple[float, list[float]]]:
    scan = scan_runs([run_dir])
    comparison = compare_runs(scan.frame, plans=scan.plans)
    return {v.label: (v.best_learning_rate, list(v.tied)) for v in comparison.verdicts}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=Path, required=True)
    parser.add_argument("--stopped", type=Path, required=True)
    args = parser.parse_args(argv)
    full, stopped = results(args.full), results(args.stopped)
    epochs_full = sum(r["epochs"] for r in full.values())
    epochs_stopped = sum(r["epochs"] for r in stopped.values())
    # Epochs, not seconds: the two sweeps need not have run on an equally busy machine.
    print(f"epochs trained: every epoch {epochs_full}, with early stopping {epochs_stopped} "
          f"({1 - epochs_stopped / epochs_full:.0%} saved; diverged trials stop either way)")
    ended = sorted((r["stopped_epoch"], name) for name, r in stopped.items()
                   if r["status"] == "stopped")
    print(f"stopped: {len(ended)} of {len(stopped)} trials: "
          + ", ".join(f"{name.rsplit('-', 2)[0]} after epoch {epoch}" for epoch, name in ended))
    before, after = verdicts(args.full), verdicts(args.stopped)
    for label, (best, tied) in before.items():
        best_after, tied_after = after.get(label, (float("nan"), []))
        same = best == best_after and tied == tied_after
        print(f"{label}: every epoch: best {rate(best)}, tied {', '.join(map(rate, tied))}; "
              f"early stopping: best {rate(best_after)}, tied "
              f"{', '.join(map(rate, tied_after))} -> {'same' if same else 'CHANGED'}")


if __name__ == "__main__":
    main(sys.argv[1:])
