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
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any

from lrlab.engines import engine as engine_spec
from lrlab.errors import LrlabError, stop_reason
from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.run.backends.base import (
    BackendError,
    GroupProgress,
    TrainerFactory,
    TrialEvents,
    as_work,
    error_text,
    pin_threads,
)
from lrlab.training import Group, Work, make_trainer
from lrlab.training._keras import keras_backend_loaded
from lrlab.training.data import Dataset

log = logging.getLogger(__name__)
POLL_S = 0.5  # how often the driver checks that its workers are alive


class LocalBackend:
    def __init__(self, *, workers: int | None = None, threads_per_trial: int = 1,
                 trainer_factory: TrainerFactory = make_trainer) -> None:
        if threads_per_trial < 1:
            raise BackendError("expected an integer >= 1",
                               about={"threads_per_trial": str(threads_per_trial)})
        if workers is not None and workers < 1:
            raise BackendError("expected an integer >= 1", about={"workers": str(workers)})
        self.threads_per_trial = threads_per_trial
        self._workers = workers
        self._trainer_factory = trainer_factory

    def workers(self, engine: str) -> int:
        """Worker processes for ``engine``: as asked, else as its registry entry says (one
        per ``threads_per_trial`` CPUs, or one for an engine that spreads a trial over the
        cores itself)."""
        if self._workers is not None:
            return self._workers
        return engine_spec(engine).default_workers(cpus=os.cpu_count() or 1,
                                                   threads_per_trial=self.threads_per_trial)

    @contextlib.contextmanager
    def session(self, groups: Sequence[Group], *, dataset: Dataset, model: ModelConfig,
                training: TrainingConfig) -> Iterator[Any]:
        workers = min(self.workers(training.engine), max(1, len(groups)))
        description = {"name": "local", "workers": workers,
                       "threads_per_trial": self.threads_per_trial}
        # Keras picks its backend once per process: one that holds Keras on another
        # backend than the engine's trains in a fresh worker process instead.
        loaded = keras_backend_loaded()
        if workers == 1 and loaded in (None, engine_spec(training.engine).keras_backend):
            pinned = pin_threads(training.engine, self.threads_per_trial)
            yield _InProcessSession(groups, lambda: self._trainer_factory(
                dataset, model=model, training=training),
                description={**description, "threads_pinned": pinned})
            return
        session = _ProcessSession(groups, workers=workers, threads=self.threads_per_trial,
                                  args=(dataset, model, training, self._trainer_factory),
                                  description=description)
        try:
            yield session
        finally:
            session.stop()


class _InProcessSession:
    trains_here = True

    def __init__(self, groups: Sequence[Group], make_trainer: Any, *,
                 description: dict[str, Any]) -> None:
        self._groups, self._make_trainer = groups, make_trainer
        self._trainer: Any = None
        self.description = description

    def run(self, events: TrialEvents, groups: Sequence[Group] | Work | None = None) -> None:
        # Built here, not in the session: the framework starts only once there is work;
        # kept for the session's later rounds.
        if self._trainer is None:
            self._trainer = self._make_trainer()
            events.engine_ready(self._trainer.engine.describe())
        trainer = self._trainer
        work = as_work(groups, self._groups)
        while (group := work.take()) is not None:
            progress = GroupProgress(group)
            try:
                for event in trainer.iter_group(group):
                    progress.report(event, events)
            except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as Interrupted
                progress.interrupted(events, error=stop_reason(exc))
                return
            except LrlabError:
                raise  # the run directory itself is failing: stopping is the only safe move
            except Exception as exc:  # noqa: BLE001 - one broken group must not end the sweep
                log.debug("group of %s failed", group.trials[0].trial_id, exc_info=True)
                progress.failed(events, error=error_text(exc))


class _ProcessSession:
    """Worker processes train the groups this process hands each of them, one at a time,
    in the sweep's order, and stream every event back; only this process (the runner's)
    writes the run directory, and it always knows which group each worker holds, even if
    the worker dies before it can say anything. The workers start at once, loading their
    framework while the runner prepares the run directory."""

    trains_here = True  # on this machine: its devices are the ones that train

    def __init__(self, groups: Sequence[Group], *, workers: int, threads: int,
                 args: tuple[Any, ...], description: dict[str, Any]) -> None:
        self._groups = groups
        self.description = description
        # Workers that could not build their trainer, and the engines reported: kept
        # across the session's rounds (a worker reports once, when it starts).
        self._unusable: dict[int, str] = {}
        self._engines: list[dict[str, Any]] = []
        context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
        # A pipe per worker, not one shared queue: a worker killed while sending (the OOM
        # killer, os._exit) would leave a shared queue's lock held, and every other
        # worker's events stuck behind it; a pipe of its own breaks only its own.
        pipes = [context.Pipe(duplex=False) for _ in range(workers)]
        self._results = [reader for reader, _ in pipes]
        self._tasks = [context.Queue() for _ in range(workers)]
        self._processes = [context.Process(target=_worker_main, daemon=True, args=(
            number, self._tasks[number], pipes[number][1], threads, os.getpid(),
            *args)) for number in range(workers)]
        with _callers_main_hidden():
            for process, (_, writer) in zip(self._processes, pipes, strict=True):
                process.start()
                writer.close()  # the worker's copy is the only one: its death reads as EOF

    def run(self, events: TrialEvents, groups: Sequence[Group] | Work | None = None) -> None:
        self._holding: dict[int, GroupProgress | None] = dict.fromkeys(
            range(len(self._processes)))
        self._work = as_work(groups, self._groups)
        try:
            for number in self._holding:
                self._hand_out(number)
            self._collect(events)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as Interrupted
            for process in self._processes:
                process.kill()
            for progress in self._holding.values():
                if progress is not None:
                    progress.interrupted(events, error=stop_reason(exc))

    def stop(self) -> None:
        """Tell the workers there is no more work, and let them end (or end them)."""
        for tasks in self._tasks:
            with contextlib.suppress(Exception):
                tasks.put(None)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()

    def _hand_out(self, number: int) -> None:
        """Give worker ``number`` the next queued group, if any."""
        self._holding[number] = None
        if self._work and self._processes[number].is_alive():
            group = self._work.take()
            assert group is not None
            self._holding[number] = GroupProgress(group)
            self._tasks[number].put(group)

    def _collect(self, events: TrialEvents) -> None:
        unusable, engines = self._unusable, self._engines
        while self._work or any(p is not None for p in self._holding.values()):
            try:
                number, kind, payload = self._receive()
            except queue.Empty:
                self._fail_lost_groups(events)
                self._hand_out_to_idle(unusable)
                if not any(p.is_alive() for p in self._processes) or (
                        len(unusable) == len(self._processes)):
                    codes = sorted({str(p.exitcode) for p in self._processes
                                    if p.exitcode is not None})
                    why = next(iter(unusable.values()), f"every worker process exited "
                               f"before training, exit code {', '.join(codes) or 'unknown'}")
                    raise BackendError(f"no local worker process could train ({why}); "
                                       f"`workers` 1 trains in this process, where the cause "
                                       f"shows", mentions=["workers"]) from None
                continue
            progress = self._holding[number]
            if kind == "engine":
                if payload not in engines:  # one line per distinct engine and device
                    engines.append(payload)
                    events.engine_ready(payload)
            elif kind == "unusable":  # it could not build its trainer; its group goes back
                unusable[number] = payload
                events.notice(f"a local worker could not start ({payload})")
                if progress is not None:
                    self._work.put_back(progress.group)
                    self._holding[number] = None
                self._hand_out_to_idle(unusable)
            elif kind == "event" and progress is not None:
                progress.report(payload, events)
                if self._work:  # the event added work (a promotion): to idle workers
                    self._hand_out_to_idle(unusable)
            elif progress is not None:  # the group is done, or training it raised
                if kind == "failed":
                    progress.failed(events, error=payload)
                self._hand_out(number)

    def _receive(self) -> tuple[int, str, Any]:
        """The next message of any worker; queue.Empty when none came for POLL_S (or the
        only ones were the ends of pipes whose workers died)."""
        open_pipes = [reader for reader in self._results if not reader.closed]
        for reader in multiprocessing.connection.wait(open_pipes, timeout=POLL_S):
            try:
                return reader.recv()  # type: ignore[union-attr,no-any-return]
            except (EOFError, OSError, pickle.UnpicklingError):
                reader.close()  # its worker is gone; _fail_lost_groups tells its group
        raise queue.Empty

    def _hand_out_to_idle(self, unusable: dict[int, str]) -> None:
        for number, progress in self._holding.items():
            if progress is None and number not in unusable:
                self._hand_out(number)

    def _fail_lost_groups(self, events: TrialEvents) -> None:
        """A group whose worker died under it (the OOM killer, a crash) failed."""
        for number, progress in self._holding.items():
            process = self._processes[number]
            if progress is not None and not process.is_alive():
                self._holding[number] = None
                progress.failed(events, error=f"local worker process died (exit code "
                                              f"{process.exitcode})")


@contextlib.contextmanager
def _callers_main_hidden() -> Iterator[None]:
    """Start workers that do not re-import the caller's ``__main__``.

    A spawned process normally runs the parent's main script again (as ``__mp_main__``)
    before its target, so that functions defined there unpickle. A worker needs nothing of
    it: its target and arguments live in lrlab and the user's named modules. Re-running a
    plain script that calls ``lrlab.run_sweep`` at top level, without the
    ``if __name__ == "__main__":`` guard, would start a sweep inside every worker (which
    multiprocessing refuses, leaving the parent waiting forever). So while the workers
    start, spawn sees an empty main module, as it does in a notebook or the REPL.
    """
    real = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = real


def _worker_main(number: int, tasks: Any, results: Any, threads: int, parent: int,
                 dataset: Dataset, model: ModelConfig, training: TrainingConfig,
                 factory: TrainerFactory) -> None:
    """One worker process: pin its threads, build a Trainer, train the groups it is handed
    until told to stop, reporting every event on ``results`` (its own pipe)."""
    # The driver decides what a Ctrl-C, a SIGTERM or a closed terminal means for the sweep.
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.SIG_IGN)
    pin_threads(training.engine, threads)
    try:
        trainer = factory(dataset, model=model, training=training)
        results.send((number, "engine", trainer.engine.describe()))
    except Exception as exc:  # noqa: BLE001 - reported, and the driver decides
        results.send((number, "unusable", error_text(exc)))
        return
    while (group := _next_task(tasks, parent)) is not None:
        try:
            for event in trainer.iter_group(group):
                results.send((number, "event", event))
                if os.getppid() != parent:
                    return  # the driver is gone (kill -9): stop instead of training for nobody
        except Exception as exc:  # noqa: BLE001 - one broken group must not end the sweep
            results.send((number, "failed", error_text(exc)))
            continue
        results.send((number, "done", None))


def _next_task(tasks: Any, parent: int) -> Group | None:
    """The next group to train, or None to stop: when told so, or when the driver is gone
    (``kill -9``: an orphan must not wait for work forever, holding the terminal's pipes)."""
    while True:
        try:
            return tasks.get(timeout=POLL_S)
        except queue.Empty:
            if os.getppid() != parent:
                return None
