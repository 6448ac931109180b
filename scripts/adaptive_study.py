"""Does an adaptive sweep reach the verdict of a full grid with fewer trainings?

    python scripts/adaptive_study.py --grid RUN_DIR --adaptive RUN_DIR

``--grid`` is a plain sweep of a grid with many seeds (every rate, every seed), and
``--adaptive`` a sweep of the same rates with few seeds settled by ``lrlab sweep
--until-settled``. For each optimizer it prints the best rate and the set of rates not told
apart from it, as each run directory says them, and how many trainings each took. The
documentation's study ran:

    lrlab sweep configs/mnist-coarse.yaml --until-settled
    lrlab sweep FULL.yaml   # configs/mnist-coarse.yaml with seeds: [0, 1, ..., 9]
"""

from __future__ import annotations

import sys
from pathlib import Path

from studies import run_dirs, verdicts

from lrlab.formatting import rate
from lrlab.rundir.store import RunStore


def settled_verdicts(run_dir: Path) -> dict[str, tuple[float, list[float], str]]:
    """Each setting's best rate, the rates its last look did not separate from it (open
    or equivalent), and how the setting ended, from settle.json."""
    record = RunStore(run_dir).read_settle()
    if record is None:
        raise SystemExit(f"{run_dir}: no settle.json; expected a sweep run --until-settled")
    last: dict[str, dict] = {}
    for entry in record["rounds"]:
        for decision in entry["decisions"]:
            if decision.get("action") == "look":
                last[decision["setting"]] = decision
    return {label: (d.get("best"), sorted([d["best"], *(c["learning_rate"] for c in d.get(
        "calls", []) if c["call"] != "separated")]), d.get("state", "?"))
            for label, d in last.items()}


def trainings(run_dir: Path) -> int:
    return sum(1 for path in (run_dir / "trials").iterdir() if (path / "result.json").exists())


def main(argv: list[str]) -> None:
    grid_dir, adaptive_dir = run_dirs(argv, __doc__, "grid", "adaptive")
    grid, adaptive = verdicts(grid_dir), settled_verdicts(adaptive_dir)
    plain = verdicts(adaptive_dir)  # compare's own verdict of the adaptive run

    def rates(values: list[float]) -> str:
        return ", ".join(rate(r) for r in values)

    same = True
    for label, (best, tied) in grid.items():
        settled_best, settled_tied, state = adaptive.get(label, (None, [], "missing"))
        agree = settled_best == best and settled_tied == tied
        same &= agree
        print(f"{label}: full grid best {rate(best)}, not told apart: {rates(tied)}")
        print(f"{' ' * len(label)}  adaptive  best {rate(settled_best or float('nan'))}, "
              f"not separated: {rates(settled_tied)} ({state}); compare of it: best "
              f"{rate(plain[label][0])}, tied {rates(plain[label][1])}"
              f" -> {'same verdict' if agree else 'DIFFERENT'}")
    full, few = trainings(grid_dir), trainings(adaptive_dir)
    print(f"trainings: full grid {full}, adaptive {few} ({few / full:.0%} of the grid); "
          f"{'same verdict' if same else 'the verdicts differ'}")


if __name__ == "__main__":
    main(sys.argv[1:])
