"""An adaptive sweep's rounds in words, from its settle.json: what each round added, why,
and the numbers that decided it; then how each setting ended, and the rule. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lrlab.analysis.settle import NOTHING_LEARNS, OUT_OF_LOOKS, SETTLED
from lrlab.formatting import plural, rate

_CALLS = ("separated", "equivalent", "open")


def worded(decisions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decisions of :mod:`lrlab.analysis.settle` as settle.json records them: each ``why``
    (the facts behind it) said in words, in its place."""
    return [{**d, "why": why_text(d)} if isinstance(d.get("why"), Mapping) else dict(d)
            for d in decisions]


def why_text(decision: Mapping[str, Any]) -> str:
    """Why a decision was taken, from its facts."""
    why = decision["why"]
    if decision.get("action") in ("extend", "stop extending"):
        if why.get("edge") is None and why.get("too_small"):
            text = "no rate learns: every one is too small (stayed at its baseline)"
        elif why.get("edge") is None:
            text = "no rate learns: every one diverged or stalled on a seed"
        else:
            what = "best rate" if why["edge"] == "best" else "largest rate that learns"
            end = "highest" if why["side"] == "high" else "lowest"
            text = f"the {what}, {rate(why['rate'])}, is the {end} tried"
        if decision.get("action") == "stop extending":
            text += (f", but {why['extended']} rates were added beyond the grid already (at "
                     f"most {why['most']})")
        return text
    state = decision.get("state")
    if state == NOTHING_LEARNS:
        return "every rate diverged or stalled on a seed"
    if state == SETTLED:
        return ("every rival is separated from the best or equivalent to it"
                if why.get("rivals") else "no other rate learns")
    if state == OUT_OF_LOOKS:
        return f"the last of {why['looks']} looks leaves {plural(why['open'], 'rival')} open"
    return (f"{plural(why['open'], 'rival')} neither separated nor equivalent: the best and "
            f"they get {why['seeds']} seeds")


def round_lines(entry: Mapping[str, Any], *, tolerance: float | None = None) -> list[str]:
    """One round (as settle.json records it), a line per decision; ``tolerance`` is the
    rule's, for records whose looks do not carry it."""
    number, kind = entry.get("round"), entry.get("kind")
    lines = []
    for decision in entry.get("decisions") or []:
        head = f"round {number} ({kind}) {decision.get('setting')}:"
        if decision.get("action") == "look":
            lines.append(f"{head} {_look_text(decision, tolerance)}")
        elif decision.get("action") == "extend":
            lines.append(f"{head} adds rate {_rate(decision.get('learning_rate'))} on seeds "
                         f"{_seeds(decision.get('seeds') or [])}: {decision.get('why')}.")
        else:
            lines.append(f"{head} {decision.get('why')}.")
    return lines


def settle_lines(record: Mapping[str, Any]) -> list[str]:
    """The whole adaptive sweep: its rounds, how it ended, and its rule."""
    rounds = record.get("rounds") or []
    outcome = record.get("outcome") or {}
    added = sum(len(r.get("added") or []) for r in rounds)
    if outcome:
        settings = "; ".join(f"{s} {state}" for s, state in
                             (outcome.get("settings") or {}).items())
        head = (f"Adaptive sweep: {outcome.get('state')} after {plural(len(rounds), 'round')}, "
                f"{outcome.get('trainings')} trainings ({added} added to the grid)"
                f"{': ' + settings if settings else ''}.")
    else:
        head = (f"Adaptive sweep: unfinished after {plural(len(rounds), 'round')} ({added} "
                f"trainings added so far); resume it with --until-settled.")
    lines = [head]
    tolerance = (record.get("rule") or {}).get("tolerance")
    for entry in rounds:
        lines += [f"  {line}" for line in round_lines(entry, tolerance=tolerance)]
    lines.append(rule_text(record.get("rule") or {}))
    return lines


def rule_text(rule: Mapping[str, Any]) -> str:
    """The sequential rule in one sentence."""
    schedule = ", ".join(str(n) for n in rule.get("schedule") or [])
    tolerance = rule.get("tolerance")
    tolerance = math.nan if tolerance is None else tolerance
    return (f"Rule: at most {rule.get('looks')} looks, at {schedule} seeds; each look tests "
            f"at {_level(rule.get('level'))} (alpha {rule.get('alpha')} split among the "
            f"looks, Bonferroni), split again among the pairs of rates; separated = paired "
            f"t-test, equivalent = its interval inside ±{tolerance:g} (two one-sided tests).")


def _look_text(decision: Mapping[str, Any], tolerance: float | None) -> str:
    calls = decision.get("calls") or []
    text = f"look {decision.get('look')} of {decision.get('of')}"
    if decision.get("best") is not None:
        text += (f": best {_rate(decision['best'])} ({_number(decision.get('best_mean'))} "
                 f"over {decision.get('best_seeds')} seeds)")
    parts = []
    for call in _CALLS:
        chosen = [c for c in calls if c.get("call") == call]
        if not chosen:
            continue
        if call == "open":
            level = decision.get("level")
            within = decision.get("tolerance", tolerance)
            shown = ", ".join(f"{_rate(c.get('learning_rate'))} [{_open(c, level, within)}]"
                              for c in chosen)
        else:
            shown = ", ".join(_rate(c.get("learning_rate")) for c in chosen)
        parts.append(f"{call} {shown}")
    if parts:
        text += "; " + "; ".join(parts)
    state = decision.get("state")
    if state == "open":
        seeds = decision.get("seeds")
        seeds = seeds if isinstance(seeds, dict) else {}
        text += "; adds seeds " + ", ".join(f"{_seeds(s)} to {r}" for r, s in seeds.items())
    elif state:
        text += f"; {state}: {decision.get('why')}"
    return text + "."


def _open(call: Mapping[str, Any], level: float | None, tolerance: float | None) -> str:
    """Why a rival is still open, in the look's own terms: how much worse than the best
    it is (negative: better on the seeds in common), its p-value adjusted for the look's
    pairs (separated under the look's level), and its equivalence interval (equivalent
    inside ±tolerance)."""
    parts = [f"worse by {_number(call.get('difference'))} over {call.get('n')} seeds"]
    if call.get("p_holm") is not None and level is not None:
        parts.append(f"adjusted p {_level(call['p_holm'])}, not under {_level(level)}")
    low, high = call.get("low"), call.get("high")
    if low is not None and high is not None:
        inside = f", not inside ±{tolerance:g}" if tolerance is not None else ""
        parts.append(f"interval {_number(low)} to {_number(high)}{inside}")
    return "; ".join(parts)


def _rate(value: Any) -> str:
    return "?" if value is None else rate(value)


def _seeds(seeds: Sequence[int] | Any) -> str:
    return ", ".join(str(s) for s in seeds) if isinstance(seeds, list) else str(seeds)


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:+.4f}" if value < 0 else f"{value:.4f}"


def _level(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"
