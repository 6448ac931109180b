"""Any objective on both engines: each kind of labels trains from the logits and records
its metrics, baselines are the constant prediction's values, and a head that does not fit
the labels is one line. Each engine runs in a fresh process (Keras picks its backend once)."""

import functools

import numpy as np
import pytest
from helpers import run_fresh

from lrlab.errors import LrlabError
from lrlab.experiment.config import DataConfig, ObjectiveConfig, parse_config
from lrlab.training import data

# Trains one trial of each kind of labels on a small learnable set, stacked with a second
# rate on jax, and prints per kind: the history's columns, the last epoch's values, the
# test values and the baselines.
KINDS = """
import json
import numpy as np
from lrlab.experiment.config import DataConfig, ObjectiveConfig, parse_config
from lrlab.experiment.trials import Trial
from lrlab.training import data, make_trainer

rng = np.random.default_rng(0)
x = rng.normal(size=(700, 6)).astype(np.float32)
w = rng.normal(size=(6, 3))
score = x @ w
kinds = {
    "one_hot": (np.eye(3)[score.argmax(1)], {"loss": "categorical_crossentropy",
                                             "metrics": ["accuracy", "auc", "f1_score"]}),
    "binary": ((score[:, 0] > 0).astype(int), {"loss": "binary_crossentropy",
                                              "metrics": ["auc", "accuracy", "precision"]}),
    "multi_label": ((score > 0).astype(int), {"loss": "binary_crossentropy",
                                             "metrics": ["binary_accuracy", "auc"]}),
    "regression": (score[:, :2].astype(np.float32), {"loss": "huber", "metrics": ["mae", "r2"],
                                                     "verdict": "val_mae"}),
}
out = {}
for kind, (y, objective) in kinds.items():
    arrays = {"x_train": x[:600], "y_train": y[:600], "x_test": x[600:], "y_test": y[600:]}
    dataset = data._prepare(arrays, DataConfig(dataset="npz", path="x", validation=100),
                            "synthetic", ObjectiveConfig(**objective))
    config = parse_config("model: {hidden: [16]}\\ntraining: {engine: ENGINE, epochs: 3, "
                          "batch_size: 32}\\nsweep: {optimizers: [{name: adam, "
                          "learning_rates: [0.01]}]}")
    trainer = make_trainer(dataset, model=config.model, training=config.training)
    outcome = trainer.train(Trial("adam", 0.01, 0, {}))
    out[kind] = {"labels": dataset.labels, "columns": list(outcome.history[-1].values),
                 "last": outcome.history[-1].values, "test": outcome.test,
                 "baseline": outcome.baseline, "first_loss": outcome.history[0].loss}
    if "ENGINE" == "jax" and kind == "binary":  # a stack of two against each alone
        trials = [Trial("adam", r, 0, {}) for r in (0.01, 0.03)]
        stack = trainer.iter_stack(trials)
        while True:
            try:
                next(stack)
            except StopIteration as done:
                stacked = done.value
                break
        alone = [trainer.train(t) for t in trials]
        out["stacked_gap"] = max(
            abs(a.values[k] - b.values[k]) for s, o in zip(stacked, alone)
            for a, b in zip(s.history, o.history) for k in a.values)
print(json.dumps(out))
"""


@functools.cache
def _answers() -> dict:
    """Each engine's answers (the jax engine's where JAX is installed), computed once per
    process. The tests that read them share one pytest-xdist worker (xdist_group
    "measures"), so that the two engines' processes start once, not once per worker."""
    found = {"tensorflow": run_fresh(KINDS.replace("ENGINE", "tensorflow"))}
    try:
        import jax  # noqa: F401
    except ImportError:
        return found
    found["jax"] = run_fresh(KINDS.replace("ENGINE", "jax"))
    return found


@pytest.fixture
def engines() -> dict:
    return _answers()


@pytest.mark.slow
@pytest.mark.xdist_group("measures")
def test_each_kind_of_labels_records_its_own_columns(engines) -> None:
    for kinds in engines.values():
        assert kinds["one_hot"]["columns"] == ["loss", "accuracy", "auc", "f1_score",
                                               "val_loss", "val_accuracy", "val_auc",
                                               "val_f1_score"]
        # F1 is one number (macro-averaged unless the config says), not one per class.
        assert 0.5 < kinds["one_hot"]["last"]["val_f1_score"] <= 1
        assert kinds["binary"]["labels"] == "binary"
        assert kinds["regression"]["columns"] == ["loss", "mae", "r2", "val_loss", "val_mae",
                                                  "val_r2"]
        assert set(kinds["multi_label"]["test"]) == {"loss", "binary_accuracy", "auc"}


@pytest.mark.slow
@pytest.mark.xdist_group("measures")
def test_each_kind_learns_beyond_its_baseline(engines) -> None:
    for engine, kinds in engines.items():
        for kind in ("one_hot", "binary", "multi_label"):
            last, baseline = kinds[kind]["last"], kinds[kind]["baseline"]
            assert last["val_auc"] > max(0.8, baseline["val_auc"] + 0.1), (engine, kind)
            assert last["val_loss"] < baseline["val_loss"], (engine, kind)
        regression = kinds["regression"]
        assert regression["last"]["val_r2"] > 0.5, engine
        assert regression["last"]["val_mae"] < 0.7 * regression["baseline"]["val_mae"], engine


@pytest.mark.slow
@pytest.mark.xdist_group("measures")
def test_baselines_are_the_constant_prediction_s_values(engines) -> None:
    for kinds in engines.values():
        # The mean target: an R² of 0 on each split; a constant score: an AUC of 0.5.
        regression = kinds["regression"]["baseline"]
        assert abs(regression["val_r2"]) < 1e-5 and abs(regression["test_r2"]) < 1e-5
        assert kinds["binary"]["baseline"]["val_auc"] == pytest.approx(0.5, abs=1e-6)
        share = kinds["one_hot"]["baseline"]["val_accuracy"]
        assert 1 / 3 <= share < 0.6  # the majority class's share of the split


@pytest.mark.slow
@pytest.mark.xdist_group("measures")
def test_a_stacked_trial_measures_as_it_would_alone(engines) -> None:
    if "jax" not in engines:
        pytest.skip('the jax engine needs JAX: pip install -e ".[jax]"')
    # AUC and precision from each member's own outputs; accuracy summed in the stack.
    assert engines["jax"]["stacked_gap"] < 1e-5


@pytest.mark.slow
@pytest.mark.xdist_group("measures")
def test_the_engines_agree_on_every_kind(engines) -> None:
    if "jax" not in engines:
        pytest.skip('the jax engine needs JAX: pip install -e ".[jax]"')
    tf, jax = engines["tensorflow"], engines["jax"]
    for kind in ("one_hot", "binary", "multi_label", "regression"):
        assert tf[kind]["columns"] == jax[kind]["columns"]
        np.testing.assert_allclose(tf[kind]["first_loss"], jax[kind]["first_loss"], rtol=1e-4)
        for key, value in tf[kind]["baseline"].items():
            assert jax[kind]["baseline"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), (
                kind, key)


@pytest.mark.parametrize(("y", "objective", "message"), [
    (np.eye(3)[[0, 1, 2] * 20], {"loss": "sparse_categorical_crossentropy"},
     "one-hot rows: use categorical_crossentropy"),
    (np.arange(60) % 3, {"loss": "categorical_crossentropy"},
     "use sparse_categorical_crossentropy for integer classes"),
    (np.linspace(0, 5, 60), {"loss": "mse", "metrics": ["accuracy"]},
     "a classification metric on regression targets"),
])
def test_labels_that_do_not_fit_the_objective_are_one_line(y, objective, message) -> None:
    x = np.zeros((60, 4), np.float32)
    arrays = {"x_train": x, "y_train": y, "x_test": x[:10], "y_test": y[:10]}
    # (A misfit the config shows alone is refused as the config is read: a ValueError.)
    with pytest.raises((LrlabError, ValueError), match=message):
        data._prepare(arrays, DataConfig(dataset="npz", path="x", validation=10), "src",
                      ObjectiveConfig(**objective))


def test_a_head_that_does_not_fit_the_labels_says_the_fix(tmp_path) -> None:
    (tmp_path / "heads.py").write_text(
        "import keras\n"
        "def one_unit(input_shape, classes):\n"
        "    return keras.Sequential([keras.Input(input_shape),"
        " keras.layers.Dense(1, activation='sigmoid')])\n")
    config = parse_config("model: {kind: factory, factory: heads:one_unit}\n"
                          "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}",
                          base_dir=tmp_path)
    x = np.zeros((60, 4), np.float32)
    y = np.arange(60) % 2
    arrays = {"x_train": x, "y_train": y, "x_test": x[:10], "y_test": y[:10]}
    dataset = data._prepare(arrays, DataConfig(dataset="npz", path="x", validation=10), "src")
    from lrlab.training import check_network

    with pytest.raises(LrlabError, match="expected \\(None, 2\\), one unit per class; for one "
                                         "sigmoid unit on 0/1 labels, set objective.loss: "
                                         "binary_crossentropy"):
        check_network(config.model, dataset, engine="tensorflow")


def test_a_loss_and_a_metric_of_the_user_s_train_and_a_missing_one_is_one_line(
        tmp_path) -> None:
    from lrlab.experiment.trials import Trial
    from lrlab.training import check_objective, make_trainer

    (tmp_path / "mine.py").write_text(
        "import keras\n"
        "def squared(y_true, y_pred):\n"
        "    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)\n"
        "def worst(y_true, y_pred):\n"
        "    return keras.ops.max(keras.ops.abs(y_true - y_pred), axis=-1)\n")
    text = ("objective: {loss: 'mine:squared', metrics: [mae, METRIC], verdict: val_mae}\n"
            "model: {hidden: [8]}\ntraining: {epochs: 2}\n"
            "sweep: {optimizers: [{name: adam, learning_rates: [0.01]}]}")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x @ np.ones(4)).astype(np.float32)
    arrays = {"x_train": x[:250], "y_train": y[:250], "x_test": x[250:], "y_test": y[250:]}
    config = parse_config(text.replace("METRIC", "{name: 'mine:worst', direction: min}"),
                          base_dir=tmp_path)
    dataset = data._prepare(arrays, DataConfig(dataset="npz", path="x", validation=50), "src",
                            config.objective)
    trainer = make_trainer(dataset, model=config.model, training=config.training)
    outcome = trainer.train(Trial("adam", 0.01, 0, {}))
    assert list(outcome.history[-1].values) == ["loss", "mae", "worst", "val_loss", "val_mae",
                                                "val_worst"]
    # The user's squared error is the loss: the mean over the epoch's batches, as Keras's.
    assert outcome.history[-1].values["val_worst"] >= outcome.history[-1].values["val_mae"]
    missing = parse_config(text.replace("METRIC", "'mine:worst_error'"), base_dir=tmp_path)
    with pytest.raises(LrlabError, match="mine.py has no 'worst_error'; expected a function"):
        check_objective(missing.objective.resolve("regression"), engine="tensorflow")
