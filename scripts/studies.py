"""What the study scripts (adaptive_study.py, early_stopping_study.py) share: two run
directories from the command line, and each optimizer setting's verdict in one of them."""

from __future__ import annotations

import argparse
from pathlib import Path

from lrlab.analysis.compare import compare_runs
from lrlab.rundir.loading import scan_runs


def run_dirs(argv: list[str], doc: str, first: str, second: str) -> tuple[Path, Path]:
    """The two run directories ``--FIRST`` and ``--SECOND`` a study compares."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{first}", type=Path, required=True)
    parser.add_argument(f"--{second}", type=Path, required=True)
    args = vars(parser.parse_args(argv))
    return args[first], args[second]


def verdicts(run_dir: Path) -> dict[str, tuple[float, list[float]]]:
    """Each setting's best rate and tied set, as ``lrlab compare`` gives them."""
    scan = scan_runs([run_dir])
    comparison = compare_runs(scan.frame, plans=scan.plans)
    return {v.label: (v.best_learning_rate, list(v.tied)) for v in comparison.verdicts}
