"""What a run directory is doing or did, from its files alone: ``lrlab status``. Pure reads;
it never takes the writer's lock, so watching never slows or blocks a sweep."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lrlab.errors import StoreError
from lrlab.rundir.loading import planned_trials
from lrlab.rundir.lock import Holder, read_holder
from lrlab.rundir.records import FINISHED_STATUSES, TrialStatus
from lrlab.rundir.store import (
    CONFIG_FILE,
    ENVIRONMENT_FILE,
    HISTORY_FILE,
    RANGE_TEST,
    RESULT_FILE,
    RESULTS_FILE,
    SWEEP,
    TRIALS_DIR,
    RunStore,
)


@dataclass(frozen=True)
class TrialInProgress:
    trial_id: str
    epochs_done: int


@dataclass(frozen=True)
class Damaged:
    trial_id: str
    reason: str


@dataclass
class RunStatus:
    run_dir: Path
    kind: str
    planned: int | None  # trials sweep.yaml plans (None: cannot tell)
    counts: dict[str, int]  # completed, stopped, diverged, failed, interrupted
    in_progress: list[TrialInProgress]  # params.json but no result.json yet
    epochs: int | None  # epochs per trial, from sweep.yaml
    holder: Holder | None  # who holds (or held, and died holding) the lock
    holder_alive: bool | None  # None: the holder is on another host
    sessions: list[dict[str, Any]] = field(default_factory=list)
    mean_trial_seconds: float = math.nan  # over finished trials
    damaged: list[Damaged] = field(default_factory=list)  # trials whose files cannot be read
    unreadable: list[str] = field(default_factory=list)  # other run files, and why
    last_written: datetime | None = None  # the newest run file's time

    @property
    def writing(self) -> bool:
        """Whether a writer is at work (as far as this host can tell)."""
        return self.holder is not None and self.holder_alive is not False

    @property
    def finished(self) -> int:
        """Trials with nothing left to train: finished, or dropped by halving."""
        return sum(self.counts.get(status, 0)
                   for status in (*FINISHED_STATUSES, TrialStatus.PRUNED.value))

    @property
    def pending(self) -> int | None:
        if self.planned is None:
            return None
        return max(0, self.planned - sum(self.counts.values()) - len(self.in_progress)
                   - len(self.damaged))

    def elapsed_seconds(self, now: datetime | None = None) -> float | None:
        """Since the current session started (None when no session is running)."""
        if not self.sessions or self.sessions[-1].get("ended") or not self.writing:
            return None
        try:
            started = datetime.fromisoformat(self.sessions[-1].get("started_at") or "")
            return ((now or datetime.now(timezone.utc)) - started).total_seconds()
        except (ValueError, TypeError):  # no time, or not one lrlab wrote
            return None

    def eta_seconds(self) -> float | None:
        """A rough estimate: the finished trials' mean time for each trial still to run,
        as many at once as are running now."""
        if not self.writing or self.pending is None or math.isnan(self.mean_trial_seconds):
            return None
        left = self.pending + len(self.in_progress) / 2  # the running ones are half done
        return left * self.mean_trial_seconds / max(1, len(self.in_progress))


def latest_run_dir(path: Path) -> tuple[Path, list[Path]]:
    """The run directory ``path`` names: itself, or, for a folder of runs (``runs/``), the
    one whose session started last; with the others, newest first, so that a reader can
    be told what else is there."""
    if (path / CONFIG_FILE).is_file() or not path.is_dir():
        return path, []
    inside = [child for child in path.iterdir() if (child / CONFIG_FILE).is_file()]
    if not inside:
        raise StoreError(f"{path}: not a run directory (no {CONFIG_FILE}) and none inside; "
                         f"expected a folder written by 'lrlab sweep' or 'lrlab find-lr', or "
                         f"a folder of them")

    def started(run: Path) -> str:
        try:
            sessions = RunStore(run).read_environment()["sessions"]
        except StoreError:
            sessions = []
        first = sessions[0] if sessions and isinstance(sessions[0], dict) else {}
        return str(first.get("started_at") or "")

    newest = sorted(inside, key=lambda run: (started(run), run.name), reverse=True)
    return newest[0], newest[1:]


def read_status(run_dir: Path) -> RunStatus:
    """Read a run directory (sweep or range test) without disturbing its writer. A damaged
    file is named (in ``damaged`` or ``unreadable``) and the rest still read."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise StoreError(f"{run_dir}: not a run directory (no {CONFIG_FILE}); expected a "
                         f"folder written by 'lrlab sweep' or 'lrlab find-lr'")
    store = RunStore(run_dir)
    unreadable: list[str] = []
    try:
        sessions = store.read_environment()["sessions"]
        kind = store.kind()
    except StoreError as exc:
        unreadable.append(str(exc))
        sessions, kind = [], SWEEP if (run_dir / TRIALS_DIR).is_dir() else RANGE_TEST
    counts = {status.value: 0 for status in TrialStatus}
    in_progress, damaged, seconds = [], [], []
    try:
        trial_ids = store.trial_ids()
    except StoreError as exc:
        unreadable.append(str(exc))
        trial_ids = []
    for trial_id in trial_ids:
        try:
            _, result, history = store.read_trial(trial_id)
        except StoreError as exc:
            damaged.append(Damaged(trial_id, str(exc)))
            continue
        if result is None:
            in_progress.append(TrialInProgress(trial_id, len(history)))
            continue
        counts[result.status.value] += 1
        if result.status.finished and math.isfinite(result.seconds):
            seconds.append(result.seconds)
    planned = planned_trials(run_dir)
    holder = read_holder(run_dir)
    try:
        epochs = int(store.read_config()["training"]["epochs"])
    except (KeyError, TypeError, ValueError, OverflowError, StoreError):
        epochs = None
    return RunStatus(
        run_dir=run_dir, kind=kind, planned=None if planned is None else len(planned),
        counts={k: v for k, v in counts.items() if v}, in_progress=in_progress,
        epochs=epochs, holder=holder, holder_alive=holder.alive() if holder else None,
        sessions=sessions,
        mean_trial_seconds=sum(seconds) / len(seconds) if seconds else math.nan,
        damaged=damaged, unreadable=unreadable, last_written=_last_written(run_dir, trial_ids))


def _last_written(run_dir: Path, trial_ids: list[str]) -> datetime | None:
    """When a run file was last written: what is known of a writer on another host."""
    paths = [run_dir / name for name in (ENVIRONMENT_FILE, RESULTS_FILE)]
    paths += [run_dir / TRIALS_DIR / t / name for t in trial_ids
              for name in (HISTORY_FILE, RESULT_FILE)]
    times = []
    for path in paths:
        try:
            times.append(os.lstat(path).st_mtime)
        except OSError:
            continue
    return datetime.fromtimestamp(max(times), timezone.utc) if times else None
