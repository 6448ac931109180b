"""Shared fixtures: tiny synthetic experiments, and the real MNIST file where it exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrlab.config import ExperimentConfig, parse_config

# A sweep small enough to train in about a second: synthetic data, a 32-unit layer.
TINY_YAML = """\
name: tiny
data:
  dataset: synthetic
  train_limit: 600
  validation: 100
  test_limit: 200
model:
  hidden: [32]
training:
  epochs: 2
  batch_size: 32
sweep:
  seeds: [0]
  optimizers:
    - name: sgd
      learning_rates: [0.1, 1000]
    - name: rmsprop
      learning_rates: [1e-3]
"""

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def tiny_yaml() -> str:
    return TINY_YAML


@pytest.fixture(scope="session")
def tiny_config() -> ExperimentConfig:
    return parse_config(TINY_YAML)


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the real mnist.npz: $LRLAB_DATA_DIR, else ../shared/data."""
    for folder in (os.environ.get("LRLAB_DATA_DIR"), SHARED_MNIST):
        if folder and (Path(folder) / "mnist.npz").is_file():
            return Path(folder)
    pytest.skip("real MNIST not found: set LRLAB_DATA_DIR to a folder holding mnist.npz "
                "(this project keeps it at ../shared/data)")
