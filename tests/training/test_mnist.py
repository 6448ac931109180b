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
