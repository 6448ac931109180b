"""The Ray backend: its pure parts without Ray, then real sweeps on a local Ray instance."""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from lrlab.experiment.config import ExperimentConfig, parse_config
from lrlab.experiment.trials import Trial, expand_trials
from lrlab.run.backends import BackendError, LocalBackend, RayBackend, RayOptions
from lrlab.run.backends.ray_cluster import (
    _check_reachable,
    import_ray,
    join_error,
    next_trial,
    worker_slots,
)
from lrlab.run.sweep import SweepObserver, run_sweep
from lrlab.rundir.records import EpochRecord
from lrlab.training import Trainer, make_trainer

# --- without Ray ---------------------------------------------------------------------------


def test_worker_slots_follow_the_resources() -> None:
    assert worker_slots({"CPU": 8.0}, RayOptions()) == 8
    assert worker_slots({"CPU": 8.0}, RayOptions(max_workers=3)) == 3
    assert worker_slots({"CPU": 3.0}, RayOptions(cpus_per_trial=0.3)) == 10
    assert worker_slots({"CPU": 16.0, "GPU": 2.0}, RayOptions(gpus_per_trial=0.5)) == 4
    with pytest.raises(BackendError, match=r"^cpus_per_trial=4, gpus_per_trial=0: the Ray "
                                           r"cluster has 2 CPU\(s\) and 0 GPU\(s\)") as caught:
        worker_slots({"CPU": 2.0}, RayOptions(cpus_per_trial=4))
    assert caught.value.as_options().startswith("--cpus-per-trial 4 --gpus-per-trial 0: ")
    with pytest.raises(BackendError, match="0 GPU"):
        worker_slots({"CPU": 2.0}, RayOptions(gpus_per_trial=1))


def test_an_idle_worker_takes_what_it_has_compiled_else_what_nobody_runs() -> None:
    keys = ["sgd", "sgd", "rmsprop", "adam"]
    assert next_trial(keys, warm={"rmsprop"}, running=Counter(sgd=1)) == 2
    assert next_trial(keys, warm=set(), running=Counter(sgd=1)) == 2
    assert next_trial(keys, warm=set(), running=Counter(sgd=1, rmsprop=1)) == 3
    assert next_trial(keys, warm={"adam"}, running=Counter()) == 3
    assert next_trial([], warm=set(), running=Counter()) is None


def test_a_setting_others_run_is_shared_only_when_its_queue_is_longer() -> None:
    keys = ["sgd", "sgd", "sgd", "rmsprop"]
    # 3 sgd trials queued for 1 worker: worth compiling sgd a second time.
    assert next_trial(keys, warm=set(), running=Counter(sgd=1, rmsprop=1)) == 0
    # The most queued per worker running it goes first.
    assert next_trial(["sgd", "sgd", "rmsprop", "rmsprop", "rmsprop"], warm=set(),
                      running=Counter(sgd=1, rmsprop=1)) == 2
    # One trial left, and a worker already on it: wait for that worker.
    assert next_trial(["rmsprop"], warm={"sgd"}, running=Counter(rmsprop=1)) is None
    assert next_trial(keys, warm=set(), running=Counter(sgd=3, rmsprop=2)) is None


@pytest.mark.parametrize(("options", "message"), [
    (RayOptions(address="ray://head:10001"), "address='ray://head:10001': expected auto or "
                                             "HOST:PORT"),
    (RayOptions(address="head"), "expected auto or HOST:PORT"),
    (RayOptions(cpus_per_trial=0), "cpus_per_trial=0: expected a number > 0"),
    (RayOptions(gpus_per_trial=-1), "gpus_per_trial=-1: expected a number >= 0"),
    (RayOptions(max_retries=-1), "max_retries=-1: expected an integer >= 0"),
    (RayOptions(max_workers=0), "max_workers=0: expected an integer >= 1"),
])
def test_options_are_checked(options: RayOptions, message: str) -> None:
    with pytest.raises(BackendError, match=message.replace("(", r"\(").replace(")", r"\)")):
        options.check()
    RayOptions(address="10.0.0.5:6379").check()
    RayOptions(address="auto").check()


def test_an_address_where_nothing_listens_fails_at_once() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(BackendError, match=f"^address=127.0.0.1:{port}: no Ray cluster "
                                           f"answers there"):
        _check_reachable(f"127.0.0.1:{port}")


def test_a_refused_join_says_why() -> None:
    # What Ray 2.60 printed, once a second, joining a token-authenticated cluster at an
    # explicit address without RAY_AUTH_MODE=token; its exception said only this:
    failure = ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:6390")
    printed = ("gcs_client.cc:210: Failed to get cluster ID from GCS server: Unauthenticated:"
               " RPC error: InvalidAuthToken: Authentication token is missing or incorrect\n")
    assert "set RAY_AUTH_MODE=token" in str(join_error("127.0.0.1:6390", failure,
                                                       ray_output=printed))
    plain = join_error("auto", ConnectionError("Could not find any running Ray instance."),
                       ray_output="").as_options()
    assert plain == ("--address auto: cannot join the Ray cluster (Could not find any running "
                     "Ray instance.); start one with 'ray start --head', or leave --address "
                     "out to start a local instance")


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when it is absent
    with pytest.raises(BackendError, match=r'^backend=ray: Ray is not installed; install it '
                                           r'with: pip install "lrlab\[ray\]"'):
        import_ray(private_instance=True)


# --- on a real local Ray instance ----------------------------------------------------------


@pytest.fixture(scope="module")
def ray_session(ray_instance):
    # Workers cannot import this test module; ship its trainer subclasses by value.
    ray_instance.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return ray_instance


class FailsAtRate(Trainer):
    """Trials at rate 0.1 raise, as an out-of-memory error would."""

    def iter_stack(self, trials, **options):
        if trials[0].learning_rate == 0.1:
            raise RuntimeError("simulated out-of-memory")
        return super().iter_stack(trials, **options)


class DiesOnce(Trainer):
    """The first trial at rate 0.1 kills its worker process, as the OOM killer would; a
    marker file (the tests' workers share this machine's disk) makes it happen once."""

    def __init__(self, *args, marker: Path, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._marker = marker

    def iter_stack(self, trials, **options):
        if trials[0].learning_rate == 0.1 and not self._marker.exists():
            self._marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().iter_stack(trials, **options)


class CannotStart(Trainer):
    def __init__(self, *args, **kwargs) -> None:
        raise ModuleNotFoundError("No module named 'tensorflow'")


class Events(SweepObserver):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.retries: list[tuple[str, str, int]] = []
        self.notices: list[str] = []

    def trial_started(self, trial: Trial) -> None:
        self.started.append(trial.trial_id)

    def trial_retrying(self, trial: Trial, *, error: str, attempt: int) -> None:
        self.retries.append((trial.trial_id, error, attempt))

    def notice(self, text: str) -> None:
        self.notices.append(text)


def assert_same_metrics(a: Path, b: Path) -> None:
    """Two run directories hold the same trials, files and columns, and exactly the same
    numbers, diverged trials included (wall times and timestamps aside): every backend
    trains a trial with the same number of threads (one, by default), so the order of
    floating-point sums, and with it every rounding, is the same."""
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    assert files(a) == files(b)
    ta, tb = pd.read_csv(a / "results.csv"), pd.read_csv(b / "results.csv")
    assert list(ta.columns) == list(tb.columns)
    pd.testing.assert_frame_equal(ta.drop(columns="seconds"), tb.drop(columns="seconds"))
    for history in sorted((a / "trials").glob("*/history.csv")):
        mine = pd.read_csv(history).drop(columns="seconds")
        theirs = pd.read_csv(b / history.relative_to(a)).drop(columns="seconds")
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)


@pytest.mark.ray
def test_ray_gives_the_local_backends_files_and_numbers(
        tmp_path: Path, tiny_yaml: str, ray_session) -> None:
    # The loss surface measured too: sharpness (RMSprop's preconditioned one as well),
    # gradient noise and distance, every curvature.csv on Ray holding local's numbers.
    tiny_config = parse_config(tiny_yaml.replace("  batch_size: 32\n", (
        "  batch_size: 32\n  sharpness: {rows: 256, max_products: 60}\n"
        "  noise: {rows: 256, small: 16, large: 128}\n")))
    local = run_sweep(tiny_config, runs_dir=tmp_path / "local")
    events = Events()
    on_ray = run_sweep(tiny_config, runs_dir=tmp_path / "ray", backend=RayBackend(),
                       observer=events)
    assert_same_metrics(local.run_dir, on_ray.run_dir)
    measured = sorted((local.run_dir / "trials").glob("*/curvature.csv"))
    assert len(measured) == len(expand_trials(tiny_config))
    for path in measured:
        mine = pd.read_csv(path).drop(columns=["seconds", "noise_seconds"])
        theirs = pd.read_csv(on_ray.run_dir / path.relative_to(local.run_dir)).drop(
            columns=["seconds", "noise_seconds"])
        pd.testing.assert_frame_equal(mine, theirs, rtol=1e-6)
        assert mine["noise_scale"].notna().all() and mine["sharpness"].notna().all()
    assert sorted(events.started) == sorted(t.trial_id for t in expand_trials(tiny_config))
    assert not events.retries and not events.notices
    backend = json.loads((on_ray.run_dir / "environment.json").read_text())["sessions"][0][
        "backend"]
    assert backend["name"] == "ray" and backend["workers"] == 2 and backend["cluster_cpus"] == 2
    assert json.loads((local.run_dir / "environment.json").read_text())["sessions"][0][
        "backend"] == {"name": "local", "workers": 2, "threads_per_trial": 1}


@pytest.mark.ray
def test_a_trial_that_raises_is_retried_then_failed_and_the_sweep_goes_on(
        tmp_path: Path, tiny_config: ExperimentConfig, ray_session) -> None:
    events = Events()
    report = run_sweep(tiny_config, runs_dir=tmp_path, observer=events, backend=RayBackend(
        RayOptions(max_retries=1), trainer_factory=functools.partial(
            make_trainer, trainer_class=FailsAtRate)))
    assert [r["status"] for r in report.rows] == ["failed", "diverged", "completed"]
    failed = report.rows[0]
    assert failed["error"] == "RuntimeError: simulated out-of-memory (failed 2 times)"
    assert events.retries == [(failed["trial_id"], "RuntimeError: simulated out-of-memory", 1)]
    result = json.loads((report.run_dir / "trials" / failed["trial_id"] / "result.json")
                        .read_text())
    assert result["status"] == "failed" and result["epochs"] == 0


@pytest.mark.ray
def test_a_dead_worker_is_replaced_and_its_trial_runs_again(
        tmp_path: Path, tiny_config: ExperimentConfig, ray_session) -> None:
    marker = tmp_path / "died"
    events = Events()
    report = run_sweep(tiny_config, runs_dir=tmp_path / "runs", observer=events,
                       backend=RayBackend(trainer_factory=functools.partial(
                           make_trainer, trainer_class=DiesOnce, marker=marker)))
    assert marker.exists()  # it did die
    ((trial_id, error, attempt),) = events.retries
    assert trial_id.startswith("sgd-lr1.00e-01") and attempt == 1
    assert error.startswith("Ray worker lost (ActorDiedError")
    assert [r["status"] for r in report.rows] == ["completed", "diverged", "completed"]
    local = run_sweep(tiny_config, runs_dir=tmp_path / "local")
    assert_same_metrics(local.run_dir, report.run_dir)  # the retry started from scratch


@pytest.mark.ray
def test_ctrl_c_on_ray_leaves_a_directory_either_backend_resumes(
        tmp_path: Path, tiny_config: ExperimentConfig, ray_session) -> None:
    class CtrlC(SweepObserver):
        def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
            if trial.optimizer == "rmsprop":
                raise KeyboardInterrupt

    partial = run_sweep(tiny_config, runs_dir=tmp_path / "runs", observer=CtrlC(),
                        backend=RayBackend())
    assert partial.interrupted
    statuses = {r["trial_id"]: r["status"] for r in partial.rows}
    rmsprop = next(t.trial_id for t in expand_trials(tiny_config) if t.optimizer == "rmsprop")
    assert statuses[rmsprop] == "interrupted"
    unfinished = [t.trial_id for t in expand_trials(tiny_config)
                  if statuses.get(t.trial_id) not in ("completed", "diverged")]
    events = Events()
    resumed = run_sweep(tiny_config, resume=partial.run_dir, observer=events,
                        backend=RayBackend())
    assert sorted(events.started) == sorted(unfinished) and not resumed.interrupted
    assert [r["status"] for r in resumed.rows] == ["completed", "diverged", "completed"]
    local = run_sweep(tiny_config, runs_dir=tmp_path / "local")
    assert_same_metrics(local.run_dir, resumed.run_dir)
    nothing = Events()  # and the local backend agrees that nothing is left
    run_sweep(tiny_config, resume=partial.run_dir, observer=nothing, backend=LocalBackend())
    assert nothing.started == []


@pytest.mark.ray
def test_workers_that_cannot_start_end_the_sweep_with_the_reason(
        tmp_path: Path, tiny_config: ExperimentConfig, ray_session) -> None:
    events = Events()
    with pytest.raises(BackendError, match=r"no Ray worker could start \(ModuleNotFoundError: "
                                           r"No module named 'tensorflow'\); every node needs"):
        run_sweep(tiny_config, runs_dir=tmp_path, observer=events,
                  backend=RayBackend(trainer_factory=functools.partial(
                      make_trainer, trainer_class=CannotStart)))
    assert len(events.notices) == 2 and "could not start" in events.notices[0]


@pytest.mark.ray
def test_more_resources_per_trial_than_the_cluster_has_fails_before_writing(
        tmp_path: Path, tiny_config: ExperimentConfig, ray_session) -> None:
    with pytest.raises(BackendError, match="the Ray cluster has 2 CPU"):
        run_sweep(tiny_config, runs_dir=tmp_path / "runs",
                  backend=RayBackend(RayOptions(cpus_per_trial=3)))
    assert not (tmp_path / "runs").exists()


@pytest.mark.ray
def test_any_objective_trains_alike_in_local_workers_and_on_ray(
        tmp_path: Path, ray_session) -> None:
    """A regression with a whole metric (R²) and a summed one (MAE): the objective reaches
    every worker with the data, and every number, baseline included, is local's."""
    (tmp_path / "targets.py").write_text(
        "import numpy as np\n"
        "def load():\n"
        "    rng = np.random.default_rng(0)\n"
        "    x = rng.normal(size=(500, 5)).astype('float32')\n"
        "    y = (x @ rng.normal(size=5) + 0.1 * rng.normal(size=500)).astype('float32')\n"
        "    return (x[:400], y[:400]), (x[400:], y[400:])\n")
    config = parse_config(
        "name: objective\ndata: {loader: targets:load, validation: 100}\n"
        "model: {hidden: [16]}\nobjective: {loss: huber, metrics: [mae, r2_score], "
        "verdict: val_mae}\ntraining: {epochs: 2}\nsweep: {optimizers: [{name: adam, "
        "learning_rates: [0.001, 0.01]}]}", base_dir=tmp_path)
    local = run_sweep(config, runs_dir=tmp_path / "local", backend=LocalBackend(workers=2))
    on_ray = run_sweep(config, runs_dir=tmp_path / "ray", backend=RayBackend())
    assert_same_metrics(local.run_dir, on_ray.run_dir)
    result = json.loads(next((on_ray.run_dir / "trials").glob("*/result.json")).read_text())
    assert result["objective"]["verdict"] == "val_mae"
    assert abs(result["baseline"]["val_r2_score"]) < 1e-5
    assert set(pd.read_csv(on_ray.run_dir / "results.csv").columns) >= {
        "mae", "val_r2_score", "best_val_mae", "test_mae"}


@pytest.mark.ray
def test_ray_workers_import_the_users_factory_and_match_local(
        tmp_path: Path, ray_session) -> None:
    """The example's loader and factory (16x16x3 images, three classes): the loader runs
    here, Ray's workers import the factory from its file, and every number is local's."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    text = (examples / "shapes.yaml").read_text().replace(
        "n_train: 3000, n_test: 600", "n_train: 400, n_test: 100").replace(
        "epochs: 3", "epochs: 1").replace("seeds: [0, 1]", "seeds: [0]")
    config = parse_config(text, base_dir=examples)
    local = run_sweep(config, runs_dir=tmp_path / "local")
    on_ray = run_sweep(config, runs_dir=tmp_path / "ray", backend=RayBackend())
    assert_same_metrics(local.run_dir, on_ray.run_dir)
    session = json.loads((on_ray.run_dir / "environment.json").read_text())["sessions"][0]
    assert session["data"]["classes"] == 3 and session["data"]["input_shape"] == [16, 16, 3]
    assert session["model"]["factory"]["reference"].endswith("small_convnet.py:build")
    assert session["engines"][0]["model"]["name"] == "small_convnet"


HALVING = """
name: ray-halving
data: {dataset: synthetic, train_limit: 300, validation: 100, test_limit: 100}
model: {hidden: [16]}
training: {epochs: 4, batch_size: 32}
sweep:
  seeds: [0, 1, 2]
  optimizers: [{name: sgd, learning_rates: [0.001, 0.1, 1.0]}]
  halving: {min_epochs: 1, reduction: 2}
"""


@pytest.mark.ray
def test_a_halving_sweep_on_ray_keeps_its_workers_and_matches_local(
        tmp_path: Path, ray_session) -> None:
    config = parse_config(HALVING)
    # Local worker processes, each with one pinned thread, as Ray's (this process may
    # have started TensorFlow on more threads).
    local = run_sweep(config, runs_dir=tmp_path / "local", backend=LocalBackend(workers=2))
    on_ray = run_sweep(config, runs_dir=tmp_path / "ray", backend=RayBackend())
    assert_same_metrics(local.run_dir, on_ray.run_dir)
    for name in ("halving.json",):
        ours, theirs = (json.loads((d / name).read_text())["decisions"]
                        for d in (local.run_dir, on_ray.run_dir))
        assert [{k: v for k, v in d.items() if k != "at"} for d in ours] == [
            {k: v for k, v in d.items() if k != "at"} for d in theirs]
    assert {row["status"] for row in on_ray.rows} >= {"pruned", "completed"}
    # Asynchronous: promotions go to whichever Ray worker is free while others train;
    # every epoch of every trial is the synchronous run's, as far as both went.
    eager = run_sweep(parse_config(HALVING.replace("reduction: 2", "reduction: 2, "
                                                   "asynchronous: true")),
                      runs_dir=tmp_path / "async", backend=RayBackend())
    assert {row["status"] for row in eager.rows} <= {"pruned", "completed"}
    for history in sorted((eager.run_dir / "trials").glob("*/history.csv")):
        mine = pd.read_csv(history).drop(columns="seconds")
        theirs = pd.read_csv(local.run_dir / history.relative_to(eager.run_dir)
                             ).drop(columns="seconds")
        common = min(len(mine), len(theirs))
        pd.testing.assert_frame_equal(mine[:common], theirs[:common], check_exact=True)
