"""Running a sweep: expand the config, train each pending trial, record everything.

The runner owns the bookkeeping (what is finished, what to resume, what a partial trial
leaves behind); the trainer only trains, the store only writes, and observers (the CLI's
progress display) only watch.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lrlab.config import ExperimentConfig
from lrlab.data import load_dataset
from lrlab.environment import collect_environment
from lrlab.errors import StoreError
from lrlab.results import history_rows, results_columns, results_row, trial_result
from lrlab.store import RunStore
from lrlab.training import EpochRecord, Trainer, TrialOutcome, TrialStatus
from lrlab.trials import Trial, expand_trials

log = logging.getLogger(__name__)
_FINISHED = {status.value for status in TrialStatus if status.finished}


class SweepObserver:
    """Hooks called as a sweep progresses. Subclass and override what you need."""

    def sweep_started(self, *, run_dir: Path, trials: Sequence[Trial], pending: int) -> None:
        """``pending`` of ``trials`` will run; the others finished in an earlier run."""

    def trial_started(self, trial: Trial) -> None:
        pass

    def epoch_finished(self, trial: Trial, record: EpochRecord) -> None:
        pass

    def trial_finished(self, trial: Trial, row: dict[str, Any]) -> None:
        pass


@dataclass
class SweepReport:
    run_dir: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False


def run_sweep(
    config: ExperimentConfig,
    *,
    runs_dir: str | Path = "runs",
    resume: str | Path | None = None,
    observer: SweepObserver | None = None,
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> SweepReport:
    """Train every trial of ``config`` that is not yet finished, writing a run directory.

    With ``resume``, continue that run directory (which must hold the same config) and
    re-run only trials without a completed or diverged ``result.json``. On Ctrl-C the
    trial in progress is recorded as interrupted and the report says so.
    """
    observer = observer or SweepObserver()
    trials = expand_trials(config)
    store = _open_resumable(Path(resume), config) if resume else None
    done = _finished_rows(store, trials) if store else {}
    dataset = load_dataset(config.data, env=env)  # before creating anything: fail early

    now = datetime.now(timezone.utc)
    if store is None:
        store = RunStore.create(Path(runs_dir), config.name, now=now)
        store.write_config(config.to_dict())
    store.write_environment(collect_environment(started_at=now.isoformat(timespec="seconds"),
                                                argv=argv if argv is not None else sys.argv))

    report = SweepReport(run_dir=store.root)
    rows = dict(done)  # trial_id -> results.csv row, in trial order when written
    pending = [t for t in trials if t.trial_id not in done]
    observer.sweep_started(run_dir=store.root, trials=trials, pending=len(pending))
    if not pending:
        report.rows = [rows[t.trial_id] for t in trials]
        return report
    trainer = Trainer(dataset, model=config.model, training=config.training)

    for trial in pending:
        row = _run_trial(trial, trainer, store, observer)
        rows[trial.trial_id] = row
        ordered = [rows[t.trial_id] for t in trials if t.trial_id in rows]
        store.write_results_table(results_columns(ordered), ordered)
        observer.trial_finished(trial, row)
        if row["status"] == TrialStatus.INTERRUPTED:
            report.interrupted = True
            break
    report.rows = [rows[t.trial_id] for t in trials if t.trial_id in rows]
    return report


def _run_trial(trial: Trial, trainer: Trainer, store: RunStore,
               observer: SweepObserver) -> dict[str, Any]:
    trial_id = trial.trial_id
    store.write_params(trial_id, trial.params())
    observer.trial_started(trial)
    history: list[EpochRecord] = []

    def on_epoch(record: EpochRecord) -> None:
        history.append(record)
        store.write_history(trial_id, history_rows(history))
        observer.epoch_finished(trial, record)

    started = _now()
    try:
        outcome = trainer.train(trial, on_epoch=on_epoch)
    except KeyboardInterrupt:
        outcome = TrialOutcome(status=TrialStatus.INTERRUPTED, history=history)
    except StoreError:
        raise  # the run directory itself is failing: stopping is the only safe move
    except Exception as exc:  # noqa: BLE001 - one broken trial must not end the sweep
        log.debug("trial %s failed", trial_id, exc_info=True)
        outcome = TrialOutcome(status=TrialStatus.FAILED, history=history,
                               error=f"{type(exc).__name__}: {exc}")
    result = trial_result(trial, outcome, started_at=started, finished_at=_now())
    store.write_history(trial_id, history_rows(history))
    store.write_result(trial_id, result)
    return results_row(trial.params(), result)


def _open_resumable(path: Path, config: ExperimentConfig) -> RunStore:
    store = RunStore.open(path)
    stored, wanted = store.read_config(), config.to_dict()
    stored.pop("name", None)
    wanted.pop("name", None)
    if stored != wanted:
        differing = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise StoreError(f"{path}: was run with a different config ({', '.join(differing)} "
                         f"differ); resume it with its own {path / 'sweep.yaml'}")
    return store


def _finished_rows(store: RunStore, trials: Sequence[Trial]) -> dict[str, dict[str, Any]]:
    rows = {}
    for trial in trials:
        result = store.read_result(trial.trial_id)
        if result is not None and result.get("status") in _FINISHED:
            rows[trial.trial_id] = results_row(trial.params(), result)
    return rows


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
