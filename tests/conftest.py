"""Shared fixtures: tiny synthetic experiments, a hand-made sweep, the real MNIST file where
it exists, and one Ray instance. Helpers that tests call directly are in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import write_fixture_sweep

from lrlab.errors import LrlabError
from lrlab.experiment.config import ExperimentConfig, parse_config

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


@pytest.fixture(autouse=True)
def _no_inherited_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output widths as lrlab sets them for a pipe, whatever terminal ran pytest:
    pytest-xdist's workers inherit COLUMNS=80, which would narrow every table."""
    monkeypatch.delenv("COLUMNS", raising=False)


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
    """The folder holding the real mnist.npz: $LRLAB_DATA_DIR, else ../shared/data found
    from this repository (not from the working directory)."""
    for folder in (os.environ.get("LRLAB_DATA_DIR"), SHARED_MNIST):
        if folder and (Path(folder) / "mnist.npz").is_file():
            return Path(folder).resolve()  # absolute: tests may change directory
    pytest.skip("real MNIST not found: set LRLAB_DATA_DIR to a folder holding mnist.npz "
                "(this project keeps it at ../shared/data)")


@pytest.fixture(scope="session")
def ray_instance():
    """One real Ray instance for every Ray test, started once (it takes seconds): on this
    machine only, bound to loopback, 2 CPUs, no dashboard. Backends find it initialised
    and use it instead of starting their own."""
    from lrlab.run.backends.ray_cluster import import_ray

    try:
        ray = import_ray(private_instance=True)  # the same loopback-only settings as lrlab's
    except LrlabError:
        pytest.skip('Ray is not installed: pip install -e ".[test,ray]" runs these tests')
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture
def fixture_sweep(tmp_path: Path) -> Path:
    return write_fixture_sweep(tmp_path / "runs")


@pytest.fixture
def small_disk(tmp_path: Path):
    """A folder on a filesystem of 2 MB (a tmpfs), to fill up: mounting one needs root
    (CAP_SYS_ADMIN), so elsewhere these tests skip, saying so."""
    import subprocess

    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs root to mount a 2 MB tmpfs (a disk to fill): "
                    f"{mounted.stderr.strip() or 'mount failed'}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ray clusters, real MNIST and a browser take more than a few seconds: such tests are
    slow too, so that ``-m "not slow"`` is the fast command whatever else is installed.
    Under pytest-xdist (``-n 2 --dist loadgroup``), the Ray tests share one worker, and so
    one Ray instance, instead of each worker starting its own."""
    for item in items:
        if any(item.get_closest_marker(name) for name in ("ray", "mnist", "browser")):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.xdist_group("ray"))
