"""µP (model.parametrization: mup): its rules against Tensor Programs V's table and mup's
MuReadout, MuSGD and MuAdam, and the engines' steps against a hand computation on a small
network, on both engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from lrlab.experiment.mup import plan


def test_the_rules_of_a_two_layer_network_four_times_its_base() -> None:
    found = plan([256], [64], inputs=784, classes=10, output_multiplier=2.0)
    # Kernel, bias; kernel, bias: the input layer, then the readout.
    assert [w.role for w in found.weights] == ["input", "hidden_bias", "output", "output_bias"]
    assert found.variance(0) == pytest.approx(1 / 784)  # 1/fan_in
    assert found.variance(2) == pytest.approx(1 / 64)  # 1/base fan-in: mup's init times m
    assert found.readout_scale == pytest.approx(2.0 / 4)  # output_multiplier / m
    assert found.rate_factors("sgd") == [4.0, 4.0, 4.0, 1.0]  # MuSGD: vector-like times m
    assert found.rate_factors("Adam") == [1.0, 1.0, 1.0, 1.0]  # MuAdam: none is matrix-like
    deep = plan([256, 512], [64, 64], inputs=784, classes=10)
    # The hidden-to-hidden kernel: fan-in times 4, fan-out times 8.
    assert deep.rate_factors("sgd")[2] == pytest.approx(8 / 4)  # m_out / m_in
    assert deep.rate_factors("rmsprop")[2] == pytest.approx(1 / 4)  # 1 / m_in
    assert deep.variance(2) == pytest.approx(1 / 256)
    with pytest.raises(ValueError, match="µP has rules for"):
        found.rate_factors("ftrl")


def test_the_config_records_it_and_leaves_the_default_alone() -> None:
    from lrlab.experiment.config import ConfigError, parse_config

    sweep = "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\n"
    assert parse_config(sweep).model.label() == "dense(512)"  # trial ids unchanged
    mup = parse_config("model: {hidden: [256], parametrization: mup, base_hidden: [64]}\n"
                       + sweep)
    assert mup.model.label() == "dense(256;mup=64)"
    with pytest.raises(ConfigError, match="µP's: set model.parametrization: mup"):
        parse_config("model: {base_hidden: [64]}\n" + sweep)
    with pytest.raises(ConfigError, match="one base width per layer"):
        parse_config("model: {hidden: [64, 64], parametrization: mup, base_hidden: [8]}\n"
                     + sweep)


# One step of each engine from a seed's initial weights, in a fresh process: prints the
# weights before and after, flat.
STEP = """
found = {{"shapes": [list(s) for s in engine.weight_shapes()]}}
for trial in trials:
    engine.start_stack(trial.setting, seed=0, learning_rates=[trial.learning_rate])
    before = engine.weights(0)
    engine.train(np.arange({n}, dtype=np.int32)[None, :])  # one step on every row
    found[trial.optimizer] = {{"before": before.tolist(), "after": engine.weights(0).tolist()}}
print(json.dumps(found))
"""
N, INPUTS = 64, 3


def step_config(path: Path, engine: str) -> str:
    from lrlab.experiment.config import parse_config

    text = f"""
name: mup
data: {{dataset: npz, path: {path}, validation: 0}}
objective: {{labels: regression, loss: mse}}
model: {{hidden: [8, 8], parametrization: mup, base_hidden: [2, 4], output_multiplier: 3}}
training: {{epochs: 1, batch_size: {N}, engine: {engine}}}
sweep:
  seeds: [0]
  optimizers: [{{name: sgd, learning_rates: [0.01]}}, {{name: adam, learning_rates: [0.01]}}]
"""
    return yaml.safe_dump(parse_config(text).to_dict())


def unflatten(flat: np.ndarray, shapes: list[list[int]]) -> list[np.ndarray]:
    parts, position = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(np.asarray(flat[position:position + size], np.float64).reshape(shape))
        position += size
    return parts


def gradients(w: list[np.ndarray], x: np.ndarray, y: np.ndarray, scale: float) -> list:
    """The mean squared error's gradient of relu(relu(x W1 + b1) W2 + b2) * scale W3 + b3,
    by hand (backpropagation written out)."""
    w1, b1, w2, b2, w3, b3 = w
    z1 = x @ w1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ w2 + b2
    h2 = np.maximum(z2, 0)
    out = (h2 * scale) @ w3 + b3
    d_out = 2 * (out - y[:, None]) / len(x)  # mse: the mean over rows (one output)
    g3, gb3 = (h2 * scale).T @ d_out, d_out.sum(axis=0)
    d_z2 = (d_out @ w3.T) * scale * (z2 > 0)
    g2, gb2 = h1.T @ d_z2, d_z2.sum(axis=0)
    d_z1 = (d_z2 @ w2.T) * (z1 > 0)
    g1, gb1 = x.T @ d_z1, d_z1.sum(axis=0)
    return [g1, gb1, g2, gb2, g3, gb3]


@pytest.mark.parametrize("engine", ["tensorflow", pytest.param("jax", marks=pytest.mark.jax)])
def test_each_layers_step_is_mups_by_hand(tmp_path: Path, engine: str) -> None:
    from helpers import on_fresh_engine

    if engine == "jax":
        pytest.importorskip("jax", reason='the jax engine needs JAX: pip install -e ".[jax]"')
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N + 16, INPUTS)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.3).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_train=x[:N], y_train=y[:N], x_test=x[N:], y_test=y[N:])
    found = on_fresh_engine(step_config(tmp_path / "d.npz", engine), STEP.format(n=N))
    shapes = found["shapes"]
    rules = plan([8, 8], [2, 4], inputs=INPUTS, classes=1, output_multiplier=3.0)
    # The readout's input multiplier: output_multiplier / m, with m = 8 / 4.
    assert rules.readout_scale == pytest.approx(1.5)
    for name in ("sgd", "adam"):
        before = unflatten(np.array(found[name]["before"]), shapes)
        after = unflatten(np.array(found[name]["after"]), shapes)
        grads = gradients(before, x[:N].astype(np.float64), y[:N].astype(np.float64),
                          rules.readout_scale)
        factors = rules.rate_factors(name)
        for k, (b, a, g, factor) in enumerate(zip(before, after, grads, factors,
                                                  strict=True)):
            step = a - b
            if name == "sgd":  # w -= lr * factor * g
                assert np.allclose(step, -0.01 * factor * g, rtol=1e-3, atol=1e-7), k
            else:  # Adam's first step is lr * g / (|g| + eps'): lr * factor * sign(g)
                big = np.abs(g) > 1e-3
                assert np.allclose(step[big], -0.01 * factor * np.sign(g[big]), rtol=1e-3), k
    # SGD's factors: input and hidden biases 4, the hidden kernel 2 (its fan-out grew 2x,
    # fan-in 4x... m_out / m_in = 2 / 4), the readout 2; Adam: the hidden kernel 1/4.
    assert rules.rate_factors("sgd") == [4.0, 4.0, 0.5, 2.0, 2.0, 1.0]
    assert rules.rate_factors("adam") == [1.0, 1.0, 0.25, 1.0, 1.0, 1.0]


def test_the_initial_variances_are_mups(tmp_path: Path) -> None:
    from lrlab.experiment.config import parse_config
    from lrlab.training.model import build_network

    config = parse_config("model: {hidden: [1024], parametrization: mup, base_hidden: [64]}\n"
                          "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}")
    network = build_network(config.model, input_shape=(28, 28), classes=10)
    values = network.initial.values(0, network.model.trainable_variables)
    kernel, bias, readout, readout_bias = values
    assert np.var(kernel) == pytest.approx(1 / 784, rel=0.01)
    assert np.var(readout) == pytest.approx(1 / 64, rel=0.05)  # 1 / base fan-in
    assert not bias.any() and not readout_bias.any()
    assert network.update_factors("sgd") == [16.0, 16.0, 16.0, 1.0]
    assert network.update_factors("adam") is None  # every factor 1: nothing to scale


def test_a_factory_gives_its_own_mup_plan(tmp_path: Path) -> None:
    from lrlab.errors import UserCodeError
    from lrlab.experiment.config import parse_config
    from lrlab.training.model import build_network

    (tmp_path / "wide.py").write_text(
        "import keras\n"
        "from lrlab.experiment.mup import plan\n"
        "def build(input_shape, classes, width=256, broken=False):\n"
        "    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),\n"
        "        keras.layers.Dense(width, activation='relu'),\n"
        "        keras.layers.Rescaling(64 / width), keras.layers.Dense(classes)])\n"
        "    model.lrlab_mup = plan([width] * (2 if broken else 1), [64] * (2 if broken else 1),\n"
        "                           inputs=784, classes=classes)\n"
        "    return model\n")
    sweep = "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}"
    config = parse_config(f"model: {{factory: wide:build}}\n{sweep}", base_dir=tmp_path)
    network = build_network(config.model, input_shape=(28, 28), classes=10)
    assert network.update_factors("sgd") == [4.0, 4.0, 4.0, 1.0]
    broken = parse_config(f"model: {{factory: wide:build, args: {{broken: true}}}}\n{sweep}",
                          base_dir=tmp_path)
    with pytest.raises(UserCodeError, match="one rule per trainable variable"):
        build_network(broken.model, input_shape=(28, 28), classes=10)


def test_the_convnets_rules_take_channels_as_its_width() -> None:
    from lrlab.experiment.config import parse_config
    from lrlab.experiment.mup import conv_plan
    from lrlab.training.model import build_network

    found = conv_plan([32, 64], [8, 16], [], [], input_shape=(28, 28, 1), kernel_size=3,
                      pool_size=2)
    # 28 -> 26 -> 13 -> 11 -> 5: the readout reads 5 x 5 x 64 = 1,600 features.
    assert [w.fan_in for w in found.weights[::2]] == [9, 288, 1600]
    assert found.rate_factors("sgd") == [4.0, 4.0, 1.0, 4.0, 4.0, 1.0]
    assert found.rate_factors("adam") == [1.0, 1.0, 0.25, 1.0, 1.0, 1.0]
    assert found.variance(4) == pytest.approx(1 / 400)  # 1 / the base's 5 x 5 x 16
    assert found.readout_scale == pytest.approx(1 / 4)
    config = parse_config("model: {kind: conv, filters: [32, 64], parametrization: mup, "
                          "base_filters: [8, 16]}\n"
                          "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}")
    assert config.model.label() == "conv(32,64;dropout=0.5;mup=8,16)"
    network = build_network(config.model, input_shape=(28, 28, 1), classes=10)
    assert network.update_factors("sgd") == found.rate_factors("sgd")
    first, _, second, _, readout, _ = network.initial.values(
        0, network.model.trainable_variables)
    assert np.var(first) == pytest.approx(1 / 9, rel=0.25)
    assert np.var(second) == pytest.approx(1 / 288, rel=0.05)
    assert np.var(readout) == pytest.approx(1 / 400, rel=0.05)
