"""Sharpness: the largest Hessian eigenvalue from Hessian-vector products, against
answers known in closed form, on both engines; and the stability edge it gives."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from lrlab.training.curvature import adaptive_edge, largest_eigenvalue, preconditioner_of


def symmetric(eigenvalues: list[float], seed: int = 0) -> np.ndarray:
    basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal(
        (len(eigenvalues), len(eigenvalues))))
    return basis @ np.diag(eigenvalues) @ basis.T


def test_the_largest_eigenvalue_not_the_largest_in_size() -> None:
    # A saddle whose negative curvature is larger in size than its positive: power
    # iteration would report -9; the sharpness is 4.
    matrix = symmetric([-9.0, 4.0, 3.9, 1.0, 0.5, 0.1, -2.0, 0.0])
    found = largest_eigenvalue(lambda v: matrix @ v, 8)
    assert found.value == pytest.approx(4.0, rel=1e-6)
    assert found.converged and 0 < found.products <= 40
    assert found.edge == pytest.approx(0.5)


def test_the_preconditioned_sharpness_is_that_of_p_inverse_h() -> None:
    matrix = symmetric([5.0, 2.0, 1.0, 0.3, 0.1, 0.05], seed=1)
    diagonal = np.array([0.5, 1.0, 2.0, 4.0, 0.25, 1.5])
    found = largest_eigenvalue(lambda v: matrix @ v, 6, preconditioner=diagonal)
    expected = max(np.linalg.eigvals(np.diag(1 / diagonal) @ matrix).real)
    assert found.value == pytest.approx(expected, rel=1e-6)


class RMSprop:  # named as Keras's classes are: what preconditioner_of reads
    epsilon, centered, momentum = 1e-7, False, 0.0


class Adam:
    epsilon, beta_1, beta_2 = 1e-7, 0.9, 0.999


class SGD:
    pass


def test_each_optimizers_preconditioner_and_edge() -> None:
    v = [np.array([[4.0, 0.25]]), np.array([1e-2])]
    assert np.allclose(preconditioner_of(RMSprop(), v, step=3),
                       np.sqrt(np.array([4.0, 0.25, 1e-2]) + 1e-7))
    assert np.allclose(preconditioner_of(Adam(), v, step=10),
                       (np.sqrt([4.0, 0.25, 1e-2]) + 1e-7) / math.sqrt(1 - 0.999 ** 10))
    assert preconditioner_of(SGD(), v, step=3) is None
    assert preconditioner_of(RMSprop(), v, step=0) is None  # no statistics yet
    assert adaptive_edge(RMSprop(), 0.01) == pytest.approx(200.0)
    assert adaptive_edge(Adam(), 0.01) == pytest.approx(3800.0)  # 38 / lr
    assert math.isnan(adaptive_edge(SGD(), 0.01))


# Linear regression with a mean squared error: the Hessian is 2 AᵀA / N, A = [X, 1].
N, SCALES = 256, np.array([3.0, 2.0, 1.0, 0.5, 0.25])


def regression_data(folder: Path) -> tuple[Path, float]:
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((N + 64, len(SCALES))) * SCALES).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0, 1.0]) + 0.5
         + rng.normal(0, 0.1, len(x))).astype(np.float32)
    path = folder / "linear.npz"
    np.savez(path, x_train=x[:N], y_train=y[:N], x_test=x[N:], y_test=y[N:])
    a = np.hstack([x[:N].astype(np.float64), np.ones((N, 1))])
    return path, float(np.linalg.eigvalsh(2 * a.T @ a / N).max())


def linear_config(path: Path, *, engine: str, epochs: int = 1, rates: str = "[0.01]",
                  optimizer: str = "sgd", sharpness: str = "null"):
    from lrlab.experiment.config import parse_config

    return parse_config(f"""
name: linear
data: {{dataset: npz, path: {path}, validation: 0}}
objective: {{labels: regression, loss: mse}}
model: {{hidden: []}}
training: {{epochs: {epochs}, batch_size: {N}, engine: {engine}, sharpness: {sharpness}}}
sweep: {{seeds: [0], optimizers: [{{name: {optimizer}, learning_rates: {rates}}}]}}
""")


# The sharpness at a seed's initial weights: prints {"value": ..., "products": ...}.
SHARPNESS = """
from lrlab.training.curvature import largest_eigenvalue

(trial,) = trials
engine.start_stack(trial.setting, seed=0, learning_rates=[trial.learning_rate])
found = largest_eigenvalue(lambda v: engine.hessian_product(0, v, rows={rows}),
                           engine.parameter_count())
print(json.dumps({{"value": found.value, "products": found.products}}))
"""


def engine_sharpness(path: Path, engine: str) -> dict:
    from helpers import on_fresh_engine

    text = yaml.safe_dump(linear_config(path, engine=engine).to_dict())
    return on_fresh_engine(text, SHARPNESS.format(rows=N))


@pytest.mark.parametrize("engine", ["tensorflow", pytest.param("jax", marks=pytest.mark.jax)])
def test_the_sharpness_of_linear_regression_is_its_known_eigenvalue(
        tmp_path: Path, engine: str) -> None:
    if engine == "jax":
        pytest.importorskip("jax", reason='the jax engine needs JAX: pip install -e ".[jax]"')
    path, expected = regression_data(tmp_path)
    found = engine_sharpness(path, engine)
    assert found["value"] == pytest.approx(expected, rel=0.01)
    assert found["products"] <= 20  # six parameters: Lanczos needs few products


def test_gradient_descent_converges_below_the_edge_and_diverges_above(tmp_path: Path) -> None:
    from lrlab.run.backends import LocalBackend
    from lrlab.run.sweep import run_sweep

    path, sharpness = regression_data(tmp_path)
    edge = 2 / sharpness
    config = linear_config(path, engine="tensorflow", epochs=150,
                           rates=f"[{0.95 * edge!r}, {1.05 * edge!r}]",
                           sharpness="{every: 0, rows: 256}")
    report = run_sweep(config, runs_dir=tmp_path / "runs", backend=LocalBackend(workers=1))
    status = {row["learning_rate"]: row["status"] for row in report.rows}
    below, above = sorted(status)
    assert status[below] == "completed" and status[above] == "diverged"
    # The verdict places the rates against the edge it measured.
    (verdict,) = report.comparison.verdicts
    assert verdict.stability.edge == pytest.approx(edge, rel=1e-3)
    (beyond,) = verdict.stability.rates
    assert (beyond.multiple, beyond.outcome) == (pytest.approx(1.05, rel=1e-3), "diverged")
    assert verdict.stability.best.multiple == pytest.approx(0.95, rel=1e-3)


def test_a_sweep_records_the_sharpness_as_its_trials_train(tmp_path: Path) -> None:
    from lrlab.run.backends import LocalBackend
    from lrlab.run.sweep import run_sweep
    from lrlab.rundir.store import RunStore

    path, sharpness = regression_data(tmp_path)
    config = linear_config(path, engine="tensorflow", epochs=3, optimizer="rmsprop",
                           sharpness="{every: 2, rows: 256}")
    report = run_sweep(config, runs_dir=tmp_path / "runs", backend=LocalBackend(workers=1))
    (row,) = report.rows
    rows = RunStore(report.run_dir).read_curvature(row["trial_id"])
    # At the initial weights, then after epoch 2; a linear model's Hessian is constant.
    assert [r["epoch"] for r in rows] == [0, 2]
    assert all(r["sharpness"] == pytest.approx(sharpness, rel=1e-3) for r in rows)
    # RMSprop has no statistics at its first step, then divides by sqrt(v + eps).
    assert math.isnan(rows[0]["preconditioned_sharpness"])
    assert rows[1]["preconditioned_sharpness"] > 0
    assert all(r["products"] > 0 and r["seconds"] > 0 for r in rows)
