"""On the real MNIST: the classic example's result, reproduced through lrlab."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrlab.experiment.config import parse_config
from lrlab.run.sweep import run_sweep

pytestmark = pytest.mark.mnist


def test_rmsprop_at_1e_3_reproduces_the_classic_example(mnist_dir: Path, tmp_path: Path) -> None:
    config = parse_config("""
name: classic
data: {dataset: mnist, validation: 0}  # the classic example trains on all 60,000
training: {epochs: 1, batch_size: 32}
sweep:
  optimizers:
    - {name: rmsprop, learning_rates: [1e-3, 1.0]}
""")
    report = run_sweep(config, runs_dir=tmp_path, env={"LRLAB_DATA_DIR": str(mnist_dir)})
    good, too_large = report.rows
    # The classic example reaches about 0.97 after one epoch.
    assert good["status"] == "completed" and good["test_accuracy"] >= 0.96
    assert too_large["test_accuracy"] < good["test_accuracy"] - 0.1


def test_the_seed_sweeps_failing_rates_are_named_from_the_evidence(mnist_dir: Path,
                                                                    tmp_path: Path) -> None:
    """The seed experiment's rates at its ends, two epochs: SGD 3.16 stalls because its
    ReLU units died, RMSprop 0.316 diverges, and the smallest rates crawl."""
    import json

    from lrlab.analysis.compare import compare_runs
    from lrlab.rundir.loading import scan_runs

    config = parse_config("""
name: failures
data: {dataset: mnist}
training: {epochs: 2, batch_size: 32}
sweep:
  optimizers:
    - {name: sgd, learning_rates: [1e-4, 3.16], momentum: 0.0}
    - {name: rmsprop, learning_rates: [1e-6, 0.316], rho: 0.9}
""")
    report = run_sweep(config, runs_dir=tmp_path, env={"LRLAB_DATA_DIR": str(mnist_dir)})
    scan = scan_runs([report.run_dir])
    why = {(v.optimizer, rate): {f.reason: f for f in found}
           for v in compare_runs(scan.frame).verdicts for rate, found in v.failures}
    stalled = why[("sgd", 3.16)]["stalled"]
    assert stalled.dead_units > 0.9, stalled
    assert "diverged" in why[("rmsprop", 0.316)]
    assert "crawling" in why[("sgd", 0.0001)] and "crawling" in why[("rmsprop", 1e-06)]
    result = json.loads(next(report.run_dir.glob("trials/sgd-lr3.16e+00-*/result.json"))
                        .read_text())
    assert result["failure"]["reason"] == "stalled" and result["dead_units"] > 0.9
    assert "hidden ReLU units died" in result["failure"]["detail"]
