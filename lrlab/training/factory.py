"""Engines and trainers from a config: the registry's engine for ``training.engine``, the
network checked before anything is written, and the trainer a backend's worker makes."""

from __future__ import annotations

from typing import Any

from lrlab.engines import engine as engine_spec
from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, HEAD_OF, Objective
from lrlab.training._keras import import_keras, keras_backend_loaded
from lrlab.training.data import Dataset
from lrlab.training.engine import Engine
from lrlab.training.loop import Trainer
from lrlab.training.measures import Measures
from lrlab.training.model import build_network, check_convolutional


def build_engine(dataset: Dataset, *, model: ModelConfig, training: TrainingConfig) -> Engine:
    """The engine ``training.engine`` names (it imports its framework, and Keras on it)."""
    engine_class = engine_spec(training.engine).load_engine_class()
    return engine_class(dataset, model=model, training=training)


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
    import_keras(keras_backend_loaded() or engine_spec(engine).keras_backend)
    network = build_network(model, input_shape=dataset.input_shape,
                                     classes=dataset.classes, labels=dataset.labels)
    return network.describe()


def check_objective(objective: Objective, *, engine: str) -> None:
    """Fail now, with one line, if the objective's loss or metrics cannot be built (a
    function of the user's that is not there, an argument a Keras loss does not take):
    before a run directory is written. lrlab's default objective needs no check."""
    if objective == DEFAULT_OBJECTIVE:
        return
    keras = import_keras(keras_backend_loaded() or engine_spec(engine).keras_backend)
    Measures(keras, objective, head=HEAD_OF[objective.labels])


def make_trainer(dataset: Dataset, *, model: ModelConfig, training: TrainingConfig,
                 trainer_class: type[Trainer] = Trainer, **kwargs: Any) -> Trainer:
    """A trainer on a new engine: what backends call to get ready (a
    :data:`~lrlab.run.backends.TrainerFactory`). Tests pass a ``trainer_class`` that fails on
    purpose, with its own ``kwargs``."""
    return trainer_class(build_engine(dataset, model=model, training=training),
                         training=training, **kwargs)
