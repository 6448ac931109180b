"""``lrlab find-lr``: Leslie Smith's learning-rate range test, for every optimizer of a config.

From the seed's initial weights, train one batch per step while the rate grows by the same
factor every step, from ``start`` to ``end`` (300 steps by default, whatever the data size:
a small data set is repeated, epoch after epoch, as a sweep would); record the loss; smooth
it without lag; cut the curve where the smoothed loss exceeds ``diverge`` times its minimum.
Repeat for several seeds and report each rule's median suggestion and how far the seeds
disagree; when they disagree by more than the grid around the median covers, the grid is
widened to cover them all, and the report says so.

The run directory holds one CSV per optimizer and seed, ``result.json`` (the options, the
rule chosen and its suggestion, every rule's numbers) and ``findlr.png``.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.analysis.suggest import (
    DEFAULT_RULE,
    DEFAULT_SMOOTHING,
    RULES,
    Agreement,
    across_seeds,
    geometric_rates,
    grid_for,
    smoothed_curve,
    suggestions,
)
from lrlab.engines import engine as engine_spec
from lrlab.errors import LrlabError
from lrlab.experiment.config import ExperimentConfig, check_rate
from lrlab.experiment.trials import OptimizerSetting
from lrlab.run.environment import collect_environment
from lrlab.rundir.store import RANGE_TEST, RANGE_TEST_PLOT, RESULT_FILE, RunStore
from lrlab.training import Engine, build_engine, ramp_losses
from lrlab.training.curvature import sharpness_of
from lrlab.training.data import load_dataset

STEPS = 300  # enough for a curve worth reading: repeating small data beats a short ramp
CURVE_COLUMNS = ("step", "lr", "loss", "smoothed")


class RangeTestError(LrlabError):
    """A range test cannot be run as asked."""


@dataclass(frozen=True)
class RangeTestOptions:
    start: float = 1e-7
    end: float = 10.0
    steps: int = STEPS
    smoothing: float = DEFAULT_SMOOTHING
    diverge: float = 4.0
    seeds: tuple[int, ...] = (0, 1, 2)
    rule: str = DEFAULT_RULE  # the rule whose suggestion is recorded, printed and gridded

    def check(self) -> None:
        if self.rule not in RULES:
            raise RangeTestError(f"expected one of: {', '.join(RULES)}",
                                 about={"rule": repr(self.rule)})
        for name in ("start", "end"):
            value = getattr(self, name)
            try:
                check_rate(value)
            except ValueError as exc:
                raise RangeTestError(str(exc), about={name: repr(value)}) from None
        if not self.start < self.end:
            raise RangeTestError("expected 0 < start < end", about={
                "start": f"{self.start:g}", "end": f"{self.end:g}"})
        if self.steps < 10:
            raise RangeTestError("expected at least 10", about={"steps": str(self.steps)})
        if not 0 <= self.smoothing < 1:  # NaN fails too
            raise RangeTestError("expected a number in [0, 1)",
                                 about={"smoothing": f"{self.smoothing:g}"})
        if not 1 < self.diverge < math.inf:
            raise RangeTestError("expected a number > 1", about={"diverge": f"{self.diverge:g}"})
        if not self.seeds or any(seed < 0 for seed in self.seeds):
            raise RangeTestError("expected one or more integers >= 0",
                                 about={"seeds": ",".join(map(str, self.seeds)) or "''"})


@dataclass
class RangeCurve:
    label: str
    seed: int
    rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray  # zero-lag; NaN after the loss blew up
    kept: int  # steps before divergence
    suggestions: dict[str, float]


@dataclass
class FindLrReport:
    run_dir: Path
    rule: str
    curves: list[RangeCurve] = field(default_factory=list)
    agreement: dict[str, dict[str, Agreement]] = field(default_factory=dict)
    optimizers: dict[str, str] = field(default_factory=dict)  # label -> optimizer name
    # With training.sharpness: each seed's sharpness at its initial weights, whose 2/λ₀
    # is plain gradient descent's stability edge there (the curve's mark).
    sharpness: dict[int, float] = field(default_factory=dict)

    @property
    def edge(self) -> float | None:
        """2/λ₀ from the seeds' median sharpness (None: not measured)."""
        values = [v for v in self.sharpness.values() if v > 0 and math.isfinite(v)]
        return 2.0 / float(np.median(values)) if values else None

    @property
    def plot(self) -> Path:
        return self.run_dir / RANGE_TEST_PLOT

    def suggested(self, label: str) -> Agreement:
        """The chosen rule's suggestion for one optimizer, across seeds."""
        return self.agreement[label][self.rule]

    def grid(self, label: str) -> dict[str, float]:
        """A learning_rates range around the suggestion, to paste into a sweep config;
        wide enough for every seed's suggestion (see :meth:`grid_widened`)."""
        return grid_for(self.suggested(label))[0]

    def grid_widened(self, label: str) -> bool:
        """Whether the seeds disagree so much that the grid had to be widened."""
        return grid_for(self.suggested(label))[1]


def parse_seeds(text: str) -> tuple[int, ...]:
    """``0,1,2`` (or space-separated) as seeds."""
    try:
        return tuple(int(s) for s in text.replace(",", " ").split())
    except ValueError:
        raise RangeTestError("expected integers, e.g. 0,1,2", about={"seeds": repr(text)}) from None


def run_find_lr(config: ExperimentConfig, *, options: RangeTestOptions = RangeTestOptions(),
                runs_dir: str | Path = "runs", argv: Sequence[str] | None = None,
                env: Mapping[str, str] | None = None,
                on_curve: Callable[[RangeCurve], None] | None = None) -> FindLrReport:
    """Range-test each optimizer of ``config`` (its learning-rate lists are ignored; other
    hyperparameters take their first listed value, or the middle of their range) and write
    ``<name>-findlr-<time>/``. Where a data, model or training setting is an axis, the test
    runs at its first value (a range's low end), and the run directory's config says so.
    ``on_curve`` is called as each optimizer and seed finishes (progress)."""
    options.check()
    config = config.first_point()
    dataset = load_dataset(config.data, env=env, objective=config.objective)
    engine = build_engine(dataset, model=config.model, training=config.training)
    argv = list(argv if argv is not None else sys.argv)
    now = datetime.now(timezone.utc)
    with contextlib.ExitStack() as held:
        store = RunStore.start(held, Path(runs_dir), f"{config.name}-findlr",
                               config=config.to_dict(), command=" ".join(argv), now=now)
        environment = collect_environment(
            started_at=now.isoformat(timespec="seconds"), argv=argv,
            engine=engine_spec(config.training.engine))
        with store.session({**environment, "engines": [engine.describe()],
                            "data": dataset.provenance(),
                            "model": {"label": config.model.label()}}, kind=RANGE_TEST):
            return _range_tests(config, options, engine, store, on_curve)


def _range_tests(config: ExperimentConfig, options: RangeTestOptions, engine: Engine,
                 store: RunStore, on_curve: Callable[[RangeCurve], None] | None) -> FindLrReport:
    rates = geometric_rates(options.start, options.end, options.steps)
    report = FindLrReport(run_dir=store.root, rule=options.rule)
    settings = _optimizer_settings(config)
    measure = config.training.sharpness
    for seed in options.seeds if measure is not None else ():
        # The seed's initial weights are every optimizer's start: measured once a seed.
        engine.start_stack(settings[0][1], seed=seed, learning_rates=[float(rates[0])])
        report.sharpness[seed] = sharpness_of(engine, 0, rows=measure.rows, seed=seed,
                                              max_products=measure.max_products).value
    for label, setting in settings:
        per_rule: dict[str, list[float]] = {rule: [] for rule in RULES}
        for seed in options.seeds:
            losses = ramp_losses(engine, setting, seed=seed, rates=rates)
            smoothed, kept = smoothed_curve(losses, beta=options.smoothing,
                                            factor=options.diverge)
            if kept < 3:
                raise RangeTestError(f"{label}: the loss diverged within {kept} steps of the "
                                     f"start, {options.start:g}; lower `start`",
                                     mentions=["start"])
            found = suggestions(rates[:kept], smoothed[:kept])
            for rule, value in found.items():
                per_rule[rule].append(value)
            curve = RangeCurve(label, seed, rates, losses, smoothed, kept, found)
            report.curves.append(curve)
            store.write_table(f"{label}-s{seed}.csv", CURVE_COLUMNS, [
                {"step": i + 1, "lr": float(rates[i]), "loss": float(losses[i]),
                 "smoothed": float(smoothed[i])} for i in range(kept)])
            if on_curve is not None:
                on_curve(curve)
        report.agreement[label] = {rule: across_seeds(v) for rule, v in per_rule.items()}
        report.optimizers[label] = setting.optimizer
    store.write_json(RESULT_FILE, _result(report, options, options.steps))
    from lrlab.present.plots import draw_range_test  # matplotlib only once there is a plot to draw

    draw_range_test(report.curves, report.agreement, default_rule=report.rule,
                    path=report.plot, edge=report.edge)
    return report


def _optimizer_settings(config: ExperimentConfig) -> list[tuple[str, OptimizerSetting]]:
    """Each optimizer entry's label and setting, with its first listed hyperparameters.
    The range test sweeps the rate itself and ignores schedules."""
    names = [entry.name for entry in config.sweep.optimizers]
    out = []
    for i, entry in enumerate(config.sweep.optimizers):
        label = entry.name if names.count(entry.name) == 1 else f"{entry.name}-{i + 1}"
        first = {k: v[0] for k, v in entry.hyperparameter_axes().items()}
        first.update({k: spec.at(0.5) for k, spec in entry.sampled().items()
                      if k != "learning_rate"})
        out.append((label, OptimizerSetting.of(entry.name, first)))
    return out


def _result(report: FindLrReport, options: RangeTestOptions, steps: int) -> dict[str, Any]:
    return {
        "options": {"start": options.start, "end": options.end, "steps": steps,
                    "smoothing": options.smoothing, "diverge": options.diverge,
                    "seeds": list(options.seeds)},
        "rule": report.rule,
        # Plain gradient descent's stability edge at the seeds' initial weights (null:
        # training.sharpness not set).
        "edge": None if report.edge is None else {
            "edge": report.edge, "per_seed": [{"seed": seed, "sharpness": value}
                                              for seed, value in report.sharpness.items()]},
        "optimizers": {
            label: {
                "suggested": report.suggested(label).median,
                "grid": report.grid(label),
                "grid_widened": report.grid_widened(label),
                "rules": {rule: {"median": a.median, "low": a.low, "high": a.high,
                                 "seeds_disagree": a.seeds_disagree}
                          for rule, a in rules.items()},
                "per_seed": [{"seed": c.seed, "steps_before_divergence": c.kept,
                              **c.suggestions} for c in report.curves if c.label == label],
            }
            for label, rules in report.agreement.items()
        },
    }
