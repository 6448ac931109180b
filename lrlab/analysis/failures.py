"""Why a rate fails, told from what its trials recorded: the learning-rate story (too small
crawls, too large overshoots or diverges) read from the evidence. Pure (pandas).

- **diverged**: the loss blew up (the trial stopped at that epoch);
- **too small**: it stalled at the low end of the rates tried with its units alive: the
  rate crawls, and larger ones would move it (judged over a setting's rates);
- **stalled**: it completed without beating its baseline (chance, for an accuracy) by the
  objective's margin;
- **unstable**: its training loss rose from one epoch to the next by more than a tenth;
- **overfitting**: its validation loss ended well above its lowest while the training loss
  kept falling;
- **crawling**: the rate's seeds were still improving at the last epoch by more than the
  seeds differ from each other, so more epochs could change the verdict.

The first two fail a rate (it is never the best); the other three are warnings about it.
A trial's history is a mapping of column name to its per-epoch values (a DataFrame will do;
compare passes NumPy arrays, which a thousand trials read in a blink). Each reason comes
with its numbers (:data:`Facts`); :func:`lrlab.present.render.failure_detail` says them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Most severe first: a trial that diverged is not also called unstable.
REASONS = ("diverged", "too_small", "stalled", "unstable", "overfitting", "crawling")
FAILING = ("diverged", "too_small", "stalled")  # these fail a rate; the others warn
UNSTABLE_RISE = 0.10  # a training loss up by more than this share from one epoch to the next
OVERFIT_RISE = 0.05  # a final validation loss this share above its lowest
CRAWL_FLOOR = 0.002  # gains below this (in the metric's units) are not "still improving"
# Whether a trial stalled (never beat its baseline by the objective's margin: 0.1 of an
# accuracy) is the judge's call (lrlab.analysis.judge); a reason is told it.
DEAD_MANY = 0.5  # a diverged network with this share of dead units says so too

History = Mapping[str, "Sequence[float] | np.ndarray | pd.Series"]
# A reason's numbers, by name: diverged {epoch, loss, initial_loss, dead_units},
# stalled {dead_units}, unstable {rise, epoch}, overfitting {epoch, val_low, val_last,
# loss_low, loss_last}, crawling {column, gain, noise} (noise None with one seed). A value
# is None where it was not measured; dead_units is left out where it says nothing.
Facts = Mapping[str, "float | int | str | None"]


@dataclass(frozen=True)
class Failure:
    """One reason a rate fails (or may mislead), on ``seeds`` of its ``of`` seeds, with
    the numbers that show it (of the first such seed, or over seeds for crawling)."""

    reason: str
    seeds: int
    of: int
    facts: Facts
    # The mean share of hidden ReLU units dead at the end, over the seeds with this
    # reason (NaN: not measured, or no ReLU units).
    dead_units: float = math.nan


def trial_reason(history: History, *, status: str, diverged_epoch: float,
                 initial_loss: float, stalled: bool, dead_units: float = math.nan
                 ) -> tuple[str, Facts] | None:
    """The gravest reason one trial shows, with its numbers; None when it shows none (of
    the per-trial reasons: crawling is judged over a rate's seeds). ``dead_units`` is the
    share of hidden ReLU units that output zero on every validation image (NaN: none)."""
    loss = _column(history, "loss")
    share = _float(dead_units)
    if status == "diverged":
        last = float(loss[-1]) if len(loss) else math.nan
        facts: dict[str, float | int | str | None] = {
            "epoch": None if _missing(diverged_epoch) else int(diverged_epoch),
            "loss": last if math.isfinite(last) and initial_loss > 0 else None,
            "initial_loss": initial_loss if math.isfinite(last) and initial_loss > 0 else None}
        if math.isfinite(share) and share >= DEAD_MANY:  # a few dead units say nothing here
            facts["dead_units"] = share
        return "diverged", facts
    if stalled:
        return "stalled", {"dead_units": share if math.isfinite(share) else None}
    if len(loss) < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 0, NaN, 1e308: no rise
        rises = loss[1:] / loss[:-1] - 1
    if np.isfinite(rises).all() and (rises > UNSTABLE_RISE).any():
        i = int(np.argmax(rises))
        return "unstable", {"rise": float(rises[i]), "epoch": i + 1}
    val = _column(history, "val_loss")
    if len(val) == len(loss) and not np.isnan(val).any():
        low = int(np.argmin(val))
        if val[-1] > val[low] * (1 + OVERFIT_RISE) and loss[-1] < loss[low]:
            return "overfitting", {"epoch": low + 1, "val_low": float(val[low]),
                                   "val_last": float(val[-1]), "loss_low": float(loss[low]),
                                   "loss_last": float(loss[-1])}
    return None


def rate_failures(trials: pd.DataFrame | Sequence[Mapping[str, object]],
                  histories: Mapping[str, History], *,
                  metric: str, higher_is_better: bool) -> tuple[Failure, ...]:
    """Why one rate of one setting fails, from its trials (rows of
    :func:`lrlab.analysis.compare.trial_values`) and their per-epoch ``histories`` (by
    ``_trial``: sweep/trial_id), gravest first."""
    records = records_of(trials) if isinstance(trials, pd.DataFrame) else list(trials)
    of = len(records)
    found: dict[str, list[Facts]] = {}
    dead: dict[str, list[float]] = {}
    for trial in records:
        history = histories.get(f"{trial['sweep']}/{trial['trial_id']}", {})
        share = _float(trial.get("dead_units"))
        reason = trial_reason(history, status=str(trial["status"]),
                              diverged_epoch=trial.get("diverged_epoch", math.nan),
                              initial_loss=_float(trial.get("initial_loss")),
                              stalled=bool(trial["stalled"]), dead_units=share)
        if reason is not None:
            found.setdefault(reason[0], []).append(reason[1])
            dead.setdefault(reason[0], []).append(share)
    # Diverging or stalling on one seed fails a rate; a warning needs most of its seeds.
    failures = [Failure(reason, len(details), of, details[0], _mean(dead[reason]))
                for reason, details in found.items()
                if reason in FAILING or len(details) > of / 2]
    # A rate whose loss jumps is not "still improving" too: its last gain may be a jump.
    crawling = _crawling(records, histories, metric=metric, higher_is_better=higher_is_better)
    if crawling is not None and not {f.reason for f in failures} & {*FAILING, "unstable"}:
        failures.append(crawling)
    return tuple(sorted(failures, key=lambda f: REASONS.index(f.reason)))


def _crawling(trials: Sequence[Mapping[str, object]], histories: Mapping[str, History], *,
              metric: str, higher_is_better: bool) -> Failure | None:
    """Still improving at the last epoch, on average over seeds, by more than the seed
    noise (the standard deviation of the final values over seeds)."""
    column = metric if not metric.startswith("test_") else "val_" + metric.removeprefix("test_")
    sign = 1.0 if higher_is_better else -1.0
    gains, finals = [], []
    for trial in trials:
        history = histories.get(f"{trial['sweep']}/{trial['trial_id']}", {})
        values = _column(history, column)
        # A stopped trial had stopped improving: it is not still rising.
        if len(values) < 2 or trial["status"] != "completed":
            return None
        gains.append(sign * (values[-1] - values[-2]))
        finals.append(values[-1])
    if not gains:
        return None
    gain = float(np.mean(gains))
    noise = float(np.std(finals, ddof=1)) if len(finals) > 1 else 0.0
    if not gain > max(noise, CRAWL_FLOOR):
        return None
    return Failure("crawling", int(sum(g > 0 for g in gains)), len(gains),
                   {"column": column, "gain": gain,
                    "noise": noise if len(finals) > 1 else None})


def too_small(failures: Sequence[tuple[float, tuple[Failure, ...]]],
              rates: Sequence[float]) -> tuple[tuple[float, tuple[Failure, ...]], ...]:
    """``failures`` (per rate of one setting) with the low end's stalls called too small:
    from the smallest rate tried up, each rate that stalled with most of its hidden units
    alive (or none to count) and no other failing reason, until the first rate that does
    otherwise. Such a rate is not broken: it moves too slowly to leave the baseline in the
    epochs given, and only larger rates can tell."""
    found = dict(failures)
    out = dict(found)
    for rate in sorted(rates):
        reasons = found.get(rate, ())
        stalled = next((f for f in reasons if f.reason == "stalled"), None)
        if stalled is None or any(f.reason == "diverged" for f in reasons) or (
                math.isfinite(stalled.dead_units) and stalled.dead_units >= DEAD_MANY):
            break
        out[rate] = tuple(dataclasses.replace(f, reason="too_small") if f is stalled else f
                          for f in reasons)
    return tuple((rate, out[rate]) for rate, _ in failures)


def rates_above(rates: Sequence[float], count: int = 3) -> tuple[float, float]:
    """Where to look when every rate tried is too small: ``count`` steps above the largest,
    each step the ratio between the two largest rates (a decade where one was tried)."""
    ordered = sorted(rates)
    step = ordered[-1] / ordered[-2] if len(ordered) > 1 and ordered[-2] > 0 else 10.0
    step = step if step > 1 else 10.0
    return ordered[-1] * step, ordered[-1] * step ** count


_TRIAL_FIELDS = ("sweep", "trial_id", "status", "stalled", "dead_units", "diverged_epoch",
                 "initial_loss")


def records_of(trials: pd.DataFrame) -> list[dict[str, object]]:
    """The fields a reason reads, one dict per trial, in the frame's order (plain lists:
    DataFrame.to_dict pays for every column)."""
    columns = {c: trials[c].tolist() for c in _TRIAL_FIELDS if c in trials}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _column(history: History, name: str) -> np.ndarray:
    """One column of a history as floats (empty when it was not recorded)."""
    return np.asarray(history[name], dtype=float) if name in history else np.empty(0)


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))

