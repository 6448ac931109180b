"""Comparing trials: per-trial values, seed statistics, and the verdict per optimizer setting.

Pure pandas (and :mod:`lrlab.analysis.stats`) over the tidy frame of
:func:`lrlab.rundir.loading.load_runs`; no files, no printing.

The verdict is a statistician's, not a leaderboard's. Within one optimizer setting (an
optimizer with its other hyperparameters and schedule), every rate is compared with the one
of best mean *paired by seed* (trials of a seed share initial weights and batch order), with
Holm's correction for the number of rates compared: the verdict names the best rate and the
rates that cannot be told apart from it (its *tied set*), with intervals. Population filters
(``where``) choose which trials the verdict is about; display options (sort, top) never
change it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import lrlab.analysis.judge as judge
import lrlab.analysis.stats as stats
from lrlab.analysis.axes import AlongAxis, Edge, Scaling, along_axes, find_edges
from lrlab.analysis.failures import FAILING, Failure, rate_failures, records_of, too_small
from lrlab.analysis.importance import Importance, importances
from lrlab.analysis.selection import Selection
from lrlab.analysis.stability import Stability, stability_of
from lrlab.errors import LrlabError
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, Objective, base_of, split_of
from lrlab.experiment.trials import CONTEXT_KEYS
from lrlab.formatting import rate as format_rate
from lrlab.rundir.loading import (
    BASELINE_ATTR,
    CHANCE_ATTR,
    OBJECTIVE_ATTR,
    PARAMS_ATTR,
    SAMPLED_ATTR,
    SPLIT_SIZES_ATTR,
    TRAIN_IMAGES_ATTR,
)
from lrlab.rundir.records import (
    FINISHED_STATUSES,
    RUNNING,
    SURFACE_COLUMNS,
    UNRECORDED_CHANCE,
    TrialStatus,
)

# Fewer examples than this, and one example moves an accuracy by more than a percent: the
# split can rank only rates far apart.
SMALL_SPLIT = 100


class CompareError(LrlabError):
    """A comparison was asked for something the runs cannot answer."""


def higher_is_better(metric: str, objective: Objective = DEFAULT_OBJECTIVE) -> bool:
    return objective.higher_is_better(metric)


def objective_of(frame: pd.DataFrame, metric: str | None = None) -> Objective:
    """The objective the frame's sweeps were judged with (lrlab's default for older
    runs). Sweeps whose objectives give ``metric`` different meanings cannot be compared."""
    objectives = list(frame.attrs.get(OBJECTIVE_ATTR, {}).values()) or [DEFAULT_OBJECTIVE]
    first = objectives[0]
    if metric is not None:
        for other in objectives[1:]:
            if other.knows(metric) and (other.higher_is_better(metric),
                                        other.value_range(metric)) != (
                    first.higher_is_better(metric), first.value_range(metric)):
                raise CompareError("the sweeps' objectives give it different meanings; "
                                   "compare them apart", about={"metric": repr(metric)})
    return first


def baselines_of(frame: pd.DataFrame, metric: str,
                  objective: Objective = DEFAULT_OBJECTIVE) -> dict[str, float]:
    """Each sweep's baseline of ``metric``: the value of the constant prediction (the
    majority class for an accuracy), as its first trial recorded it; for older runs the
    recorded chance of an accuracy (0.1 where none: they trained on ten classes), and
    nothing for a loss, whose yardstick was each trial's own initial loss."""
    if "sweep" not in frame:
        return {}
    recorded = frame.attrs.get(CHANCE_ATTR, {})
    baselines = frame.attrs.get(BASELINE_ATTR, {})
    found = {}
    for sweep in frame["sweep"].unique():
        sweep = str(sweep)
        first = next((b for key, b in baselines.items() if key.startswith(f"{sweep}/")
                      and metric in b), None)
        if first is not None and math.isfinite(first[metric]):
            found[sweep] = first[metric]
        elif base_of(metric).endswith("accuracy"):
            found[sweep] = recorded.get(sweep, {}).get(metric, UNRECORDED_CHANCE)
    return found


def drawn_baseline(baselines: Mapping[str, float]) -> float | None:
    """The one baseline to draw for several sweeps: the highest (None: none recorded)."""
    return max(baselines.values()) if baselines else None


def default_metric(frame: pd.DataFrame) -> str:
    """The objective's verdict column (validation accuracy by default), or its test value
    for sweeps run without a validation set."""
    objective = objective_of(frame)
    verdict = objective.verdict
    has_validation = verdict in frame and frame[verdict].notna().any()
    return judge.default_metric(objective, has_validation=has_validation)


def parse_at(at: str | int) -> str | int:
    """``best``, ``last``, or an epoch number >= 1."""
    if isinstance(at, int) or str(at).isdigit():
        epoch = int(at)
        if epoch < 1:
            raise CompareError("epochs are numbered from 1", about={"at": str(at)})
        return epoch
    if at in ("best", "last"):
        return str(at)
    raise CompareError("expected best, last, or an epoch number", about={"at": repr(at)})


def describe_at(at: str | int) -> str:
    """``at each trial's best epoch``, ``at the last epoch``, ``at epoch 2``."""
    return {"best": "at each trial's best epoch", "last": "at the last epoch"}.get(
        str(at), f"at epoch {at}")


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The parameters that tell settings apart (all but the seed), in frame order: the
    keys of the trials' params.json, as :func:`lrlab.rundir.loading.load_runs` lists them."""
    params = frame.attrs.get(PARAMS_ATTR)
    if params is None:
        raise CompareError("the frame does not say which columns are trial parameters; "
                           "load it with lrlab.load_runs")
    return [c for c in params if c != "seed" and c in frame.columns]


def varied_columns(frame: pd.DataFrame, *, within_sweep: bool = False) -> list[str]:
    """Parameters besides optimizer and learning rate that take more than one value; with
    ``within_sweep``, more than one within some sweep (a part of its design), not merely
    from one sweep to another (two experiments that differ in it)."""
    columns = [c for c in param_columns(frame) if c not in ("optimizer", "learning_rate")]
    if not columns:
        return []
    counts = (frame.groupby("sweep", sort=False)[columns].nunique(dropna=True).max()
              if within_sweep and "sweep" in frame else frame[columns].nunique(dropna=True))
    return [c for c in columns if counts[c] > 1]


def setting_label(optimizer: str, setting: str) -> str:
    return f"{optimizer} ({setting})" if setting else optimizer


def select(frame: pd.DataFrame, where: Iterable[str] | Selection = ()) -> Selection:
    """``where`` parsed and checked against the columns of a frame of runs."""
    selection = Selection.parse(where)
    selection.check(frame, choices=[*param_columns(frame), "seed", "status", "sweep"])
    return selection


# -- per-trial values --------------------------------------------------------------------


def trial_values(frame: pd.DataFrame, *, metric: str, at: str | int,
                 baselines: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per trial: its parameters, status, the metric ``at`` an epoch, the epoch the
    value comes from, its final training loss, wall time, and whether it ``stalled``
    (completed without the metric clearly beating chance, or its initial loss)."""
    objective = objective_of(frame, metric)
    # A column the objective names but no trial recorded (a damaged result.json) is as
    # unknown as a misspelt one.
    if not objective.knows(metric) or metric not in frame:
        known = [c for c in objective.columns() if c in frame]
        raise CompareError(f"not recorded; expected one of: {', '.join(known)}",
                           about={"metric": repr(metric)})
    at = parse_at(at)
    frame = frame.assign(_trial=frame["sweep"] + "/" + frame["trial_id"])
    recorded = frame.dropna(subset=["epoch"])
    if isinstance(at, int) and metric in objective.epoch_columns():
        top = int(recorded["epoch"].max()) if len(recorded) else 0
        if at > top:
            raise CompareError(f"beyond the recorded epochs (the longest trial has {top})",
                               about={"at": str(at)})
    trials = frame.drop_duplicates("_trial").set_index("_trial")
    keep = [c for c in ("sweep", "trial_id", *param_columns(frame), "seed", "status",
                        "diverged_epoch", "initial_loss", "trial_seconds", "stopped_epoch",
                        "dead_units", *SURFACE_COLUMNS)
            if c in trials.columns]
    out = trials[keep].copy()
    last = recorded.sort_values("epoch").groupby("_trial").tail(1).set_index("_trial")
    out["final_loss"] = last["loss"]
    out["last_epoch"] = last["epoch"]
    if metric in objective.test_columns():
        out["value"], out["value_epoch"] = trials[metric], last["epoch"]
    else:
        chosen = _pick_epochs(recorded, metric=metric, at=at, last=last, objective=objective)
        out["value"], out["value_epoch"] = chosen[metric], chosen["epoch"]
    floors = baselines_of(frame, metric, objective) if baselines is None else baselines
    out["stalled"] = (out["status"].isin((TrialStatus.COMPLETED.value,
                                          TrialStatus.STOPPED.value))
                      & ~_learns(out, metric, floors, objective,
                                 frame.attrs.get(BASELINE_ATTR, {})))
    return out.reset_index(drop=True)


def _learns(values: pd.DataFrame, metric: str, floors: Mapping[str, float],
            objective: Objective, baselines: Mapping[str, Mapping[str, float]]) -> pd.Series:
    """Whether each trial beat its baseline, as the one judge says (judge.learns)."""
    learned = []
    for sweep, trial_id, value, initial in zip(
            values["sweep"], values["trial_id"], values["value"].astype(float),
            values["initial_loss"].astype(float), strict=True):
        recorded = baselines.get(f"{sweep}/{trial_id}", {})
        floor = judge.baseline_of(metric, recorded, chance=floors.get(sweep),
                                  initial_loss=initial)
        learned.append(judge.learns(objective, metric, value, floor,
                                    recorded=metric in recorded))
    return pd.Series(learned, index=values.index, dtype=bool)


def _pick_epochs(recorded: pd.DataFrame, *, metric: str, at: str | int,
                 last: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    if at == "last":
        return last
    if isinstance(at, int):
        return recorded[recorded["epoch"] == at].set_index("_trial")
    finite = recorded[np.isfinite(recorded[metric].astype(float))]
    if finite.empty:
        return finite.set_index("_trial")
    # The best epoch, the earliest on ties: judge.pick's rule, over every trial at once.
    best = (finite.groupby("_trial")[metric].idxmax() if objective.higher_is_better(metric)
            else finite.groupby("_trial")[metric].idxmin())
    return finite.loc[best.to_numpy()].set_index("_trial")


# -- the comparison ----------------------------------------------------------------------


@dataclass(frozen=True)
class RateVersusBest:
    """One rate against the best rate of its setting, paired by seed. ``difference`` is
    how much worse it is (best minus it for accuracies, it minus best for losses)."""

    learning_rate: float
    difference: stats.PairedDifference
    p_adjusted: float  # Holm-corrected over the setting's comparisons; NaN: untested
    mark: str  # "tied" (not told apart at the 5% level), "worse", "untested" (< 2 seeds
    # shared with the best: nothing can be told) or "fails" (a seed diverged or stalled:
    # never tied with the best, whatever the noise)
    seeds_needed: int | None  # for the closest tied rate: seeds a paired test would need
    # at the spread seen (None for the others, or beyond stats.MAX_SEEDS)

    @property
    def tied(self) -> bool:
        return self.mark == "tied"


def value_range(metric: str, objective: Objective = DEFAULT_OBJECTIVE) -> tuple[float, float]:
    """Where the metric's values, and so their means, lie: [0, 1] for accuracies and AUC,
    [0, inf) for losses and errors, (-inf, 1] for R² (the objective says). A t-interval
    knows nothing of that, so intervals are clipped to it: the true mean is inside the
    range, so clipping never lowers the interval's coverage, and a reader never sees an
    accuracy of 1.0042."""
    return objective.value_range(metric)


def clip_interval(low: Any, high: Any, metric: str,
                  objective: Objective = DEFAULT_OBJECTIVE) -> tuple[Any, Any]:
    """``low`` and ``high`` (numbers or arrays) clipped to the metric's range."""
    bottom, top = value_range(metric, objective)
    return np.clip(low, bottom, top), np.clip(high, bottom, top)


def in_metric_units(difference: stats.PairedDifference, metric: str,
                    objective: Objective = DEFAULT_OBJECTIVE) -> tuple[float, ...]:
    """A "how much worse" difference as (mean, low, high) of *this minus the best*, in
    the metric's own units: negative for a worse accuracy, positive for a worse loss. A
    difference of two values of a bounded metric lies within its width: its interval is
    clipped there."""
    sign = -1.0 if objective.higher_is_better(metric) else 1.0
    low, high = sorted((sign * difference.low, sign * difference.high))
    bottom, top = objective.value_range(metric)
    width = top - bottom
    if math.isfinite(width):
        low, high = max(low, -width), min(high, width)
    return sign * difference.mean, low, high


@dataclass(frozen=True)
class Verdict:
    """What a sweep says about one optimizer setting."""

    sweep: str
    optimizer: str
    setting: str  # the other varied parameters, "" when none vary
    metric: str
    best_learning_rate: float
    best_mean: float
    best_std: float
    best_n: int
    best_low: float  # 95% interval of the best rate's mean over seeds
    best_high: float
    best_by_seed: tuple[tuple[int, float], ...]  # (seed, value) of the best rate
    tied: tuple[float, ...]  # rates not told apart from the best, best included, ascending
    versus_best: tuple[RateVersusBest, ...]  # every other rate
    largest_learning: float | None  # largest rate where no seed diverged or stalled
    provisional: bool  # the sweep is unfinished: more trials may change this
    # False when every rate diverged or stalled on a seed: then nothing is best, nothing
    # is tied, and best_* describe the least bad rate only as the differences' reference.
    learns: bool = True
    settings: tuple[tuple[str, Any], ...] = ()  # the varied parameters ``setting`` names
    # The best rate, or the largest that learns, at an end of the rates tried.
    edges: tuple[Edge, ...] = ()
    # Settings drawn with each rate (a sampler's point), as the best rate's trials had them.
    best_with: tuple[tuple[str, Any], ...] = ()
    best_epoch: float = math.nan  # the median epoch the best rate's value comes from
    # Why rates fail or may mislead (see failures): (rate, its reasons), rates with any.
    failures: tuple[tuple[float, tuple[Failure, ...]], ...] = ()
    # How many examples the metric is measured on (None: not recorded), and the rates at
    # which every seed scored a perfect accuracy: past it, the split cannot rank them.
    examples: int | None = None
    saturated: tuple[float, ...] = ()
    # What the metric means (its direction and range): the sweeps' objective.
    objective: Objective = DEFAULT_OBJECTIVE
    # Where the rates stand against the stability edge at the initial weights (None: the
    # sweep did not measure the sharpness; lrlab.analysis.stability).
    stability: Stability | None = None
    # The rates a halving sweep dropped, with the epoch of the rung each was dropped at:
    # never best, never tied (halving.json says on what evidence).
    pruned: tuple[tuple[float, int], ...] = ()

    @property
    def label(self) -> str:
        return setting_label(self.optimizer, self.setting)

    @property
    def single_seed(self) -> bool:
        return self.best_n < 2

    @property
    def closest(self) -> RateVersusBest | None:
        """The tied rate nearest the best (where more seeds would most likely help)."""
        close = [c for c in self.versus_best if c.tied and math.isfinite(c.difference.mean)]
        return min(close, key=lambda c: abs(c.difference.mean), default=None)

    @property
    def untested(self) -> tuple[float, ...]:
        return tuple(sorted(c.learning_rate for c in self.versus_best
                            if c.mark == "untested"))

    @property
    def weak_split(self) -> bool:
        """Whether the split the metric is measured on is too small or too easy to rank
        the rates: fewer than SMALL_SPLIT examples, or a perfect score somewhere."""
        return bool(self.saturated) or (self.examples is not None
                                        and self.examples < SMALL_SPLIT)


@dataclass(frozen=True)
class OptimizerVersus:
    """The best rate of one optimizer setting against the best setting's best rate, in
    the same sweep, paired by seed."""

    sweep: str
    best: str  # label of the best setting and its rate
    other: str
    difference: stats.PairedDifference  # how much worse ``other`` is
    p_adjusted: float
    mark: str  # as RateVersusBest's


@dataclass(frozen=True)
class SweepProgress:
    """How much of a sweep (within the population chosen by ``where``) has a result."""

    sweep: str
    planned: int | None  # trials sweep.yaml plans; None when it cannot tell
    finished: int  # completed, stopped or diverged (TrialStatus.finished)
    failed: int
    interrupted: int
    running: int
    pruned: int = 0  # dropped at a halving rung: settled, never ranked
    paused: int = 0  # at a halving rung, awaiting its decision

    @property
    def not_started(self) -> int:
        if self.planned is None:
            return 0
        return max(0, self.planned - self.finished - self.failed - self.interrupted
                   - self.running - self.pruned - self.paused)

    @property
    def unfinished(self) -> bool:
        return bool(self.running or self.interrupted or self.paused or self.not_started)


@dataclass
class Comparison:
    """Everything ``lrlab compare`` reports; the verdicts are over every trial the
    population filters keep, whatever :meth:`shown` displays."""

    metric: str
    at: str | int
    summary: pd.DataFrame  # one row per setting and rate, with the verdict's columns
    verdicts: list[Verdict] = field(default_factory=list)
    optimizers: list[OptimizerVersus] = field(default_factory=list)
    progress: list[SweepProgress] = field(default_factory=list)
    # Each sweep's baseline of the metric: chance for an accuracy, the constant
    # prediction's value for any metric (see baselines_of; {} for an older run's loss).
    baselines: dict[str, float] = field(default_factory=dict)
    # How the best rate moves along each axis, and with the batch size (see axes).
    along: list[AlongAxis] = field(default_factory=list)
    scaling: list[Scaling] = field(default_factory=list)
    # The same slope along every other numeric axis (width, depth, data, epochs): where
    # the best rate holds, it transfers.
    slopes: list[Scaling] = field(default_factory=list)
    # The parameters that make a setting (one verdict each; see setting_columns), and
    # those drawn with the rate (sampled together: part of a candidate, not a setting).
    setting_columns: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    # What the metric means: the objective the sweeps were judged with.
    objective: Objective = DEFAULT_OBJECTIVE
    # A sampled sweep's settings by how much each matters (the rate and those drawn with
    # it), per optimizer: see lrlab.analysis.importance.
    importance: list[Importance] = field(default_factory=list)

    @property
    def baseline(self) -> float | None:
        return drawn_baseline(self.baselines)

    @property
    def provisional(self) -> bool:
        return any(p.unfinished for p in self.progress)

    def shown(self, *, sort: str | None = None, top: int | None = None) -> pd.DataFrame:
        """The rows to display: sorted by a column ('mean' sorts best first), the ``top``
        best. Only what is shown changes."""
        table = self.summary
        if sort is not None:
            table = _sorted(table, sort, metric=self.metric, objective=self.objective)
        if top is not None:
            if top < 1:
                raise CompareError("expected a number >= 1", about={"top": str(top)})
            ranked = (_sorted(table, "mean", metric=self.metric, objective=self.objective)
                      if sort is None else table)
            table = ranked.head(top)
        shown = table.reset_index(drop=True)
        shown.attrs = dict(self.summary.attrs)
        return shown


def compare_runs(frame: pd.DataFrame, *, metric: str | None = None, at: str | int = "best",
                 where: Iterable[str] | Selection = (),
                 plans: Mapping[str, pd.DataFrame | None] | None = None) -> Comparison:
    """Compare the trials of ``frame`` (from :func:`lrlab.rundir.loading.load_runs`) that match
    ``where``: the table of settings, a verdict per optimizer setting, the optimizers
    against each other, and how finished each sweep is (``plans``: what each sweep's
    sweep.yaml plans, from :func:`lrlab.rundir.loading.scan_runs`)."""
    if frame.empty or "sweep" not in frame:  # every trial unreadable, say
        raise CompareError("no trials to compare (every trial found is unreadable)")
    params = param_columns(frame)
    metric = metric or default_metric(frame)
    at = parse_at(at)
    objective = objective_of(frame, metric)
    floors = baselines_of(frame, metric, objective)
    baselines = frame.attrs.get(BASELINE_ATTR, {})
    sampled = frame.attrs.get(SAMPLED_ATTR, {})
    train_images = frame.attrs.get(TRAIN_IMAGES_ATTR, {})
    split_sizes = frame.attrs.get(SPLIT_SIZES_ATTR, {})
    selection = select(frame, where)
    # Read once above: pandas deep-copies a frame's attrs into every frame made from it,
    # which for 10,000 trials costs more than the statistics.
    frame = selection.apply(frame).copy(deep=False)
    frame.attrs = {PARAMS_ATTR: params, OBJECTIVE_ATTR: {"": objective},
                   BASELINE_ATTR: baselines}
    progress = [_progress(sweep, group, (plans or {}).get(str(sweep)), selection)
                for sweep, group in frame.groupby("sweep", sort=False)]
    values = trial_values(frame, metric=metric, at=at, baselines=floors)
    dropped = values[values["status"] == TrialStatus.PRUNED.value]
    values = values[values["status"].isin(FINISHED_STATUSES)]
    if values.empty:
        raise CompareError("no finished trial (completed, stopped or diverged) to compare")
    unfinished = {p.sweep for p in progress if p.unfinished}
    summary = _summary_table(values, params, metric=metric, at=at, objective=objective)
    summary.attrs[PARAMS_ATTR] = params
    carried = sorted({c for columns in sampled.values() if "learning_rate" in columns
                      for c in columns if c != "learning_rate"})
    others = setting_columns(summary, carried=carried)
    # Each setting's rates together, ascending.
    summary = in_order(summary, columns=[*others, "learning_rate"])
    summary.attrs[PARAMS_ATTR] = params
    found, marks = [], {}
    pruned = _pruned(dropped, others)
    groups = values.groupby(["sweep", "optimizer", *others], dropna=False, sort=False)
    histories = _histories(frame, objective)  # once: every rate reads it
    records = dict(zip(values.index, records_of(values), strict=True))
    for _, group in sorted(groups, key=lambda item: _group_order(item[0], values)):
        sweep = str(group["sweep"].iloc[0])
        verdict = _verdict(group, others, metric=metric, provisional=sweep in unfinished,
                           carried=[c for c in carried if c in group],
                           sampled="learning_rate" in sampled.get(sweep, ()),
                           # One example moves an accuracy by 1/n: what a small split costs.
                           examples=split_sizes.get(sweep, {}).get(split_of(metric))
                           if base_of(metric).endswith("accuracy") else None,
                           objective=objective)
        failures = tuple(
            (float(rate), reasons)
            for rate, rows in sorted(group.groupby("learning_rate").indices.items())
            if (reasons := rate_failures([records[group.index[i]] for i in rows], histories,
                                         metric=metric,
                                         higher_is_better=objective.higher_is_better(metric))))
        failures = too_small(failures, sorted(float(r) for r in
                                              group["learning_rate"].unique()))
        failing = {rate: next(f.reason for f in reasons if f.reason in FAILING)
                   for rate, reasons in failures if any(f.reason in FAILING for f in reasons)}
        verdict = dataclasses.replace(
            verdict, failures=failures,
            pruned=pruned.get(_setting_key(group.iloc[0], others), ()),
            stability=stability_of(group, failing=failing, best=verdict.best_learning_rate
                                   if verdict.learns else None))
        found.append(verdict)
        key = _setting_key(group.iloc[0], others)
        marks.update({(key, row["learning_rate"]): row for row in _marks(verdict)})
    rows = [marks.get((_setting_key(row, others), row["learning_rate"]), {})
            for _, row in summary.iterrows()]
    for column in ("verdict", "vs_best", "vs_best_low", "vs_best_high", "p_holm", "learns",
                   "why"):
        summary[column] = [row.get(column, "" if column in ("verdict", "why") else math.nan)
                           for row in rows]
    along, scaling, slopes = along_axes(found, values, train_images=train_images)
    drawn = [c for c in carried if c in values]
    weighed = (importances(values, settings=["learning_rate", *drawn],
                           higher_is_better=objective.higher_is_better(metric))
               if drawn else [])
    return Comparison(metric=metric, at=at, summary=summary, verdicts=found, importance=weighed,
                      optimizers=_between_optimizers(found), progress=progress,
                      baselines={s: c for s, c in floors.items() if s in set(summary["sweep"])},
                      along=along, scaling=scaling, slopes=slopes, setting_columns=others,
                      carried=[c for c in carried if c in summary], objective=objective)


def _pruned(dropped: pd.DataFrame, others: Sequence[str]
            ) -> dict[tuple[str, ...], tuple[tuple[float, int], ...]]:
    """Each setting's rates that a halving rung dropped, with that rung's epoch (the
    epochs its trials had trained), ascending."""
    found: dict[tuple[str, ...], set[tuple[float, int]]] = {}
    for _, row in dropped.iterrows():
        epoch = row["last_epoch"]
        found.setdefault(_setting_key(row, others), set()).add(
            (float(row["learning_rate"]), int(epoch) if pd.notna(epoch) else 0))
    return {key: tuple(sorted(rates)) for key, rates in found.items()}


def _histories(frame: pd.DataFrame, objective: Objective) -> dict[str, dict[str, np.ndarray]]:
    """Each trial's recorded epochs, in order, by ``sweep/trial_id``: its loss and metric
    columns as arrays (slices of one sorted copy: no per-trial DataFrame)."""
    recorded = frame.dropna(subset=["epoch"])
    keys = (recorded["sweep"].astype(str) + "/" + recorded["trial_id"].astype(str)).to_numpy(str)
    order = np.lexsort((recorded["epoch"].to_numpy(float), keys))
    keys = keys[order]
    columns = {c: recorded[c].to_numpy(float)[order] for c in objective.epoch_columns()
               if c in recorded}
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else []
    ends = [*starts[1:], len(keys)]
    return {str(keys[a]): {c: v[a:b] for c, v in columns.items()}
            for a, b in zip(starts, ends, strict=True)}


def setting_columns(summary: pd.DataFrame, *, carried: Sequence[str] = ()) -> list[str]:
    """The parameters a sweep varies that make one optimizer setting: not one that differs
    only from one sweep to another (each sweep has verdicts of its own), not those drawn
    with the rate (a sampled point is one candidate, not a setting of its own), and not the
    model's or the data's label where a column of its own says what varies in it."""
    varied = varied_columns(summary, within_sweep=True)
    labelled = {c.split(".")[0] for c in varied if "." in c}
    return [c for c in varied if c not in carried and c not in labelled
            and not any(c.startswith(f"{x}.") for x in carried)]


def _group_order(key: tuple[Any, ...], values: pd.DataFrame) -> tuple[Any, ...]:
    """Sweeps and optimizers as they first appear; the other settings by value (numbers
    as numbers: batch size 32 before 128)."""
    sweeps = list(dict.fromkeys(values["sweep"]))
    optimizers = list(dict.fromkeys(values["optimizer"]))
    rest = tuple((0, float(v), "") if isinstance(v, (int, float, np.integer, np.floating))
                 and not isinstance(v, bool) else (1, 0.0, str(v)) for v in key[2:])
    return (sweeps.index(key[0]), optimizers.index(key[1]), *rest)


def summarize(frame: pd.DataFrame, *, metric: str = "val_accuracy", at: str | int = "best",
              where: Iterable[str] | Selection = ()) -> pd.DataFrame:
    """The comparison table alone (see :func:`compare_runs` for its columns)."""
    return compare_runs(frame, metric=metric, at=at, where=where).summary


def _setting_key(row: pd.Series, others: Sequence[str]) -> tuple[str, ...]:
    """Names one optimizer setting of one sweep, the same way for every frame."""
    return tuple(_shown(row[c]) for c in ("sweep", "optimizer", *others))


def _summary_table(values: pd.DataFrame, params: list[str], *, metric: str,
                   at: str | int, objective: Objective) -> pd.DataFrame:
    """One row per setting and rate: mean, std, n and 95% interval over seeds, the median
    epoch of the value, mean final loss, diverged and stalled seeds, mean seconds."""
    keys = ["sweep", *params]
    grouped = values.assign(
        _diverged=values["status"] == TrialStatus.DIVERGED.value).groupby(
        keys, dropna=False, sort=False)
    table = grouped.agg(mean=("value", "mean"), std=("value", "std"), n=("value", "count"),
                        epoch=("value_epoch", "median"), final_loss=("final_loss", "mean"),
                        diverged=("_diverged", "sum"), stalled=("stalled", "sum"),
                        seconds=("trial_seconds", "mean"))
    table["ci_low"], table["ci_high"] = clip_interval(*stats.mean_intervals(
        table["mean"].to_numpy(), table["std"].to_numpy(), table["n"].to_numpy()), metric,
        objective)
    table = table.reset_index()
    table.insert(len(keys), "metric", metric)
    table.insert(len(keys) + 1, "at", str(at))
    table["diverged"] = table["diverged"].astype(int)
    table["stalled"] = table["stalled"].astype(int)
    return table


def in_order(table: pd.DataFrame, *, columns: Sequence[str]) -> pd.DataFrame:
    """``table`` with sweeps and optimizers as they first appear, then sorted by
    ``columns`` by value (batch size 32, 128, 512 and rates 1e-06 before 0.1: numbers as
    numbers, never as text)."""
    first = {c: {v: i for i, v in enumerate(table[c].drop_duplicates())}
             for c in ("sweep", "optimizer") if c in table}

    def key(column: pd.Series) -> pd.Series:
        if column.name in first:
            return column.map(first[str(column.name)])
        numbers = pd.to_numeric(column, errors="coerce")
        return numbers if numbers.notna().sum() == column.notna().sum() else column.astype(str)

    keys = [c for c in ("sweep", "optimizer", *columns) if c in table]
    return table.sort_values(keys, key=key, kind="stable",
                             na_position="last").reset_index(drop=True)


def _verdict(group: pd.DataFrame, others: list[str], *, metric: str,
             provisional: bool, carried: Sequence[str] = (), sampled: bool = False,
             examples: int | None = None, objective: Objective = DEFAULT_OBJECTIVE) -> Verdict:
    """The verdict of one optimizer setting (all its rates and seeds)."""
    sign = 1.0 if objective.higher_is_better(metric) else -1.0
    per_seed = group.pivot_table(index="learning_rate", columns="seed", values="value",
                                 aggfunc="mean")
    means = per_seed.mean(axis=1).dropna()
    if means.empty:  # every value missing: a column its trials never measured
        raise CompareError(f"no trial of {group['optimizer'].iloc[0]} in "
                           f"{group['sweep'].iloc[0]} has a value of it",
                           about={"metric": repr(metric)})
    bad = group[(group["status"] == TrialStatus.DIVERGED.value) | group["stalled"]]
    failing = set(bad["learning_rate"])
    # The best is chosen among the rates that learn: a rate that diverged or stalled on a
    # seed is no one's recommendation. Where none learns, the verdict says so and names no
    # best (the least bad rate is kept only as the reference of the differences).
    learners = means[~means.index.isin(failing)]
    learns = not learners.empty
    candidates = learners if learns else means
    best_rate = float((candidates if sign > 0 else -candidates).idxmax())
    best = per_seed.loc[best_rate]
    best_values = best.dropna()
    comparisons = []
    for rate in means.index:
        if rate == best_rate:
            continue
        both = best.notna() & per_seed.loc[rate].notna()
        difference = stats.paired_difference(sign * best[both], sign * per_seed.loc[rate][both])
        comparisons.append((float(rate), difference))
    adjusted = stats.holm([d.p_value for _, d in comparisons])
    versus = [RateVersusBest(rate, d, p, mark="fails" if rate in failing else _mark(p),
                             seeds_needed=None)
              for (rate, d), p in zip(comparisons, adjusted, strict=True)]
    # How many seeds would settle it: asked of the closest rival, where it is the question.
    tied_rivals = [c for c in versus if c.tied and math.isfinite(c.difference.mean)]
    if tied_rivals:
        closest = min(tied_rivals, key=lambda c: abs(c.difference.mean))
        versus[versus.index(closest)] = dataclasses.replace(closest, seeds_needed=(
            stats.seeds_needed(closest.difference.mean, closest.difference.sd,
                               comparisons=len(comparisons))))
    tied = sorted([best_rate, *(c.learning_rate for c in versus if c.tied)]) if learns else []
    learning = sorted(set(group["learning_rate"]) - failing)
    first = group.iloc[0]
    low, high = (float(v) for v in clip_interval(*stats.mean_interval(best_values), metric,
                                                 objective))
    settings = tuple((c, first[c]) for c in others if not _missing(first[c]))
    at_best = group[group["learning_rate"] == best_rate]
    return Verdict(
        sweep=str(first["sweep"]), optimizer=str(first["optimizer"]),
        setting=", ".join(f"{c}={_shown(v)}" for c, v in settings), settings=settings,
        # Every rate tried, those without a value too: a diverged regression reads inf,
        # so its rate has no mean, yet it was tried and bounds the range.
        edges=find_edges(sorted(float(r) for r in group["learning_rate"].unique()),
                         best=best_rate if learns else None,
                         largest_learning=float(learning[-1]) if learning else None,
                         sampled=sampled),
        best_with=tuple((c, at_best[c].iloc[0]) for c in carried if c in at_best),
        best_epoch=float(at_best["value_epoch"].median()),
        metric=metric, best_learning_rate=best_rate, best_mean=float(best_values.mean()),
        best_std=float(best_values.std(ddof=1)) if len(best_values) > 1 else math.nan,
        best_n=len(best_values), best_low=low, best_high=high,
        best_by_seed=tuple((int(seed), float(v)) for seed, v in best_values.items()),
        tied=tuple(tied),
        versus_best=tuple(versus), largest_learning=float(learning[-1]) if learning else None,
        provisional=provisional, learns=learns, examples=examples,
        saturated=tuple(float(r) for r in per_seed.index[(per_seed >= 1.0).all(axis=1)])
        if objective.higher_is_better(metric) and objective.value_range(metric) == (0.0, 1.0)
        else (), objective=objective)


def _marks(verdict: Verdict) -> list[dict[str, object]]:
    """The verdict's columns of the summary, for each rate of the setting."""
    rows = [{"learning_rate": verdict.best_learning_rate,
             "verdict": "best" if verdict.learns else "fails", "vs_best": 0.0,
             "vs_best_low": math.nan, "vs_best_high": math.nan, "p_holm": math.nan}]
    for c in verdict.versus_best:
        mean, low, high = in_metric_units(c.difference, verdict.metric, verdict.objective)
        rows.append({"learning_rate": c.learning_rate, "verdict": c.mark, "vs_best": mean,
                     "vs_best_low": low, "vs_best_high": high, "p_holm": c.p_adjusted})
    why = dict(verdict.failures)
    for row in rows:
        row["learns"] = (verdict.largest_learning is not None
                         and row["learning_rate"] <= verdict.largest_learning)
        row["why"] = ", ".join(f.reason for f in why.get(row["learning_rate"], ()))
    return rows


def _between_optimizers(verdicts: list[Verdict]) -> list[OptimizerVersus]:
    """Within each sweep and experiment (the same batch size, model, data...: optimizers
    are compared on equal terms), every setting's best rate against the best setting's,
    paired by seed, Holm-corrected over that experiment's comparisons."""
    out = []
    experiments: dict[tuple[Any, ...], list[Verdict]] = {}
    for v in verdicts:
        if v.learns:
            key = (v.sweep, *((k, _shown(x)) for k, x in v.settings if _of_experiment(k)))
            experiments.setdefault(key, []).append(v)
    for own in experiments.values():
        sweep = own[0].sweep
        if len(own) < 2:
            continue
        sign = 1.0 if own[0].objective.higher_is_better(own[0].metric) else -1.0
        champion = max(own, key=lambda v: sign * v.best_mean)
        best = dict(champion.best_by_seed)
        pairs = []
        for v in own:
            if v is not champion:
                other = dict(v.best_by_seed)
                common = sorted(set(best) & set(other))
                pairs.append((v, stats.paired_difference([sign * best[s] for s in common],
                                                         [sign * other[s] for s in common])))
        adjusted = stats.holm([d.p_value for _, d in pairs])
        for (v, d), p in zip(pairs, adjusted, strict=True):
            out.append(OptimizerVersus(
                sweep=sweep, best=f"{champion.label} {format_rate(champion.best_learning_rate)}",
                other=f"{v.label} {format_rate(v.best_learning_rate)}", difference=d,
                p_adjusted=p, mark=_mark(p)))
    return out


def _of_experiment(column: str) -> bool:
    """Whether a parameter says what is trained (batch size, model, data...) rather than
    how the optimizer trains it."""
    return column in CONTEXT_KEYS or column.startswith(("model.", "data."))


def _progress(sweep: object, trials: pd.DataFrame, planned: pd.DataFrame | None,
              selection: Selection) -> SweepProgress:
    status = trials.drop_duplicates("trial_id")["status"]
    return SweepProgress(
        sweep=str(sweep), planned=None if planned is None else selection.count(planned),
        finished=int(status.isin(FINISHED_STATUSES).sum()),
        failed=int((status == TrialStatus.FAILED.value).sum()),
        interrupted=int((status == TrialStatus.INTERRUPTED.value).sum()),
        running=int((status == RUNNING).sum()),
        pruned=int((status == TrialStatus.PRUNED.value).sum()),
        paused=int((status == TrialStatus.PAUSED.value).sum()))


def _sorted(table: pd.DataFrame, column: str, *, metric: str,
            objective: Objective = DEFAULT_OBJECTIVE) -> pd.DataFrame:
    if column not in table.columns:
        raise CompareError(f"unknown column; expected one of: {', '.join(table.columns)}",
                           about={"sort": repr(column)})
    # The metric sorts best first; every other column ascending.
    descending = column == "mean" and objective.higher_is_better(metric)
    return table.sort_values(column, ascending=not descending, kind="stable",
                             na_position="last")


def _mark(p_adjusted: float) -> str:
    if math.isnan(p_adjusted):
        return "untested"
    return "worse" if p_adjusted < stats.ALPHA else "tied"


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
