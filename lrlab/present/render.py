"""A comparison as text: the terminal table with its verdicts in plain words, CSV, Markdown,
JSON and LaTeX. Every format names the metric and carries the verdicts. Pure (rich renders
into a string); the CLI only prints what this returns."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

import lrlab.analysis.stats as stats
from lrlab.analysis.axes import TRANSFER_MARGIN, AlongAxis, Edge, Scaling
from lrlab.analysis.compare import (
    SMALL_SPLIT,
    CompareError,
    Comparison,
    OptimizerVersus,
    SweepProgress,
    Verdict,
    describe_at,
    in_metric_units,
    varied_columns,
)
from lrlab.analysis.failures import (
    CRAWL_FLOOR,
    FAILING,
    REASONS,
    Facts,
    Failure,
    rates_above,
)
from lrlab.analysis.importance import Importance
from lrlab.analysis.stability import RateAtEdge, Stability
from lrlab.experiment.objective import DEFAULT_OBJECTIVE, Objective, base_of, split_of
from lrlab.experiment.scaling import RULES as SCALING_RULES
from lrlab.formatting import number, plural, rate
from lrlab.rundir.files import json_safe

# Left-aligned (text) columns; every other column is a number.
_TEXT_COLUMNS = ("sweep", "optimizer", "verdict", "why")


def method_text(metric: str, objective: Objective = DEFAULT_OBJECTIVE) -> str:
    """How the verdicts were reached, for ``metric``."""
    low, high = objective.value_range(metric)
    span = f"[{low:g}, {high:g}]".replace("inf]", "∞)").replace("[-inf", "(−∞")
    clipped = ("accuracies to [0, 1]" if base_of(metric).endswith("accuracy")
               else "losses to [0, ∞)" if base_of(metric) == "loss" else f"{metric} to {span}")
    return (f"paired by seed, 95% t-intervals (clipped to the metric's range: {clipped}), "
            f"tied = not told apart at the 5% level after Holm's correction for the rates "
            f"compared")


def render(comparison: Comparison, output_format: str, *, rows: pd.DataFrame | None = None,
           unreadable: Sequence[dict[str, str]] = (), width: int = 200) -> str:
    """The comparison in ``output_format`` (one of FORMATS). ``rows``: the table rows to
    show (:meth:`Comparison.shown`); the verdicts are always the whole comparison's.
    ``width``: the terminal's columns, which the table and its sentences fit."""
    rows = comparison.summary if rows is None else rows
    if output_format not in _WRITERS:
        raise CompareError(f"expected one of: {', '.join(FORMATS)}",
                           about={"format": repr(output_format)})
    return _WRITERS[output_format](comparison, rows, unreadable, width)


def title(comparison: Comparison) -> str:
    text = f"{comparison.metric} {describe_at(comparison.at)}, over seeds"
    return text + (" (PROVISIONAL: a sweep is unfinished)" if comparison.provisional else "")


# -- the verdicts in words ---------------------------------------------------------------


def _signed(value: float) -> str:
    # Rounding noise (a slope of 1e-16 where every seed agrees) is zero; + 0.0: no "−0.0000"
    # for a negative zero.
    value = 0.0 if abs(value) < 1e-12 else value
    return number(value + 0.0).replace("-", "−")


def _interval(low: float, high: float) -> str:
    return f"{_signed(low)} to {_signed(high)}"


def verdict_text(v: Verdict, *, name_sweep: bool = False) -> str:
    """One optimizer setting's verdict in plain words (``name_sweep``: say which sweep's,
    when several are compared): :func:`verdict_block`'s lines, one per line."""
    return "\n".join(verdict_block(v, name_sweep=name_sweep))


def verdict_block(v: Verdict, *, name_sweep: bool = False) -> list[str]:
    """The answer in the first line (the best rate with its interval, or that none
    learns), then the evidence, one kind a line, indented: the rates tied with it, the
    closest of them, what a single seed cannot tell, the largest rate that learns, why
    rates fail, warnings, whether the split can rank the rates, and the edges."""
    head = "[provisional: the sweep is unfinished] " if v.provisional else ""
    head += f"{v.sweep}: " if name_sweep else ""
    if not v.learns:
        rates = sorted([v.best_learning_rate, *(c.learning_rate for c in v.versus_best)])
        small = {r for r, found in v.failures if any(f.reason == "too_small" for f in found)}
        if small and small == set(rates):
            low, high = rates_above(rates)
            answer = (f"no best rate: every rate compared ({rate_list(rates)}) is too small: "
                      f"each stayed at its baseline with its units alive; add rates from "
                      f"{rate(low)} to {rate(high)}")
        else:
            answer = (f"no best rate: every rate compared ({rate_list(rates)}) diverged or "
                      f"stalled on at least one seed")
    elif v.single_seed:
        answer = (f"best observed learning rate {rate(v.best_learning_rate)}{_with_text(v)} "
                  f"({v.metric} {number(v.best_mean)}, 1 seed: no interval)")
    else:
        answer = (f"best learning rate {rate(v.best_learning_rate)}{_with_text(v)} "
                  f"({v.metric} {number(v.best_mean)}, 95% CI "
                  f"{_interval(v.best_low, v.best_high)}, {plural(v.best_n, 'seed')})")
    evidence = [*_tied_lines(v)] if v.learns and not v.single_seed else []
    if v.learns and v.single_seed:
        evidence.append("Seeds: with one seed no two rates can be told apart; run at least "
                        "3 (sweep.seeds: [0, 1, 2]), more where rates are close.")
    evidence.append("Learns up to: " + ("no rate" if v.largest_learning is None else
                                        f"{rate(v.largest_learning)}") +
                    " (the largest rate at which no seed diverged or stalled).")
    evidence += _failure_lines(v)
    if v.stability is not None:
        evidence.append(stability_text(v.stability))
    if v.pruned:
        evidence.append(_pruned_text(v.pruned))
    if v.weak_split:
        evidence.append(_split_text(v))
    evidence += [edge_text(edge) for edge in v.edges]
    return [f"{head}{v.label}: {answer}.", *(f"  {line}" for line in evidence)]


def stability_text(found: Stability) -> str:
    """``Stability edge: 2/λ₀ = 0.118 at the initial weights (λ₀ 16.9, 3 seeds 16.8 to
    17.0); above it: 0.5 diverged (4.2x), 0.2 trained through (1.7x); the best rate is
    0.56x it.``"""
    seeds = (f"{plural(found.seeds, 'seed')}" if found.seeds < 2 or found.low == found.high
             else f"{found.seeds} seeds {found.low:.3g} to {found.high:.3g}")
    whose = "plain gradient descent's edge; " if found.preconditioned else ""
    text = (f"Stability edge: 2/λ₀ = {rate(found.edge)} at the initial weights ({whose}λ₀ "
            f"{found.sharpness:.3g}, {seeds})")
    words = {"diverged": "diverged", "trained": "trained through",
             "too_small": "too small", "stalled": "stalled"}
    above = [r for r in found.rates if r.multiple >= 1]
    below = [r for r in found.rates if r.multiple < 1]
    parts = []
    if above:
        parts.append("above it: " + ", ".join(_above_text(r) for r in above))
    if below:
        parts.append("failing below it: " + ", ".join(
            f"{rate(r.learning_rate)} {words.get(r.outcome, r.outcome)} ({r.multiple:.2g}x"
            + (f"; at its pace it needs {r.pace:.3g}x the steps, {r.epochs_needed:.3g} "
               f"epochs, to move as far as the best rate moved" if math.isfinite(r.pace)
               else "") + ")"
            for r in below))
    if found.best is not None:
        parts.append(f"the best rate is {found.best.multiple:.2g}x it")
    if found.own:  # an adaptive optimizer's own edge, from its preconditioned sharpness
        parts.append(f"its own edge, {found.own_factor:.3g}/lr against its preconditioned "
                     f"sharpness at the last measurement: " + ", ".join(
                         f"{rate(r)} at {m:.2g}x" for r, m in found.own))
    return text + ("; " + "; ".join(parts) if parts else "") + "."


def _above_text(r: RateAtEdge) -> str:
    """A rate above the stability edge: diverged, or trained through, and then whether its
    sharpness fell below its own 2/lr (a catapult flattened the network)."""
    words = {"trained": "trained through", "too_small": "too small"}
    own = 2.0 / r.learning_rate
    if r.outcome == "diverged" or not math.isfinite(r.final_sharpness):
        how = ""
    elif r.final_sharpness < own:
        # A catapult when it went on to learn; a stalled rate fell flat (dead units).
        how = (f"; {'a catapult: ' if r.outcome == 'trained' else ''}its sharpness fell to "
               f"{r.final_sharpness:.3g}, below its 2/lr = {own:.3g}")
    else:
        how = f"; its sharpness ended at {r.final_sharpness:.3g}, above its 2/lr = {own:.3g}"
    return (f"{rate(r.learning_rate)} {words.get(r.outcome, r.outcome)} "
            f"({r.multiple:.3g}x{how})")


def _pruned_text(pruned: Sequence[tuple[float, int]]) -> str:
    """``Dropped by halving: 1e-05, 0.0001 at epoch 1; 1 at epoch 3 (...)``."""
    by_epoch: dict[int, list[float]] = {}
    for learning_rate, epoch in pruned:
        by_epoch.setdefault(epoch, []).append(learning_rate)
    parts = "; ".join(f"{rate_list(sorted(rates))} at epoch {epoch}"
                      for epoch, rates in sorted(by_epoch.items()))
    return (f"Dropped by halving: {parts} (never best nor tied; halving.json says on what "
            f"evidence).")


def _tied_lines(v: Verdict) -> list[str]:
    """The tied set, the closest rate in it, and the rates that could not be tested."""
    lines = []
    others = [r for r in v.tied if r != v.best_learning_rate]
    if others:
        lines.append(f"Tied set: {_tied_set(v)}: not told apart at the 5% level (paired by "
                     f"seed, Holm-corrected over {plural(_tested(v), 'comparison')} with the "
                     f"best).")
    elif any(c.mark == "worse" for c in v.versus_best):
        lines.append(f"Tied set: {rate(v.best_learning_rate)} alone: every other rate that "
                     f"learns is worse at the 5% level (paired by seed, Holm-corrected).")
    closest = v.closest
    if closest is not None:
        d = closest.difference
        mean, low, high = in_metric_units(d, v.metric)
        worse = "lower" if v.metric.endswith("accuracy") else "higher"
        text = (f"Closest: {rate(closest.learning_rate)}, {number(abs(mean))} {worse} on "
                f"average (it minus the best, {plural(d.n, 'seed')}: ")
        m = _tested(v)
        if m > 1:  # the interval the tie is judged by, then the plain one
            cited_low, cited_high = stats.corrected_interval(d, comparisons=m)
            cited = dataclasses.replace(d, low=cited_low, high=cited_high)
            _, c_low, c_high = in_metric_units(cited, v.metric)
            level = 100 * (1 - stats.ALPHA / m)
            text += (f"{level:.3g}% CI {_interval(c_low, c_high)}, corrected for the "
                     f"{m} comparisons as the tie is; uncorrected 95% CI "
                     f"{_interval(low, high)})")
        else:
            text += f"95% CI {_interval(low, high)})"
        guess = (f"a rough guess from the spread of {plural(d.n, 'seed')}" if d.n < 10
                 else f"from the spread of {d.n} seeds")
        if d.mean == 0:
            text += "; no difference at all was seen"
        elif closest.seeds_needed is None:
            text += (f"; more than {stats.MAX_SEEDS:,} seeds would be needed to tell them "
                     f"apart ({guess})")
        else:
            text += (f"; about {closest.seeds_needed:,} seeds would tell them apart "
                     f"({guess})")
        lines.append(text + ".")
    if v.untested:
        lines.append(f"Untested (fewer than 2 seeds shared with the best): "
                     f"{rate_list(v.untested)}.")
    return lines


def _tested(v: Verdict) -> int:
    return sum(1 for c in v.versus_best if not math.isnan(c.p_adjusted))


def _tied_set(v: Verdict) -> str:
    """The tied set, the best marked: ``0.000316, 0.001 (best), 0.00316``."""
    if len(v.tied) > 12:
        return rate_list(v.tied)
    return ", ".join(f"{rate(r)} (best)" if r == v.best_learning_rate else rate(r)
                     for r in v.tied)


def _split_text(v: Verdict) -> str:
    """Why the split the verdict reads cannot rank the rates, and what would."""
    split = split_of(v.metric)
    parts = []
    if v.examples is not None and v.examples < SMALL_SPLIT:
        parts.append(f"the {split} split has {plural(v.examples, 'example')} (one example "
                     f"moves {v.metric} by {1 / v.examples:.2g})")
    if v.saturated:
        parts.append(f"every seed scores 1.0 at {rate_list(v.saturated)}")
    fix = ("a larger split (data.validation) or the loss (--metric val_loss) would"
           if split == "validation" else "a larger split, or a loss (--metric), would")
    return f"Caution: {' and '.join(parts)}: it cannot rank these rates; {fix}."


def failure_detail(reason: str, facts: Facts) -> str:
    """A reason's numbers in words (:mod:`lrlab.analysis.failures`): what result.json's
    ``failure.detail`` and the JSON export's ``detail`` say."""
    if reason == "diverged":
        at = "" if facts.get("epoch") is None else f" at epoch {facts['epoch']}"
        loss, initial = facts.get("loss"), facts.get("initial_loss")
        ratio = (f": loss {loss:.3g}, {loss / initial:.3g}x the initial {initial:.3g}"
                 if isinstance(loss, float) and isinstance(initial, float) else "")
        return f"the loss blew up{at}{ratio}{_dead_clause(facts.get('dead_units'))}"
    if reason == "stalled":
        return f"it never left its baseline{_dead_clause(facts.get('dead_units'))}"
    if reason == "too_small":
        return (f"it stayed at its baseline, at the low end of the rates tried"
                f"{_dead_clause(facts.get('dead_units'))}: too small a rate")
    if reason == "unstable":
        epoch = int(facts["epoch"])  # type: ignore[arg-type]
        return f"training loss rose {facts['rise']:.0%} from epoch {epoch} to {epoch + 1}"
    if reason == "overfitting":
        return (f"validation loss rose from {facts['val_low']:.3g} at epoch {facts['epoch']} "
                f"to {facts['val_last']:.3g} while training loss fell from "
                f"{facts['loss_low']:.3g} to {facts['loss_last']:.3g}")
    if reason == "crawling":
        noise = facts.get("noise")
        than = (f"more than the seed noise {noise:.3g}" if noise is not None else
                f"more than {CRAWL_FLOOR:g} (one seed: no noise to measure it against)")
        return f"{facts['column']} still rising by {facts['gain']:.3g} in the last epoch, {than}"
    raise ValueError(f"unknown reason {reason!r}")


def _dead_clause(share: object) -> str:
    """What a trial's dead ReLU units say, as a clause; nothing when not measured."""
    if not isinstance(share, (int, float)) or not math.isfinite(share):
        return ""
    if share == 0:
        return "; no hidden unit died"
    return f"; {share:.0%} of its hidden ReLU units died (zero on every validation image)"


def failure_text(failure: Failure) -> str:
    """``diverged (2 of 3 seeds: the loss blew up at epoch 1 ...)``."""
    share = "" if failure.seeds == failure.of else f"{failure.seeds} of {failure.of} seeds: "
    return f"{failure.reason} ({share}{failure_detail(failure.reason, failure.facts)})"


# What each reason means, said once per verdict (the numbers are in the table's `why`
# column, the JSON export and the report).
_REASON_WORDS = {
    "diverged": "the loss blew up", "stalled": "never left its baseline",
    "too_small": "stayed at its baseline with its units alive, at the low end of the "
                 "rates tried: too small to move in these epochs; larger rates would",
    "unstable": "training loss jumped between epochs",
    "overfitting": "validation loss rose while training loss fell",
    "crawling": "still improving at the last epoch by more than the seed noise: more "
                "epochs could change the verdict"}
_CRAWLING_ONE_SEED = "still improving at the last epoch: more epochs could change the verdict"


def _failure_lines(v: Verdict) -> list[str]:
    """Why rates fail (Fails:), and why others may mislead (Warnings:), reason by reason
    (see lrlab.analysis.failures)."""
    rates: dict[str, list[float]] = {}
    dead: dict[str, list[tuple[float, float]]] = {}
    one_seed = True
    accuracy = base_of(v.metric).endswith("accuracy")  # its baseline is chance
    for r, found in v.failures:
        for failure in found:
            rates.setdefault(failure.reason, []).append(r)
            one_seed = one_seed and failure.of < 2
            if math.isfinite(failure.dead_units) and failure.reason in ("stalled", "diverged"):
                dead.setdefault(failure.reason, []).append((r, failure.dead_units))

    def part(reason: str) -> str:
        words = (_CRAWLING_ONE_SEED if reason == "crawling" and one_seed
                 else "never left chance" if reason == "stalled" and accuracy
                 else _REASON_WORDS[reason])
        return (f"{reason.replace('_', ' ')} at {rate_list(rates[reason])} "
                f"({words}{_dead_text(dead, reason)})")

    ordered = sorted(rates, key=REASONS.index)
    lines = []
    for label, kinds in (("Fails", FAILING), ("Warnings", None)):
        chosen = [r for r in ordered if (r in FAILING) == (kinds is not None)]
        if chosen:
            lines.append(f"{label}: {'; '.join(part(r) for r in chosen)}.")
    return lines


def _dead_text(dead: Mapping[str, list[tuple[float, float]]], reason: str) -> str:
    """How many hidden ReLU units died at the rates of ``reason``: a stalled ReLU network
    whose units died cannot learn again at any rate."""
    found = dead.get(reason, [])
    if not found or reason == "diverged" and max(s for _, s in found) < 0.5:
        return ""
    return "; hidden ReLU units dead: " + ", ".join(f"{s:.0%} at {rate(r)}" for r, s in found)


def _with_text(v: Verdict) -> str:
    """The settings drawn with the best rate (a sampled point), if any."""
    return "".join(f", {name}={_setting_value(value)}" for name, value in v.best_with)


def _setting_value(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def edge_text(edge: Edge) -> str:
    """An edge of the rates tried, and the rates to add, in words."""
    low, high = edge.tried
    where = (f"in the {'lowest' if edge.side == 'low' else 'highest'} tenth of the rates "
             f"drawn ({rate(low)} to {rate(high)})" if edge.sampled else
             f"the {'smallest' if edge.side == 'low' else 'largest'} rate tried")
    add = f"add rates from {rate(edge.add[0])} to {rate(edge.add[1])}"
    if edge.what == "best":
        return (f"Edge: the best rate, {rate(edge.rate)}, is {where}: the best may lie "
                f"{'below' if edge.side == 'low' else 'above'} the range; {add}.")
    return (f"Edge: the largest rate that learns, {rate(edge.rate)}, is {where}: the sweep "
            f"does not show where training breaks; {add}.")


def along_text(line: AlongAxis) -> str:
    """How one optimizer's best rate moves along an axis, in one line."""
    steps = [f"{_setting_value(p.value)}: "
             + (f"{rate(p.best_rate)} ({number(p.mean)}"
                + (f", {p.steps:,} steps" if p.steps is not None else "") + ")"
                if p.best_rate is not None else "none learns")
             for p in line.points]
    return f"{line.label}, best rate along {line.axis}: {'; '.join(steps)}."


def scaling_text(s: Scaling) -> str:
    """The batch-size question, answered for one optimizer."""
    seeds = len(s.per_seed)
    head = (f"{s.along.label}: log(best rate) against log(batch size) has slope "
            f"{_signed(s.slope)}")
    if s.rule == "untested":
        names = " and ".join(rule.title.removesuffix(" rule") for rule in SCALING_RULES.values())
        return f"{head} (1 seed: no interval; run 3 or more seeds to test the {names} rules)."
    rules = [f"the {rule.title} ({rule.power:g})" for rule in SCALING_RULES.values()]
    if s.rule in SCALING_RULES:
        held = rules.pop(list(SCALING_RULES).index(s.rule))
        rule = f"agrees with {held}, not {' or '.join(rules)}"
    elif s.rule == "both":
        rule = f"cannot tell {' from '.join(rules)}"
    else:
        rule = f"agrees with neither {' nor '.join(rules)}"
    resolution = (f", widened by half the {s.resolution:.2g} the rate grid's step makes"
                  if math.isfinite(s.resolution) else "")
    return (f"{head} (95% CI over {seeds} seeds, one slope per seed{resolution}: "
            f"{_interval(s.low, s.high)}): it {rule}.")


def slope_text(s: Scaling) -> str:
    """Whether one optimizer's best rate transfers along an axis other than the batch
    size: the slope of log(best rate) on log(value), and whether its interval holds 0."""
    axis = s.along.axis
    head = (f"{s.along.label}: log(best rate) against log({axis}) has slope "
            f"{_signed(s.slope)}")
    if s.rule == "untested":
        return f"{head} (1 seed: no interval; run 3 or more seeds to tell whether it holds)."
    resolution = (f", widened by half the {s.resolution:.2g} the rate grid's step makes"
                  if math.isfinite(s.resolution) else "")
    interval = (f"95% CI over {len(s.per_seed)} seeds, one slope per seed{resolution}: "
                f"{_interval(s.low, s.high)}")
    if s.rule == "holds":
        return (f"{head} ({interval}): it holds, the interval lies within "
                f"±{TRANSFER_MARGIN:g} of 0, so the rate tuned at one {axis} transfers to "
                f"the others tried.")
    if s.rule == "unclear":
        return (f"{head} ({interval}): unclear, 0 is in the interval but so are slopes "
                f"beyond ±{TRANSFER_MARGIN:g} (more than {2 ** TRANSFER_MARGIN - 1:.0%} a "
                f"doubling): more seeds, a finer rate grid or a wider range of {axis} "
                f"would tell.")
    way = "falls" if s.slope < 0 else "rises"
    return (f"{head} ({interval}): it drifts, the best rate {way} as {axis} grows, by a "
            f"factor of about {2 ** s.slope:.2g} per doubling.")


def noise_fit_text(s: Scaling) -> str | None:
    """The gradient noise's model of the batch-size question for one optimizer: the
    B_noise its fit gives, and whether the measured noise scale agrees."""
    fit = s.noise
    if fit is None:
        return None
    if fit.low == 0 and math.isinf(fit.high):
        interval = "any value: the best rates do not bend within the sizes tried"
    elif fit.low == 0:
        interval = f"below {fit.high:,.0f}"
    elif math.isinf(fit.high):
        interval = f"above {fit.low:,.0f}"
    else:
        interval = f"{fit.low:,.0f} to {fit.high:,.0f}"
    head = (f"{s.along.label}: the noise model eps_max / (1 + B_noise / B) fits "
            f"B_noise = {fit.b_noise:,.0f} (95% CI {interval}; eps_max {fit.epsilon_max:.3g})")
    if fit.agrees is None:
        return f"{head}; measure B_simple (training.noise) to test it."
    spread = (f"{fit.measured_low:,.0f} to {fit.measured_high:,.0f} over the batch sizes"
              if fit.measured_low != fit.measured_high else "one batch size")
    verdict = "they agree" if fit.agrees else "they disagree"
    return (f"{head}; the best rates' trials measured B_simple = {fit.measured:,.0f} "
            f"(median; {spread}): {verdict}.")


def optimizer_text(o: OptimizerVersus, metric: str, *, name_sweep: bool = False) -> str:
    d = o.difference
    if name_sweep:
        return f"{o.sweep}: {optimizer_text(o, metric)}"
    if o.mark == "untested":
        return (f"{o.best} vs {o.other}: {plural(d.n, 'seed')} in common, too few to tell "
                f"them apart.")
    verdict = ("not distinguishable" if o.mark == "tied" else f"{o.best} is better")
    mean, low, high = in_metric_units(d, metric)
    return (f"{o.best} vs {o.other} (paired by seed, {d.n} seeds): {o.other} minus "
            f"{o.best} is {_signed(mean)} (95% CI {_interval(low, high)}; p = "
            f"{d.p_value:.2g}, Holm {o.p_adjusted:.2g}): {verdict}.")


def progress_text(p: SweepProgress) -> str:
    parts = [f"{n} {what}" for n, what in ((p.running, "running"),
                                            (p.interrupted, "interrupted"),
                                            (p.failed, "failed"),
                                            (p.paused, "paused at a halving rung"),
                                            (p.pruned, "dropped by halving"),
                                            (p.not_started, "not started")) if n]
    of = f" of {p.planned}" if p.planned is not None else ""
    state = "unfinished" if p.unfinished else "finished"
    return (f"{p.sweep}: {state}, {p.finished}{of} trials have a result"
            + (f" ({', '.join(parts)})" if parts else "")
            + ("; its verdicts are provisional." if p.unfinished else "."))


def rate_list(rates: Sequence[float], *, most: int = 12) -> str:
    """Rates as a verdict names them: all of a short list, the ends of a long one (a sweep
    of thousands of rates must not print thousands)."""
    shown = [rate(r) for r in rates]
    if len(shown) <= most:
        return ", ".join(shown)
    half = most // 2
    return (f"{', '.join(shown[:half])}, ... {len(shown) - 2 * half} more ..., "
            f"{', '.join(shown[-half:])}")


def importance_text(importance: Importance, *, name_sweep: bool = False) -> str:
    """``Importance (sgd, PED-ANOVA over 64 points): learning_rate 0.93, momentum 0.07``."""
    where = f"{importance.sweep}: " if name_sweep else ""
    shares = ", ".join(f"{name} {share:.2f}" for name, share in importance.shares)
    return (f"{where}Importance ({importance.optimizer}, PED-ANOVA over "
            f"{importance.points} points: each setting's share of what sets its best "
            f"points apart): {shares}.")


def verdict_lines(comparison: Comparison) -> list[str]:
    """Everything the comparison decides, as sentences: unfinished sweeps first, then a
    verdict per optimizer setting, then the optimizers against each other."""
    several = len({v.sweep for v in comparison.verdicts}) > 1
    lines = [progress_text(p) for p in comparison.progress if p.unfinished]
    lines += [line for v in comparison.verdicts for line in verdict_block(v, name_sweep=several)]
    lines += [along_text(line) for line in comparison.along
              if not any(s.along == line for s in comparison.scaling)]
    if comparison.scaling:
        lines.append("How the best rate scales with the batch size (each seed's best rate, "
                     "refined between grid points, fitted on log scales):")
        lines += [f"  {along_text(s.along)}" for s in comparison.scaling]
        lines += [f"  {scaling_text(s)}" for s in comparison.scaling]
        lines += [f"  {text}" for s in comparison.scaling
                  if (text := noise_fit_text(s)) is not None]
    if comparison.slopes:
        lines.append("Does the best rate transfer along each axis? (each seed's best rate, "
                     "refined between grid points, fitted on log scales):")
        lines += [f"  {slope_text(s)}" for s in comparison.slopes]
    lines += [importance_text(i, name_sweep=several) for i in comparison.importance]
    if comparison.optimizers:
        lines.append("Between optimizers (the best rate of each):")
        lines += [f"  {optimizer_text(o, comparison.metric, name_sweep=several)}"
                  for o in comparison.optimizers]
    learns = _learns_text(comparison)
    method = method_text(comparison.metric, comparison.objective)
    lines.append(f"Method: {method}; a rate learns when no seed "
                 f"diverged and every seed's {comparison.metric} is {learns} (else the trial "
                 f"is 'stalled').")
    return lines


def wrapped(line: str) -> Padding:
    """A verdict line as a terminal shows it: an evidence line wraps under its own indent,
    so that each verdict's answer stays the one line at the margin."""
    indent = len(line) - len(line.lstrip(" "))
    return Padding(Text(line.lstrip(" ")), (0, 0, 0, indent), expand=False)


def _learns_text(comparison: Comparison) -> str:
    """What beating the baseline means for the compared metric, with its numbers."""
    metric, objective, chances = comparison.metric, comparison.objective, comparison.baselines
    if not chances:
        return "below its initial loss"
    margin = objective.margin(metric, max(chances.values()))
    if base_of(metric).endswith("accuracy"):
        return f"above chance ({_chance_text(chances)}) by more than {margin:g}"
    better = "above" if objective.higher_is_better(metric) else "below"
    values = sorted(set(chances.values()))
    shown = ", ".join(f"{v:.4g}" for v in values)
    return (f"{better} its baseline ({shown}: the best constant prediction's, from the "
            f"split's own labels) by more than {margin:.3g}")


def _chance_text(chances: Mapping[str, float]) -> str:
    """``0.1135``, or each sweep's where they differ."""
    distinct = set(chances.values())
    if len(distinct) == 1:
        return f"{distinct.pop():.4g}, the most frequent class's share"
    return "the most frequent class's share: " + ", ".join(
        f"{sweep} {value:.4g}" for sweep, value in chances.items())


# -- tables --------------------------------------------------------------------------------


def display_columns(rows: pd.DataFrame) -> list[str]:
    """What a reader needs: the sweep only when there are several, the parameters that
    vary, then the statistics and the verdict. CSV and JSON keep every column."""
    columns = ["sweep"] if rows["sweep"].nunique() > 1 else []
    columns += ["optimizer", "learning_rate", *varied_columns(rows)]
    why = ["why"] if "why" in rows and rows["why"].astype(bool).any() else []
    return columns + ["mean", "std", "ci_low", "ci_high", "n", "vs_best", "p_holm", "verdict",
                      *why, "epoch", "diverged", "stalled", "seconds"]


def _cell(column: str, value: Any, *, missing: str) -> str:
    if column == "why":
        return str(value) if isinstance(value, str) and value else missing
    if column == "learning_rate":
        return rate(value)
    if column in ("n", "diverged", "stalled"):
        return str(int(value))
    if column in ("epoch", "seconds"):
        return number(value, 1, missing=missing)
    if column == "p_holm":
        return missing if value is None or math.isnan(value) else f"{value:.2g}"
    return number(value, missing=missing)


# What a narrower terminal gives up first, so that a row never wraps: the least-read
# columns, then the spread, then the paired difference's interval (its mean stays).
_DROPPED_WHEN_NARROW = ("seconds", "stalled", "diverged", "epoch", "p_holm", "std",
                        "vs_best_interval", "n", "why")


def to_table(comparison: Comparison, rows: pd.DataFrame, *, width: int = 200) -> str:
    """The terminal table (mean ± std, the interval and the paired difference each in one
    column), then the verdicts in words, all within ``width`` columns: the table drops its
    least-read columns until a row fits, the sentences wrap at words."""
    dropped: set[str] = set()
    for column in (None, *_DROPPED_WHEN_NARROW):
        if column is not None:
            dropped.add(column)
        headers, cells = _cells(rows, dropped)
        if _measure(headers, cells, compact=bool(dropped)) <= width:
            break
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, highlight=False, force_terminal=False)
    console.print(title(comparison), markup=False)
    console.print(_table(headers, cells, compact=bool(dropped)))
    for line in verdict_lines(comparison):
        console.print(wrapped(line))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _measure(headers: list[tuple[str, str]], cells: list[list[str]], *, compact: bool) -> int:
    """The table's width, from one row of each column's widest cell (no cell wraps, so a
    column is as wide as its widest cell: rendering every row would say the same, slowly)."""
    widest = [max((row[i] for row in cells), key=cell_len, default="")
              for i in range(len(headers))]
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, force_terminal=False).print(
        _table(headers, [widest] if cells else [], compact=compact))
    return max((cell_len(line) for line in buffer.getvalue().splitlines()), default=0)


def _table(headers: list[tuple[str, str]], cells: list[list[str]], *, compact: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD, pad_edge=not compact)
    for header, justify in headers:
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in cells:
        table.add_row(*row)
    return table


def _cells(rows: pd.DataFrame, dropped: set[str]) -> tuple[list[tuple[str, str]],
                                                            list[list[str]]]:
    """The table's headers (with how each column is justified) and its cells as text."""
    merged = {"std", "ci_high", "vs_best_high", "vs_best_low"}
    columns = [c for c in display_columns(rows) if c not in merged and c not in dropped]
    names = {"mean": "mean" if "std" in dropped else "mean ± std", "ci_low": "95% CI",
             "vs_best": ("vs best" if "vs_best_interval" in dropped else
                         "vs best (95% CI)"), "p_holm": "p (Holm)"}
    headers = [(names.get(c, c), "left" if c in _TEXT_COLUMNS else "right") for c in columns]
    cells = []
    for row in rows.to_dict("records"):
        line = []
        for column in columns:
            if column == "mean":
                spread = (f" ± {number(row['std'])}" if row["n"] >= 2 and "std" not in dropped
                          else "")
                line.append(number(row["mean"]) + spread)
            elif column == "ci_low":
                line.append("-" if math.isnan(row["ci_low"]) else
                            f"{number(row['ci_low'])} to {number(row['ci_high'])}")
            elif column == "vs_best":
                line.append(_versus_cell(row, interval="vs_best_interval" not in dropped))
            else:
                line.append(_cell(column, row[column], missing="-"))
        cells.append(line)
    return headers, cells


def _versus_cell(row: Mapping[str, Any], *, interval: bool = True) -> str:
    if row["verdict"] == "best":
        return "best"
    if math.isnan(row["vs_best_low"]):  # untested: fewer than 2 seeds shared with the best
        return "-"
    if not interval:
        return _signed(row["vs_best"])
    return (f"{_signed(row['vs_best'])} ({_signed(row['vs_best_low'])} to "
            f"{_signed(row['vs_best_high'])})")


def to_csv(comparison: Comparison, rows: pd.DataFrame) -> str:
    """Every column, the verdict's included; ``provisional`` says whether the row's sweep
    is unfinished."""
    unfinished = {p.sweep for p in comparison.progress if p.unfinished}
    return rows.assign(provisional=rows["sweep"].isin(unfinished)).to_csv(index=False)


def to_json(comparison: Comparison, rows: pd.DataFrame,
            unreadable: Sequence[dict[str, str]] = ()) -> str:
    def verdict(v: Verdict) -> dict[str, Any]:
        data = asdict(v)
        data["best_by_seed"] = dict(v.best_by_seed)
        data["tied"] = list(v.tied)
        data["untested"] = list(v.untested)
        data["versus_best"] = [{"learning_rate": c.learning_rate, "mark": c.mark,
                                **asdict(c.difference), "p_adjusted": c.p_adjusted,
                                "seeds_needed": c.seeds_needed} for c in v.versus_best]
        data["edges"] = [{**asdict(e), "text": edge_text(e)} for e in v.edges]
        data["pruned"] = [{"learning_rate": r, "epoch": e} for r, e in v.pruned]
        data["stability"] = (None if v.stability is None else {
            **asdict(v.stability), "edge": v.stability.edge,
            "text": stability_text(v.stability)})
        data["failures"] = [{"learning_rate": r, "reasons": [
            {"reason": f.reason, "seeds": f.seeds, "of": f.of,
             "detail": failure_detail(f.reason, f.facts), "dead_units": f.dead_units,
             "facts": dict(f.facts), "text": failure_text(f)} for f in found]}
            for r, found in v.failures]
        data["settings"] = dict(v.settings)
        data["best_with"] = dict(v.best_with)
        data["text"] = verdict_text(v)
        return data

    payload = {
        "metric": comparison.metric,
        "at": comparison.at,
        "provisional": comparison.provisional,
        "method": method_text(comparison.metric, comparison.objective),
        "sweeps": [{**asdict(p), "not_started": p.not_started, "unfinished": p.unfinished}
                   for p in comparison.progress],
        "optimizers": [verdict(v) for v in comparison.verdicts],
        "between_optimizers": [{**asdict(o), "text": optimizer_text(o, comparison.metric)}
                               for o in comparison.optimizers],
        "along_axes": [{**asdict(line), "text": along_text(line)}
                       for line in comparison.along],
        "axis_slopes": [{**asdict(s), "per_seed": dict(s.per_seed), "text": slope_text(s)}
                        for s in comparison.slopes],
        "batch_size_scaling": [{**asdict(s), "per_seed": dict(s.per_seed),
                                "text": scaling_text(s),
                                "noise": None if s.noise is None else {
                                    **asdict(s.noise), "agrees": s.noise.agrees,
                                    "text": noise_fit_text(s)}} for s in comparison.scaling],
        "importance": [{"sweep": i.sweep, "optimizer": i.optimizer, "points": i.points,
                        "shares": dict(i.shares), "text": importance_text(i)}
                       for i in comparison.importance],
        "rows": rows.to_dict("records"),
        "unreadable": list(unreadable),
    }
    return json.dumps(json_safe(payload), indent=2) + "\n"


def to_markdown(comparison: Comparison, rows: pd.DataFrame) -> str:
    columns = display_columns(rows)
    lines = [f"**{title(comparison)}**", "",
             "| " + " | ".join(columns) + " |",
             "|" + "|".join("---" if c in _TEXT_COLUMNS else "---:" for c in columns) + "|"]
    lines += ["| " + " | ".join(_cell(c, row[c], missing="") for c in columns) + " |"
              for _, row in rows.iterrows()]
    # An indented line is evidence for the one above it: a nested item.
    lines += [""] + [f"{'  ' if line.startswith('  ') else ''}- {line.strip()}"
                     for line in verdict_lines(comparison)]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"),
                          ("$", r"\$"), ("#", r"\#"), ("_", r"\_"), ("{", r"\{"),
                          ("}", r"\}"), ("−", "-"), ("±", r"$\pm$")):
        text = text.replace(char, escaped)
    return text


def to_latex(comparison: Comparison, rows: pd.DataFrame) -> str:
    columns = display_columns(rows)
    align = "".join("l" if c in _TEXT_COLUMNS else "r" for c in columns)
    lines = ["\\begin{table}", "\\centering", f"\\caption{{{_latex_escape(title(comparison))}}}",
             f"\\begin{{tabular}}{{{align}}}", "\\hline",
             " & ".join(_latex_escape(c) for c in columns) + r" \\", "\\hline"]
    lines += [" & ".join(_latex_escape(_cell(c, row[c], missing="")) for c in columns) + r" \\"
              for _, row in rows.iterrows()]
    lines += ["\\hline", "\\end{tabular}", "\\end{table}", "\\begin{itemize}"]
    lines += [f"\\item {_latex_escape(line.strip())}" for line in verdict_lines(comparison)]
    lines += ["\\end{itemize}"]
    return "\n".join(lines) + "\n"


# The output formats, by name: each writes (comparison, rows, unreadable, width) as text.
_WRITERS: dict[str, Callable[[Comparison, pd.DataFrame, Sequence[dict[str, str]], int], str]] = {
    "table": lambda comparison, rows, _, width: to_table(comparison, rows, width=width),
    "csv": lambda comparison, rows, _, __: to_csv(comparison, rows),
    "markdown": lambda comparison, rows, _, __: to_markdown(comparison, rows),
    "json": lambda comparison, rows, unreadable, _: to_json(comparison, rows, unreadable),
    "latex": lambda comparison, rows, _, __: to_latex(comparison, rows),
}
FORMATS: tuple[str, ...] = tuple(_WRITERS)
