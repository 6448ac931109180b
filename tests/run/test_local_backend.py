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

    def iter_stack(self, trials):
        if trials[0].learning_rate == 1000:
            os._exit(1)
        return super().iter_stack(trials)


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
