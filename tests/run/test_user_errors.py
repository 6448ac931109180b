"""Every mistake in a user's own model factory or data ends in one line naming the config
key and what is accepted, exit 2, and no run directory written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import one_line_error
from typer.testing import CliRunner

from lrlab.cli import app

pytest.importorskip("keras")
runner = CliRunner()

LOADER = '''
import numpy as np

def load(n=60, k=3, shape=(6,), **change):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.normal(size=(n, *shape)).astype("float32"),
              "y_train": np.arange(n) % k,
              "x_test": rng.normal(size=(20, *shape)).astype("float32"),
              "y_test": np.arange(20) % k}
    for key, how in change.items():
        if how == "nan":
            arrays[key][3] = np.nan
        elif how == "empty":
            arrays[key] = arrays[key][:0]
        elif how == "wide":
            arrays[key] = np.zeros((20, 7), dtype="float32")
        elif how == "text":
            arrays[key] = np.array(["a"] * len(arrays[key]))
        elif how == "big":
            arrays[key] = arrays[key] + 5
    return arrays

def nothing():
    return None

def broken():
    raise RuntimeError("the share is not mounted")

def datasets():
    import tensorflow as tf

    x, y = np.zeros((8, 6), "float32"), np.arange(8) % 2
    return (tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
            tf.data.Dataset.from_tensor_slices((x, y)).batch(4))

def noisy():
    import os, sys, warnings
    os.write(2, b"I tensorflow/core/util/port.cc:153] oneDNN custom operations")  # native
    warnings.warn("Do not pass an `input_shape` argument to a layer")  # Python's
    sys.stderr.write("absl: cuInit failed")
    return load()

not_a_function = 42
'''

FACTORY = '''
import keras

def build(input_shape, classes, units=8, out=None):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(units),
                             keras.layers.Dense(out or classes)])

def not_a_model(input_shape, classes):
    return "a model"

def fails(input_shape, classes):
    raise ValueError("width must be even")

def compiled(input_shape, classes):
    model = build(input_shape, classes)
    model.compile(optimizer="adam", loss="mse")
    return model

def softmax_inside(input_shape, classes):
    inputs = keras.Input(input_shape)
    probs = keras.ops.softmax(keras.layers.Dense(classes)(inputs))
    return keras.Model(inputs, probs + 0.0)
'''


def write_project(tmp_path: Path, data: str, model: str = "") -> Path:
    (tmp_path / "user_data.py").write_text(LOADER)
    (tmp_path / "user_model.py").write_text(FACTORY)
    (tmp_path / "broken_import.py").write_text("import keras\ndef build(:\n")
    config = tmp_path / "exp.yaml"
    config.write_text(textwrap.dedent(f"""\
        name: mine
        data: {{{data}}}
        model: {{{model or "factory: user_model:build"}}}
        training: {{epochs: 1, batch_size: 16}}
        sweep: {{optimizers: [{{name: sgd, learning_rates: [0.1]}}]}}
        """))
    return config


@pytest.mark.parametrize(("data", "model", "fragments"), [
    # The factory:
    ("loader: user_data:load", "factory: missing_module:build",
     ["model.factory", "no module named 'missing_module'"]),
    ("loader: user_data:load", "factory: ./gone.py:build",
     ["model.factory", "gone.py does not exist"]),
    ("loader: user_data:load", "factory: broken_import:build",
     ["model.factory", "importing", "broken_import.py raised SyntaxError"]),
    ("loader: user_data:load", "factory: user_model:absent",
     ["model.factory", "has no 'absent'"]),
    ("loader: user_data:load", "factory: user_data:not_a_function",
     ["model.factory", "is a int, not a function"]),
    ("loader: user_data:load", "factory: user_model:fails",
     ["model.factory", "raised ValueError: width must be even"]),
    ("loader: user_data:load", "factory: user_model:not_a_model",
     ["model.factory", "returned str; expected an uncompiled keras.Model"]),
    ("loader: user_data:load", "factory: user_model:build, args: {out: 4}",
     ["model.factory", "output has shape (None, 4); expected (None, 3)"]),
    ("loader: user_data:load", "factory: user_model:build, args: {colour: red}",
     ["model.factory", "raised TypeError", "colour"]),
    ("loader: user_data:load", "factory: user_model:softmax_inside",
     ["model.factory", "seems to end in a softmax"]),
    ("loader: user_data:load", "kind: conv", ["model.kind: conv needs images", "(6,)"]),
    ("loader: user_data:load, args: {shape: [6, 6]}", "kind: conv",
     ["model.filters: 2 blocks", "shrink 6x6 images to nothing"]),
    # The loader and its arrays:
    ("loader: user_data:nothing", "",
     ["data.loader", "returned a NoneType", "expected arrays in memory: a dict"]),
    ("loader: user_data:broken", "",
     ["data.loader", "raised RuntimeError: the share is not mounted (at user_data.py:",
      ", in broken); --debug shows the traceback"]),
    ("loader: user_data:datasets", "",
     ["data.loader: ", "user_data.py:datasets returned a tuple of (_BatchDataset, "
      "_BatchDataset)",
      "does not take tf.data.Dataset streams yet", "as_numpy_iterator"]),
    ("loader: missing_data:load", "", ["data.loader", "no module named 'missing_data'"]),
    ("loader: user_data:load, args: {x_train: nan}", "",
     ["x_train holds nan (row 3)", "expected finite numbers"]),
    ("loader: user_data:load, args: {x_test: empty, y_test: empty}", "",
     ["x_test is empty", "at least one row"]),
    ("loader: user_data:load, args: {x_test: wide}", "",
     ["x_train's rows have shape (6,) and x_test's (7,)", "expected the same"]),
    ("loader: user_data:load, args: {y_train: text}", "",
     ["data.loader", "y_train has dtype <U1; expected numbers"]),
    ("loader: user_data:load, args: {x_train: nan}", "",  # one prefix for a loader's errors
     ["data.loader: ", "user_data.py:load: x_train holds nan"]),
    ("loader: user_data:load, classes: 3, args: {y_test: big}", "",
     ["labels range over 0..7; data.classes is 3, so expected 0..2"]),
    ("loader: user_data:load, args: {k: 1}", "", ["every label is 0", "at least two classes"]),
])
def test_a_mistake_in_user_code_or_data_is_one_line_and_writes_nothing(
        tmp_path: Path, data: str, model: str, fragments: list[str]) -> None:
    config = write_project(tmp_path, data, model)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "--quiet"])
    one_line_error(result, *fragments)
    assert not runs.exists()


def test_a_reference_that_is_not_module_colon_function_is_a_config_error(
        tmp_path: Path) -> None:
    config = write_project(tmp_path, "loader: user_data", "")
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "r")])
    one_line_error(result, "exp.yaml:2: data.loader: expected 'module:function'")


def test_a_resume_with_a_changed_factory_says_so(tmp_path: Path) -> None:
    from helpers import ArithmeticBackend

    from lrlab.experiment.config import load_config
    from lrlab.run.sweep import SweepObserver, run_sweep

    class Notices(SweepObserver):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def notice(self, text: str) -> None:
            if "model.factory" in text:  # not the small data's warnings
                self.lines.append(text)

    config_path = write_project(tmp_path, "loader: user_data:load")
    config = load_config(config_path)
    first = run_sweep(config, runs_dir=tmp_path / "runs", backend=ArithmeticBackend(),
                      argv=["lrlab"])
    same = Notices()
    run_sweep(config, resume=first.run_dir, backend=ArithmeticBackend(), observer=same,
              argv=["lrlab"])
    assert same.lines == []
    factory = tmp_path / "user_model.py"
    factory.write_text(factory.read_text() + "\n# a change\n")
    changed = Notices()
    run_sweep(config, resume=first.run_dir, backend=ArithmeticBackend(), observer=changed,
              argv=["lrlab"])
    assert len(changed.lines) == 1 and "model.factory's file changed" in changed.lines[0]


def test_a_subclassed_factory_model_trains_in_process(tmp_path: Path) -> None:
    """A model without a graph (subclassed) has no layers list to read logits from: it
    must end in logits, and its output shape is found by running it."""
    (tmp_path / "sub.py").write_text(textwrap.dedent('''
        import keras

        class Net(keras.Model):
            def __init__(self, classes):
                super().__init__()
                self.hidden = keras.layers.Dense(8, activation="relu")
                self.out = keras.layers.Dense(classes)

            def call(self, x, training=False):
                return self.out(self.hidden(x))

        def build(input_shape, classes):
            return Net(classes)
        '''))
    config = write_project(tmp_path, "loader: user_data:load", "factory: sub:build")
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "--quiet"])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.iterdir()
    assert '"status": "completed"' in next(run_dir.glob("trials/*/result.json")).read_text()


def test_debug_shows_the_traceback_of_the_users_code_above_the_one_line(
        tmp_path: Path) -> None:
    config = write_project(tmp_path, "loader: user_data:broken")
    plain = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "r")])
    assert plain.exit_code == 2 and "Traceback" not in plain.output
    debug = runner.invoke(app, ["--debug", "sweep", str(config), "--runs-dir",
                                str(tmp_path / "r")])
    assert debug.exit_code == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert 'raise RuntimeError("the share is not mounted")' in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("error: data.loader: ")


@pytest.mark.filterwarnings("ignore:Do not pass")  # pytest records warnings itself
def test_what_user_code_writes_to_stderr_is_held_back_and_a_compiled_model_is_named(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A loader that imports TensorFlow prints its start-up lines; lrlab once let them
    bury its own output. A factory's compile() is ignored, and said so once."""
    from lrlab.experiment.config import load_config
    from lrlab.training import check_network
    from lrlab.training.data import load_dataset

    config = load_config(write_project(tmp_path, "loader: user_data:noisy",
                                       "factory: user_model:compiled"))
    dataset = load_dataset(config.data)
    held = capfd.readouterr().err
    assert "oneDNN" not in held and "input_shape" not in held and "cuInit" not in held
    (warning,) = check_network(config.model, dataset, engine="tensorflow")["warnings"]
    assert warning.startswith("model.factory: ") and (
        "user_model.py:compiled returned a compiled model; its compile() is ignored" in warning)
