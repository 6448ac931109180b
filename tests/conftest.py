"""Shared fixtures: tiny synthetic experiments, and the real MNIST file where it exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lrlab.config import ExperimentConfig, parse_config
from lrlab.errors import LrlabError

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


@pytest.fixture(scope="session")
def ray_instance():
    """One real Ray instance for every Ray test, started once (it takes seconds): on this
    machine only, bound to loopback, 2 CPUs, no dashboard. Backends find it initialised
    and use it instead of starting their own."""
    from lrlab.backends.ray_cluster import import_ray

    try:
        ray = import_ray(private_instance=True)  # the same loopback-only settings as lrlab's
    except LrlabError:
        pytest.skip('Ray is not installed: pip install -e ".[test,ray]" runs these tests')
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    yield ray
    ray.shutdown()


# A hand-made sweep for the comparison tests: validation accuracy per epoch for each
# (optimizer, learning rate, seed); None marks a failed trial. A trial that diverged has
# fewer epochs; its status says so.
FIXTURE_TRIALS = {
    ("sgd", 0.01, 0): ([0.80, 0.85, 0.88], "completed"),
    ("sgd", 0.01, 1): ([0.82, 0.86, 0.90], "completed"),
    ("sgd", 0.1, 0): ([0.90, 0.95, 0.94], "completed"),
    ("sgd", 0.1, 1): ([0.91, 0.93, 0.96], "completed"),
    ("sgd", 1.0, 0): ([0.50, 0.60, 0.70], "completed"),
    ("sgd", 1.0, 1): ([0.40, 0.10], "diverged"),
    ("rmsprop", 0.001, 0): ([0.95, 0.96, 0.97], "completed"),
    ("rmsprop", 0.001, 1): ([0.94, 0.97, 0.96], "completed"),
    ("rmsprop", 1.0, 0): ([0.20], "diverged"),
    ("rmsprop", 1.0, 1): ([], "failed"),
}


def write_fixture_sweep(runs: Path, name: str = "fixture") -> Path:
    """Write FIXTURE_TRIALS as a run directory, through the real store; return its root."""
    from datetime import datetime

    from lrlab.store import RunStore

    store = RunStore.create(runs, name, now=datetime(2026, 1, 1))
    store.write_config({"name": name})
    for (optimizer, lr, seed), (accuracies, status) in FIXTURE_TRIALS.items():
        trial_id = f"{optimizer}-lr{lr:.2e}-s{seed}-fixture"
        store.write_params(trial_id, {"optimizer": optimizer, "learning_rate": lr, "seed": seed})
        store.write_history(trial_id, [
            {"epoch": e, "lr": lr, "loss": 1 - a, "accuracy": a + 0.01, "val_loss": 1.1 - a,
             "val_accuracy": a, "seconds": 0.5} for e, a in enumerate(accuracies, start=1)])
        last = accuracies[-1] if accuracies else None
        store.write_result(trial_id, {
            "trial_id": trial_id, "status": status,
            "epochs": len(accuracies),
            "diverged_epoch": len(accuracies) if status == "diverged" else None,
            "initial_loss": 2.3, "test": {"loss": None if last is None else 1 - last,
                                          "accuracy": last},
            "seconds": 1.5 * len(accuracies)})
    return store.root


@pytest.fixture
def fixture_sweep(tmp_path: Path) -> Path:
    return write_fixture_sweep(tmp_path / "runs")
