"""lrlab's compiled loop against the classic `model.fit`, on the same weights, data order and
batch size: the numbers must agree, or the speed is worth nothing."""

from __future__ import annotations

import numpy as np
import pytest

from lrlab.experiment.config import parse_config
from lrlab.experiment.trials import Trial
from lrlab.training import epoch_order, make_trainer
from lrlab.training.data import load_dataset
from lrlab.training.model import build_network, build_optimizer

keras = pytest.importorskip("keras")

CONFIG = parse_config("""
data: {dataset: synthetic, train_limit: 1100, validation: 100, test_limit: 500}
model: {hidden: [64]}
training: {epochs: 3, batch_size: 32}
sweep: {optimizers: [{name: rmsprop, learning_rates: [1e-3]}]}
""")


def classic_fit(dataset, trial: Trial) -> tuple[list[float], float]:
    """The classic Keras loop, fed each epoch's images in lrlab's order (shuffle off)."""
    network = build_network(CONFIG.model, input_shape=dataset.input_shape,
                            classes=dataset.classes)
    model = network.model
    model.set_weights(network.initial.values(trial.seed, model.weights))
    model.compile(optimizer=build_optimizer(trial.optimizer, learning_rate=trial.learning_rate,
                                            hyperparameters=trial.hyperparameters),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    losses = []
    for epoch in range(1, CONFIG.training.epochs + 1):
        order = epoch_order(len(dataset.y_train), seed=trial.seed, epoch=epoch)
        history = model.fit(dataset.x_train[order], dataset.y_train[order], epochs=1,
                            batch_size=CONFIG.training.batch_size, shuffle=False, verbose=0)
        losses.append(history.history["loss"][0])
    _, test_accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    return losses, test_accuracy


@pytest.mark.parametrize("trial", [
    Trial("rmsprop", 1e-3, 0, {"rho": 0.9}),
    Trial("sgd", 0.1, 1, {"momentum": 0.9, "nesterov": True}),
    Trial("adam", 3e-3, 2, {}),
], ids=lambda t: t.optimizer)
@pytest.mark.slow
def test_matches_model_fit(trial: Trial) -> None:
    dataset = load_dataset(CONFIG.data)  # 1,000 training images: a ragged last batch of 8
    outcome = make_trainer(dataset, model=CONFIG.model, training=CONFIG.training).train(trial)
    fit_losses, fit_test_accuracy = classic_fit(dataset, trial)
    ours = [record.loss for record in outcome.history]
    np.testing.assert_allclose(ours, fit_losses, rtol=1e-3)
    assert abs(outcome.test["accuracy"] - fit_test_accuracy) <= 0.002


def test_convolutions_on_a_cpu_are_compiled_by_tensorflow_not_xla() -> None:
    """XLA's CPU convolutions took 158 s an epoch of Keras's MNIST convnet against 11 s in
    TensorFlow's graph (benchmarks/bench_floor.py): a network with a convolution is compiled
    without XLA on a CPU, and environment.json's engine says which."""
    from helpers import run_fresh

    found = run_fresh('''
        import json
        from lrlab.experiment.config import parse_config
        from lrlab.training import build_engine
        from lrlab.training.data import load_dataset
        out = {}
        for model in ("{hidden: [8]}", "{kind: conv, filters: [4], hidden: [8]}"):
            config = parse_config(
                "data: {dataset: synthetic, train_limit: 200, validation: 50, test_limit: 50}\\n"
                f"model: {model}\\n"
                "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\\n")
            engine = build_engine(load_dataset(config.data), model=config.model,
                                  training=config.training)
            out[model] = engine.describe()["compiler"]
        print(json.dumps(out))
        ''')
    assert found == {"{hidden: [8]}": "xla", "{kind: conv, filters: [4], hidden: [8]}": "graph"}
