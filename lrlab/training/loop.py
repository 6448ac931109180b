"""The trial loop, independent of the engine: epochs in a controlled order, divergence,
and the records a trial leaves. Pure (NumPy); the engine does the arithmetic."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lrlab.experiment.config import EarlyStoppingConfig, TrainingConfig
from lrlab.experiment.objective import Objective, ObjectiveError
from lrlab.experiment.trials import Trial
from lrlab.rundir.records import CURVATURE_COLUMNS, EpochRecord, TrialOutcome, TrialStatus
from lrlab.training.curvature import sharpness_of
from lrlab.training.engine import Engine, Split
from lrlab.training.noise import noise_scale, sample_rows
from lrlab.training.stacks import Group, Resume, cut

EpochCallback = Callable[[EpochRecord], None]


@dataclass(frozen=True)
class TrialEvent:
    """What training a group reports, trial by trial: ``started``, then an ``epoch`` per
    epoch (``record``), then ``finished`` (``outcome``)."""

    kind: str
    trial: Trial
    record: EpochRecord | None = None
    outcome: TrialOutcome | None = None
    # The seed's initial loss, once known: what an interrupted trial records.
    initial_loss: float = math.nan


class _Patience:
    """Early stopping's count for one trial: epochs since its metric last improved on its
    best by more than ``min_delta``. Without early stopping it is never exhausted; an epoch
    without the metric (NaN: no validation set) neither improves nor counts."""

    def __init__(self, config: EarlyStoppingConfig | None, objective: Objective) -> None:
        self._config = config
        self._objective = objective
        self._best = math.nan
        self._waited = 0

    def exhausted(self, record: EpochRecord) -> bool:
        config = self._config
        if config is None:
            return False
        metric = stopping_metric(config, self._objective)
        value = record.values.get(metric, math.nan)
        if not math.isfinite(value):
            return False
        sign = 1.0 if self._objective.higher_is_better(metric) else -1.0
        if math.isnan(self._best) or sign * (value - self._best) > config.min_delta:
            self._best, self._waited = value, 0
        else:
            self._waited += 1
        return self._waited >= config.patience


def stopping_metric(config: EarlyStoppingConfig, objective: Objective) -> str:
    """The column early stopping watches: the one it names, else the verdict's."""
    return config.metric if "metric" in config.model_fields_set else objective.verdict


def check_stopping(config: EarlyStoppingConfig | None, objective: Objective) -> None:
    """Early stopping watches a column the objective records every epoch."""
    if config is None:
        return
    metric = stopping_metric(config, objective)
    if metric not in objective.epoch_columns():
        raise ObjectiveError(f"training.early_stopping.metric: {metric} is not recorded "
                             f"every epoch; expected one of "
                             f"{', '.join(objective.epoch_columns())}")


@dataclass
class Trace:
    """A trial's path: its weights (flat) at the start and along the way, the steps each
    was taken after, and each epoch's training loss."""

    points: list[np.ndarray]
    steps: list[int]
    losses: list[float]


def epoch_order(n: int, *, seed: int, epoch: int) -> np.ndarray:
    """The order in which an epoch visits the n training images.

    It depends on (seed, epoch) only, so every trial of a seed sees the same batches.
    """
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


class Trainer:
    """Trains the trials of one sweep on one engine.

    Keep one ``Trainer`` for a whole sweep: its engine caches what trials can share
    (compiled steps, initial weights per seed), so the per-trial overhead stays small.
    """

    def __init__(self, engine: Engine, *, training: TrainingConfig) -> None:
        self.engine = engine
        self._training = training
        self._initial_loss: dict[int, float] = {}
        self._initial_curvature: dict[int, dict[str, float]] = {}
        self.objective = engine.measures.objective

    def train(self, trial: Trial, *, on_epoch: EpochCallback | None = None) -> TrialOutcome:
        """Train one trial from its seed's initial weights; return its history and result.

        Divergence ends the trial early and is a result, not an error. Exceptions (and
        Ctrl-C) propagate to the caller, which owns the bookkeeping of partial trials.
        """
        epochs = self.iter_train(trial)
        while True:
            try:
                record = next(epochs)
            except StopIteration as finished:
                return finished.value
            if on_epoch is not None:
                on_epoch(record)

    def iter_train(self, trial: Trial) -> Generator[EpochRecord, None, TrialOutcome]:
        """:meth:`train` as a generator: yields each epoch's record as it finishes and
        returns the outcome (``outcome = yield from trainer.iter_train(trial)``)."""
        stack = self.iter_stack([trial])
        while True:
            try:
                _, record = next(stack)
            except StopIteration as finished:
                return finished.value[0]
            yield record

    def iter_group(self, group: Group) -> Iterator[TrialEvent]:
        """Train ``group``'s pending trials, in stacks of the engine's limit, reporting
        each as it starts, finishes an epoch and finishes. A stack whose members all
        finished earlier is skipped, and so are finished trials when the engine does not
        stack (they only ride along to keep a stack what it was)."""
        trials = group.trials
        limit = self.engine.stack_limit(trials[0].setting) if len(trials) > 1 else 1
        resume = dict(zip((t.trial_id for t in trials), group.resume or [None] * len(trials),
                          strict=True))
        for stack in cut(trials, limit):
            recorded = [t for t in stack if t.trial_id in group.pending]
            if not recorded:
                continue
            for trial in recorded:
                yield TrialEvent("started", trial)
            events = self.iter_stack(stack, until=group.until,
                                     resume=[resume[t.trial_id] for t in stack]
                                     if group.resume else None)
            while True:
                try:
                    member, record = next(events)
                except StopIteration as finished:
                    outcomes = finished.value
                    break
                if stack[member].trial_id in group.pending:
                    yield TrialEvent("epoch", stack[member], record=record,
                                     initial_loss=self.known_initial_loss(stack[member].seed))
            for trial, outcome in zip(stack, outcomes, strict=True):
                if trial.trial_id in group.pending:
                    yield TrialEvent("finished", trial, outcome=outcome)

    def iter_stack(self, trials: Sequence[Trial], *, until: int | None = None,
                   resume: Sequence[Resume | None] | None = None
                   ) -> Generator[tuple[int, EpochRecord], None, list[TrialOutcome]]:
        """Train ``trials`` (one setting and seed; at most the engine's stack limit) as one
        stack: yields ``(member, record)`` as each epoch finishes and returns the members'
        outcomes, in order, so that a remote worker can stream epochs back without threads
        or callbacks.

        A member that diverges is recorded so at its epoch, exactly as if it trained alone,
        and the engine stops it; the others go on. Each member's ``seconds`` (an epoch's,
        the trial's, compiling's) is its share of the stack's: they trained together.
        With ``until`` (a halving rung), the members still training at that epoch pause
        there, their outcome holding their state (``checkpoint``); with ``resume`` (every
        member's, from one epoch), they go on from where they paused, exactly as if they
        had never stopped. Without a checkpoint, a paused trial trains again from its
        first epoch and retraces the same epochs bit for bit.
        """
        started = time.perf_counter()
        engine, first = self.engine, trials[0]
        if any((t.setting, t.seed) != (first.setting, first.seed) for t in trials):
            raise ValueError("a stack's trials must share their optimizer setting and seed")
        compiled_before = engine.compile_seconds
        engine.start_stack(first.setting, seed=first.seed,
                           learning_rates=[t.learning_rate for t in trials])
        initial_loss = self._initial_loss_of(first.seed)
        outcomes = [TrialOutcome(status=TrialStatus.COMPLETED, initial_loss=initial_loss,
                                 stack_size=len(trials)) for _ in trials]
        # Divergence: the epoch's training loss is not finite, or far above where it began.
        limit = self._training.diverge_factor * initial_loss
        patience = [_Patience(self._training.early_stopping, self.objective) for _ in trials]
        measured = self._training.sharpness is not None or self._training.noise is not None
        # Every member starts from the seed's weights: how far each moves is measured from
        # them (taken before a paused stack's own state is restored).
        origin = engine.weights(0) if measured else None
        start = 0 if resume is None else self._go_on(resume, outcomes, patience)
        training = list(range(len(trials)))
        if start == 0 and self._measures_surface(0):
            # At the seed's initial weights: every member's, measured once per seed.
            initial = self._initial_curvature_of(first.seed, origin)
            for outcome in outcomes:
                outcome.curvature.append(dict(initial))
        last = engine.plan.epochs if until is None else min(until, engine.plan.epochs)
        for epoch in range(start + 1, last + 1):
            if not training:
                break
            records = self._train_epoch(seed=first.seed, epoch=epoch, members=len(trials))
            for member in training:
                outcomes[member].history.append(records[member])
                yield member, records[member]
            diverged = [m for m in training
                        if not math.isfinite(records[m].loss) or records[m].loss > limit]
            for member in diverged:
                outcomes[member].status = TrialStatus.DIVERGED
                outcomes[member].diverged_epoch = epoch
            # The last epoch ends every trial anyway: stopping there would save nothing.
            stopped = [m for m in training if m not in diverged and epoch < engine.plan.epochs
                       and patience[m].exhausted(records[m])]
            for member in stopped:
                outcomes[member].status = TrialStatus.STOPPED
                outcomes[member].stopped_epoch = epoch
            if diverged or stopped:
                engine.stop(diverged + stopped)
                training = [m for m in training if m not in diverged + stopped]
            if self._measures_surface(epoch):
                for member in training:
                    outcomes[member].curvature.append(
                        self._curvature(member, epoch=epoch, seed=first.seed, origin=origin))
        if last < engine.plan.epochs and training:
            states = engine.snapshot()
            for member in training:
                outcomes[member].status = TrialStatus.PAUSED
                outcomes[member].checkpoint = states[member]
        test_loss, test_values = engine.evaluate(Split.TEST)
        dead = engine.dead_units()
        seconds = (time.perf_counter() - started) / len(trials)
        compiling = (None if compiled_before is None or engine.compile_seconds is None
                     else (engine.compile_seconds - compiled_before) / len(trials))
        for member, outcome in enumerate(outcomes):
            outcome.test = {"loss": float(test_loss[member]),
                            **{k: float(v[member]) for k, v in test_values.items()}}
            outcome.baseline = dict(engine.baseline)
            outcome.seconds, outcome.compile_seconds = seconds, compiling
            outcome.dead_units = float(dead[member]) if np.isfinite(dead[member]) else None
        return outcomes

    def _go_on(self, resume: Sequence[Resume | None], outcomes: list[TrialOutcome],
               patience: list[_Patience]) -> int:
        """Paused members as they stood: their state, their epochs so far and early
        stopping's count; the epoch they go on from."""
        found = [r for r in resume if r is not None]
        if len(found) != len(resume) or len({r.epoch for r in found}) != 1:
            raise ValueError("a stack's members must all go on from the same epoch")
        self.engine.restore([r.state for r in found])
        for member, paused in enumerate(found):
            outcomes[member].history.extend(paused.history)
            for record in paused.history:
                patience[member].exhausted(record)
        return found[0].epoch

    def _initial_curvature_of(self, seed: int, origin: np.ndarray | None) -> dict[str, float]:
        """The sharpness at the seed's initial weights (just loaded), measured once per
        seed: every trial of a seed starts from them."""
        if seed not in self._initial_curvature:
            self._initial_curvature[seed] = self._curvature(0, epoch=0, seed=seed,
                                                            origin=origin)
        return self._initial_curvature[seed]

    def _measures_surface(self, epoch: int) -> bool:
        """Whether the loss surface is measured after ``epoch`` (0: the initial weights):
        its sharpness or its gradient noise, each every so many epochs."""
        return any(config is not None and (epoch == 0 or (config.every
                                                           and epoch % config.every == 0))
                   for config in (self._training.sharpness, self._training.noise))

    def _curvature(self, member: int, *, epoch: int, seed: int,
                   origin: np.ndarray | None) -> dict[str, float]:
        """A curvature.csv row: ``member``'s sharpness now, and its preconditioned
        sharpness where its optimizer has a preconditioner (none before a first step),
        and its gradient noise scale, each where due (NaN where not); and how far it has
        moved from ``origin``."""
        row = {"epoch": epoch, **dict.fromkeys(CURVATURE_COLUMNS[1:], math.nan), "products": 0}
        if origin is not None:
            row["distance"] = float(np.linalg.norm(
                self.engine.weights(member).astype(np.float64) - origin))
        config, noise, engine = self._training.sharpness, self._training.noise, self.engine
        if config is not None and (epoch == 0 or (config.every and epoch % config.every == 0)):
            plain = sharpness_of(engine, member, rows=config.rows, seed=seed + epoch,
                                 max_products=config.max_products)
            scale = engine.preconditioner(member)
            adapted = (None if scale is None else sharpness_of(
                engine, member, rows=config.rows, seed=seed + epoch,
                max_products=config.max_products, preconditioner=scale))
            row.update({"sharpness": plain.value, "preconditioned_sharpness":
                        math.nan if adapted is None else adapted.value,
                        "products": plain.products + (adapted.products if adapted else 0),
                        "seconds": plain.seconds + (adapted.seconds if adapted else 0.0)})
        # A training set smaller than a large batch: one large batch of what there is.
        large = noise and min(noise.large, engine.plan.n_train // noise.small * noise.small)
        if noise is not None and large > noise.small and (
                epoch == 0 or (noise.every and epoch % noise.every == 0)):
            rows = sample_rows(engine.plan.n_train, rows=noise.rows, large=large, seed=seed)
            found = noise_scale(lambda part: engine.gradient(member, part), rows,
                                small=noise.small, large=large)
            row.update({"noise_scale": found.value, "gradient_sq": found.gradient_sq,
                        "noise_trace": found.trace, "noise_seconds": found.seconds})
        return row

    def known_initial_loss(self, seed: int) -> float:
        """The seed's initial loss if already measured (NaN if not): what an interrupted
        trial reached."""
        return self._initial_loss.get(seed, math.nan)

    def _initial_loss_of(self, seed: int) -> float:
        """The loss of the seed's initial weights (just loaded), measured once per seed."""
        if seed not in self._initial_loss:
            losses, _ = self.engine.evaluate(Split.REFERENCE)
            self._initial_loss[seed] = float(losses[0])
        return self._initial_loss[seed]

    def trace(self, trial: Trial, *, epochs: int, per_epoch: int) -> Trace:
        """Train ``trial`` alone for ``epochs``, exactly as a sweep trains it, keeping its
        weights at the start and ``per_epoch`` times an epoch: the points of its path on
        the loss surface (lrlab.run.path). A divergence ends it, as in a sweep; the
        points stop at the last finite weights."""
        engine = self.engine
        engine.start_stack(trial.setting, seed=trial.seed,
                           learning_rates=[trial.learning_rate])
        limit = self._training.diverge_factor * self._initial_loss_of(trial.seed)
        trace = Trace([engine.weights(0)], [0], [])

        def keep(steps: int) -> None:
            weights = engine.weights(0)
            if np.isfinite(weights).all():
                trace.points.append(weights)
                trace.steps.append(trace.steps[-1] + steps)

        for epoch in range(1, epochs + 1):
            (record,) = self._train_epoch(seed=trial.seed, epoch=epoch, members=1,
                                          pieces=per_epoch, after=keep)
            trace.losses.append(record.loss)
            if not math.isfinite(record.loss) or record.loss > limit:
                break
        return trace

    def _train_epoch(self, *, seed: int, epoch: int, members: int, pieces: int = 1,
                     after: Callable[[int], None] | None = None) -> list[EpochRecord]:
        """Every member's epoch; with ``after``, in ``pieces`` calls, ``after`` told the
        steps each took (the same steps: only the calls are cut)."""
        engine, plan = self.engine, self.engine.plan
        started = time.perf_counter()
        n, batch = plan.n_train, plan.batch_size
        order = epoch_order(n, seed=seed, epoch=epoch)
        full = n // batch * batch
        # Full batches in one compiled call; the last partial batch (kept, as model.fit
        # does) in a second call with its own shape.
        whole = order[:full].reshape(-1, batch)
        parts = [p for p in np.array_split(whole, min(pieces, len(whole)) or 1) if len(p)]
        if full < n:
            parts.append(order[full:].reshape(1, -1))
        measures = engine.measures
        loss_sum = np.zeros(members)
        sums = np.zeros((members, len(measures.summed)))
        for part in parts:
            part_loss, part_sums = engine.train(part)
            loss_sum += part_loss
            sums += part_sums
            if after is not None:
                after(len(part))
            if not np.isfinite(loss_sum).any():
                break
        # A summed metric is the epoch's running mean, as model.fit reports it; a whole one
        # (an AUC) is measured on the reference rows now.
        train = {m.key: sums[:, i] / n for i, m in enumerate(measures.summed)}
        if measures.whole:
            _, reference = engine.evaluate(Split.REFERENCE)
            train.update({m.key: reference[m.key] for m in measures.whole})
        if engine.has_validation:
            val_loss, val = engine.evaluate(Split.VALIDATION)
        else:
            val_loss = np.full(members, math.nan)
            val = {m.key: np.full(members, math.nan) for m in measures.objective.metrics}
        keys = [m.key for m in measures.objective.metrics]
        rates = engine.current_rates()
        seconds = (time.perf_counter() - started) / members
        # Rates are float32 on every engine: record 0.001, not 0.0010000000474974513.
        return [EpochRecord(epoch, float(f"{rates[k]:.7g}"), {
            "loss": float(loss_sum[k] / n), **{key: float(train[key][k]) for key in keys},
            "val_loss": float(val_loss[k]), **{f"val_{key}": float(val[key][k]) for key in keys}},
            seconds) for k in range(members)]
