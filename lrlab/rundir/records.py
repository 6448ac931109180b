"""What a trial is and what it records: statuses, epoch records, outcomes, ``result.json``,
and the columns of ``history.csv`` and ``results.csv``. Pure: no TensorFlow, no files.

Every reader and writer of run files takes its column names from here, so a new field is
added in one place.
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lrlab.experiment.objective import DEFAULT_OBJECTIVE, Objective
from lrlab.formatting import brief

if TYPE_CHECKING:
    from lrlab.experiment.config import ExperimentConfig
    from lrlab.experiment.trials import Trial


def timestamp() -> str:
    """Now, as every run file records a moment: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TrialStatus(str, enum.Enum):
    COMPLETED = "completed"
    # Ended by training.early_stopping: its metric had not improved for `patience` epochs.
    STOPPED = "stopped"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    # Halving (lrlab.analysis.halving): trained to a rung's epoch, awaiting the rung's
    # decision; then dropped there (pruned), or trained on to the next rung.
    PAUSED = "paused"
    PRUNED = "pruned"

    @property
    def finished(self) -> bool:
        """A finished trial is a result: ``--resume`` skips it and ``compare`` ranks it."""
        return self in (TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.DIVERGED)

    @property
    def settled(self) -> bool:
        """Nothing more will train: a finished trial, or one halving dropped (its epochs
        are its history; ``compare`` never calls it best)."""
        return self.finished or self is TrialStatus.PRUNED

    @property
    def kept(self) -> bool:
        """A result ``--resume`` keeps: a settled trial, or one paused at a rung (the
        epochs it trained are the rung's evidence)."""
        return self.settled or self is TrialStatus.PAUSED


FINISHED_STATUSES = tuple(s.value for s in TrialStatus if s.finished)
# What the tidy frame of lrlab.rundir.loading calls a trial with params.json but no result.json yet:
# still training (or stopped without a word, by kill -9 or a crash).
RUNNING = "running"

# The chance level of run directories that did not record theirs: every data set lrlab
# trained on then had ten classes. Newer ones record the most frequent class's share of
# each split (environment.json, data.chance).
UNRECORDED_CHANCE = 0.1
# Which split each accuracy is measured on, as data.chance names them.
SPLIT_OF = {"accuracy": "train", "val_accuracy": "validation", "test_accuracy": "test"}

# The columns of lrlab's default objective (lrlab.experiment.objective): measured at the
# end of every epoch, and once on the test set at the end. Another objective records its
# own (``auc``, ``val_auc``, ``test_auc``...), always with the loss.
EPOCH_METRICS = DEFAULT_OBJECTIVE.epoch_columns()
TEST_METRICS = DEFAULT_OBJECTIVE.test_columns()
METRICS = EPOCH_METRICS + TEST_METRICS
# history.csv's columns around the metrics'.
HISTORY_HEAD, HISTORY_TAIL = ("epoch", "lr"), ("seconds",)
# curvature.csv: after which epoch (0: the initial weights), the sharpness (the training
# loss's largest Hessian eigenvalue), the preconditioned one (RMSprop, Adam; empty for
# others), the Hessian-vector products and seconds the two took; then the gradient noise
# scale B_simple, its estimates of |G|² and tr(Σ), and the seconds they took (empty where
# not measured). Files written before the noise was measured end after ``seconds``.
# Last, how far the weights have moved from the initial ones (Euclidean).
SHARPNESS_COLUMNS = ("epoch", "sharpness", "preconditioned_sharpness", "products", "seconds")
CURVATURE_COLUMNS = (*SHARPNESS_COLUMNS, "noise_scale", "gradient_sq", "noise_trace",
                     "noise_seconds", "distance")
# The tidy frame's columns from a trial's curvature.csv: the sharpness at its initial
# weights (epoch 0) and at its last measurement (and the preconditioned one's last, for
# RMSprop and Adam), its median noise scale after epoch 0,
# and how far it had moved at its last measurement (and after which epoch).
INITIAL_SHARPNESS = "initial_sharpness"
SURFACE_COLUMNS = (INITIAL_SHARPNESS, "final_sharpness", "final_preconditioned",
                   "noise_scale", "distance", "distance_epoch")


def history_columns(metrics: Sequence[str]) -> tuple[str, ...]:
    """history.csv's columns for an objective's epoch columns."""
    return (*HISTORY_HEAD, *metrics, *HISTORY_TAIL)


@dataclass(frozen=True)
class EpochRecord:
    """One row of ``history.csv``: the epoch, the rate in effect at its end, the
    objective's columns (``values``: loss, metrics, val_loss, val_ metrics; each readable
    as an attribute, ``record.val_auc``), and its seconds."""

    epoch: int
    lr: float
    values: Mapping[str, float]
    seconds: float = 0.0

    @classmethod
    def of(cls, *, epoch: int, lr: float, seconds: float = 0.0, **values: float) -> EpochRecord:
        return cls(epoch, lr, dict(values), seconds)

    def __getattr__(self, name: str) -> float:
        if name.startswith("_") or name == "values":
            raise AttributeError(name)
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def metrics(self) -> dict[str, float]:
        return dict(self.values)

    def columns(self) -> tuple[str, ...]:
        return history_columns(tuple(self.values))

    def row(self) -> dict[str, float]:
        return {"epoch": self.epoch, "lr": self.lr, **self.values, "seconds": self.seconds}


HISTORY_COLUMNS = history_columns(EPOCH_METRICS)


def epoch_record(row: Mapping[str, float]) -> EpochRecord:
    """A history.csv row (as read back) as the record it was written from."""
    values = {k: float(v) for k, v in row.items() if k not in (*HISTORY_HEAD, *HISTORY_TAIL)}
    return EpochRecord(int(row["epoch"]), float(row["lr"]), values,
                       float(row.get("seconds", 0.0)))


@dataclass
class TrialOutcome:
    """What training one trial produced, as a backend reports it to the runner."""

    status: TrialStatus
    history: list[EpochRecord] = field(default_factory=list)
    initial_loss: float = math.nan
    diverged_epoch: int | None = None
    # The test split's loss and metrics, by name (loss, accuracy...), once at the end.
    test: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    # How many trials trained together in one compiled step (1: alone), and this trial's
    # share of the time spent compiling it (None: the engine cannot tell).
    stack_size: int = 1
    compile_seconds: float | None = None
    # The epoch after which early stopping ended the trial (None: it was not stopped).
    stopped_epoch: int | None = None
    # The share of hidden ReLU units that output zero on every validation image at the end
    # (None: the network has none, or the engine did not measure it).
    dead_units: float | None = None
    # Each column's baseline: the constant prediction's value (lrlab.training.labels).
    baseline: dict[str, float] = field(default_factory=dict)
    # A paused trial's state (the engine's snapshot): what it goes on from when promoted.
    checkpoint: list[Any] | None = None
    # The loss surface's curvature as measured (training.sharpness): one row per
    # measurement, epoch 0 at the initial weights (CURVATURE_COLUMNS).
    curvature: list[dict[str, float]] = field(default_factory=list)


def best_epoch(history: Sequence[EpochRecord], objective: Objective = DEFAULT_OBJECTIVE
               ) -> EpochRecord | None:
    """The epoch where the objective's verdict metric is best (the earliest on ties):
    on the validation split, or, without one, on the training batches."""
    column = objective.verdict
    for candidate in (column, column.removeprefix("val_").removeprefix("test_")):
        values = [r.values.get(candidate, math.nan) for r in history]
        index = objective.best_of(candidate, values)
        if index is not None:
            return history[index]
    return None


# --- reading run files back: every value checked, since anyone may have edited them -------

def _number(value: Any) -> float:
    """A metric read from JSON: null (written for NaN and infinity) reads back as NaN."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, int) and abs(value) > MAX_COUNT):
        raise ValueError(f"expected a number or null, got {brief(value)}")
    return float(value)


# Whole numbers in run files (epochs, counts, seeds) are far below this; larger ones would
# overflow wherever they meet a float. No rate is anywhere near MAX_RATE either.
MAX_COUNT = 2**53
MAX_RATE = 1e308


def _count(value: Any) -> int:
    """A whole number >= 0 (an epoch, a count, a seed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            0 <= value <= MAX_COUNT and value == int(value)):  # NaN fails, inf too
        raise ValueError(f"expected a whole number >= 0, got {brief(value)}")
    return int(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else _count(value)


def _optional_float(value: Any) -> float | None:
    return None if value is None else _number(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {brief(value)}")
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {brief(value)}")
    return value


def _metrics(value: Any) -> dict[str, float]:
    return {str(k): _number(v) for k, v in _mapping(value).items()}


def _objective(value: Any) -> Objective:
    return Objective.from_dict(_mapping(value)) if value is not None else DEFAULT_OBJECTIVE


def _best(value: Any) -> dict[str, float]:
    return {str(k): (_count(v) if k == "epoch" else _number(v))
            for k, v in _mapping(value).items()}


def parse_params(data: Mapping[str, Any]) -> dict[str, Any]:
    """``params.json``'s content, checked: an optimizer name, a learning rate that is a
    positive finite number, a whole seed, and other parameters that are plain values.
    Raises ``ValueError`` saying what is wrong."""
    if not isinstance(data.get("optimizer"), str) or not data["optimizer"]:
        raise ValueError(f"optimizer: expected a name, got {brief(data.get('optimizer'))}")
    rate = data.get("learning_rate")
    if (isinstance(rate, bool) or not isinstance(rate, (int, float))
            or not 0 < rate <= MAX_RATE):  # NaN and infinity fail too
        raise ValueError(f"learning_rate: expected a positive number, got {brief(rate)}")
    try:
        _count(data.get("seed"))
    except ValueError as exc:
        raise ValueError(f"seed: {exc}") from None
    # The experiment's sizes are axes (a log scale of batch sizes): whole numbers >= 1, not
    # a damaged 1e-320 that would reach a plot as a batch of nothing.
    for key in ("batch_size", "epochs"):
        if key in data and _is_bad_size(data[key]):
            raise ValueError(f"{key}: expected a whole number >= 1, got {brief(data[key])}")
    for key, value in data.items():
        if not isinstance(value, (str, int, float, bool)) and value is not None or (
                isinstance(value, int) and abs(value) > MAX_COUNT):
            raise ValueError(f"{key}: expected a plain value, got {brief(value)}")
    return dict(data)


def _is_bad_size(value: Any) -> bool:
    try:
        return _count(value) < 1
    except ValueError:
        return True


def check_history_header(header: Sequence[str]) -> tuple[str, ...]:
    """history.csv's header, checked: epoch, lr, the loss, each metric on its own and with
    val_, then seconds; raises ``ValueError`` saying what is expected."""
    columns = tuple(header)
    metrics = columns[len(HISTORY_HEAD):-len(HISTORY_TAIL)]
    train = metrics[:len(metrics) // 2]
    if (columns[:len(HISTORY_HEAD)] != HISTORY_HEAD or columns[-1:] != HISTORY_TAIL
            or len(metrics) % 2 or not train or train[0] != "loss"
            or metrics[len(train):] != tuple(f"val_{c}" for c in train)
            or not all(c.isidentifier() for c in train) or len(set(columns)) != len(columns)):
        raise ValueError(f"expected {','.join(HISTORY_COLUMNS)} (or another objective's "
                         f"metrics: epoch,lr,loss,<metrics>,val_loss,val_<metrics>,seconds)")
    return columns


def parse_curvature_row(cells: Sequence[str]) -> dict[str, float]:
    """One row of ``curvature.csv`` as numbers: an empty cell is NaN (not measured), the
    epoch and products whole numbers."""
    if len(cells) not in (len(SHARPNESS_COLUMNS), len(CURVATURE_COLUMNS)):
        raise ValueError(f"expected {len(CURVATURE_COLUMNS)} fields, got {len(cells)}")
    try:
        row = dict(zip(CURVATURE_COLUMNS, [float(c) if c else math.nan for c in cells],
                       strict=False))
    except ValueError:
        raise ValueError(f"expected numbers, got {brief(cells)}") from None
    row.update({key: math.nan for key in CURVATURE_COLUMNS if key not in row})
    for key in ("epoch", "products"):
        row[key] = float(_count(row[key]))
    return row


def parse_history_row(cells: Sequence[str],
                      columns: Sequence[str] = HISTORY_COLUMNS) -> dict[str, float]:
    """One row of ``history.csv`` (its cells, in ``columns`` order) as numbers: an empty
    cell is NaN (a metric not measured); the epoch is a whole number >= 1."""
    if len(cells) != len(columns):
        raise ValueError(f"expected {len(columns)} fields, got {len(cells)} "
                         f"(truncated?)")
    try:  # one comprehension for the whole row: compare reads a row per trial-epoch
        row = dict(zip(columns, [float(c) if c else math.nan for c in cells], strict=True))
    except ValueError:
        name, cell = next((n, c) for n, c in zip(columns, cells, strict=True)
                          if not _is_float(c))
        raise ValueError(f"{name}: not a number: {brief(cell)}") from None
    epoch = row["epoch"]
    if not (math.isfinite(epoch) and epoch >= 1 and epoch == int(epoch)):
        raise ValueError(f"epoch: expected a whole number >= 1, got {brief(cells[0])}")
    return row


def _is_float(cell: str) -> bool:
    try:
        float(cell or "nan")
    except ValueError:
        return False
    return True


def parse_range_test(data: Mapping[str, Any]) -> dict[str, Any]:
    """A range test's ``result.json``, checked where readers use it: the rule, the options
    (numbers, whole seeds), and per optimizer the suggestion, the grid (a range or a list
    of rates) and each rule's median and interval. Raises ``ValueError``."""
    _text(data.get("rule"))
    options = _mapping(data.get("options"))
    for name in ("start", "end", "smoothing", "diverge"):
        if name in options:
            _field(name, _number, options[name])
    if "steps" in options:
        _field("steps", _count, options["steps"])
    for seed in _list("options.seeds", options.get("seeds") or []):
        _field("seeds", _count, seed)
    optimizers = _mapping(data.get("optimizers"))
    if not optimizers:
        raise ValueError("optimizers: none recorded")
    for label, found in optimizers.items():
        found = _mapping(found)
        # Null when no rate could be suggested; never absent (the report shows it).
        _field(f"{label}.suggested", _number, _present(found, "suggested", f"{label}."))
        grid = found.get("grid")
        if isinstance(grid, dict):
            for name in ("start", "stop"):
                _field(f"{label}.grid.{name}", _number, _present(grid, name, f"{label}.grid."))
            _field(f"{label}.grid.num", _count, grid.get("num"))
        elif not isinstance(grid, list) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in grid):
            raise ValueError(f"{label}.grid: expected a range or a list of rates, got "
                             f"{brief(grid)}")
        rules = _mapping(found.get("rules"))
        if not rules:
            raise ValueError(f"{label}.rules: none recorded")
        for rule, found_by in rules.items():
            found_by = _mapping(found_by)
            for name in ("median", "low", "high"):
                if name not in found_by:  # the report shows all three
                    raise ValueError(f"{label}.rules.{rule}.{name}: missing")
                _field(f"{label}.rules.{rule}.{name}", _number, found_by[name])
    return dict(data)


# The numbers an adaptive sweep's decisions carry (settle.json), each a number or null.
_SETTLE_NUMBERS = ("learning_rate", "best", "best_mean", "best_seeds", "look", "of", "level",
                   "tolerance", "difference", "low", "high", "p_holm", "n")


def parse_halving(data: Mapping[str, Any]) -> dict[str, Any]:
    """halving.json's content, checked where readers use it: a rule whose rungs are
    epochs, and decisions each naming its experiment, rung, setting and the rates dropped
    (numbers, or null). Raises ``ValueError`` saying where it is wrong."""
    rule = _object("rule", data.get("rule"))
    for key in ("min_epochs", "reduction"):
        _field(f"rule.{key}", _count, rule.get(key))
    _field("rule.alpha", _number, rule.get("alpha"))
    for epoch in _list("rule.rungs", rule.get("rungs")):
        _field("rule.rungs", _count, epoch)
    for number, found in enumerate(_list("decisions", data.get("decisions")), start=1):
        where = f"decisions[{number}]"
        found = _object(where, found)
        _field(f"{where}.experiment", _text, found.get("experiment"))
        _field(f"{where}.setting", _text, found.get("setting"))
        _field(f"{where}.rung", _count, found.get("rung"))
        _field(f"{where}.epoch", _count, found.get("epoch"))
        for drop in _list(f"{where}.dropped", found.get("dropped", [])):
            drop = _object(f"{where}.dropped", drop)
            _field(f"{where}.dropped.learning_rate", _number, drop.get("learning_rate"))
            _field(f"{where}.dropped.by", _text, drop.get("by"))
            for key in ("than", "p", "difference"):
                if drop.get(key) is not None:
                    _field(f"{where}.dropped.{key}", _number, drop[key])
    return dict(data)


def parse_plan(data: Mapping[str, Any]) -> dict[str, Any]:
    """plan.json's content, checked where readers use it: the trials planned so far, each
    an object naming its ``trial_id`` (its parameters beside it), and the trials a
    model-based sampler has yet to ask for, each naming its optimizer, seed and point.
    Raises ``ValueError`` saying where it is wrong."""
    for number, found in enumerate(_list("trials", data.get("trials")), start=1):
        found = _object(f"trials[{number}]", found)
        _field(f"trials[{number}].trial_id", _text, found.get("trial_id"))
        for key, value in found.items():  # parameters are what params.json holds: scalars
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise ValueError(f"trials[{number}].{key}: expected a number, text, true, "
                                 f"false or null, got {brief(value)}")
    for number, found in enumerate(_list("unasked", data.get("unasked", [])), start=1):
        found = _object(f"unasked[{number}]", found)
        _field(f"unasked[{number}].optimizer", _text, found.get("optimizer"))
        for key in ("seed", "point"):
            _field(f"unasked[{number}].{key}", _count, found.get(key))
    return dict(data)


def plan_record(trials: Sequence[Trial], config: ExperimentConfig | None, *,
                asked: int) -> dict[str, Any]:
    """plan.json: every trial planned so far, in the run's order, with its parameters, and
    the trials a model-based sampler has yet to ask for (``asked`` points so far): their
    settings are unknown until then, but not that each optimizer trains one per seed."""
    unasked = ([{"optimizer": entry.name, "seed": seed, "point": point}
                for point in range(asked, config.points)
                for entry in config.sweep.optimizers for seed in config.sweep.seeds]
               if config is not None and config.sweep.model_based else [])
    return {"trials": [{"trial_id": t.trial_id, **t.params()} for t in trials],
            "unasked": unasked}


def parse_settle(data: Mapping[str, Any]) -> dict[str, Any]:
    """settle.json's content, checked where readers use it: a rule, a list of rounds, each
    with lists of decisions (objects whose numbers are numbers or null, whose calls are
    objects too) and of additions. Raises ``ValueError`` saying where it is wrong."""
    rule = _object("rule", data.get("rule"))
    for key in ("alpha", "tolerance", "level", "looks"):
        if rule.get(key) is not None:
            _field(f"rule.{key}", _number, rule[key])
    _list("rule.schedule", rule.get("schedule", []))
    for number, found in enumerate(_list("rounds", data.get("rounds")), start=1):
        where = f"round {number}"
        found = _object(where, found)
        _list(f"{where}.added", found.get("added", []))
        for decision in _list(f"{where}.decisions", found.get("decisions", [])):
            decision = _object(f"{where}.decisions", decision)
            calls = [_object(f"{where}.calls", c)
                     for c in _list(f"{where}.calls", decision.get("calls", []))]
            for item in (decision, *calls):
                for key in _SETTLE_NUMBERS:
                    if item.get(key) is not None:
                        _field(f"{where}.{key}", _number, item[key])
    outcome = data.get("outcome")
    if outcome is not None:
        _object("outcome.settings", _object("outcome", outcome).get("settings", {}))
    return dict(data)


def _object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {brief(value)}")
    return value


def _list(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, got {brief(value)}")
    return value


def _present(found: Mapping[str, Any], key: str, where: str = "") -> Any:
    """``found[key]``, which readers show, so that a null reads as NaN but an absent key
    is damage (``where``: the path to ``found``, for the message)."""
    if key not in found:
        raise ValueError(f"{where}{key}: missing")
    return found[key]


def _field(name: str, parse: Callable[[Any], Any], value: Any) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


# The fields of a session in ``environment.json`` that lrlab reads back, and their types.
SESSION_FIELDS: dict[str, tuple[type, ...]] = {
    "started_at": (str,), "ended_at": (str,), "ended": (str,), "command": (list,),
    "data": (dict,), "engines": (list,), "engine": (dict,), "backend": (dict,),
    "host": (str,), "lrlab": (str,), "python": (str,), "kind": (str,), "model": (dict,)}


def parse_session(session: Any) -> dict[str, Any]:
    """One session of ``environment.json``, checked: an object whose known fields hold
    what lrlab writes there (or null). Raises ``ValueError`` saying what is wrong."""
    if not isinstance(session, dict):
        raise ValueError(f"expected an object, got {brief(session)}")
    for key, kinds in SESSION_FIELDS.items():
        value = session.get(key)
        if value is not None and not isinstance(value, kinds):
            raise ValueError(f"{key}: expected a {kinds[0].__name__}, got {brief(value)}")
    if not all(isinstance(part, str) for part in session.get("command") or []):
        raise ValueError("command: expected a list of strings")
    return session


@dataclass(frozen=True)
class TrialResult:
    """The content of a trial's ``result.json``, typed. Its layout, its ``results.csv``
    row and its columns of the tidy frame all come from one schema, :data:`RESULT_SCHEMA`."""

    trial_id: str
    status: TrialStatus
    epochs: int = 0
    diverged_epoch: int | None = None
    initial_loss: float = math.nan
    final: Mapping[str, float] = field(default_factory=dict)  # EPOCH_METRICS at the last epoch
    best: Mapping[str, float] = field(default_factory=dict)  # "epoch" and EPOCH_METRICS
    # The test split's loss and metrics, by name (loss, accuracy...), once at the end.
    test: Mapping[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    stack_size: int = 1
    compile_seconds: float | None = None
    stopped_epoch: int | None = None
    dead_units: float | None = None
    # Why the trial fails or may mislead (lrlab.analysis.failures.REASONS), in a word and
    # with the numbers that show it; None when it shows no such sign.
    failure: str | None = None
    failure_detail: str | None = None
    # What the trial was judged with: the objective, and each column's baseline (the
    # value of the constant prediction, lrlab.training.labels).
    objective: Objective = DEFAULT_OBJECTIVE
    baseline: Mapping[str, float] = field(default_factory=dict)

    @property
    def test_loss(self) -> float:
        return self.test.get("loss", math.nan)

    @classmethod
    def from_outcome(cls, trial_id: str, outcome: TrialOutcome, *, started_at: str,
                     finished_at: str, objective: Objective = DEFAULT_OBJECTIVE
                     ) -> TrialResult:
        last = outcome.history[-1] if outcome.history else None
        best = best_epoch(outcome.history, objective)
        return cls(
            trial_id=trial_id, status=outcome.status, epochs=len(outcome.history),
            diverged_epoch=outcome.diverged_epoch, initial_loss=outcome.initial_loss,
            final=last.metrics() if last else {},
            best={"epoch": best.epoch, **best.metrics()} if best else {},
            test=dict(outcome.test), objective=objective, baseline=dict(outcome.baseline),
            seconds=round(outcome.seconds, 3), started_at=started_at,
            finished_at=finished_at, error=outcome.error, stack_size=outcome.stack_size,
            compile_seconds=(None if outcome.compile_seconds is None
                             else round(outcome.compile_seconds, 3)),
            stopped_epoch=outcome.stopped_epoch,
            dead_units=None if outcome.dead_units is None else round(outcome.dead_units, 4))

    def to_json(self) -> dict[str, Any]:
        """The layout of ``result.json`` (NaN is left to the writer, which writes null)."""
        data: dict[str, Any] = {}
        for entry in RESULT_SCHEMA:
            if entry.json:
                *parents, key = entry.json
                node = data
                for parent in parents:
                    node = node.setdefault(parent, {})
                node[key] = entry.get(self)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialResult:
        """Read ``result.json``'s content back; raises ``ValueError`` saying what is wrong."""
        try:
            status = TrialStatus(data.get("status"))
        except (ValueError, TypeError):
            raise ValueError(f"unknown status {brief(data.get('status'))}; expected one of "
                             f"{', '.join(s.value for s in TrialStatus)}") from None
        values: dict[str, Any] = {"trial_id": "", "status": status}
        try:
            for entry in RESULT_SCHEMA:
                if entry.attribute and entry.attribute != "status":
                    raw: Any = data
                    for key in entry.json:
                        raw = _mapping(raw).get(key)
                    if raw is not None or entry.parse in (_number, _metrics, _best,
                                                          _objective):
                        try:
                            values[entry.attribute] = entry.parse(raw)
                        except (ValueError, TypeError, OverflowError) as exc:
                            raise ValueError(f"{'.'.join(entry.json)}: {exc}") from None
            return cls(**values)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"malformed ({exc})") from None

    def row(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """This trial's row of ``results.csv``: trial_id, params, then the result's
        columns (RESULT_COLUMNS for the default objective; its own for another)."""
        row = {"trial_id": self.trial_id, **params}
        for entry in RESULT_SCHEMA:
            if entry.csv:
                row[entry.csv] = entry.get(self)
            elif entry.cells is not None:
                row.update(entry.cells(self))
        return row

    def frame_fields(self) -> dict[str, Any]:
        """The trial-level columns of the tidy frame (FRAME_TRIAL_COLUMNS, and a test
        column per metric of the objective)."""
        fields = {}
        for entry in RESULT_SCHEMA:
            if entry.frame:
                fields[entry.frame] = entry.get(self)
            elif entry.frame_cells is not None:
                fields.update(entry.frame_cells(self))
        return fields


@dataclass(frozen=True)
class ResultField:
    """One entry of a trial's result: where ``result.json`` keeps it (a path of keys), the
    attribute of :class:`TrialResult` it reads back into and how, and the column it is in
    ``results.csv`` and in the tidy frame (None: not there)."""

    json: tuple[str, ...]
    get: Callable[[TrialResult], Any]
    attribute: str | None = None
    parse: Callable[[Any], Any] = _text
    csv: str | None = None
    frame: str | None = None
    # Several columns at once, named by the objective (results.csv's; the frame's).
    cells: Callable[[TrialResult], dict[str, Any]] | None = None
    frame_cells: Callable[[TrialResult], dict[str, Any]] | None = None


def _attribute(name: str, parse: Callable[[Any], Any], *, csv: str | None = None,
               frame: str | None = None, json: tuple[str, ...] | None = None) -> ResultField:
    return ResultField(json=json or (name,), get=operator.attrgetter(name), attribute=name,
                       parse=parse, csv=csv, frame=frame)


# The one schema, in result.json's order (results.csv's and the frame's follow it).
RESULT_SCHEMA: tuple[ResultField, ...] = (
    _attribute("trial_id", _text),
    ResultField(("status",), lambda r: r.status.value, attribute="status", csv="status",
                frame="status"),
    _attribute("epochs", _count, csv="epochs"),
    _attribute("diverged_epoch", _optional_int, csv="diverged_epoch", frame="diverged_epoch"),
    _attribute("initial_loss", _number, csv="initial_loss", frame="initial_loss"),
    ResultField(("final",), lambda r: dict(r.final), attribute="final", parse=_metrics),
    ResultField((), lambda r: None, cells=lambda r: {
        c: r.final.get(c) for c in r.objective.epoch_columns()}),
    ResultField(("best",), lambda r: dict(r.best) or None, attribute="best", parse=_best),
    ResultField((), lambda r: r.best.get("epoch"), csv="best_epoch"),
    ResultField((), lambda r: None, cells=lambda r: {
        f"best_{r.objective.verdict}": r.best.get(r.objective.verdict)}),
    ResultField(("test",), lambda r: dict(r.test), attribute="test", parse=_metrics,
                cells=lambda r: {c: r.test.get(c.removeprefix("test_"))
                                 for c in r.objective.test_columns()},
                frame_cells=lambda r: {c: r.test.get(c.removeprefix("test_"), math.nan)
                                       for c in r.objective.test_columns()}),
    # The frame's rows also carry each epoch's ``seconds``: the trial's is trial_seconds.
    _attribute("seconds", _number, csv="seconds", frame="trial_seconds"),
    _attribute("started_at", _text),
    _attribute("finished_at", _text),
    _attribute("error", _text, csv="error"),
    _attribute("stack_size", lambda v: _count(v) or 1),
    _attribute("compile_seconds", _optional_float),
    _attribute("stopped_epoch", _optional_int, csv="stopped_epoch", frame="stopped_epoch"),
    _attribute("dead_units", _optional_float, csv="dead_units", frame="dead_units"),
    _attribute("failure", _text, json=("failure", "reason"), csv="failure", frame="failure"),
    _attribute("failure_detail", _text, json=("failure", "detail")),
    ResultField(("objective",), lambda r: r.objective.to_dict(), attribute="objective",
                parse=_objective),
    ResultField(("baseline",), lambda r: dict(r.baseline) or None, attribute="baseline",
                parse=_metrics),
)
# results.csv: trial_id, the trial's parameters (which vary with the sweep), then these
# (for the default objective; another names its own metrics' columns).
RESULT_COLUMNS = tuple(TrialResult(trial_id="", status=TrialStatus.COMPLETED).row({}))[1:]
# The trial-level columns of lrlab.rundir.loading's tidy frame (the default objective's).
FRAME_TRIAL_COLUMNS = tuple(TrialResult(trial_id="", status=TrialStatus.COMPLETED)
                            .frame_fields())


def results_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """trial_id, the parameters (in first-seen order), then the result's columns (from
    ``status`` on, in first-seen order)."""
    params: list[str] = ["trial_id"]
    results: dict[str, None] = {}
    for row in rows:
        keys = list(row)
        cut = keys.index("status") if "status" in keys else len(keys)
        # A parameter named as a result column (epochs) is the result's column.
        params += [k for k in keys[:cut] if k not in params and k not in RESULT_COLUMNS]
        results.update(dict.fromkeys(keys[cut:]))
    return params + [k for k in (results or dict.fromkeys(RESULT_COLUMNS)) if k not in params]


# path.json's roles: a rate too small, the best rate and a rate too large (lrlab path).
PATH_ROLES = ("too small", "best", "too large")


def parse_path(data: Mapping[str, Any]) -> dict[str, Any]:
    """path.json's content (lrlab path), checked where readers use it: per setting, its
    traced trials, each with a role, a rate, its path's coordinates (pairs), its line's
    curve and its loss grid (a row of numbers or nulls per value of the second axis).
    Raises ``ValueError`` saying where it is wrong."""
    for number, found in enumerate(_list("paths", data.get("paths")), start=1):
        where = f"paths[{number}]"
        found = _object(where, found)
        for key in ("sweep", "optimizer", "label"):
            _field(f"{where}.{key}", _text, found.get(key))
        for index, trial in enumerate(_list(f"{where}.trials", found.get("trials")), start=1):
            at = f"{where}.trials[{index}]"
            trial = _object(at, trial)
            if trial.get("role") not in PATH_ROLES:
                raise ValueError(f"{at}.role: expected one of {', '.join(PATH_ROLES)}")
            _field(f"{at}.learning_rate", _number, trial.get("learning_rate"))
            for pair in _list(f"{at}.coordinates", trial.get("coordinates")):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError(f"{at}.coordinates: expected pairs of numbers")
            line = _object(f"{at}.line", trial.get("line"))
            if len(_list(f"{at}.line.alpha", line.get("alpha"))) != len(
                    _list(f"{at}.line.loss", line.get("loss"))):
                raise ValueError(f"{at}.line: expected as many losses as alphas")
            grid = _object(f"{at}.grid", trial.get("grid"))
            first = _list(f"{at}.grid.first", grid.get("first"))
            rows = _list(f"{at}.grid.loss", grid.get("loss"))
            if len(rows) != len(_list(f"{at}.grid.second", grid.get("second"))) or any(
                    not isinstance(row, list) or len(row) != len(first) for row in rows):
                raise ValueError(f"{at}.grid.loss: expected a row per second value, each "
                                 f"a loss per first value")
    return dict(data)
