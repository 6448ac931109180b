"""The JAX engine: stacked trials equal the same trials trained alone, a diverging member
disturbs nobody, and JAX agrees with TensorFlow. Each engine runs in a fresh process (see
helpers.run_fresh); the real-MNIST checks are marked ``mnist``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_fresh
from typer.testing import CliRunner

from lrlab.cli import app
from lrlab.experiment.trials import Trial
from lrlab.training.stacks import Group, cut, plan_groups

pytest.importorskip("jax", reason='the jax engine needs JAX: pip install -e ".[jax]"')
pytestmark = pytest.mark.jax  # CI runs these after installing JAX: -m "slow or jax"

# Per-step losses: the engine trains one batch per call, so each call's loss sum over the
# batch size is that step's loss. Prints {"rate": [losses...]} for stacked and alone.
PER_STEP = """
import json, sys
import numpy as np
from lrlab.experiment.config import parse_config
from lrlab.training.data import load_dataset
from lrlab.training import build_engine, epoch_order
from lrlab.experiment.trials import OptimizerSetting

config = parse_config('''
name: steps
data: {{dataset: synthetic, train_limit: 3300, validation: 100, test_limit: 100}}
training: {{engine: {engine}, batch_size: 32}}
sweep: {{optimizers: [{{name: sgd, learning_rates: [0.1]}}]}}
''')
engine = build_engine(load_dataset(config.data), model=config.model, training=config.training)
batches = epoch_order(engine.plan.n_train, seed=0, epoch=1)[:{steps} * 32].reshape(-1, 1, 32)
out = {{}}
for name, rates in {settings}:
    setting = OptimizerSetting.of(name, {{}})
    def losses(rates):
        engine.start_stack(setting, seed=0, learning_rates=rates)
        return np.stack([engine.train(b)[0] / 32 for b in batches], axis=1).tolist()
    stackable = engine.stack_limit(setting) > 1 or '{engine}' == 'jax'
    out[name] = {{"stacked": losses(rates) if stackable else None,
                 "alone": [losses([r])[0] for r in rates]}}
print(json.dumps(out))
"""


def per_step_losses(engine: str, steps: int, settings: list) -> dict:
    return run_fresh(PER_STEP.format(engine=engine, steps=steps, settings=settings))


@pytest.mark.slow
def test_a_stacked_trial_equals_the_same_trial_alone_over_100_steps() -> None:
    out = per_step_losses("jax", 100, [("rmsprop", [1e-4, 1e-3, 1e-2]),
                                       ("sgd", [0.01, 0.1, 0.5])])
    for name, found in out.items():
        stacked, alone = np.array(found["stacked"]), np.array(found["alone"])
        assert stacked.shape == (3, 100) and np.isfinite(stacked).all()
        np.testing.assert_allclose(stacked, alone, rtol=1e-6, err_msg=name)
        assert not np.allclose(stacked[0], stacked[2])  # the rates do differ


@pytest.mark.slow
@pytest.mark.parametrize("rates", [[("sgd", [0.01, 0.1])], [("rmsprop", [1e-4, 1e-3])]])
def test_jax_and_tensorflow_agree_over_the_first_10_steps(rates: list) -> None:
    jax, tf = per_step_losses("jax", 10, rates), per_step_losses("tensorflow", 10, rates)
    name = rates[0][0]
    np.testing.assert_allclose(jax[name]["alone"], tf[name]["alone"], rtol=1e-5)


def sweep(tmp_path: Path, name: str, *args: str, rates: str = "[0.1, 0.5, 1000]",
          halving: str | None = None, seeds: str = "[0, 1]") -> Path:
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"""\
name: {name}
data: {{dataset: synthetic, train_limit: 600, validation: 100, test_limit: 200}}
model: {{hidden: [32]}}
training: {{epochs: 3, batch_size: 32, engine: jax}}
sweep:
  seeds: {seeds}
  optimizers:
    - {{name: sgd, learning_rates: {rates}}}
""" + (f"  halving: {halving}\n" if halving else ""))
    result = CliRunner().invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path),
                                      "--quiet", *args])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def histories(run_dir: Path) -> dict[str, list[dict]]:
    """Each trial's history rows without their times."""
    import csv

    found = {}
    for path in sorted((run_dir / "trials").glob("*/history.csv")):
        with path.open() as handle:
            found[path.parent.name] = [{k: v for k, v in row.items() if k != "seconds"}
                                       for row in csv.DictReader(handle)]
    return found


@pytest.mark.slow
def test_a_stacked_sweep_writes_the_run_directory_of_one_trained_alone(tmp_path: Path) -> None:
    alone, stacked = (histories(sweep(tmp_path, "alone", "--stack", "1")),
                      histories(stacked_dir := sweep(tmp_path, "stacked", "--stack", "3")))
    # The same trials, epochs and columns; numbers within float32 summation order (the
    # vmapped program adds up a batch's loss in another order than the single one).
    assert {k: [r["epoch"] for r in v] for k, v in stacked.items()} == {
        k: [r["epoch"] for r in v] for k, v in alone.items()}
    for trial, rows in stacked.items():
        for mine, theirs in zip(rows, alone[trial], strict=True):
            assert mine.keys() == theirs.keys()
            np.testing.assert_allclose([float(v) for v in mine.values()],
                                       [float(v) for v in theirs.values()], rtol=1e-6)
    stacked = stacked_dir
    statuses = {p.parent.name: json.loads(p.read_text())
                for p in (stacked / "trials").glob("*/result.json")}
    assert {r["status"] for r in statuses.values()} == {"completed", "diverged"}
    assert {r["stack_size"] for r in statuses.values()} == {3}
    session = json.loads((stacked / "environment.json").read_text())["sessions"][-1]
    assert session["engine"] == {"name": "jax", "precision": "float32", "stack": 3}
    (built,) = session["engines"]
    assert built["name"] == "jax" and built["device"] == "cpu"
    assert session["compile_seconds"] > 0


@pytest.mark.slow
def test_a_diverging_member_leaves_the_others_bit_identical(tmp_path: Path) -> None:
    # In a stack of the same size (its size changes a member's last bits: XLA batches
    # the arithmetic differently), with a well-behaved third member instead.
    with_it = histories(sweep(tmp_path, "with", "--stack", "3", rates="[0.1, 0.5, 1000]"))
    without = histories(sweep(tmp_path, "without", "--stack", "3", rates="[0.1, 0.5, 0.2]"))
    kept = {k: v for k, v in without.items() if "lr2.00e-01" not in k}
    assert len(kept) == 4 and {k: v for k, v in with_it.items() if k in kept} == kept
    assert {len(v) for k, v in with_it.items() if "lr1.00e+03" in k} == {1}  # it diverged


def test_groups_are_a_function_of_the_config_and_resume_trains_whole_groups() -> None:
    trials = [Trial(name, rate, seed) for name in ("sgd", "rmsprop") for rate in (0.1, 1.0, 3.0)
              for seed in (0, 1)]
    groups = plan_groups(trials, done=set(), stacking=True)
    assert [len(g.trials) for g in groups] == [3, 3, 3, 3]
    assert groups[0].trials == (trials[0], trials[2], trials[4])  # sgd, seed 0, by rate
    done = {trials[0].trial_id, trials[2].trial_id}
    again = plan_groups(trials, done=done, stacking=True)
    # The group with finished trials trains whole again, recording only the pending one.
    assert again[0].trials == groups[0].trials
    assert again[0].recorded == (trials[4],)
    # Without stacking, each pending trial is its own group.
    assert [g.trials for g in plan_groups(trials, done=done, stacking=False)] == [
        (t,) for t in trials if t.trial_id not in done]
    assert cut(groups[0].trials, 2) == [groups[0].trials[:2], groups[0].trials[2:]]
    assert isinstance(groups[0].only([trials[0].trial_id]), Group)


@pytest.mark.mnist
def test_the_seed_facts_hold_on_jax_and_it_agrees_with_tensorflow_after_an_epoch(
        tmp_path: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRLAB_DATA_DIR", str(mnist_dir))

    def one_epoch(engine: str, optimizers: str, *, validation: int, limit: str = "") -> dict:
        name = f"{engine}-{validation}"
        config = tmp_path / f"{name}.yaml"
        config.write_text(f"name: {name}\ndata: {{validation: {validation}{limit}}}\n"
                          f"training: {{epochs: 1, engine: {engine}}}\n"
                          f"sweep: {{optimizers: {optimizers}}}\n")
        result = CliRunner().invoke(app, ["sweep", str(config), "--runs-dir",
                                          str(tmp_path), "--quiet"])
        assert result.exit_code == 0, result.output
        run_dir = Path(result.stdout.strip().splitlines()[-1])
        found = {}
        for trial in (run_dir / "trials").iterdir():
            params = json.loads((trial / "params.json").read_text())
            found[(params["optimizer"], params["learning_rate"])] = json.loads(
                (trial / "result.json").read_text())
        return found

    # The classic example's setting: all 60,000 training images, one epoch.
    facts = one_epoch("jax", "[{name: sgd, learning_rates: [0.01, 0.1]}, "
                             "{name: rmsprop, learning_rates: [1e-3, 1.0]}]", validation=0)
    assert facts[("rmsprop", 1e-3)]["test"]["accuracy"] >= 0.96
    assert facts[("rmsprop", 1.0)]["status"] == "diverged"
    assert facts[("sgd", 0.1)]["test"]["accuracy"] > facts[("sgd", 0.01)]["test"]["accuracy"]
    # The well-behaved trials on both engines: agreement needs no more than 12,000 images,
    # 2,000 of them held out to validate (one image moves the accuracy by 0.0005).
    well_behaved = "[{name: sgd, learning_rates: [0.01]}, {name: rmsprop, learning_rates: [1e-4]}]"
    jax = one_epoch("jax", well_behaved, validation=2_000, limit=", train_limit: 12000")
    tf = one_epoch("tensorflow", well_behaved, validation=2_000, limit=", train_limit: 12000")
    assert jax.keys() == tf.keys() and len(tf) == 2
    for key in tf:
        assert abs(jax[key]["final"]["val_accuracy"] - tf[key]["final"]["val_accuracy"]) <= 0.003


@pytest.mark.slow
def test_halving_on_stacks_goes_on_from_each_members_checkpoint(tmp_path: Path) -> None:
    # The stack of a setting and seed pauses at each rung as one; its survivors go on as a
    # smaller stack, each member from its own state: the grid's numbers, to float32
    # summation order (a stack's size changes how the vmapped program adds up).
    rates, seeds = "[0.001, 0.1, 0.5]", "[0, 1, 2]"
    grid = histories(sweep(tmp_path, "grid", "--stack", "3", rates=rates, seeds=seeds))
    halved_dir = sweep(tmp_path, "halved", "--stack", "3", rates=rates, seeds=seeds,
                       halving="{min_epochs: 1, reduction: 2}")
    halved = histories(halved_dir)
    statuses = {p.parent.name: json.loads(p.read_text())["status"]
                for p in (halved_dir / "trials").glob("*/result.json")}
    assert "pruned" in statuses.values() and "completed" in statuses.values()
    for trial, rows in halved.items():
        assert [r["epoch"] for r in rows] == [r["epoch"] for r in grid[trial][:len(rows)]]
        for mine, theirs in zip(rows, grid[trial], strict=False):
            # Measured within 1.4e-6: a stack of 2 sums in another order than one of 3.
            np.testing.assert_allclose([float(v) for v in mine.values()],
                                       [float(v) for v in theirs.values()], rtol=1e-5)
    assert not list(halved_dir.glob("trials/*/checkpoint.npz"))
