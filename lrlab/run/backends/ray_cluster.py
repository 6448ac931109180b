"""The Ray backend: a sweep's trials on a Ray cluster, or on a private Ray instance here.

Each worker is a Ray actor holding one :class:`~lrlab.training.Trainer` for the whole
sweep, so the compiled steps are reused across the trials it runs, as in a local sweep,
and the data set travels once through Ray's object store. Workers stream each epoch back
as it finishes; only the driver (this process) writes the run directory, so workers need
no shared filesystem and the files are exactly those of a local sweep.

Faults are the driver's business too: a trial whose worker dies or whose training raises
is tried again, on any worker, up to ``max_retries`` times, then recorded as failed with
the reason, and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import platform
import socket
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lrlab._version import __version__
from lrlab.engines import share_accelerators
from lrlab.errors import stop_reason
from lrlab.experiment.config import ModelConfig, TrainingConfig
from lrlab.formatting import first_line
from lrlab.run.backends.base import (
    BackendError,
    GroupProgress,
    TrainerFactory,
    TrialEvents,
    as_work,
    error_text,
    pin_threads,
)
from lrlab.training import Group, TrialEvent, Work, make_trainer
from lrlab.training._native_stderr import held_native_stderr
from lrlab.training.data import Dataset

INSTALL_HINT = 'pip install "lrlab[ray]"'
# How long to wait for a TCP answer at --address before calling it unreachable; Ray itself
# would retry for minutes, printing a warning every few seconds.
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RayOptions:
    """How to use Ray. ``address``: None starts a private Ray instance on this machine,
    reachable only through loopback, for the length of the sweep; ``"auto"`` joins the
    cluster this machine belongs to (or ``$RAY_ADDRESS``); ``"HOST:PORT"`` joins the
    cluster whose head listens there. Per-trial resources are Ray's ``num_cpus`` and
    ``num_gpus`` of each worker, which trains one trial at a time."""

    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_retries: int = 2
    max_workers: int | None = None  # None: as many as the cluster's resources allow

    def check(self) -> None:
        if self.address is not None and self.address != "auto":
            host, _, port = self.address.rpartition(":")
            if not host or not port.isdigit() or "://" in self.address:
                raise BackendError("expected auto or HOST:PORT (the head node's address, as "
                                   "'ray start --head' prints)",
                                   about={"address": repr(self.address)})
        if not (math.isfinite(self.cpus_per_trial) and self.cpus_per_trial > 0):
            raise BackendError("expected a number > 0",
                               about={"cpus_per_trial": f"{self.cpus_per_trial:g}"})
        if not (math.isfinite(self.gpus_per_trial) and self.gpus_per_trial >= 0):
            raise BackendError("expected a number >= 0",
                               about={"gpus_per_trial": f"{self.gpus_per_trial:g}"})
        if self.max_retries < 0:
            raise BackendError("expected an integer >= 0",
                               about={"max_retries": str(self.max_retries)})
        if self.max_workers is not None and self.max_workers < 1:
            raise BackendError("expected an integer >= 1",
                               about={"max_workers": str(self.max_workers)})


def worker_slots(resources: Mapping[str, float], options: RayOptions) -> int:
    """How many workers of ``options``' size the cluster's ``resources`` hold at once."""
    cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
    # The small margin keeps 3 / 0.3 from flooring to 9 through binary rounding.
    slots = math.floor(cpus / options.cpus_per_trial + 1e-9)
    if options.gpus_per_trial > 0:
        slots = min(slots, math.floor(gpus / options.gpus_per_trial + 1e-9))
    if slots < 1:
        raise BackendError(
            f"the Ray cluster has {cpus:g} CPU(s) and {gpus:g} GPU(s) in all, too few for one "
            f"trial; ask for less per trial or add nodes",
            about={"cpus_per_trial": f"{options.cpus_per_trial:g}",
                   "gpus_per_trial": f"{options.gpus_per_trial:g}"})
    return slots if options.max_workers is None else min(slots, options.max_workers)


def next_trial(keys: Sequence[str], *, warm: set[str], running: Counter[str]) -> int | None:
    """Which queued trial (by its optimizer setting's key) an idle worker should take, if any.

    First one whose optimizer setting it has compiled already; else one of a setting that
    no worker is running, so that each setting is compiled by as few workers as possible;
    else one of the setting with the most queued trials per worker running it, if more are
    queued than workers run it. Otherwise the worker waits: the last trials of a setting
    finish sooner where it is compiled than by compiling it once more.
    """
    for index, key in enumerate(keys):
        if key in warm:
            return index
    for index, key in enumerate(keys):
        if not running[key]:
            return index
    queued = Counter(keys)
    key = max(queued, key=lambda k: queued[k] / running[k], default=None)
    return keys.index(key) if key is not None and queued[key] > running[key] else None


class TrialWorker:
    """One Ray worker (made an actor by the backend): trains the groups it is given, one
    at a time, streaming each trial's events back."""

    def __init__(self, dataset: Dataset, model: ModelConfig, training: TrainingConfig,
                 trainer_factory: TrainerFactory, *, threads: int, share_gpu: bool) -> None:
        # Both are read once, when TensorFlow starts: it should use the CPUs Ray gave this
        # worker, not every core of the node, and share a GPU instead of claiming it all.
        pin_threads(training.engine, threads)
        if share_gpu:
            os.environ.update(share_accelerators())
        self._trainer = trainer_factory(dataset, model=model, training=training)

    def identity(self) -> dict[str, Any]:
        return {"lrlab": __version__, "node": platform.node(), "pid": os.getpid(),
                "engine": self._trainer.engine.describe()}

    def train(self, group: Group) -> Iterator[TrialEvent]:
        yield from self._trainer.iter_group(group)


class RayBackend:
    """Trials in parallel on Ray workers; see the module docstring and :class:`RayOptions`."""

    def __init__(self, options: RayOptions | None = None, *,
                 trainer_factory: TrainerFactory = make_trainer) -> None:
        self.options = options or RayOptions()
        self._trainer_factory = trainer_factory

    @contextlib.contextmanager
    def reserve(self) -> Iterator[None]:
        """Stay connected to Ray across sessions (a sweep of several experiments trains
        one session each): they join this connection instead of each starting and stopping
        a Ray instance of its own."""
        self.options.check()
        ray = import_ray(private_instance=self.options.address is None)
        connected_here = _connect(ray, self.options)
        try:
            yield
        finally:
            if connected_here:
                ray.shutdown()

    @contextlib.contextmanager
    def session(self, groups: Sequence[Group], *, dataset: Dataset, model: ModelConfig,
                training: TrainingConfig) -> Iterator[_RaySession | _NothingToRun]:
        """Connect to (or start) Ray and start the workers, which then load TensorFlow
        while the runner prepares the run directory; stop them all on exit."""
        options = self.options
        options.check()
        if not groups:  # a resumed sweep with nothing left: no need to start Ray at all
            yield _NothingToRun()
            return
        ray = import_ray(private_instance=options.address is None)
        connected_here = _connect(ray, options)
        pool = None
        try:
            resources = ray.cluster_resources()
            slots = worker_slots(resources, options)
            pool = _WorkerPool(ray, options, args=(ray.put(dataset), model, training,
                                                   self._trainer_factory))
            for _ in range(min(slots, len(groups))):
                pool.start_worker()
            yield _RaySession(ray, pool, groups, options, description={
                "name": "ray", "ray": ray.__version__,
                "address": options.address or "private instance on this machine",
                "cluster_cpus": resources.get("CPU", 0.0),
                "cluster_gpus": resources.get("GPU", 0.0),
                "workers": len(pool.workers), "cpus_per_trial": options.cpus_per_trial,
                "threads_per_trial": max(1, int(options.cpus_per_trial)),
                "gpus_per_trial": options.gpus_per_trial, "max_retries": options.max_retries,
                "max_workers": options.max_workers,
            })
        finally:
            if pool is not None:
                pool.stop_all()
            if connected_here:
                ray.shutdown()  # stops a private instance; leaves a cluster running


def import_ray(*, private_instance: bool) -> Any:
    """Ray, or a one-line error saying how to install it."""
    if private_instance and "ray" not in sys.modules:
        # Both are read once, at import. The first makes Ray bind a private instance to
        # 127.0.0.1 instead of the machine's network address, so nothing outside this
        # machine can reach it. The second is what Ray chooses for a new instance anyway
        # (token authentication); saying so spares the warning it prints when it decides.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    try:
        import ray
    except ImportError:
        raise BackendError(f"Ray is not installed; install it with: {INSTALL_HINT}",
                           about={"backend": "ray"}) from None
    return ray


def _connect(ray: Any, options: RayOptions) -> bool:
    """Start or join Ray; True when this call connected (and so must disconnect)."""
    if ray.is_initialized():
        return False  # the caller's own Ray session (a notebook, a test fixture): use it
    settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                "logging_level": logging.WARNING}
    if options.address is None:
        ray.init(address="local", **settings)
        return True
    if options.address != "auto":
        _check_reachable(options.address)
    # Joining starts no process of Ray's here, so holding fd 2 hides only what Ray's C++
    # client prints while it retries (a line a second) and what the error line replaces.
    with held_native_stderr(replay_on_error=False) as held:
        try:
            ray.init(address=options.address, **settings)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            failure = exc
        else:
            return True
    raise join_error(options.address, failure, ray_output=held.text)


def join_error(address: str, failure: Exception, *, ray_output: str) -> BackendError:
    """The one line that says why joining the cluster at ``address`` failed. Ray's own
    exception says only that it could not connect; its C++ output says why."""
    if "InvalidAuthToken" in ray_output + str(failure):
        return BackendError(
            "the Ray cluster there refused this machine's authentication token; it uses "
            "token authentication, so set RAY_AUTH_MODE=token and give this machine the "
            "cluster's token (~/.ray/auth_token or RAY_AUTH_TOKEN)", about={"address": address})
    return BackendError(f"cannot join the Ray cluster ({first_line(failure)}); start one "
                        f"with 'ray start --head', or leave `address` out to start a local "
                        f"instance", about={"address": address}, mentions=["address"])


def _check_reachable(address: str) -> None:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)),
                                 timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise BackendError(f"no Ray cluster answers there ({exc.strerror or exc}); start "
                           f"one with 'ray start --head' on that machine, or leave `address` "
                           f"out to start a local instance", about={"address": address},
                           mentions=["address"]) from None


@dataclass(eq=False)
class _Worker:
    handle: Any
    ready: Any  # the identity() call: resolves once the worker has started
    started: bool = False
    warm: set[str] = field(default_factory=set)  # optimizer-setting keys it has trained


@dataclass(eq=False)
class _Job:
    progress: GroupProgress
    key: str
    worker: _Worker


class _WorkerPool:
    def __init__(self, ray: Any, options: RayOptions, *, args: tuple[Any, ...]) -> None:
        self._ray, self._args = ray, args
        self._actor = ray.remote(TrialWorker).options(
            num_cpus=options.cpus_per_trial, num_gpus=options.gpus_per_trial,
            max_restarts=0, max_task_retries=0)
        self._threads = max(1, int(options.cpus_per_trial))
        self._share_gpu = 0 < options.gpus_per_trial < 1
        self.workers: list[_Worker] = []

    def start_worker(self) -> _Worker:
        handle = self._actor.remote(*self._args, threads=self._threads,
                                    share_gpu=self._share_gpu)
        worker = _Worker(handle, handle.identity.remote())
        self.workers.append(worker)
        return worker

    def stop(self, worker: _Worker) -> None:
        self.workers.remove(worker)
        with contextlib.suppress(Exception):  # already dead, or Ray is going down
            self._ray.kill(worker.handle, no_restart=True)

    def stop_all(self) -> None:
        for worker in list(self.workers):
            self.stop(worker)


class _NothingToRun:
    description: dict[str, Any] = {"name": "ray"}
    trains_here = False

    def run(self, events: TrialEvents, groups: Sequence[Group] | Work | None = None) -> None:
        pass


class _RaySession:
    trains_here = False

    def __init__(self, ray: Any, pool: _WorkerPool, groups: Sequence[Group],
                 options: RayOptions, *, description: dict[str, Any]) -> None:
        self._ray, self._pool, self._options = ray, pool, options
        self._groups = groups
        self._queue: list[tuple[str, Group]] = []
        self._work = Work()
        self._engines: list[dict[str, Any]] = []
        self._attempts: dict[str, int] = {}
        self._running: dict[Any, _Job] = {}  # the train() generator -> what it is running
        self._start_error: str | None = None
        self.description = description

    def run(self, events: TrialEvents, groups: Sequence[Group] | Work | None = None) -> None:
        self._work = as_work(groups, self._groups)  # a later round: on the same workers
        self._queue = []
        try:
            while self._work or self._queue or self._running:
                # Groups added since (a promotion) go first: they finish what started.
                self._queue[:0] = [(g.key, g) for g in self._work.take_all()]
                self._dispatch(events)
                self._handle_next(events)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as Interrupted
            self._pool.stop_all()  # cancels every outstanding group at once
            for job in self._running.values():
                job.progress.interrupted(events, error=stop_reason(exc))

    def _dispatch(self, events: TrialEvents) -> None:
        running = Counter(job.key for job in self._running.values())
        working = {job.worker for job in self._running.values()}
        for worker in self._pool.workers:
            if not self._queue:
                return
            if not worker.started or worker in working:
                continue
            index = next_trial([key for key, _ in self._queue], warm=worker.warm,
                               running=running)
            if index is None:
                continue
            key, group = self._queue.pop(index)
            self._running[worker.handle.train.remote(group)] = _Job(GroupProgress(group), key,
                                                                    worker)
            running[key] += 1
            worker.warm.add(key)

    def _handle_next(self, events: TrialEvents) -> None:
        starting = {w.ready: w for w in self._pool.workers if not w.started}
        waitables = list(self._running) + (list(starting) if self._queue else [])
        if not waitables:
            raise BackendError(f"no Ray worker could start ({self._start_error}); every "
                               f"node needs lrlab and its dependencies: {INSTALL_HINT}")
        (ready,), _ = self._ray.wait(waitables, num_returns=1)
        if ready in starting:
            self._worker_ready(starting[ready], events)
            return
        job = self._running[ready]
        try:
            item = self._ray.get(next(ready))
        except self._ray.exceptions.RayTaskError as exc:  # training raised; worker is fine
            self._attempt_failed(ready, error_text(exc.cause or exc), events)
            return
        except self._ray.exceptions.RayError as exc:  # the worker is gone
            self._pool.stop(job.worker)
            self._pool.start_worker()
            self._attempt_failed(ready, f"Ray worker lost ({type(exc).__name__}: "
                                        f"{first_line(exc)})", events)
            return
        job.progress.report(item, events)
        if job.progress.done:
            del self._running[ready]

    def _worker_ready(self, worker: _Worker, events: TrialEvents) -> None:
        try:
            identity = self._ray.get(worker.ready)
        except self._ray.exceptions.RayError as exc:
            reason = _last_line(exc)
        else:
            if identity["lrlab"] == __version__:
                worker.started = True
                if identity["engine"] not in self._engines:
                    self._engines.append(identity["engine"])
                    events.engine_ready(identity["engine"])
                return
            reason = (f"lrlab {identity['lrlab']} on {identity['node']}, {__version__} "
                      f"here")
        # A worker that cannot start is not replaced: its node would fail the same way.
        self._pool.stop(worker)
        self._start_error = reason
        events.notice(f"a Ray worker could not start ({reason}); going on with "
                      f"{len(self._pool.workers)}")

    def _attempt_failed(self, generator: Any, error: str, events: TrialEvents) -> None:
        job = self._running.pop(generator)
        first = job.progress.group.trials[0].trial_id  # names the group across retries
        attempt = self._attempts[first] = self._attempts.get(first, 0) + 1
        if attempt <= self._options.max_retries:
            again = job.progress.retrying(events, error=error, attempt=attempt)
            self._queue.insert(0, (job.key, again))
            return
        if attempt > 1:
            error += f" (failed {attempt} times)"
        job.progress.failed(events, error=error)


def _last_line(exc: BaseException) -> str:
    """The exception line at the end of a remote traceback, e.g. ``ModuleNotFoundError:
    No module named 'lrlab'``."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
