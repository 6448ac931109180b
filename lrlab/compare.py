"""Comparing trials: per-trial values, seed statistics, and the verdict per optimizer.

Pure pandas over the tidy frame of :func:`lrlab.runs.load_runs`; no files, no printing.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lrlab.errors import LrlabError
from lrlab.records import EPOCH_METRICS, FINISHED_STATUSES, METRICS, TEST_METRICS, TrialStatus
from lrlab.runs import PARAMS_ATTR

# The statistics summarize() adds to the parameters of each setting.
SUMMARY_COLUMNS = ("metric", "at", "mean", "std", "n", "epoch", "final_loss", "diverged",
                   "seconds")
_OPERATORS: dict[str, Callable[[object, object], object]] = {
    "<=": operator.le, ">=": operator.ge, "!=": operator.ne, "=": operator.eq,
    "<": operator.lt, ">": operator.gt,
}


class CompareError(LrlabError):
    """A comparison was asked for something the runs cannot answer."""


def higher_is_better(metric: str) -> bool:
    return metric.endswith("accuracy")


def default_metric(frame: pd.DataFrame) -> str:
    """Validation accuracy, or test accuracy for sweeps run without a validation set."""
    has_validation = "val_accuracy" in frame and frame["val_accuracy"].notna().any()
    return "val_accuracy" if has_validation else "test_accuracy"


def parse_at(at: str | int) -> str | int:
    """``best``, ``last``, or an epoch number >= 1."""
    if isinstance(at, int) or str(at).isdigit():
        epoch = int(at)
        if epoch < 1:
            raise CompareError(f"--at {at}: epochs are numbered from 1")
        return epoch
    if at in ("best", "last"):
        return str(at)
    raise CompareError(f"--at {at!r}: expected best, last, or an epoch number")


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The parameters that tell settings apart (all but the seed), in frame order: the
    keys of the trials' params.json, as :func:`lrlab.runs.load_runs` lists them."""
    params = frame.attrs.get(PARAMS_ATTR)
    if params is None:
        raise CompareError("the frame does not say which columns are trial parameters; "
                           "load it with lrlab.load_runs")
    return [c for c in params if c != "seed" and c in frame.columns]


def varied_columns(frame: pd.DataFrame) -> list[str]:
    """Parameters besides optimizer and learning rate that take more than one value."""
    return [c for c in param_columns(frame)
            if c not in ("optimizer", "learning_rate") and frame[c].nunique(dropna=True) > 1]


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: str

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        column = frame[self.column]
        value: object = self.value
        values = column.dropna()
        if pd.api.types.is_bool_dtype(column) or (
                len(values) and all(isinstance(v, (bool, np.bool_)) for v in values)):
            value = self.value.lower() in ("true", "1", "yes")
        elif pd.api.types.is_numeric_dtype(column):
            try:
                value = float(self.value)
            except ValueError:
                raise CompareError(f"--where {self.column}{self.op}{self.value}: "
                                   f"{self.column} is numeric; got {self.value!r}") from None
        return frame[_OPERATORS[self.op](column, value).fillna(False).astype(bool)]


def parse_where(expressions: Sequence[str], frame: pd.DataFrame) -> list[Filter]:
    """``optimizer=sgd``, ``learning_rate<=0.1``, ``momentum!=0``: ANDed together."""
    filters = []
    for text in expressions:
        match = re.fullmatch(r"\s*([A-Za-z_][\w]*)\s*(<=|>=|!=|=|<|>)\s*(.+?)\s*", text)
        if match is None:
            raise CompareError(f"--where {text!r}: expected COLUMN=VALUE (or !=, <, <=, >, >=),"
                               f" e.g. optimizer=sgd")
        column, op, value = match.groups()
        if column not in frame.columns:
            choices = ", ".join(param_columns(frame) + ["seed", "status", "sweep"])
            raise CompareError(f"--where {text!r}: unknown column {column!r}; expected one "
                               f"of: {choices}")
        filters.append(Filter(column, op, value))
    return filters


def trial_values(frame: pd.DataFrame, *, metric: str, at: str | int) -> pd.DataFrame:
    """One row per trial: its parameters, status, the metric ``at`` an epoch, the epoch
    the value comes from, its final training loss and wall time."""
    if metric not in METRICS:
        raise CompareError(f"--metric {metric!r}: unknown; expected one of: "
                           f"{', '.join(METRICS)}")
    at = parse_at(at)
    frame = frame.assign(_trial=frame["sweep"] + "/" + frame["trial_id"])
    recorded = frame.dropna(subset=["epoch"])
    if isinstance(at, int) and metric in EPOCH_METRICS:
        top = int(recorded["epoch"].max()) if len(recorded) else 0
        if at > top:
            raise CompareError(f"--at {at}: beyond the recorded epochs (the longest trial has "
                               f"{top})")
    trials = frame.drop_duplicates("_trial").set_index("_trial")
    keep = [c for c in ("sweep", "trial_id", *param_columns(frame), "seed", "status",
                        "diverged_epoch", "trial_seconds") if c in trials.columns]
    out = trials[keep].copy()
    last = recorded.sort_values("epoch").groupby("_trial").tail(1).set_index("_trial")
    out["final_loss"] = last["loss"]
    if metric in TEST_METRICS:
        out["value"], out["value_epoch"] = trials[metric], last["epoch"]
    else:
        chosen = _pick_epochs(recorded, metric=metric, at=at, last=last)
        out["value"], out["value_epoch"] = chosen[metric], chosen["epoch"]
    return out.reset_index(drop=True)


def _pick_epochs(recorded: pd.DataFrame, *, metric: str, at: str | int,
                 last: pd.DataFrame) -> pd.DataFrame:
    if at == "last":
        return last
    if isinstance(at, int):
        return recorded[recorded["epoch"] == at].set_index("_trial")
    finite = recorded[np.isfinite(recorded[metric].astype(float))]
    if finite.empty:
        return finite.set_index("_trial")
    best = (finite.groupby("_trial")[metric].idxmax() if higher_is_better(metric)
            else finite.groupby("_trial")[metric].idxmin())
    return finite.loc[best.to_numpy()].set_index("_trial")


def summarize(
    frame: pd.DataFrame,
    *,
    metric: str = "val_accuracy",
    at: str | int = "best",
    where: Sequence[str] = (),
    sort: str | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """The comparison table: one row per setting (trials that differ only in seed).

    Columns: ``sweep``, the parameters, ``metric``, ``at``, ``mean``, ``std``, ``n``
    (seeds with a value), ``epoch`` (median epoch of the value), ``final_loss`` (mean
    final training loss), ``diverged`` (seeds that diverged), ``seconds`` (mean wall
    time per trial). Failed and interrupted trials are left out.
    """
    params = param_columns(frame)
    for condition in parse_where(where, frame):
        frame = condition.apply(frame)
    if frame.empty:
        raise CompareError("--where: no trial matches")
    values = trial_values(frame, metric=metric, at=at)
    values = values[values["status"].isin(FINISHED_STATUSES)]
    if values.empty:
        raise CompareError("no completed or diverged trial to compare")
    keys = ["sweep", *params]
    grouped = values.assign(_diverged=values["status"] == TrialStatus.DIVERGED.value).groupby(
        keys, dropna=False, sort=False)
    table = grouped.agg(mean=("value", "mean"), std=("value", "std"), n=("value", "count"),
                        epoch=("value_epoch", "median"), final_loss=("final_loss", "mean"),
                        diverged=("_diverged", "sum"), seconds=("trial_seconds", "mean"))
    table = table.reset_index()
    table.insert(len(keys), "metric", metric)
    table.insert(len(keys) + 1, "at", str(at))
    table["diverged"] = table["diverged"].astype(int)
    order = table["sweep"].drop_duplicates().tolist()
    table = table.sort_values(
        ["sweep", "optimizer", "learning_rate"],
        key=lambda s: s.map(order.index) if s.name == "sweep" else (
            s.map(_first_seen(values["optimizer"])) if s.name == "optimizer" else s),
        kind="stable")
    if sort is not None:
        table = _sorted(table, sort, metric=metric)
    if top is not None:
        if top < 1:
            raise CompareError(f"--top {top}: expected a number >= 1")
        ranked = _sorted(table, "mean", metric=metric) if sort is None else table
        table = ranked.head(top)
    table = table.reset_index(drop=True)
    table.attrs[PARAMS_ATTR] = params  # the summary's parameter columns, for its readers
    return table


def _first_seen(series: pd.Series) -> dict[object, int]:
    return {value: i for i, value in enumerate(series.drop_duplicates())}


def _sorted(table: pd.DataFrame, column: str, *, metric: str) -> pd.DataFrame:
    if column not in table.columns:
        raise CompareError(f"--sort {column!r}: unknown column; expected one of: "
                           f"{', '.join(table.columns)}")
    # The metric sorts best first; every other column ascending.
    descending = column == "mean" and higher_is_better(metric)
    return table.sort_values(column, ascending=not descending, kind="stable",
                             na_position="last")


@dataclass(frozen=True)
class Verdict:
    """What a sweep says about one optimizer (at one setting of its other parameters)."""

    sweep: str
    optimizer: str
    setting: str  # the other varied parameters, "" when none vary
    best_learning_rate: float
    best_mean: float
    best_std: float
    best_n: int
    good_low: float
    good_high: float
    good_count: int
    largest_stable: float | None  # largest rate with no diverged seed


def verdicts(summary: pd.DataFrame, *, tolerance: float = 0.01) -> list[Verdict]:
    """Per optimizer (and setting of the other varied parameters): the best rate, the
    good range (rates whose mean is within ``tolerance`` of the best, in the metric's
    units) and the largest rate at which no seed diverged."""
    if tolerance < 0:
        raise CompareError(f"--tolerance {tolerance}: expected a number >= 0")
    if summary.empty:
        return []
    metric = summary["metric"].iloc[0]
    others = varied_columns(summary)
    out = []
    for _, series in summary.groupby(["sweep", "optimizer", *others], dropna=False, sort=False):
        ranked = series.dropna(subset=["mean"])
        if ranked.empty:
            continue
        best = ranked.loc[ranked["mean"].idxmax() if higher_is_better(metric)
                          else ranked["mean"].idxmin()]
        gap = (best["mean"] - ranked["mean"]) if higher_is_better(metric) else (
            ranked["mean"] - best["mean"])
        good = ranked[gap <= tolerance + 1e-12]
        stable = series[series["diverged"] == 0]["learning_rate"]
        setting = ", ".join(f"{c}={best[c]:g}" if isinstance(best[c], float) else f"{c}={best[c]}"
                            for c in others if not _missing(best[c]))
        out.append(Verdict(
            sweep=str(best["sweep"]), optimizer=str(best["optimizer"]), setting=setting,
            best_learning_rate=float(best["learning_rate"]), best_mean=float(best["mean"]),
            best_std=float(best["std"]), best_n=int(best["n"]),
            good_low=float(good["learning_rate"].min()),
            good_high=float(good["learning_rate"].max()), good_count=len(good),
            largest_stable=float(stable.max()) if len(stable) else None,
        ))
    return out


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
