"""What a finished trial reports: ``result.json`` and its row in ``results.csv``. Pure."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from lrlab.training import EpochRecord, TrialOutcome
from lrlab.trials import Trial

# Columns of results.csv around the trial's own parameters (optimizer, learning_rate, seed
# and its hyperparameters, which vary with the sweep).
RESULT_COLUMNS = ("status", "epochs", "diverged_epoch", "initial_loss", "loss", "accuracy",
                  "val_loss", "val_accuracy", "best_epoch", "best_val_accuracy", "test_loss",
                  "test_accuracy", "seconds", "error")


def history_rows(history: list[EpochRecord]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(record) for record in history]


def best_epoch(history: list[EpochRecord]) -> EpochRecord | None:
    """The epoch with the highest validation accuracy (the earliest on ties); without a
    validation set, the epoch with the lowest training loss."""
    finite = [r for r in history if math.isfinite(r.val_accuracy)]
    if finite:
        return max(finite, key=lambda r: (r.val_accuracy, -r.epoch))
    finite = [r for r in history if math.isfinite(r.loss)]
    return min(finite, key=lambda r: (r.loss, r.epoch)) if finite else None


def trial_result(trial: Trial, outcome: TrialOutcome, *, started_at: str,
                 finished_at: str) -> dict[str, Any]:
    """The content of ``result.json``."""
    last = outcome.history[-1] if outcome.history else None
    best = best_epoch(outcome.history)
    return {
        "trial_id": trial.trial_id,
        "status": outcome.status.value,
        "epochs": len(outcome.history),
        "diverged_epoch": outcome.diverged_epoch,
        "initial_loss": outcome.initial_loss,
        "final": _metrics(last),
        "best": {"epoch": best.epoch, **_metrics(best)} if best else None,
        "test": {"loss": outcome.test_loss, "accuracy": outcome.test_accuracy},
        "seconds": round(outcome.seconds, 3),
        "started_at": started_at,
        "finished_at": finished_at,
        "error": outcome.error,
    }


def _metrics(record: EpochRecord | None) -> dict[str, float]:
    if record is None:
        return {}
    return {k: getattr(record, k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")}


def results_row(params: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """One row of ``results.csv``, flattened from a trial's params and result."""
    final, best = result.get("final") or {}, result.get("best") or {}
    test = result.get("test") or {}
    return {
        "trial_id": result.get("trial_id"),
        **params,
        "status": result.get("status"),
        "epochs": result.get("epochs"),
        "diverged_epoch": result.get("diverged_epoch"),
        "initial_loss": result.get("initial_loss"),
        **{k: final.get(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "best_epoch": best.get("epoch"),
        "best_val_accuracy": best.get("val_accuracy"),
        "test_loss": test.get("loss"),
        "test_accuracy": test.get("accuracy"),
        "seconds": result.get("seconds"),
        "error": result.get("error"),
    }


def results_columns(rows: list[dict[str, Any]]) -> list[str]:
    """trial_id, the parameters (in first-seen order), then RESULT_COLUMNS."""
    columns = ["trial_id"]
    for row in rows:
        columns += [k for k in row if k not in columns and k not in RESULT_COLUMNS]
    return columns + list(RESULT_COLUMNS)
