"""Training trials: an engine-independent trial loop and range test over an engine's
compiled step (TensorFlow or JAX).

- :mod:`~lrlab.training.engine`: the compiled-step interface (pure);
- :mod:`~lrlab.training.loop`: epochs, divergence and records (pure);
- :mod:`~lrlab.training.range_test`: the LR range test's ramp (pure);
- :mod:`~lrlab.training.tf_engine`: the interface on Keras's TensorFlow backend;
- :mod:`~lrlab.training.jax_engine`: the interface on Keras's JAX backend, trials stacked.
"""

from __future__ import annotations

from typing import Any

from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.training._keras import import_keras, keras_backend_loaded
from lrlab.training.data import Dataset
from lrlab.training.engine import Engine, EpochPlan, Split
from lrlab.training.loop import Trainer, TrialEvent, epoch_order
from lrlab.training.model import build_network, check_convolutional
from lrlab.training.range_test import ramp_losses
from lrlab.training.stacks import Group, plan_groups


def build_engine(dataset: Dataset, *, model: ModelConfig, training: TrainingConfig) -> Engine:
    """The engine ``training.engine`` names (it imports its framework, and Keras on it)."""
    if training.engine == "jax":
        from lrlab.training.jax_engine import JaxEngine

        return JaxEngine(dataset, model=model, training=training)
    from lrlab.training.tf_engine import TensorFlowEngine

    return TensorFlowEngine(dataset, model=model, training=training)


def check_network(model: ModelConfig, dataset: Dataset, *, engine: str) -> dict[str, Any]:
    """Fail now, with one line, if the configured network cannot train on ``dataset``:
    before a run directory is written, and before workers start. A user's factory is
    built once here (which imports Keras: on ``engine``'s backend unless this process
    has another already); returns what the run directory records of it ({} for the
    built-in networks, which their engines describe)."""
    if model.kind == "conv":
        check_convolutional(model, dataset.input_shape)
    if model.kind != "factory":
        return {}
    import_keras(keras_backend_loaded() or engine)
    network = build_network(model, input_shape=dataset.input_shape, classes=dataset.classes)
    return network.describe()


def make_trainer(dataset: Dataset, *, model: ModelConfig, training: TrainingConfig,
                 trainer_class: type[Trainer] = Trainer, **kwargs: Any) -> Trainer:
    """A trainer on a new engine: what backends call to get ready (a
    :data:`~lrlab.run.backends.TrainerFactory`). Tests pass a ``trainer_class`` that fails on
    purpose, with its own ``kwargs``."""
    return trainer_class(build_engine(dataset, model=model, training=training),
                         training=training, **kwargs)


__all__ = ["Engine", "EpochPlan", "Group", "Split", "Trainer", "TrialEvent", "build_engine",
           "check_network",
           "epoch_order", "make_trainer", "plan_groups", "ramp_losses"]
