"""The gradient noise scale B_simple: McCandlish et al.'s two-batch estimator against a
population whose answer is known, the engines' gradients against linear regression's
closed form, and a sweep that records it as its trials train."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from lrlab.training.noise import noise_scale, sample_rows


def test_the_estimate_finds_a_known_noise_scale() -> None:
    # Per-example gradients with mean G and covariance diag(s²): B_simple = Σ s² / |G|².
    rng = np.random.default_rng(0)
    mean, spread = np.array([1.0, -0.5, 0.25, 0.0]), np.array([3.0, 2.0, 1.0, 4.0])
    examples = mean + spread * rng.standard_normal((2 ** 16, 4))
    expected = float(np.sum(spread ** 2) / np.sum(mean ** 2))  # 22.857...

    def gradient(rows: np.ndarray) -> np.ndarray:
        return examples[rows].mean(axis=0)

    rows = sample_rows(len(examples), rows=2 ** 16, large=1024, seed=0)
    found = noise_scale(gradient, rows, small=32, large=1024)
    assert found.value == pytest.approx(expected, rel=0.1)
    assert found.gradient_sq == pytest.approx(np.sum(mean ** 2), rel=0.1)
    assert found.trace == pytest.approx(np.sum(spread ** 2), rel=0.05)
    # Twice the noise, four times the scale: the estimate follows the truth, not a constant.
    louder = mean + 2 * spread * rng.standard_normal((2 ** 16, 4))
    again = noise_scale(lambda r: louder[r].mean(axis=0), rows, small=32, large=1024)
    assert again.value == pytest.approx(4 * expected, rel=0.1)


def test_rows_are_whole_large_batches_drawn_by_the_seed() -> None:
    rows = sample_rows(5000, rows=4096, large=1024, seed=3)
    assert len(rows) == 4096 and len(set(rows.tolist())) == 4096
    assert len(sample_rows(3000, rows=4096, large=1024, seed=3)) == 2048  # what there is
    assert not np.array_equal(rows, sample_rows(5000, rows=4096, large=1024, seed=4))
    with pytest.raises(ValueError, match="at least 1024 training rows"):
        sample_rows(1000, rows=4096, large=1024, seed=0)
    with pytest.raises(ValueError, match="whole large batches"):
        noise_scale(lambda r: np.zeros(2), np.arange(100), small=32, large=1024)


def test_the_config_nests_the_batches() -> None:
    from lrlab.experiment.config import ConfigError, parse_config

    base = "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\ntraining: {noise: %s}"
    assert parse_config(base % "{}").training.noise.large == 1024
    for bad, says in [("{small: 48, large: 1000}", "multiple of small"),
                      ("{rows: 512}", "at least large"), ("{every: -1}", "every")]:
        with pytest.raises(ConfigError, match=says):
            parse_config(base % bad)


# Linear regression with a mean squared error: an example's gradient is 2 (aᵀw − y) a,
# with a = [x, 1], in closed form.
N, SCALES = 2048, np.array([3.0, 2.0, 1.0, 0.5, 0.25])

GRADIENT = """
(trial,) = trials
engine.start_stack(trial.setting, seed=0, learning_rates=[trial.learning_rate])
rows = np.array({rows})
print(json.dumps({{"weights": engine.weights(0).tolist(),
                   "gradient": engine.gradient(0, rows).tolist()}}))
"""


def regression(folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((N + 64, len(SCALES))) * SCALES).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0, 1.0]) + 0.5
         + rng.normal(0, 0.1, len(x))).astype(np.float32)
    path = folder / "linear.npz"
    np.savez(path, x_train=x[:N], y_train=y[:N], x_test=x[N:], y_test=y[N:])
    return path, x[:N].astype(np.float64), y[:N].astype(np.float64)


def config_text(path: Path, *, engine: str, noise: str = "null", epochs: int = 1) -> str:
    return f"""
name: linear
data: {{dataset: npz, path: {path}, validation: 0}}
objective: {{labels: regression, loss: mse}}
model: {{hidden: []}}
training: {{epochs: {epochs}, batch_size: 64, engine: {engine}, noise: {noise}}}
sweep: {{seeds: [0], optimizers: [{{name: sgd, learning_rates: [0.01]}}]}}
"""


def example_gradients(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    a = np.hstack([x, np.ones((len(x), 1))])
    return 2 * (a @ weights - y)[:, None] * a  # kernel (5), then bias


@pytest.mark.parametrize("engine", ["tensorflow", pytest.param("jax", marks=pytest.mark.jax)])
def test_an_engines_gradient_is_linear_regressions_closed_form(
        tmp_path: Path, engine: str) -> None:
    from helpers import on_fresh_engine

    from lrlab.experiment.config import parse_config

    if engine == "jax":
        pytest.importorskip("jax", reason='the jax engine needs JAX: pip install -e ".[jax]"')
    path, x, y = regression(tmp_path)
    rows = [5, 17, 400, 1999, 3]
    text = yaml.safe_dump(parse_config(config_text(path, engine=engine)).to_dict())
    found = on_fresh_engine(text, GRADIENT.format(rows=rows))
    expected = example_gradients(x[rows], y[rows], np.array(found["weights"])).mean(axis=0)
    assert np.allclose(found["gradient"], expected, rtol=1e-4, atol=1e-4)


def test_a_sweep_records_the_noise_scale_as_its_trials_train(tmp_path: Path) -> None:
    from lrlab.experiment.config import parse_config
    from lrlab.run.backends import LocalBackend
    from lrlab.run.sweep import run_sweep
    from lrlab.rundir.store import RunStore

    path, x, y = regression(tmp_path)
    config = parse_config(config_text(path, engine="tensorflow", epochs=2,
                                      noise="{every: 2, rows: 2048, small: 16, large: 256}"))
    report = run_sweep(config, runs_dir=tmp_path / "runs", backend=LocalBackend(workers=1))
    (row,) = report.rows
    rows = RunStore(report.run_dir).read_curvature(row["trial_id"])
    assert [r["epoch"] for r in rows] == [0, 2]  # the initial weights, then epoch 2
    assert all(math.isnan(r["sharpness"]) for r in rows)  # not asked for
    # At the initial weights, the data set's own per-example gradients give the answer
    # (the rows are all 2,048 of them: the estimate is of this finite set).
    from lrlab.experiment.trials import expand_trials
    from lrlab.training import build_engine
    from lrlab.training.data import load_dataset

    engine = build_engine(load_dataset(config.data, objective=config.objective),
                          model=config.model, training=config.training)
    (trial,) = expand_trials(config)
    engine.start_stack(trial.setting, seed=0, learning_rates=[0.01])
    examples = example_gradients(x, y, engine.weights(0).astype(np.float64))
    mean = examples.mean(axis=0)
    expected = np.sum((examples - mean) ** 2) / len(examples) / np.sum(mean ** 2)
    first = rows[0]
    assert first["noise_scale"] == pytest.approx(expected, rel=0.15)
    assert first["noise_scale"] == pytest.approx(first["noise_trace"] / first["gradient_sq"])
    assert first["noise_seconds"] > 0
    # Training shrinks the gradient faster than its noise: the scale grows.
    assert rows[1]["noise_scale"] > 2 * first["noise_scale"]
    # How far the weights moved: nowhere at the start, somewhere after two epochs.
    assert first["distance"] == 0 and rows[1]["distance"] > 0
