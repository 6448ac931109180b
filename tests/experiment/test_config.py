from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import Deadline, in_bounded_process

from lrlab.errors import ConfigError
from lrlab.experiment.config import LogSpace, load_config, parse_config

BASE = """\
name: demo
data:
  dataset: synthetic
  validation: 100
sweep:
  seeds: [0, 1]
  optimizers:
    - name: sgd
      learning_rates: [1e-3, 0.01]
      momentum: 0
    - name: rmsprop
      learning_rates: {start: 1e-5, stop: 1.0, num: 6}
      rho: 0.9
"""


def test_defaults_and_coercions() -> None:
    config = parse_config(BASE)
    sgd, rmsprop = config.sweep.optimizers
    # YAML 1.1 reads 1e-3 (no dot) as a string; it must still be a learning rate.
    assert sgd.rates() == [0.001, 0.01]
    # `momentum: 0` is an int in YAML, which Keras's SGD rejects: it becomes 0.0.
    assert sgd.momentum == [0.0] and isinstance(sgd.momentum[0], float)
    assert sgd.nesterov == [False]  # Keras's default, written out
    assert rmsprop.epsilon == [1e-7] and rmsprop.centered == [False]
    assert config.training.batch_size == 32 and config.training.epochs == 3
    assert config.model.hidden == [512] and config.model.activation == "relu"


def test_log_spaced_rates_match_numpy() -> None:
    np = pytest.importorskip("numpy")
    rates = LogSpace(start=1e-5, stop=1.0, num=6).values()
    assert rates == pytest.approx(list(np.logspace(-5, 0, 6)), rel=1e-12)
    assert LogSpace(start=0.1, stop=0.1, num=1).values() == [0.1]


def test_name_defaults_to_file_stem_and_path_is_relative_to_config(tmp_path: Path) -> None:
    sub = tmp_path / "configs"
    sub.mkdir()
    path = sub / "my-exp.yaml"
    path.write_text(BASE.replace("name: demo\n", "").replace(
        "dataset: synthetic", "dataset: npz\n  path: ../data/x.npz"))
    config = load_config(path)
    assert config.name == "my-exp"
    assert config.data.path == (tmp_path / "data" / "x.npz").resolve()


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    config = parse_config(BASE)
    dumped = tmp_path / "sweep.yaml"
    dumped.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    assert load_config(dumped) == config


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("momentum: 0", "momentum: 1.5",
         "cfg.yaml:10: sweep.optimizers[0].momentum: expected a number in [0, 1] (got 1.5)"),
        ("rho: 0.9", "rho: [0.9, 1.0]",
         "cfg.yaml:13: sweep.optimizers[1].rho[1]: expected a number in [0, 1) (got 1.0)"),
        ("momentum: 0", "momentm: 0",
         "cfg.yaml:10: sweep.optimizers[0].momentm: unknown key; did you mean momentum? "
         "Expected one of: name, learning_rates, schedule, scale_rates, base_batch_size, "
         "momentum, nesterov,"),
        ("name: sgd", "name: sgdd",
         "cfg.yaml:8: sweep.optimizers[0].name: unknown optimizer 'sgdd'; expected one of: "
         "sgd, rmsprop, adam"),
        ("[1e-3, 0.01]", "[1e-3, -1]",
         "cfg.yaml:9: sweep.optimizers[0].learning_rates[1]: Input should be greater than 0"),
        ("[1e-3, 0.01]", "[0.01, 0.01]",
         "cfg.yaml:9: sweep.optimizers[0].learning_rates: duplicate value 0.01"),
        ("num: 6", "nm: 6", "cfg.yaml:12: sweep.optimizers[1].learning_rates.nm: unknown key"),
        ("validation: 100", "validation: ten", "cfg.yaml:4: data.validation: Input should be a "
         "valid integer"),
        ("validation: 100", "validation: -1", "cfg.yaml:4: data.validation: Input should be "
         "greater than or equal to 0"),
        ("dataset: synthetic", "dataset: cifar", "cfg.yaml:3: data.dataset: Input should be "
         "'mnist', 'fashion_mnist', 'npz', 'loader' or 'synthetic' (got 'cifar')"),
        ("dataset: synthetic", "dataset: npz",
         "cfg.yaml:2: data.path: missing; dataset npz needs the .npz file"),
        ("  validation: 100", "  validation: 100\n  colour: red",
         "cfg.yaml:5: data.colour: unknown key; expected one of: dataset, path, loader, args, "
         "standardize, classes, validation"),
        ("seeds: [0, 1]", "seeds: [0, 0]", "cfg.yaml:6: sweep.seeds: duplicate value 0"),
        ("seeds: [0, 1]", "seeds: [-1]", "cfg.yaml:6: sweep.seeds[0]: Input should be greater"),
        ("- name: sgd", "- nme: sgd", "cfg.yaml:8: sweep.optimizers[0]: missing key 'name'"),
        ("momentum: 0", "momentum: 0\n      momentum: 1",
         "cfg.yaml:11: sweep.optimizers[0].momentum: duplicate key"),
        ("momentum: 0", "nesterov: maybe", "cfg.yaml:10: sweep.optimizers[0].nesterov: Input "
         "should be a valid boolean"),
        ("name: demo", "name: demo\ntraining: {epochs: 0}",
         "cfg.yaml:2: training.epochs: Input should be greater than or equal to 1"),
        ("name: demo", "name: demo\ntraining: {batch_size: 0}",
         "cfg.yaml:2: training.batch_size: Input should be greater than or equal to 1"),
        ("name: demo", "name: demo\ntraining: {diverge_factor: 1}",
         "cfg.yaml:2: training.diverge_factor: Input should be greater than 1"),
        ("name: demo", "name: demo\nmodel: {activation: relux}",
         "cfg.yaml:2: model.activation: Input should be"),
        ("name: demo", "name: demo\nmodel: {hidden: [512, 0]}",
         "cfg.yaml:2: model.hidden[1]: Input should be greater than or equal to 1"),
        ("name: demo", "name: demo\nextra: 1", "cfg.yaml:2: extra: unknown key; expected one of: "
         "name, data, model, training, objective, sweep"),
        ("  optimizers:", "  optimizerz:", "cfg.yaml:7: sweep.optimizerz: unknown key"),
        ("rho: 0.9", "rho: .nan", "cfg.yaml:13: sweep.optimizers[1].rho: expected a number"),
        # Rates that would train at something else than what is recorded.
        ("[1e-3, 0.01]", "[1e-3, 1.0e-320]", "cfg.yaml:9: sweep.optimizers[0].learning_rates[1]"
         ": expected a learning rate float32 can hold, between 1.2e-38 and 3.4e+38 (got 1e-320)"),
        ("[1e-3, 0.01]", "[1e-3, 1.0e+39]", "cfg.yaml:9: sweep.optimizers[0].learning_rates[1]"
         ": expected a learning rate float32 can hold"),
        ("[1e-3, 0.01]", "[1e-3, true]", "cfg.yaml:9: sweep.optimizers[0].learning_rates[1]: "
         "expected a number, not true/false (got True)"),
        ("[1e-3, 0.01]", "[1e-3, .inf]", "cfg.yaml:9: sweep.optimizers[0].learning_rates[1]: "
         "expected a finite number"),
        ("start: 1e-5", "start: 1.0e-300", "cfg.yaml:12: sweep.optimizers[1].learning_rates."
         "start: expected a learning rate float32 can hold"),
        ("seeds: [0, 1]", "seeds: [true]", "cfg.yaml:6: sweep.seeds[0]: expected a number, "
         "not true/false"),
        ("name: demo", "name: demo\ntraining: {epochs: 1000000000}",
         "cfg.yaml:2: training.epochs: Input should be less than or equal to 10000"),
        ("momentum: 0", "momentum: true", "cfg.yaml:10: sweep.optimizers[0].momentum: expected "
         "a number, not true/false"),
        # A value no branch of a union takes: one line, not one per branch.
        ("name: demo", "name: demo\ntraining: {stack: []}", "cfg.yaml:2: training.stack: Input "
         "should be a valid integer (got []); or Input should be 'auto' (got [])"),
        ("name: demo", "name: demo\ntraining: {early_stopping: {patience: 0}}",
         "cfg.yaml:2: training.early_stopping.patience: Input should be greater than or equal "
         "to 1 (got 0)"),
        ("name: demo", "name: demo\ntraining: {early_stopping: {metric: f1}}",
         "cfg.yaml:2: training.early_stopping.metric: f1 is not recorded every epoch; "
         "expected one of loss, accuracy, val_loss, val_accuracy"),
        ("name: demo", "name: demo\ntraining: {early_stopping: {min_delta: -1}}",
         "cfg.yaml:2: training.early_stopping.min_delta: Input should be greater than or "
         "equal to 0 (got -1)"),
    ],
)
def test_every_invalid_value_gets_one_line_naming_file_line_and_key(
        old: str, new: str, expected: str) -> None:
    assert old in BASE
    with pytest.raises(ConfigError) as info:
        parse_config(BASE.replace(old, new, 1), source="cfg.yaml")
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "cfg.yaml: config is empty"),
        ("- 1\n- 2\n", "cfg.yaml:1: expected a mapping"),
        ("sweep: [1\n", "cfg.yaml:2:1: YAML syntax error"),
        ("name: x\n", "cfg.yaml:1: sweep: missing required key"),
        ("sweep: {optimizers: []}\n", "cfg.yaml:1: sweep.optimizers: List should have at least 1"),
    ],
)
def test_malformed_documents(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        parse_config(text, source="cfg.yaml")
    assert str(info.value).startswith(expected), str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(binary)


def test_shipped_configs_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "configs"
    for path in sorted(root.glob("*.yaml")):
        load_config(path)


def test_the_engine_keys() -> None:
    config = parse_config("name: e\ntraining: {engine: jax, stack: 24, precision: tf32}\n"
                          "sweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\n")
    assert (config.training.engine, config.training.stack, config.training.precision) == (
        "jax", 24, "tf32")
    assert config.training.stacks
    default = parse_config("name: e\nsweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\n")
    assert (default.training.engine, default.training.stack) == ("tensorflow", "auto")
    assert not default.training.stacks
    for wrong, expected in (("{stack: 3}", "stack: 3 needs engine: jax"),
                            ("{precision: tf32}", "precision: tf32 needs engine: jax"),
                            ("{engine: jax, stack: 0}", "stack"),
                            ("{engine: torch}", "engine")):
        with pytest.raises(ConfigError, match=expected):
            parse_config(f"name: e\ntraining: {wrong}\n"
                         f"sweep: {{optimizers: [{{name: sgd, learning_rates: [0.1]}}]}}\n")


def test_engine_and_stack_from_the_command_line() -> None:
    from lrlab.experiment.config import with_training

    config = parse_config("name: e\nsweep: {optimizers: [{name: sgd, learning_rates: [0.1]}]}\n")
    assert with_training(config) is config
    changed = with_training(config, engine="jax", stack="12")
    assert (changed.training.engine, changed.training.stack) == ("jax", 12)
    assert with_training(config, engine="jax", stack="auto").training.stack == "auto"
    with pytest.raises(ConfigError, match="^stack=abc: expected auto or an integer >= 1$"):
        with_training(config, engine="jax", stack="abc")
    with pytest.raises(ConfigError, match="^stack=4: stack: 4 needs engine: jax") as caught:
        with_training(config, stack="4")
    assert caught.value.as_options().startswith("--stack 4: ")


def test_every_mistake_is_reported_in_file_order_with_the_closest_key() -> None:
    """Config errors once stopped at the first mistake, and a misspelt key was only
    'unknown', with no hint of the key meant."""
    text = ("sweep:\n  seeds: [0]\n  optimizers:\n    - name: sgd\n      learning_rate: [0.1]\n"
            "training:\n  epochs: 0\n  batch_sise: 32\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="x.yaml")
    lines = str(caught.value).splitlines()
    assert lines == [
        "x.yaml:5: sweep.optimizers[0].learning_rate: unknown key; did you mean "
        "learning_rates? Expected one of: name, learning_rates, schedule, scale_rates, "
        "base_batch_size, momentum, nesterov, weight_decay, clipnorm, clipvalue, global_clipnorm",
        "x.yaml:7: training.epochs: Input should be greater than or equal to 1 (got 0)",
        "x.yaml:8: training.batch_sise: unknown key; did you mean batch_size? Expected one "
        "of: epochs, batch_size, diverge_factor, engine, precision, stack, early_stopping, "
        "sharpness, noise"]


# Each of these used to run for minutes or exhaust memory: run them bounded, so that a
# regression fails instead of hanging the suite.

def test_a_yaml_alias_bomb_is_read_at_once() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]
    bomb = "\n".join([*levels, "name: demo",
                      "sweep: {optimizers: [{name: sgd, learning_rates: *a9}]}"]) + "\n"
    out = in_bounded_process(f"""
        from lrlab.errors import ConfigError
        from lrlab.experiment.config import parse_config
        try:
            parse_config({bomb!r}, source="bomb.yaml")
        except ConfigError as exc:
            print(str(exc).splitlines()[0][:300])
        """, seconds=60, memory_gb=2)
    assert out.startswith("bomb.yaml:1: a0: unknown key; expected one of"), out
    assert len(out) < 2000


def test_many_distinct_values_are_checked_in_linear_time() -> None:
    out = in_bounded_process("""
        from lrlab.experiment.config import _distinct
        print(len(_distinct([1e-6 * (1 + i) for i in range(300_000)])))
        """, seconds=30)
    assert out.strip() == "300000"


def test_a_config_of_megabytes_is_refused_at_once(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    rates = ", ".join(f"{1e-6 * (1 + i):.9g}" for i in range(430_000))
    big.write_text(f"name: big\nsweep:\n  optimizers:\n    - name: sgd\n"
                   f"      learning_rates: [{rates}]\n")
    assert big.stat().st_size > 4_000_000
    with pytest.raises(ConfigError, match=r"big.yaml: more than 1024 KB; a config is a few "
                                          r"hundred lines"), Deadline(30):
        load_config(big)


def test_a_data_path_in_a_link_loop_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    config = tmp_path / "cfg.yaml"
    config.write_text(BASE.replace("dataset: synthetic", "dataset: npz\n  path: loop/x.npz"))
    with pytest.raises(ConfigError, match=r"cfg.yaml:4: data.path: loop/x.npz: a symbolic "
                                          r"link loop"):
        load_config(config)


def test_a_control_character_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """PyYAML refuses such text while it builds its loader, before parsing: a seeded fuzz
    run (seed 7) found it as a traceback."""
    path = tmp_path / "binary.yaml"
    path.write_text("name: x\x13\nsweep: {}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{path}: not YAML text (")
    assert "#x0013" in message
