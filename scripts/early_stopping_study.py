"""What early stopping saves, and whether it changes the verdict.

    python scripts/early_stopping_study.py --full RUN_DIR --stopped RUN_DIR

``--full`` trains every epoch; ``--stopped`` is the same config with
``training.early_stopping``. It prints the epochs each trained, the trials stopped and at
which epoch, and each optimizer's best rate and tied set in both. The documentation's study
ran configs/mnist-early-stopping.yaml, and the same config without its early_stopping line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from studies import run_dirs, verdicts

from lrlab.formatting import rate


def results(run_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((run_dir / "trials").glob("*/result.json"))}


def main(argv: list[str]) -> None:
    full_dir, stopped_dir = run_dirs(argv, __doc__, "full", "stopped")
    full, stopped = results(full_dir), results(stopped_dir)
    epochs_full = sum(r["epochs"] for r in full.values())
    epochs_stopped = sum(r["epochs"] for r in stopped.values())
    # Epochs, not seconds: the two sweeps need not have run on an equally busy machine.
    print(f"epochs trained: every epoch {epochs_full}, with early stopping {epochs_stopped} "
          f"({1 - epochs_stopped / epochs_full:.0%} saved; diverged trials stop either way)")
    ended = sorted((r["stopped_epoch"], name) for name, r in stopped.items()
                   if r["status"] == "stopped")
    print(f"stopped: {len(ended)} of {len(stopped)} trials: "
          + ", ".join(f"{name.rsplit('-', 2)[0]} after epoch {epoch}" for epoch, name in ended))
    before, after = verdicts(full_dir), verdicts(stopped_dir)
    for label, (best, tied) in before.items():
        best_after, tied_after = after.get(label, (float("nan"), []))
        same = best == best_after and tied == tied_after
        print(f"{label}: every epoch: best {rate(best)}, tied {', '.join(map(rate, tied))}; "
              f"early stopping: best {rate(best_after)}, tied "
              f"{', '.join(map(rate, tied_after))} -> {'same' if same else 'CHANGED'}")


if __name__ == "__main__":
    main(sys.argv[1:])
