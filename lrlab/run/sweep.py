"""Running a sweep: expand the config, hand the pending trials to a backend, record
everything it reports.

The runner owns the bookkeeping (what is finished, what to resume, what a partial trial
leaves behind) and is the only writer of the run directory; the backend only trains (here
or on a cluster), the store only writes, and observers (the CLI's progress display) only
watch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lrlab.analysis.compare import CompareError, Comparison, compare_runs
from lrlab.analysis.judge import judge_trial
from lrlab.engines import engine as engine_spec
from lrlab.errors import ConfigError, StoreError
from lrlab.experiment.config import ExperimentConfig, parse_config, surprising_settings
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, Objective, ObjectiveError
from lrlab.experiment.trials import (
    MAX_TRIALS,
    Design,
    Experiment,
    Trial,
    check_size,
    draw_design,
    plan_experiments,
    sampled_dimensions,
    with_additions,
)
from lrlab.formatting import first_line
from lrlab.present.render import failure_detail
from lrlab.run.backends import Backend, LocalBackend
from lrlab.run.backends.base import reserved
from lrlab.run.environment import collect_environment
from lrlab.run.halving import AsyncHalvingScheduler, HalvingScheduler
from lrlab.run.sampled import ModelBasedScheduler
from lrlab.run.scheduler import GridScheduler, Scheduler
from lrlab.run.sessions import SweepSessions
from lrlab.rundir.formats import as_planned
from lrlab.rundir.loading import scan_runs
from lrlab.rundir.lock import writer_lock
from lrlab.rundir.records import (
    EpochRecord,
    TrialOutcome,
    TrialResult,
    TrialStatus,
    history_columns,
    plan_record,
    results_columns,
    timestamp,
)
from lrlab.rundir.store import (
    CONFIG_FILE,
    DESIGN_FILE,
    PARAMS_FILE,
    SETTLE_FILE,
    SWEEP,
    TRIALS_DIR,
    RunStore,
)
from lrlab.training import Group, Work, check_network, check_objective, plan_groups
from lrlab.training.data import Dataset, load_dataset
from lrlab.training.loop import check_stopping


class SweepObserver:
    """Hooks called as a sweep progresses. Subclass and override what you need.

    On the Ray backend several trials run at once, so calls for different trials
    interleave; each call names its trial.
    """

    def sweep_started(self, *, run_dir: Path, trials: Sequence[Trial], pending: int) -> None:
        """``pending`` of ``trials`` will run; the others finished in an earlier run."""

    def trial_started(self, trial: Trial) -> None:
        pass

    def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
        pass

    def trial_retrying(self, trial: Trial, *, error: str, attempt: int) -> None:
        """Attempt ``attempt`` of ``trial`` failed; it will start again from scratch."""

    def trial_finished(self, trial: Trial, row: dict[str, Any]) -> None:
        pass

    def notice(self, text: str) -> None:
        """Something about the sweep as a whole, such as a worker that could not start."""

    def stage(self, text: str) -> None:
        """What the sweep is doing before its trials start (loading the data, starting
        the workers): the seconds a user would otherwise wait on a blank screen."""


@dataclass
class SweepReport:
    run_dir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    engines: list[dict[str, Any]] = field(default_factory=list)  # as each worker built it
    compile_seconds: float | None = None  # this session's, summed over trials (jax)
    largest_stack: int = 1  # the most trials this session trained at once
    # What `lrlab compare` says of the whole run directory now (None: no trial finished).
    comparison: Comparison | None = None


def run_sweep(
    config: ExperimentConfig,
    *,
    runs_dir: str | Path = "runs",
    resume: str | Path | None = None,
    observer: SweepObserver | None = None,
    backend: Backend | None = None,
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    allow_data_change: bool = False,
    max_trials: int = MAX_TRIALS,
    sessions: SweepSessions | None = None,
) -> SweepReport:
    """Train every trial of ``config`` that is not yet finished, writing a run directory.

    With ``resume``, continue that run directory (which must be a sweep of the same config,
    on the same data unless ``allow_data_change``) and re-run only trials without a
    finished ``result.json`` (completed, stopped or diverged), whichever backend wrote it.
    ``backend`` defaults to :class:`~lrlab.run.backends.LocalBackend`. The run directory
    is locked for the whole sweep: a second writer is refused at once. A sweep of more
    than ``max_trials`` trials is refused before anything starts. On Ctrl-C (or a signal raised as
    :class:`~lrlab.errors.Interrupted`) the trials in progress are recorded as interrupted
    and the report says so; environment.json records every session and how it ended.
    ``sessions`` keeps the backend session and the loaded data for the caller's next
    sweep of the same run directory (an adaptive sweep's rounds); by default they end
    with this sweep.
    """
    observer = observer or SweepObserver()
    backend = backend or LocalBackend()
    argv = list(argv if argv is not None else sys.argv)
    check_size(config, max_trials=max_trials)
    with contextlib.ExitStack() as held:
        if sessions is None:
            sessions = held.enter_context(SweepSessions())
        store = None
        if resume:
            store = _open_resumable(Path(resume), config)
            _lock(held, store, argv, observer)  # before reading what is done: one writer
        design = draw_design(config, recorded=_recorded_design(store))
        experiments = plan_experiments(
            config, legacy=store is not None and store.has_legacy_ids(), design=design)
        if store is not None:  # the trials an adaptive sweep added to the grid
            experiments = _with_additions(experiments, store)
        trials = [trial for experiment in experiments for trial in experiment.trials]
        # Every experiment's data and network, before creating anything: fail early.
        observer.stage(f"loading the data and checking the model ({len(trials)} trials, "
                       f"{config.training.engine} engine)")
        ready = _prepare(experiments, env, sessions)
        if store is not None and not allow_data_change:
            _check_same_data(store, ready[0].dataset)
        if store is not None:
            _notice_changed_code(store, ready[0].network, observer)
        done = _kept_rows(store, trials, observer) if store else {}
        settled = {trial_id for trial_id, row in done.items()
                   if TrialStatus(row["status"]).settled}
        pending = [t for t in trials if t.trial_id not in settled]
        for warning in dict.fromkeys(w for r in ready for w in [*surprising_settings(
                r.config, n_train=len(r.dataset.y_train), n_validation=len(r.dataset.y_val)),
                *r.network.get("warnings", [])]):
            observer.notice(f"warning: {warning}")
        planned = [r.planned(settled) for r in ready]
        todo = [r for r in planned if r.groups] or planned[:1]
        if len(todo) > 1:
            held.enter_context(reserved(backend))  # one connection for every session

        # The backend fails here, before anything is written, if it cannot run the trials.
        if not sessions.holds(todo[0].key(backend)):
            observer.stage(f"starting the workers (each imports {config.training.engine})")
        session = sessions.session(todo[0].key(backend),
                                   functools.partial(todo[0].session, backend))
        now = datetime.now(timezone.utc)
        if store is None:
            store = RunStore.start(held, Path(runs_dir), config.name,
                                   config=config.to_dict(), command=" ".join(argv), now=now)
        elif config.sweep.sampled and _stored_points(store) != config.points:
            store.write_config(_stored(config, store))  # more points asked for
        if design.units:
            store.write_design(design.to_dict())
        environment = collect_environment(
            started_at=now.isoformat(timespec="seconds"), argv=argv,
            engine=engine_spec(config.training.engine), probe_devices=session.trains_here)
        recorder = _Recorder(store, trials, done, observer, objectives={
            trial.trial_id: (r.dataset.objective, r.dataset.has_validation)
            for r in ready for trial in r.trials},
            objective=(ready[0].dataset.objective, ready[0].dataset.has_validation),
            config=config)
        recorder.plan(())  # plan.json: the plan as it stands, before anything trains
        with store.session({**environment, "backend": session.description,
                            "engine": _engine_config(config), "engines": [],
                            "data": ready[0].dataset.provenance(),
                            "model": {"label": ready[0].config.model.label(),
                                      **ready[0].network},
                            "experiments": len(experiments)},
                           kind=SWEEP, ended=lambda: recorder.stopped):
            observer.sweep_started(run_dir=store.root, trials=trials, pending=len(pending))
            if pending or len(design.units) < config.points and config.sweep.model_based:
                _train(todo, sessions, backend, recorder, store, _scheduler(config))
            if recorder.compile_seconds is not None:
                store.update_session(compile_seconds=round(recorder.compile_seconds, 3))
            # What this session trained (a halving trial's epochs once each, a retraced
            # one's again): what a sweep costs, whatever its histories show.
            store.update_session(epochs_trained=recorder.epochs_trained)
    rows = recorder.rows()
    return SweepReport(run_dir=store.root, rows=rows, interrupted=recorder.stopped is not None
                       or any(row["status"] == TrialStatus.INTERRUPTED.value for row in rows),
        engines=recorder.engines, compile_seconds=recorder.compile_seconds,
        largest_stack=recorder.largest_stack, comparison=_comparison(store.root))


@dataclass(frozen=True)
class _Ready:
    """One experiment, its data loaded and its network checked, and its groups to train."""

    config: ExperimentConfig
    trials: tuple[Trial, ...]
    dataset: Dataset
    network: dict[str, Any]
    groups: tuple[Group, ...] = ()

    @property
    def objective(self) -> Objective:
        return self.dataset.objective

    @property
    def has_validation(self) -> bool:
        return self.dataset.has_validation

    def planned(self, done: Mapping[str, Any]) -> _Ready:
        groups = plan_groups(self.trials, done=done, stacking=self.config.training.stacks)
        return dataclasses.replace(self, groups=tuple(groups))

    def session(self, backend: Backend) -> contextlib.AbstractContextManager[Any]:
        return backend.session(self.groups or self._a_point(), dataset=self.dataset,
                               model=self.config.model, training=self.config.training)

    def _a_point(self) -> list[Group]:
        """What one point of a model-based sampler trains (its points are asked as the
        sweep goes): the workers a session starts for it."""
        config = self.config
        if not config.sweep.model_based:
            return []
        dimensions = sampled_dimensions(config)
        (point,) = plan_experiments(config, design=Design(
            config.sweep.sampler, config.sweep.sampler_seed, dimensions,
            ((0.5,) * len(dimensions),)))
        return plan_groups(point.trials, done=(), stacking=config.training.stacks)

    def key(self, backend: Backend) -> tuple[int, str]:
        """What a backend session is for: this backend, this experiment's settings."""
        return id(backend), repr(self.config.model_dump())


def _prepare(experiments: Sequence[Experiment], env: Mapping[str, str] | None,
             sessions: SweepSessions) -> list[_Ready]:
    """Each experiment's data (each distinct data setting loaded once, and once for all
    the sweeps ``sessions`` serves) and network check: a mistake in any of them is
    reported before anything is written."""
    datasets, checked = sessions.datasets, sessions.networks
    ready = []
    for experiment in experiments:
        config = experiment.config
        key = repr((config.data.model_dump(), config.objective.model_dump()))
        if key not in datasets:
            datasets[key] = load_dataset(config.data, env=env, objective=config.objective)
        network_key = (key, repr(config.model.model_dump()))
        if network_key not in checked:
            checked[network_key] = check_network(config.model, datasets[key],
                                                 engine=config.training.engine)
            check_objective(datasets[key].objective, engine=config.training.engine)
            try:  # the column early stopping watches is one these labels' objective records
                check_stopping(config.training.early_stopping, datasets[key].objective)
            except ObjectiveError as exc:
                raise ConfigError(str(exc)) from None
        ready.append(_Ready(config, experiment.trials, datasets[key], checked[network_key]))
    return ready


def _scheduler(config: ExperimentConfig) -> Scheduler:
    if config.sweep.model_based:
        return ModelBasedScheduler(config)
    halving = config.sweep.halving
    if halving is None:
        return GridScheduler()
    return AsyncHalvingScheduler(halving) if halving.asynchronous else HalvingScheduler(halving)


def _train(todo: Sequence[_Ready], sessions: SweepSessions, backend: Backend,
           recorder: _Recorder, store: RunStore, scheduler: Scheduler) -> None:
    """Train each experiment in its own backend session, one after the other (the first's
    already started), round after round as ``scheduler`` says, until they are done or the
    sweep stops."""
    for experiment in todo:
        session = sessions.session(experiment.key(backend),
                                   functools.partial(experiment.session, backend))
        _run_rounds(session, experiment, scheduler, recorder, store)
        if recorder.stopped is not None:
            return


def _run_rounds(session: Any, experiment: _Ready, scheduler: Scheduler,
                recorder: _Recorder, store: RunStore) -> None:
    """Every round the scheduler asks of ``experiment``, in one backend session."""
    try:
        for groups in scheduler.rounds(experiment, recorder):
            work = groups if isinstance(groups, Work) else Work(groups)
            recorder.round_started(work)
            session.run(recorder, work)
            recorder.round_ended()
            if recorder.stopped is None and work.unfinished:
                # A stop before the trials in progress had started (short trials, many
                # of them): none is recorded as interrupted, yet the round ended early.
                recorder.stopped = "interrupted"
            if recorder.stopped is not None:
                return
    except StoreError as exc:  # a full disk, most often
        raise StoreError(f"{exc}; the trials finished so far are kept: make room, then "
                         f"continue with `resume` {store.root}", mentions=["resume"]) from None


def _with_additions(experiments: list[Experiment], store: RunStore) -> list[Experiment]:
    try:
        return with_additions(experiments, store.read_additions())
    except ValueError as exc:
        raise StoreError(f"{store.root / SETTLE_FILE}: {exc}") from None


def _recorded_design(store: RunStore | None) -> Design | None:
    if store is None:
        return None
    recorded = store.read_design()
    if recorded is None:
        return None
    try:
        return Design.from_dict(recorded)
    except ValueError as exc:
        raise StoreError(f"{store.root / DESIGN_FILE}: corrupted sampled points: {exc}; "
                         f"without them the sweep cannot resume its points") from None


def _stored_points(store: RunStore) -> object:
    sweep = store.read_config().get("sweep")
    return sweep.get("points") if isinstance(sweep, dict) else None


def _stored(config: ExperimentConfig, store: RunStore) -> dict[str, Any]:
    """What sweep.yaml says of a resumed sweep: the config, under the run's own name."""
    return {**config.to_dict(), "name": store.read_config().get("name", config.name)}


def _comparison(run_dir: Path) -> Comparison | None:
    """The verdicts of the run directory as written, read back from its files (a resumed
    sweep's included), exactly as ``lrlab compare`` would give them."""
    scan = scan_runs([run_dir])
    try:
        return compare_runs(scan.frame, plans=scan.plans)
    except CompareError:  # no trial finished (completed, stopped, diverged): no rate to name
        return None


def _engine_config(config: ExperimentConfig) -> dict[str, Any]:
    """What the config asks of the engine; ``engines`` records what each worker built."""
    training = config.training
    return {"name": training.engine, "precision": training.precision,
            "stack": training.stack}


def _lock(held: contextlib.ExitStack, store: RunStore, argv: Sequence[str],
          observer: SweepObserver) -> None:
    stale = held.enter_context(writer_lock(store.root, command=" ".join(argv)))
    if stale is None:
        return
    if stale.alive() is None:
        # Granted the lock, yet whether that process runs is its host's business: some
        # shared filesystems do not pass locks between hosts.
        observer.notice(f"took over the lock of {store.root} left by {stale.describe()}; "
                        f"this host cannot tell whether it still runs: if it does, stop it "
                        f"(two writers would mix their files)")
    else:
        observer.notice(f"took over the lock of {store.root} left by {stale.describe()}, "
                        f"which is no longer running")


def _check_same_data(store: RunStore, dataset: Dataset) -> None:
    """--resume must train on the data the first session trained on."""
    sessions = store.read_environment()["sessions"]
    first = next((s.get("data") for s in sessions if isinstance(s.get("data"), dict)), None)
    if first is None or not isinstance(first.get("sha256"), str) or not first["sha256"]:
        return  # written before lrlab recorded its data (or damaged): nothing to compare
    if first["sha256"] != dataset.sha256:
        raise StoreError(
            f"{store.root}: its first session trained on other data ({first.get('source')}, "
            f"sha256 {first['sha256'][:12]}...); this one would use {dataset.source} "
            f"(sha256 {dataset.sha256[:12]}...). Resume with the same data, or set "
            f"`allow_data_change` to mix them knowingly", mentions=["allow_data_change"])


def _notice_changed_code(store: RunStore, network: Mapping[str, Any],
                         observer: SweepObserver) -> None:
    """A resume with a model factory whose file changed since the first session trains
    the rest with other code: said, not refused (the change may be a comment)."""
    now = (network.get("factory") or {}).get("sha256")
    sessions = store.read_environment()["sessions"]
    model = next((s.get("model") for s in sessions if isinstance(s.get("model"), dict)), {})
    before = model.get("factory", {}).get("sha256") if isinstance(model.get("factory"),
                                                                  dict) else None
    if now and before and now != before:
        observer.notice(f"warning: model.factory's file changed since {store.root}'s first "
                        f"session (sha256 {before[:12]}... then, {now[:12]}... now): trials "
                        f"trained before and after may differ")


class _Recorder:
    """What the runner does with each event a backend reports: write it to the run
    directory, then tell the observer."""

    def __init__(self, store: RunStore, trials: Sequence[Trial],
                 done: dict[str, dict[str, Any]], observer: SweepObserver,
                 objectives: Mapping[str, tuple[Objective, bool]] | None = None,
                 objective: tuple[Objective, bool] = (DEFAULT_OBJECTIVE, True),
                 config: ExperimentConfig | None = None) -> None:
        self._store, self._observer = store, observer
        self._config = config
        self._planned = list(trials)  # plan.json's trials, in the run's order
        # Each trial's objective, and whether its data has a validation split; a trial
        # a scheduler adds has the sweep's (``objective``).
        self._objectives = objectives or {}
        self._objective = objective
        self._order = [t.trial_id for t in trials]
        self._rows = dict(done)  # trial_id -> results.csv row
        self._history: dict[str, list[EpochRecord]] = {}
        self._started_at: dict[str, tuple[str, float]] = {}
        self._failed: set[str] = set()  # trials that failed in this session
        # The epochs of the trials this round resumes from their checkpoints.
        self._resuming: dict[str, list[EpochRecord]] = {}
        self._work = Work()  # the round's: told of each trial that ends
        self.stopped: str | None = None  # how a stop from outside was named, if any
        self.engines: list[dict[str, Any]] = []
        self.compile_seconds: float | None = None
        self.epochs_trained = 0
        self.largest_stack = 1

    def rows(self) -> list[dict[str, Any]]:
        return [self._rows[trial_id] for trial_id in self._order if trial_id in self._rows]

    def round_started(self, work: Work) -> None:
        self._work = work

    def round_ended(self) -> None:
        self._resuming.clear()  # as the scheduler said for this round only

    def trial_started(self, trial: Trial) -> None:
        # The clock first: a stop signal can land in the middle of this method, and the
        # interrupted trial's time must still count from here.
        self._started_at[trial.trial_id] = (timestamp(), time.perf_counter())
        # A paused trial going on from its checkpoint keeps the epochs it trained.
        self._history[trial.trial_id] = list(self._resuming.get(trial.trial_id, ()))
        if trial.trial_id in self._rows:  # a paused trial trains on: its result goes
            del self._rows[trial.trial_id]
            self._store.clear_result(trial.trial_id)
        self._store.write_params(trial.trial_id, trial.params())
        self._observer.trial_started(trial)

    def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
        self.epochs_trained += 1
        history = self._history[trial.trial_id]
        history.append(record)
        self._store.write_history(trial.trial_id, history)
        self._observer.epoch_finished(trial, record)

    def trial_retrying(self, trial: Trial, *, error: str, attempt: int) -> None:
        self._observer.trial_retrying(trial, error=error, attempt=attempt)

    def trial_finished(self, trial: Trial, outcome: TrialOutcome) -> None:
        trial_id = trial.trial_id
        # The epochs reported are the trial's history, whatever the backend: an interrupted
        # or failed trial keeps the ones it finished, and backends need not collect them.
        outcome = dataclasses.replace(outcome, history=self._history.pop(trial_id, []))
        started_at, started = self._started_at.pop(trial_id, (timestamp(), time.perf_counter()))
        if outcome.status is TrialStatus.INTERRUPTED:
            self.stopped = self.stopped or outcome.error
        if not outcome.status.finished and not outcome.seconds:
            # An interrupted or failed trial still took this long.
            outcome = dataclasses.replace(outcome, seconds=time.perf_counter() - started)
        objective, has_validation = self._objectives.get(trial_id, self._objective)
        result = TrialResult.from_outcome(trial_id, outcome, finished_at=timestamp(),
                                          started_at=started_at, objective=objective)
        if outcome.status.finished:
            result = self._with_failure(result, outcome, objective, has_validation)
        self.largest_stack = max(self.largest_stack, outcome.stack_size)
        if outcome.compile_seconds is not None:
            self.compile_seconds = (self.compile_seconds or 0.0) + outcome.compile_seconds
        if outcome.status is TrialStatus.FAILED:
            self._failed.add(trial_id)
        self._store.write_history(trial_id, outcome.history,
                                  history_columns(objective.epoch_columns()))
        if outcome.curvature:
            self._store.write_curvature(trial_id, self._curvature(trial_id, outcome))
        if outcome.status is TrialStatus.PAUSED and outcome.checkpoint is not None:
            # Before its result: a paused result always has its state beside it.
            self._store.write_checkpoint(trial_id, epoch=len(outcome.history),
                                         state=outcome.checkpoint)
        elif outcome.status.settled:
            self._store.remove_checkpoint(trial_id)
        self._write(trial, result)
        # An asynchronous scheduler may promote it now (not once the sweep is stopping).
        self._work.ended(trial, going_on=self.stopped is None)

    def _curvature(self, trial_id: str, outcome: TrialOutcome) -> list[dict[str, float]]:
        """The trial's curvature rows: a trial going on from its checkpoint keeps those it
        recorded before (its first new measurement comes after them)."""
        first = outcome.curvature[0]["epoch"]
        try:
            before = self._store.read_curvature(trial_id) if first > 0 else []
        except StoreError:
            before = []  # damaged: the earlier measurements are lost, not the new ones
        return [row for row in before if row["epoch"] < first] + outcome.curvature

    def _write(self, trial: Trial, result: TrialResult) -> None:
        self._store.write_result(result)
        row = self._rows[trial.trial_id] = result.row(trial.params())
        rows = self.rows()
        self._store.write_results_table(results_columns(rows), rows)
        self._observer.trial_finished(trial, row)

    # -- what a scheduler reads and changes (lrlab.run.scheduler.Book) --

    def result(self, trial: Trial) -> tuple[TrialResult | None, list[dict[str, float]]]:
        if trial.trial_id not in self._rows:
            return None, []
        try:
            _, result, history = self._store.read_trial(trial.trial_id)
        except StoreError:
            return None, []  # damaged since: the trial trains again
        return result, history

    def failed_here(self, trial: Trial) -> bool:
        return trial.trial_id in self._failed

    def prune(self, trial: Trial) -> None:
        result, _ = self.result(trial)
        if result is not None:
            # Its state first: a kill between the two leaves it paused, and the decision
            # on record prunes it again.
            self._store.remove_checkpoint(trial.trial_id)
            self._write(trial, dataclasses.replace(result, status=TrialStatus.PRUNED))

    def checkpoint(self, trial: Trial, *, epoch: int) -> tuple[Any, ...] | None:
        return self._store.read_checkpoint(trial.trial_id, epoch=epoch)

    def resumes(self, trial: Trial, history: Sequence[EpochRecord]) -> None:
        self._resuming[trial.trial_id] = list(history)

    def read_design(self) -> Design | None:
        return _recorded_design(self._store)

    def write_design(self, design: Design) -> None:
        self._store.write_design(design.to_dict())

    def plan(self, trials: Sequence[Trial]) -> None:
        self._planned += [t for t in trials if t.trial_id not in self._order]
        self._order += [t.trial_id for t in trials if t.trial_id not in self._order]
        design = _recorded_design(self._store)
        self._store.write_plan(plan_record(self._planned, self._config,
                                           asked=len(design.units) if design else 0))

    def read_halving(self) -> dict[str, Any] | None:
        return self._store.read_halving()

    def write_halving(self, record: dict[str, Any]) -> None:
        self._store.write_halving(record)

    @staticmethod
    def _with_failure(result: TrialResult, outcome: TrialOutcome, objective: Objective,
                      has_validation: bool) -> TrialResult:
        """The result with the gravest sign of failure its history shows (result.json's
        ``failure``), as the one judge says (lrlab.analysis.judge), on the column
        ``compare`` reads by default."""
        history = {column: [r.values.get(column, math.nan) for r in outcome.history]
                   for column in objective.epoch_columns()}
        found = judge_trial(
            history, status=outcome.status.value, test=outcome.test,
            baseline=outcome.baseline, objective=objective, has_validation=has_validation,
            diverged_epoch=math.nan if outcome.diverged_epoch is None else outcome.diverged_epoch,
            initial_loss=outcome.initial_loss,
            dead_units=math.nan if outcome.dead_units is None else outcome.dead_units).reason
        if found is None:
            return result
        return dataclasses.replace(result, failure=found[0],
                                   failure_detail=failure_detail(*found))

    def notice(self, text: str) -> None:
        self._observer.notice(text)

    def engine_ready(self, description: dict[str, Any]) -> None:
        if description not in self.engines:
            self.engines.append(description)
            self._store.update_session(engines=self.engines)


def _open_resumable(path: Path, config: ExperimentConfig) -> RunStore:
    store = RunStore.open(path, kind=SWEEP)
    # Read as a config is (checked, every key's default filled in: keys added since the run
    # was written read as what it trained with), then compared as written.
    source = str(path / CONFIG_FILE)
    try:
        stored = parse_config(store.read_config_text(), source=source).to_dict()
    except ConfigError as exc:  # however many mistakes it shows now, one line: lrlab wrote it
        raise StoreError(f"{first_line(exc)} (the run directory's own config: damaged, or "
                         f"from an lrlab that took other keys; resume cannot read it)") from None
    wanted = config.to_dict()
    stored.pop("name", None)
    wanted.pop("name", None)
    # A sampled sweep may be extended by more points of the same sequence.
    before = stored.get("sweep", {}).pop("points", None)
    after = wanted.get("sweep", {}).pop("points", None)
    if stored != wanted:
        differing = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise StoreError(f"{path}: was run with a different config ({', '.join(differing)} "
                         f"differ); resume it with its own {source}")
    if before is not None and after is not None and after < before:
        raise StoreError(f"{path}: was run with {before} sampled points; resume it with "
                         f"sweep.points {before} or more (more extends the same sequence)")
    return store


def _kept_rows(store: RunStore, trials: Sequence[Trial],
               observer: SweepObserver) -> dict[str, dict[str, Any]]:
    """The results.csv rows of the trials already finished, pruned or paused at a rung
    (TrialStatus.kept). A trial whose files cannot be
    read, or say other parameters than the config's, is not finished: its folder is moved
    aside (never deleted) and it trains again."""
    rows = {}
    started = set(store.trial_ids())
    for trial in trials:
        if trial.trial_id not in started:
            continue
        try:
            params, result, _ = store.read_trial(trial.trial_id)
            if as_planned(params, trials_format=store.trials_format()) != trial.params():
                raise StoreError(f"{store.root / TRIALS_DIR / trial.trial_id / PARAMS_FILE}: "
                                 f"other parameters than the config plans for this trial")
        except StoreError as exc:
            moved = store.set_aside(trial.trial_id)
            observer.notice(f"damaged trial {trial.trial_id} ({exc}): moved to {moved}; "
                            f"it trains again")
            continue
        if result is not None and result.status.kept:
            rows[trial.trial_id] = result.row(trial.params())
        if result is not None and result.status.settled:
            store.remove_checkpoint(trial.trial_id)  # one a kill left behind
    return rows
