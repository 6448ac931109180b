"""What a trial is and what it records: statuses, epoch records, outcomes, ``result.json``,
and the columns of ``history.csv`` and ``results.csv``. Pure: no TensorFlow, no files.

Every reader and writer of run files takes its column names from here, so a new field is
added in one place.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class TrialStatus(str, enum.Enum):
    COMPLETED = "completed"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """A finished trial is a result: ``--resume`` skips it and ``compare`` ranks it."""
        return self in (TrialStatus.COMPLETED, TrialStatus.DIVERGED)


FINISHED_STATUSES = tuple(s.value for s in TrialStatus if s.finished)
# What the tidy frame of lrlab.rundir.loading calls a trial with params.json but no result.json yet:
# still training (or stopped without a word, by kill -9 or a crash).
RUNNING = "running"

# Every data set lrlab trains on has ten classes (the model's last layer has ten units), so
# an accuracy of 1/CLASSES is chance.
CLASSES = 10

# The metrics measured at the end of every epoch, and once on the test set at the end.
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
TEST_METRICS = ("test_loss", "test_accuracy")
METRICS = EPOCH_METRICS + TEST_METRICS


@dataclass(frozen=True)
class EpochRecord:
    """One row of ``history.csv``. ``lr`` is the rate in effect at the end of the epoch."""

    epoch: int
    lr: float
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float

    def metrics(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in EPOCH_METRICS}


HISTORY_COLUMNS = tuple(f.name for f in dataclasses.fields(EpochRecord))


@dataclass
class TrialOutcome:
    """What training one trial produced, as a backend reports it to the runner."""

    status: TrialStatus
    history: list[EpochRecord] = field(default_factory=list)
    initial_loss: float = math.nan
    diverged_epoch: int | None = None
    test_loss: float = math.nan
    test_accuracy: float = math.nan
    seconds: float = 0.0
    error: str | None = None
    # How many trials trained together in one compiled step (1: alone), and this trial's
    # share of the time spent compiling it (None: the engine cannot tell).
    stack_size: int = 1
    compile_seconds: float | None = None


def best_epoch(history: Sequence[EpochRecord]) -> EpochRecord | None:
    """The epoch with the highest validation accuracy (the earliest on ties); without a
    validation set, the epoch with the lowest training loss."""
    finite = [r for r in history if math.isfinite(r.val_accuracy)]
    if finite:
        return max(finite, key=lambda r: (r.val_accuracy, -r.epoch))
    finite = [r for r in history if math.isfinite(r.loss)]
    return min(finite, key=lambda r: (r.loss, r.epoch)) if finite else None


# results.csv: trial_id, the trial's parameters (which vary with the sweep), then these.
RESULT_COLUMNS = ("status", "epochs", "diverged_epoch", "initial_loss", *EPOCH_METRICS,
                  "best_epoch", "best_val_accuracy", *TEST_METRICS, "seconds", "error")
# The trial-level columns of lrlab.rundir.loading' tidy frame. Its rows also carry each epoch's
# history, whose ``seconds`` is the epoch's, so the trial's own time is ``trial_seconds``.
FRAME_TRIAL_COLUMNS = ("status", "diverged_epoch", "initial_loss", *TEST_METRICS,
                       "trial_seconds")


def _number(value: Any) -> float:
    """A metric read from JSON: null (written for NaN and infinity) reads back as NaN."""
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class TrialResult:
    """The content of a trial's ``result.json``, typed."""

    trial_id: str
    status: TrialStatus
    epochs: int = 0
    diverged_epoch: int | None = None
    initial_loss: float = math.nan
    final: Mapping[str, float] = field(default_factory=dict)  # EPOCH_METRICS at the last epoch
    best: Mapping[str, float] = field(default_factory=dict)  # "epoch" and EPOCH_METRICS
    test_loss: float = math.nan
    test_accuracy: float = math.nan
    seconds: float = 0.0
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    stack_size: int = 1
    compile_seconds: float | None = None

    @classmethod
    def from_outcome(cls, trial_id: str, outcome: TrialOutcome, *, started_at: str,
                     finished_at: str) -> TrialResult:
        last = outcome.history[-1] if outcome.history else None
        best = best_epoch(outcome.history)
        return cls(
            trial_id=trial_id, status=outcome.status, epochs=len(outcome.history),
            diverged_epoch=outcome.diverged_epoch, initial_loss=outcome.initial_loss,
            final=last.metrics() if last else {},
            best={"epoch": best.epoch, **best.metrics()} if best else {},
            test_loss=outcome.test_loss, test_accuracy=outcome.test_accuracy,
            seconds=round(outcome.seconds, 3), started_at=started_at,
            finished_at=finished_at, error=outcome.error, stack_size=outcome.stack_size,
            compile_seconds=(None if outcome.compile_seconds is None
                             else round(outcome.compile_seconds, 3)))

    def to_json(self) -> dict[str, Any]:
        """The layout of ``result.json`` (NaN is left to the writer, which writes null)."""
        return {
            "trial_id": self.trial_id,
            "status": self.status.value,
            "epochs": self.epochs,
            "diverged_epoch": self.diverged_epoch,
            "initial_loss": self.initial_loss,
            "final": dict(self.final),
            "best": dict(self.best) or None,
            "test": {"loss": self.test_loss, "accuracy": self.test_accuracy},
            "seconds": self.seconds,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "stack_size": self.stack_size,
            "compile_seconds": self.compile_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialResult:
        """Read ``result.json``'s content back; raises ``ValueError`` saying what is wrong."""
        try:
            status = TrialStatus(data.get("status"))
        except ValueError:
            raise ValueError(f"unknown status {data.get('status')!r}; expected one of "
                             f"{', '.join(s.value for s in TrialStatus)}") from None
        try:
            test = data.get("test") or {}
            best = data.get("best") or {}
            return cls(
                trial_id=str(data.get("trial_id") or ""), status=status,
                epochs=int(data.get("epochs") or 0),
                diverged_epoch=(None if data.get("diverged_epoch") is None
                                else int(data["diverged_epoch"])),
                initial_loss=_number(data.get("initial_loss")),
                final={k: _number(v) for k, v in (data.get("final") or {}).items()},
                best={k: (int(v) if k == "epoch" else _number(v)) for k, v in best.items()},
                test_loss=_number(test.get("loss")),
                test_accuracy=_number(test.get("accuracy")),
                seconds=_number(data.get("seconds")), started_at=data.get("started_at"),
                finished_at=data.get("finished_at"), error=data.get("error"),
                stack_size=int(data.get("stack_size") or 1),
                compile_seconds=(None if data.get("compile_seconds") is None
                                 else float(data["compile_seconds"])))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed field ({exc})") from None

    def row(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """This trial's row of ``results.csv``: trial_id, params, then RESULT_COLUMNS."""
        return {
            "trial_id": self.trial_id,
            **params,
            "status": self.status.value,
            "epochs": self.epochs,
            "diverged_epoch": self.diverged_epoch,
            "initial_loss": self.initial_loss,
            **{k: self.final.get(k) for k in EPOCH_METRICS},
            "best_epoch": self.best.get("epoch"),
            "best_val_accuracy": self.best.get("val_accuracy"),
            "test_loss": self.test_loss,
            "test_accuracy": self.test_accuracy,
            "seconds": self.seconds,
            "error": self.error,
        }

    def frame_fields(self) -> dict[str, Any]:
        """The trial-level columns of the tidy frame (FRAME_TRIAL_COLUMNS)."""
        values = (self.status.value, self.diverged_epoch, self.initial_loss, self.test_loss,
                  self.test_accuracy, self.seconds)
        return dict(zip(FRAME_TRIAL_COLUMNS, values, strict=True))


def results_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """trial_id, the parameters (in first-seen order), then RESULT_COLUMNS."""
    columns = ["trial_id"]
    for row in rows:
        columns += [k for k in row if k not in columns and k not in RESULT_COLUMNS]
    return columns + list(RESULT_COLUMNS)
