"""The local backend: worker processes side by side, their options, and what happens
when a worker dies or cannot start."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from lrlab.experiment.config import ExperimentConfig
from lrlab.run.backends import LocalBackend
from lrlab.run.sweep import run_sweep
from lrlab.training import Trainer, make_trainer


class DiesAtRate(Trainer):
    """Its worker process dies at rate 1000, as one the OOM killer takes would."""

    def iter_stack(self, trials, **options):
        if trials[0].learning_rate == 1000:
            os._exit(1)
        return super().iter_stack(trials, **options)


@pytest.mark.slow
def test_a_local_worker_that_dies_fails_its_trial_and_the_rest_go_on(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    backend = LocalBackend(workers=2, trainer_factory=functools.partial(
        make_trainer, trainer_class=DiesAtRate))
    report = run_sweep(tiny_config, runs_dir=tmp_path, backend=backend)
    statuses = {r["trial_id"].split("-s0-")[0]: (r["status"], r["error"]) for r in report.rows}
    assert statuses["sgd-lr1.00e+03"] == ("failed", "local worker process died (exit code 1)")
    assert statuses["sgd-lr1.00e-01"][0] == statuses["rmsprop-lr1.00e-03"][0] == "completed"


def test_local_backend_options_are_checked() -> None:
    from lrlab.run.backends import BackendError

    with pytest.raises(BackendError, match="^workers=0: expected an integer >= 1"):
        LocalBackend(workers=0)
    with pytest.raises(BackendError, match="^threads_per_trial=0: expected an integer >= 1"):
        LocalBackend(threads_per_trial=0)
    assert LocalBackend(threads_per_trial=2).workers("tensorflow") == max(
        1, (os.cpu_count() or 1) // 2)
    assert LocalBackend().workers("jax") == 1 and LocalBackend(workers=3).workers("jax") == 3


class CannotStart(Trainer):
    def __init__(self, *args, **kwargs) -> None:
        raise ModuleNotFoundError("No module named 'tensorflow'")


@pytest.mark.slow
def test_local_workers_that_cannot_start_end_the_sweep_in_one_line(
        tmp_path: Path, tiny_config: ExperimentConfig) -> None:
    from lrlab.run.backends import BackendError

    backend = LocalBackend(workers=2, trainer_factory=functools.partial(
        make_trainer, trainer_class=CannotStart))
    with pytest.raises(BackendError, match="no local worker process could train "
                                           "\\(ModuleNotFoundError: No module named"):
        run_sweep(tiny_config, runs_dir=tmp_path, backend=backend)


LOADER = '''
import numpy as np


def load():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8, 8)).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0).astype("int64")
    return (x[:300], y[:300]), (x[300:], y[300:])
'''
CONFIG = '''
name: plain-script
data: {loader: my_data:load, validation: 50}
model: {hidden: [16]}
training: {epochs: 1}
sweep: {seeds: [0], optimizers: [{name: sgd, learning_rates: [0.01, 0.1]}]}
'''
# docs/api.md's call at the top level of a script, with no `if __name__ == "__main__":`.
SCRIPT = '''
import lrlab

report = lrlab.run_sweep(lrlab.load_config("sweep.yaml"), runs_dir="runs",
                         backend=lrlab.LocalBackend(workers=2))
print("statuses:", sorted(row["status"] for row in report.rows))
'''


@pytest.mark.slow
@pytest.mark.parametrize("how", ["script", "-c"])
def test_the_api_runs_workers_from_a_plain_script_and_from_python_c(
        tmp_path: Path, how: str) -> None:
    """Spawned workers would re-run a plain script's top level (and so start a sweep in
    each of them) unless the backend hides the caller's main module from them."""
    import subprocess
    import sys

    (tmp_path / "my_data.py").write_text(LOADER)
    (tmp_path / "sweep.yaml").write_text(CONFIG)
    (tmp_path / "plain.py").write_text(SCRIPT)
    command = [sys.executable, "plain.py"] if how == "script" else [sys.executable, "-c", SCRIPT]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "statuses: ['completed', 'completed']" in done.stdout
    assert "RuntimeError" not in done.stderr
