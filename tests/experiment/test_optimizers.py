from __future__ import annotations

import inspect

import pytest

from lrlab.experiment.config import parse_config
from lrlab.experiment.optimizers import OPTIMIZERS
from lrlab.experiment.trials import expand_trials
from lrlab.training.model import build_optimizer

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_spec_defaults_are_keras_defaults(name: str) -> None:
    spec = OPTIMIZERS[name]
    signature = inspect.signature(getattr(keras.optimizers, spec.keras_class).__init__)
    for hyper in spec.all_hyperparameters:
        assert hyper.name in signature.parameters, f"{spec.keras_class} has no {hyper.name}"
        assert signature.parameters[hyper.name].default == hyper.default, hyper.name


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_builds_from_a_config(name: str) -> None:
    config = parse_config(f"sweep: {{optimizers: [{{name: {name}, learning_rates: [0.01]}}]}}")
    trial = expand_trials(config)[0]
    optimizer = build_optimizer(trial.optimizer, learning_rate=trial.learning_rate,
                                hyperparameters=trial.hyperparameters)
    assert type(optimizer).__name__ == OPTIMIZERS[name].keras_class
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_yaml_ints_reach_keras_as_floats() -> None:
    config = parse_config("sweep: {optimizers: [{name: sgd, learning_rates: [1], "
                          "momentum: 0, nesterov: true}]}")
    trial = expand_trials(config)[0]
    sgd = build_optimizer("sgd", learning_rate=trial.learning_rate,
                          hyperparameters=trial.hyperparameters)
    assert isinstance(sgd, keras.optimizers.SGD)
    assert sgd.momentum == 0.0 and isinstance(sgd.momentum, float) and sgd.nesterov is True


def test_rmsprop_step_matches_its_update_rule() -> None:
    np = pytest.importorskip("numpy")
    rms = build_optimizer("rmsprop", learning_rate=0.1,
                          hyperparameters={"rho": 0.9, "epsilon": 1e-7})
    w = keras.Variable(np.array([1.0, -2.0], dtype="float32"))
    g = np.array([0.5, 0.25], dtype="float32")
    rms.apply([keras.ops.convert_to_tensor(g)], [w])
    s = 0.1 * g**2  # S = rho*S + (1-rho)*g^2 from S = 0
    expected = np.array([1.0, -2.0]) - 0.1 * g / np.sqrt(s + 1e-7)
    np.testing.assert_allclose(np.asarray(w), expected, rtol=1e-5)
