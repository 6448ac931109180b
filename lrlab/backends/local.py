"""The local backend: the trials on this machine, several at once, each with a fixed number
of TensorFlow threads. The default; it needs nothing beyond lrlab itself.

A trial's numbers depend on how many threads its matrix products are split over (the order
of floating-point sums changes), so every trial trains with ``threads_per_trial`` threads
(default 1, as a Ray worker holding one CPU does): the same config and seed give
bit-identical histories here and on Ray. To keep every core busy anyway, ``workers``
processes (default: CPUs / threads_per_trial) train trials side by side; each builds one
Trainer, so compiled steps are reused across the trials it runs. With one worker, trials
train in this process.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import queue
import signal
from collections.abc import Iterator, Sequence
from typing import Any

from lrlab.backends.base import (
    BackendError,
    TrainerFactory,
    TrialEvents,
    error_text,
    pin_threads,
)
from lrlab.config import ModelConfig, TrainingConfig
from lrlab.data import Dataset
from lrlab.errors import LrlabError, stop_reason
from lrlab.records import TrialOutcome, TrialStatus
from lrlab.training import Trainer, make_trainer
from lrlab.trials import Trial

log = logging.getLogger(__name__)
POLL_S = 0.5  # how often the driver checks that its workers are alive


class LocalBackend:
    def __init__(self, *, workers: int | None = None, threads_per_trial: int = 1,
                 trainer_factory: TrainerFactory = make_trainer) -> None:
        if threads_per_trial < 1:
            raise BackendError(f"--threads-per-trial {threads_per_trial}: expected an integer "
                               f">= 1")
        if workers is not None and workers < 1:
            raise BackendError(f"--workers {workers}: expected an integer >= 1")
        self.threads_per_trial = threads_per_trial
        self.workers = workers or max(1, (os.cpu_count() or 1) // threads_per_trial)
        self._trainer_factory = trainer_factory

    @contextlib.contextmanager
    def session(self, trials: Sequence[Trial], *, dataset: Dataset, model: ModelConfig,
                training: TrainingConfig) -> Iterator[Any]:
        workers = min(self.workers, max(1, len(trials)))
        description = {"name": "local", "workers": workers,
                       "threads_per_trial": self.threads_per_trial}
        if workers == 1:
            pinned = pin_threads(self.threads_per_trial)
            yield _InProcessSession(trials, lambda: self._trainer_factory(
                dataset, model=model, training=training),
                description={**description, "threads_pinned": pinned})
            return
        session = _ProcessSession(trials, workers=workers, threads=self.threads_per_trial,
                                  args=(dataset, model, training, self._trainer_factory),
                                  description=description)
        try:
            yield session
        finally:
            session.stop()


class _InProcessSession:
    trains_here = True

    def __init__(self, trials: Sequence[Trial], make_trainer: Any, *,
                 description: dict[str, Any]) -> None:
        self._trials, self._make_trainer = trials, make_trainer
        self.description = description

    def run(self, events: TrialEvents) -> None:
        # Built here, not in the session: TensorFlow starts only once there is work.
        trainer = self._make_trainer()
        for trial in self._trials:
            outcome = _train_one(trainer, trial, events)
            events.trial_finished(trial, outcome)
            if outcome.status is TrialStatus.INTERRUPTED:
                return


def _train_one(trainer: Trainer, trial: Trial, events: TrialEvents) -> TrialOutcome:
    events.trial_started(trial)
    try:
        return trainer.train(trial, on_epoch=lambda record: events.epoch_finished(trial, record))
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as Interrupted
        return TrialOutcome(status=TrialStatus.INTERRUPTED, error=stop_reason(exc),
                            initial_loss=trainer.known_initial_loss(trial.seed))
    except LrlabError:
        raise  # the run directory itself is failing: stopping is the only safe move
    except Exception as exc:  # noqa: BLE001 - one broken trial must not end the sweep
        log.debug("trial %s failed", trial.trial_id, exc_info=True)
        return TrialOutcome(status=TrialStatus.FAILED, error=error_text(exc))


class _ProcessSession:
    """Worker processes train the trials this process hands each of them, one at a time,
    in the sweep's order, and stream every event back; only this process (the runner's)
    writes the run directory, and it always knows which trial each worker holds, even if
    the worker dies before it can say anything. The workers start at once, loading
    TensorFlow while the runner prepares the run directory."""

    trains_here = True  # on this machine: its devices are the ones that train

    def __init__(self, trials: Sequence[Trial], *, workers: int, threads: int,
                 args: tuple[Any, ...], description: dict[str, Any]) -> None:
        self._trials = trials
        self.description = description
        context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
        self._results = context.Queue()
        self._tasks = [context.Queue() for _ in range(workers)]
        self._processes = [context.Process(target=_worker_main, daemon=True, args=(
            number, self._tasks[number], self._results, list(trials), threads, os.getpid(),
            *args)) for number in range(workers)]
        for process in self._processes:
            process.start()

    def run(self, events: TrialEvents) -> None:
        self._holding: dict[int, int | None] = dict.fromkeys(range(len(self._processes)))
        self._initial_loss: dict[int, float] = {}  # trial index -> its seed's initial loss
        self._queued = list(range(len(self._trials)))
        try:
            for number in self._holding:
                self._hand_out(number, events)
            self._collect(events)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as Interrupted
            for process in self._processes:
                process.kill()
            for index in self._holding.values():
                if index is not None:
                    events.trial_finished(self._trials[index], TrialOutcome(
                        status=TrialStatus.INTERRUPTED, error=stop_reason(exc),
                        initial_loss=self._initial_loss.get(index, math.nan)))

    def stop(self) -> None:
        """Tell the workers there is no more work, and let them end (or end them)."""
        for tasks in self._tasks:
            with contextlib.suppress(Exception):
                tasks.put(None)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()

    def _hand_out(self, number: int, events: TrialEvents) -> None:
        """Give worker ``number`` the next queued trial, if any."""
        self._holding[number] = None
        if self._queued and self._processes[number].is_alive():
            index = self._holding[number] = self._queued.pop(0)
            events.trial_started(self._trials[index])
            self._tasks[number].put(index)

    def _collect(self, events: TrialEvents) -> None:
        unusable: dict[int, str] = {}
        while self._queued or any(index is not None for index in self._holding.values()):
            try:
                number, kind, index, payload = self._results.get(timeout=POLL_S)
            except queue.Empty:
                self._fail_lost_trials(events)
                self._hand_out_to_idle(events, unusable)
                if not any(p.is_alive() for p in self._processes) or (
                        len(unusable) == len(self._processes)):
                    why = next(iter(unusable.values()), "every worker process exited")
                    raise BackendError(f"no local worker process could train ({why}); try "
                                       f"--workers 1") from None
                continue
            if kind == "unusable":  # it could not build its trainer; its trial goes back
                unusable[number] = payload
                events.notice(f"a local worker could not start ({payload})")
                held = self._holding[number]
                if held is not None:
                    self._queued.insert(0, held)
                    self._holding[number] = None
                    events.trial_retrying(self._trials[held], error=payload, attempt=1)
                self._hand_out_to_idle(events, unusable)
                continue
            if kind == "epoch":
                record, self._initial_loss[index] = payload
                events.epoch_finished(self._trials[index], record)
                continue
            events.trial_finished(self._trials[index], payload)
            self._hand_out(number, events)

    def _hand_out_to_idle(self, events: TrialEvents, unusable: dict[int, str]) -> None:
        for number, index in self._holding.items():
            if index is None and number not in unusable:
                self._hand_out(number, events)

    def _fail_lost_trials(self, events: TrialEvents) -> None:
        """A trial whose worker died under it (the OOM killer, a crash) is failed."""
        for number, index in self._holding.items():
            process = self._processes[number]
            if index is not None and not process.is_alive():
                self._holding[number] = None
                events.trial_finished(self._trials[index], TrialOutcome(
                    status=TrialStatus.FAILED,
                    error=f"local worker process died (exit code {process.exitcode})"))


def _worker_main(number: int, tasks: Any, results: Any, trials: list[Trial], threads: int,
                 parent: int, dataset: Dataset, model: ModelConfig, training: TrainingConfig,
                 factory: TrainerFactory) -> None:
    """One worker process: pin its threads, build a Trainer, train the trials it is handed
    until told to stop, reporting every event on ``results``."""
    # The driver decides what a Ctrl-C, a SIGTERM or a closed terminal means for the sweep.
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.SIG_IGN)
    pin_threads(threads)
    try:
        trainer = factory(dataset, model=model, training=training)
    except Exception as exc:  # noqa: BLE001 - reported, and the driver decides
        results.put((number, "unusable", -1, error_text(exc)))
        return
    while (index := _next_task(tasks, parent)) is not None:
        try:
            epochs = trainer.iter_train(trials[index])
            while True:
                try:
                    record = next(epochs)
                except StopIteration as done:
                    outcome = done.value
                    break
                # With the seed's initial loss, so that an interrupted trial records it.
                results.put((number, "epoch", index,
                             (record, trainer.known_initial_loss(trials[index].seed))))
                if os.getppid() != parent:
                    return  # the driver is gone (kill -9): stop instead of training for nobody
        except Exception as exc:  # noqa: BLE001 - one broken trial must not end the sweep
            outcome = TrialOutcome(status=TrialStatus.FAILED, error=error_text(exc))
        results.put((number, "done", index, outcome))


def _next_task(tasks: Any, parent: int) -> int | None:
    """The next trial to train, or None to stop: when told so, or when the driver is gone
    (``kill -9``: an orphan must not wait for work forever, holding the terminal's pipes)."""
    while True:
        try:
            return tasks.get(timeout=POLL_S)
        except queue.Empty:
            if os.getppid() != parent:
                return None
