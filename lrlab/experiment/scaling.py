"""The batch-size scaling rules: how a learning rate should follow the batch size.

``rate × (batch / base) ** power``: the linear rule (power 1, Goyal et al. 2017, for SGD)
and the square-root rule (power 0.5, argued for adaptive methods). The config's
``scale_rates`` applies one (or ``none``); ``lrlab compare`` tests a fitted slope against
both, and the plots draw both. Each reads :data:`RULES`; none spells a rule itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScalingRule:
    """One rule: its config name, its power, its name in prose and its line in a plot."""

    name: str
    power: float
    title: str
    dash: str

    def scaled(self, rate: float, batch_size: float, base: float) -> float:
        """``rate``, given at batch size ``base``, at ``batch_size``."""
        return rate * (batch_size / base) ** self.power


RULES: dict[str, ScalingRule] = {rule.name: rule for rule in (
    ScalingRule("linear", 1.0, "linear rule", "--"),
    ScalingRule("sqrt", 0.5, "square-root rule", ":"),
)}
# ``scale_rates: none`` leaves every rate as given.
NO_SCALING = "none"
SCALE_RATES_CHOICES: tuple[str, ...] = (NO_SCALING, *reversed(RULES))


def scale_rate(rule: str, rate: float, batch_size: float, base: float) -> float:
    """``rate`` at ``batch_size`` by the rule named ``rule`` (``none``: unchanged)."""
    return rate if rule == NO_SCALING else RULES[rule].scaled(rate, batch_size, base)


def rule_of(low: float, high: float) -> str:
    """Which rules an interval of slopes holds: a rule's name, ``both``, ``neither``, or
    ``untested`` (no interval)."""
    if low != low:  # NaN: one seed, no interval
        return "untested"
    held = [name for name, rule in RULES.items() if low <= rule.power <= high]
    return held[0] if len(held) == 1 else "both" if held else "neither"
